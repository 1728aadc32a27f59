// Passenger display of one lane: pass, see staff, or the idle prompt. It shows only what the
// server's `kiosk` events say (a state and two short texts): never a name, never a score.
'use strict';

const IDLE = { state: 'idle', zh: '请正视摄像头', en: 'Please look at the camera' };
// How long a pass / see-staff message stays up when nothing new comes.
const SHOW_MS = 8000;
const STATES = new Set(['idle', 'pass', 'see_staff']);

const kiosk = {
  lane: laneFromPath(),
  timer: null,
  last: null, // the last message shown, to recognise a repeat after a reconnect
  source: null,
  retryTimer: null,
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

function show(message) {
  const state = STATES.has(message.state) ? message.state : 'see_staff';
  document.getElementById('kiosk').dataset.state = state;
  document.getElementById('message-zh').textContent = message.zh || (state === 'idle' ? IDLE.zh : '');
  document.getElementById('message-en').textContent = message.en || (state === 'idle' ? IDLE.en : '');
}

function received(message) {
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

function setConnection(state) {
  const node = document.getElementById('kiosk-conn');
  node.dataset.state = state;
  node.textContent = state === 'live' ? '' : state === 'offline' ? '连接中断 Offline' : '连接中 Connecting';
}

function connect() {
  if (kiosk.source) kiosk.source.close();
  setConnection('connecting');
  const source = new EventSource(`/kiosk/${encodeURIComponent(kiosk.lane)}/events`);
  kiosk.source = source;
  source.addEventListener('open', () => setConnection('live'));
  source.addEventListener('kiosk', (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (message && typeof message === 'object') received(message);
  });
  source.addEventListener('error', () => {
    setConnection('offline');
    // Retries by itself unless the server refused (e.g. unknown lane, restart): then again later.
    if (source.readyState === EventSource.CLOSED) {
      clearTimeout(kiosk.retryTimer);
      kiosk.retryTimer = setTimeout(connect, 5000);
    }
  });
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
  document.getElementById('kiosk-lane').textContent = kiosk.lane ? `通道 Lane ${kiosk.lane}` : '';
  document.title = `检票 ${kiosk.lane}`;
  show(IDLE);
  fullScreenOnGesture();
  if (kiosk.lane) connect();
  else setConnection('offline');
});
