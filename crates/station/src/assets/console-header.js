// @ts-check
// The console's top bar: who is signed in (and the session's CSRF token for the API), the live
// stream's state, and logging out.

import { api, session, statusOf, messageOf } from './api.js';
import { $, el, showError } from './dom.js';
import { ROLES, words } from './console-words.js';

/** @typedef {import('../../../api/bindings/api').StaffSession} StaffSession */

/**
 * The signed-in staff member, shown in the top bar; null when there is no session (then the
 * page is already on its way to the login page) or the service cannot be reached.
 * @returns {Promise<StaffSession | null>}
 */
export async function signedIn() {
  let me;
  try {
    me = /** @type {StaffSession} */ (await api('GET', '/api/session'));
  } catch (e) {
    if (statusOf(e) !== 401) showError($('lanes-error'), messageOf(e));
    return null; // 401: already on the way to /login
  }
  session.csrf = me.csrf;
  $('staff-id').textContent = me.staff || '';
  $('staff-role').textContent = words(ROLES, me.role);
  $('staff-role').dataset.role = me.role || '';
  return me;
}

/** @typedef {'connecting' | 'live' | 'reconnecting'} StreamState */

/** @type {Record<StreamState, [string, string]>} */
const STREAM_STATES = {
  connecting: ['连接中', 'Connecting'],
  live: ['实时', 'Live'],
  reconnecting: ['连接中断，正在重连', 'Reconnecting…'],
};

/** Shows the live stream's state. */
export function setStreamState(/** @type {StreamState} */ state) {
  const node = $('stream-state');
  node.dataset.state = state;
  const text = STREAM_STATES[state];
  node.replaceChildren(`${text[0]} `, el('span', { className: 'en', text: text[1] }));
}

/**
 * The log-out button; `leaving` runs before the page goes to the login page.
 * @param {() => void} leaving
 */
export function initLogout(leaving) {
  const button = $('logout', HTMLButtonElement);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api('POST', '/api/logout');
    } catch (e) {
      // Gone either way: the login page follows.
    }
    leaving();
    location.assign('/login');
  });
}
