// @ts-check
// Passenger display of one lane: pass, see staff, or the idle prompt. It shows only what the
// server's `kiosk` events say (a state and two short texts): never a name, never a score.

import { keepStreaming } from './api.js';
import { $ } from './dom.js';

/** @typedef {import('../../../api/bindings/api').KioskState} KioskState */
/** @typedef {import('../../../api/bindings/api').KioskEvent} KioskEvent */
/** @typedef {Pick<KioskState, 'state' | 'zh' | 'en'>} Shown  what the display shows */

/** @type {Shown} */
const IDLE = { state: 'idle', zh: '请正视摄像头', en: 'Please look at the camera' };
// How long a pass / see-staff message stays up when nothing new comes.
const SHOW_MS = 8000;
const STATES = new Set(['idle', 'pass', 'see_staff']);

const kiosk = {
  lane: laneFromPath(),
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  timer: undefined,
  /** @type {string | null} the last message shown, to recognise a repeat after a reconnect */
  last: null,
};

/** The lane name from /kiosk/{lane}. */
function laneFromPath() {
  const parts = location.pathname.split('/').filter(Boolean);
  const i = parts.indexOf('kiosk');
  const raw = i >= 0 && parts[i + 1] ? parts[i + 1] : '';
  try {
    return decodeURIComponent(raw);
  } catch (e) {
    return raw;
  }
}

function show(/** @type {Shown} */ message) {
  const state = STATES.has(message.state) ? message.state : 'see_staff';
  $('kiosk').dataset.state = state;
  $('message-zh').textContent = message.zh || (state === 'idle' ? IDLE.zh : '');
  $('message-en').textContent = message.en || (state === 'idle' ? IDLE.en : '');
}

function received(/** @type {KioskState} */ message) {
  const key = `${message.state}|${message.at}|${message.zh}|${message.en}`;
  // The server repeats its current message to every new connection: a reconnect must not
  // show an old answer for another 8 s.
  if (key === kiosk.last) return;
  kiosk.last = key;
  clearTimeout(kiosk.timer);
  show(message);
  if (message.state !== 'idle') {
    kiosk.timer = setTimeout(() => show(IDLE), SHOW_MS);
  }
}

function setConnection(/** @type {'connecting' | 'live' | 'offline'} */ state) {
  const node = $('kiosk-conn');
  node.dataset.state = state;
  node.textContent = state === 'live' ? '' : state === 'offline' ? '连接中断 Offline' : '连接中 Connecting';
}

function connect() {
  keepStreaming(
    `/kiosk/${encodeURIComponent(kiosk.lane)}/events`,
    {
      connecting: () => setConnection('connecting'),
      open: () => setConnection('live'),
      broken: () => setConnection('offline'),
      // Retries by itself unless the server refused (e.g. unknown lane, restart): then again later.
      retryMs: 5000,
    },
    /** @satisfies {import('./api.js').StreamHandlers<KioskEvent>} */ ({ kiosk: received }),
  );
}

// A display has no keyboard in service; a touch or key press on set-up makes it full screen.
function fullScreenOnGesture() {
  const go = () => {
    if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(() => {});
    }
  };
  document.addEventListener('click', go);
  document.addEventListener('keydown', go);
}

document.addEventListener('DOMContentLoaded', () => {
  $('kiosk-lane').textContent = kiosk.lane ? `通道 Lane ${kiosk.lane}` : '';
  document.title = `检票 ${kiosk.lane}`;
  show(IDLE);
  fullScreenOnGesture();
  if (kiosk.lane) connect();
  else setConnection('offline');
});
