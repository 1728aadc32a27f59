// @ts-check
// Passenger display of one lane: pass, see staff, the idle prompt, or closed. It shows only
// what the server's `kiosk` events say (a state and two short texts): never a name, never a
// score. The server decides when an answer is too old to show and when the lane is closed; the
// page closes itself when it loses the server, since then nothing it shows can be trusted.
// Each answer has a short sound, so a passenger looking at the camera hears it.

import { keepStreaming } from './api.js';
import { $ } from './dom.js';

/** @typedef {import('../../../api/bindings/api').KioskState} KioskState */
/** @typedef {import('../../../api/bindings/api').KioskEvent} KioskEvent */
/** @typedef {Pick<KioskState, 'state' | 'zh' | 'en'>} Shown  what the display shows */

/** @type {Shown} */
const IDLE = { state: 'idle', zh: '请正视摄像头', en: 'Please look at the camera' };
/** @type {Shown} */
const CLOSED = { state: 'closed', zh: '暂停服务，请走人工通道', en: 'Lane closed: please use the staffed lane' };
// How long a pass / see-staff message stays up when nothing new comes (the server's
// KIOSK_SHOW_S; it also sends the prompt then: this covers a lost connection).
const SHOW_MS = 8000;
// How long the page waits, cut off from the server, before it closes the lane.
const OFFLINE_CLOSE_MS = 5000;
/** @type {Set<string>} */
const STATES = new Set(['idle', 'pass', 'see_staff', 'closed']);
// Tones per answer (Hz, each 150 ms): rising for pass, low for see staff.
/** @type {Record<string, number[]>} */
const TONES = { pass: [660, 880], see_staff: [330, 330] };

const kiosk = {
  lane: laneFromPath(),
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  timer: undefined,
  /** @type {string | null} the last message shown, to recognise a repeat after a reconnect */
  last: null,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  offlineTimer: undefined,
  /** @type {AudioContext | null} made on the set-up gesture (browsers allow sound only after one) */
  audio: null,
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
  beep(message.state);
  if (message.state === 'pass' || message.state === 'see_staff') {
    kiosk.timer = setTimeout(() => show(IDLE), SHOW_MS);
  }
}

/** A short cue for an answer; silent until a set-up gesture allowed sound. */
function beep(/** @type {string} */ state) {
  const tones = TONES[state];
  const audio = kiosk.audio;
  if (!tones || !audio) return;
  tones.forEach((hz, i) => {
    const start = audio.currentTime + i * 0.18;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = hz;
    gain.gain.setValueAtTime(0.2, start);
    gain.gain.exponentialRampToValueAtTime(0.001, start + 0.15);
    osc.connect(gain).connect(audio.destination);
    osc.start(start);
    osc.stop(start + 0.16);
  });
}

function setConnection(/** @type {'connecting' | 'live' | 'offline'} */ state) {
  const node = $('kiosk-conn');
  node.dataset.state = state;
  node.textContent = state === 'live' ? '' : state === 'offline' ? '连接中断 Offline' : '连接中 Connecting';
  clearTimeout(kiosk.offlineTimer);
  if (state === 'offline') {
    // Cut off from the server, the page cannot know what the lane decides: close the lane.
    kiosk.offlineTimer = setTimeout(() => {
      clearTimeout(kiosk.timer);
      kiosk.last = null;
      show(CLOSED);
    }, OFFLINE_CLOSE_MS);
  }
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

// A display has no keyboard in service; a touch or key press on set-up makes it full screen
// and allows its sounds.
function fullScreenOnGesture() {
  const go = () => {
    if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(() => {});
    }
    if (!kiosk.audio && typeof AudioContext === 'function') kiosk.audio = new AudioContext();
    kiosk.audio?.resume().catch(() => {});
  };
  document.addEventListener('click', go);
  document.addEventListener('keydown', go);
}

document.addEventListener('DOMContentLoaded', () => {
  $('kiosk-lane').textContent = kiosk.lane ? `通道 Lane ${kiosk.lane}` : '';
  document.title = `检票 ${kiosk.lane}`;
  // Closed until the server says what the lane can do.
  show(CLOSED);
  fullScreenOnGesture();
  if (kiosk.lane) connect();
  else setConnection('offline');
});
