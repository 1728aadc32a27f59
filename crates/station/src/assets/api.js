// @ts-check
// Talking to the station service, for every page: the staff API (JSON, the session's CSRF
// token, the server's {"error"} messages) and the server-sent event streams (the console's and
// the kiosk's). The answers' types come from the Rust types (crates/api/bindings).

/** @typedef {import('../../../api/bindings/api').ErrorAnswer} ErrorAnswer */

/** The signed-in staff member's CSRF token, once the page knows it (GET /api/session). */
export const session = { csrf: /** @type {string | null} */ (null) };

/** An API answer that was not 2xx, with the server's {"error"} message when it sent one. */
export class ApiError extends Error {
  /**
   * @param {number} status  the HTTP status; 0 when the service could not be reached
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Calls the staff API. Every POST carries the CSRF token. A 401 means the session is gone:
 * back to the login page (except on the login page itself, which handles 401 as an answer).
 * The answer is the parsed JSON (null when there is none): the caller names its type.
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {object} [body]  sent as JSON
 * @returns {Promise<unknown>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, '无法连接服务器 Cannot reach the station service');
  }
  if (response.status === 401 && document.body.dataset.page !== 'login') {
    location.assign('/login');
    throw new ApiError(401, '请重新登录 Please log in again');
  }
  const text = await response.text();
  /** @type {unknown} */
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!response.ok) {
    const error = /** @type {Partial<ErrorAnswer> | null} */ (data);
    const message = error && typeof error.error === 'string' ? error.error : `HTTP ${response.status}`;
    throw new ApiError(response.status, message);
  }
  return data;
}

/** The message of whatever a failed call threw. */
export function messageOf(/** @type {unknown} */ e) {
  return e instanceof Error ? e.message : String(e);
}

/** The HTTP status of whatever a failed call threw; undefined when it was no ApiError. */
export function statusOf(/** @type {unknown} */ e) {
  return e instanceof ApiError ? e.status : undefined;
}

/**
 * How a stream's page follows its connection.
 * @typedef {object} StreamLife
 * @property {() => void} connecting  a connection is being opened (the first or a new one)
 * @property {() => void} open        the stream is live
 * @property {() => void} broken      the connection broke; EventSource retries by itself
 * @property {number} retryMs         after an error answer (a closed source, which EventSource
 *                                    does not retry), how long to wait before opening a new one
 * @property {() => Promise<void>} [beforeRetry]  runs before that new connection
 */

/**
 * The handlers of a stream's events, one for each: `E` is the stream's events as the Rust
 * types name them, `{ event: name, data }` (serde's adjacent tagging).
 * @template {{ event: string, data: unknown }} E
 * @typedef {{ [K in E['event']]: (data: Extract<E, { event: K }>['data']) => void }} StreamHandlers
 */

/**
 * Opens a server-sent event stream and keeps it open. `events` maps each event name to its
 * handler (`@satisfies {StreamHandlers<…>}` checks them against the Rust types); an event's
 * data is JSON, and a malformed one is skipped.
 * @param {string} url
 * @param {StreamLife} life
 * @param {Record<string, (data: never) => void>} events
 * @returns {{ close(): void }}
 */
export function keepStreaming(url, life, events) {
  /** @type {EventSource | null} */
  let current = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let retryTimer;

  const connect = () => {
    if (current) current.close();
    life.connecting();
    const source = new EventSource(url);
    current = source;
    source.addEventListener('open', () => life.open());
    source.addEventListener('error', () => {
      life.broken();
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(retryTimer);
        retryTimer = setTimeout(async () => {
          if (life.beforeRetry) await life.beforeRetry();
          connect();
        }, life.retryMs);
      }
    });
    for (const name of Object.keys(events)) {
      const handle = /** @type {(data: object) => void} */ (events[name]);
      source.addEventListener(name, (message) => {
        let data;
        try {
          data = JSON.parse(message.data);
        } catch (e) {
          return;
        }
        if (data && typeof data === 'object') handle(data);
      });
    }
  };

  connect();
  return {
    close() {
      if (current) current.close();
    },
  };
}
