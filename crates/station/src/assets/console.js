// Station staff console and its login page (one script for both: the server serves only
// console.js and kiosk.js). Plain ES2020, no libraries; every piece of server data goes into
// the DOM through textContent or attributes, never as HTML.
'use strict';

// ---------------------------------------------------------------------------------------
// Words shown to staff. Codes from the API stay codes in data attributes; people read these.

const OUTCOMES = {
  boarded: '已登车 Boarded',
  already_boarded: '重复检票 Already boarded',
  wrong_bus: '走错检票口 Wrong bus',
  not_on_manifest: '无此乘客 Not on manifest',
  ticket_invalid: '车票无效 Ticket invalid',
  spoof_suspected: '疑似假脸 Spoof suspected',
  manual_pending: '待人工核验 Sent to staff',
  manual_approved: '人工放行 Approved by staff',
  manual_refused: '人工拒绝 Refused by staff',
};

// Outcomes that let the passenger through (green); the rest need a person (amber).
const PASSING = new Set(['boarded', 'manual_approved']);

const METHODS = {
  face: '刷脸 Face',
  ticket_face: '票+人脸 Ticket + face',
  manual: '人工 Manual',
};

const REASONS = {
  no_match: '名单中未找到此人 No match on the manifest',
  ambiguous: '相似乘客多于一人 Ambiguous: several look alike',
  child: '儿童票，需人工核验 Child ticket',
  no_template: '无证件照模板 No ID photo on file',
  face_mismatch: '人脸与车票不符 Face does not match the ticket',
  refused: '乘客未做人脸核验 Passenger declined the face check',
  spoof_suspected: '疑似照片或屏幕 Possible photo or screen',
  too_many_attempts: '尝试次数过多 Too many attempts',
  refunded: '已退票 Refunded',
};

const STATUSES = {
  boarded: '已登车 Boarded',
  not_yet: '未登车 Not yet',
  manual: '人工核验中 Manual check',
  refunded: '已退票 Refunded',
};

const CAMERA = {
  up: '摄像头正常 Camera up',
  down: '摄像头故障 Camera down',
  unknown: '状态未知 Unknown',
};

const ROLES = {
  staff: '站务员 Staff',
  supervisor: '值班主管 Supervisor',
};

const DOCUMENTS = {
  id_card: '身份证 ID card',
  passport: '护照 Passport',
  travel_permit: '通行证 Travel permit',
  other: '其他证件 Other',
};

// Report column headings; unknown keys are shown as they come.
const REPORT_COLUMNS = {
  trip: '班次 Trip',
  route: '线路 Route',
  departure: '发车 Departure',
  gate: '检票口 Gate',
  date: '日期 Date',
  trips: '班次数 Trips',
  passengers: '乘客 Passengers',
  boarded_face: '刷脸 Face',
  boarded_ticket_face: '票+人脸 Ticket+face',
  boarded_manual: '人工 Manual',
  not_boarded: '未登车 Not boarded',
  refunded: '退票 Refunded',
  refusals: '拒绝 Refusals',
  spoof_suspected: '疑似假脸 Spoof suspected',
  fallback_rate: '人工比例 Fallback rate',
  face_rate: '刷脸比例 Face rate',
};

const MAX_DECISIONS = 10;
const REFRESH_MS = 15000;
const SEARCH_DEBOUNCE_MS = 300;

// ---------------------------------------------------------------------------------------
// Small helpers.

const $ = (id) => document.getElementById(id);

/** Builds an element. `props`: className, text, dataset, hidden, or any attribute. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'hidden') node.hidden = true;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A label from a word table, or the code itself when the table does not know it. */
function words(table, code) {
  if (code === null || code === undefined || code === '') return '—';
  return table[code] || String(code);
}

function pad2(n) {
  return String(n).padStart(2, '0');
}

/** HH:MM:SS in the browser's (the station's) local time, from unix seconds. */
function clock(unix) {
  if (typeof unix !== 'number') return '—';
  const d = new Date(unix * 1000);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** A departure: "HH:MM" today, "MM-DD HH:MM" otherwise; strings pass through. */
function departure(value) {
  if (typeof value !== 'number') return value === null || value === undefined ? '—' : String(value);
  const d = new Date(value * 1000);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return hm;
  return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${hm}`;
}

/** "2 min 05 s" since unix seconds. */
function since(unix) {
  if (typeof unix !== 'number') return '—';
  const s = Math.max(0, Math.floor(Date.now() / 1000 - unix));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad2(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad2(Math.floor((s % 3600) / 60))} min`;
}

/** First present value among `keys` of `obj` (the counts' names may differ a little). */
function pick(obj, ...keys) {
  if (!obj || typeof obj !== 'object') return undefined;
  for (const key of keys) {
    if (obj[key] !== undefined && obj[key] !== null) return obj[key];
  }
  return undefined;
}

function showError(node, message) {
  node.textContent = message || '';
  node.hidden = !message;
}

function localDate(d = new Date()) {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

// ---------------------------------------------------------------------------------------
// Talking to the service.

const session = { staff: null, role: null, csrf: null };

/** An API answer that was not 2xx, with the server's {"error"} message when it sent one. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Calls the staff API. Every POST carries the CSRF token. A 401 means the session is gone:
 * back to the login page (except on the login page itself, which handles 401 as an answer).
 */
async function api(method, path, body) {
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
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, '无法连接服务器 Cannot reach the station service');
  }
  if (response.status === 401 && document.body.dataset.page !== 'login') {
    location.assign('/login');
    throw new ApiError(401, '请重新登录 Please log in again');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!response.ok) {
    const message = data && typeof data.error === 'string' ? data.error : `HTTP ${response.status}`;
    throw new ApiError(response.status, message);
  }
  return data;
}

// ---------------------------------------------------------------------------------------
// Login page.

function initLogin() {
  const form = $('login-form');
  const button = $('login-button');
  const say = (en, zh) => {
    showError($('login-error'), en);
    showError($('login-error-zh'), zh);
  };

  // Already logged in (e.g. a second tab): straight to the console.
  fetch('/api/session', { credentials: 'same-origin', cache: 'no-store' })
    .then((r) => {
      if (r.ok) location.assign('/');
    })
    .catch(() => {});

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const staff = $('staff').value.trim();
    const password = $('password').value;
    if (!staff || !password) {
      say('Enter your staff id and password', '请输入工号和密码');
      return;
    }
    say('', '');
    button.disabled = true;
    try {
      await api('POST', '/api/login', { staff, password });
      location.assign('/');
    } catch (e) {
      if (e.status === 401) say('Wrong staff id or password', '工号或密码错误');
      else if (e.status === 429) say(e.message, '登录失败次数过多，请稍后再试');
      else say(e.message, '登录失败');
      $('password').value = '';
      $('password').focus();
    } finally {
      button.disabled = false;
    }
  });
}

// ---------------------------------------------------------------------------------------
// Tabs. The hash names the open tab (/#manual), so a reload keeps it.

const TABS = ['lanes', 'manual', 'board', 'reports'];

function openTab(name) {
  const tab = document.querySelector(`.tab[data-tab="${name}"]`);
  if (!TABS.includes(name) || !tab || tab.hidden) name = 'lanes';
  for (const t of TABS) {
    $(t).hidden = t !== name;
    const button = document.querySelector(`.tab[data-tab="${t}"]`);
    button.classList.toggle('active', t === name);
    button.setAttribute('aria-selected', String(t === name));
  }
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  if (name === 'reports') reportsOpened();
}

function initTabs() {
  for (const button of document.querySelectorAll('.tab')) {
    button.addEventListener('click', () => openTab(button.dataset.tab));
  }
  window.addEventListener('hashchange', () => openTab(location.hash.slice(1)));
}

// ---------------------------------------------------------------------------------------
// Lanes: one card per lane with its camera health and last decisions.

async function loadLanes() {
  try {
    const lanes = await api('GET', '/api/lanes');
    renderLanes(Array.isArray(lanes) ? lanes : []);
    showError($('lanes-error'), '');
  } catch (e) {
    showError($('lanes-error'), `通道加载失败 Could not load lanes: ${e.message}`);
  }
}

function renderLanes(lanes) {
  const list = $('lane-list');
  list.replaceChildren(...lanes.map(laneCard));
  $('lanes-empty').hidden = lanes.length > 0;
}

function laneCard(lane) {
  const card = el(
    'article',
    { className: 'lane', dataset: { lane: lane.lane } },
    el(
      'header',
      { className: 'lane-head' },
      el('h3', { className: 'lane-name', text: lane.lane }),
      el('span', { className: 'lane-gate', text: `检票口 Gate ${lane.gate || '—'}` }),
    ),
    el('div', { className: 'lane-health' }),
    el('p', {
      className: 'lane-trips',
      text: `班次 Trips: ${Array.isArray(lane.trips) && lane.trips.length ? lane.trips.join(', ') : '—'}`,
    }),
    el('ol', { className: 'decisions' }),
  );
  updateHealth(card, lane.health);
  const list = card.querySelector('.decisions');
  const decisions = Array.isArray(lane.last_decisions) ? lane.last_decisions.slice() : [];
  // The newest first whatever order the server keeps them in.
  decisions.sort((a, b) => (b.at || 0) - (a.at || 0) || (b.id || 0) - (a.id || 0));
  list.replaceChildren(...decisions.slice(0, MAX_DECISIONS).map(decisionItem));
  return card;
}

function updateHealth(card, health) {
  const h = health || {};
  const camera = ['up', 'down'].includes(h.camera) ? h.camera : 'unknown';
  const box = card.querySelector('.lane-health');
  box.dataset.camera = camera;
  const fps = typeof h.fps === 'number' ? `${h.fps.toFixed(1)} fps` : '— fps';
  const seen = typeof h.last_seen === 'number'
    ? el('span', { className: 'last-seen', dataset: { since: h.last_seen } })
    : el('span', { className: 'last-seen', text: '从未上报 Never seen' });
  box.replaceChildren(
    el('span', { className: `camera camera-${camera}`, text: words(CAMERA, camera) }),
    el('span', { className: 'fps', text: fps }),
    seen,
  );
  tickLastSeen(seen);
}

function tickLastSeen(node) {
  const at = Number(node.dataset.since);
  if (node.dataset.since === undefined || Number.isNaN(at)) return;
  node.textContent = `最后上报 Last seen ${clock(at)} (${since(at)} ago)`;
}

function decisionItem(event) {
  const outcome = event.outcome || '';
  let label = words(OUTCOMES, outcome);
  if (outcome === 'wrong_bus' && event.gate) label += ` → ${event.gate}`;
  const item = el(
    'li',
    {
      className: `last-decision ${PASSING.has(outcome) ? 'passing' : 'attention'}`,
      dataset: { id: event.id ?? '', outcome },
    },
    el('time', { className: 'time', text: clock(event.at) }),
    el('span', { className: 'outcome', text: label }),
    el('span', { className: 'ticket', text: event.ticket ? `票 ${event.ticket}` : '无票 no ticket' }),
    el('span', { className: 'method', text: event.method ? words(METHODS, event.method) : '' }),
  );
  if (event.reason && outcome !== 'boarded') {
    item.append(el('span', { className: 'why', text: words(REASONS, event.reason) }));
  }
  if (event.staff) item.append(el('span', { className: 'by', text: `由 by ${event.staff}` }));
  return item;
}

/** A live decision: on top of its lane's list, at most MAX_DECISIONS kept. */
function addDecision(event) {
  const card = document.querySelector(`.lane[data-lane="${CSS.escape(String(event.lane))}"]`);
  if (!card) {
    loadLanes(); // a lane we do not show yet
    return;
  }
  const list = card.querySelector('.decisions');
  if (event.id !== undefined && list.querySelector(`.last-decision[data-id="${CSS.escape(String(event.id))}"]`)) return;
  list.prepend(decisionItem(event));
  while (list.children.length > MAX_DECISIONS) list.lastElementChild.remove();
}

function healthChanged(data) {
  const card = document.querySelector(`.lane[data-lane="${CSS.escape(String(data.lane))}"]`);
  if (card) updateHealth(card, data.health);
  else loadLanes();
}

// ---------------------------------------------------------------------------------------
// Manual-check queue. Items are kept across refreshes (by id) so that a reason being typed
// is not wiped when the queue changes.

async function loadManual() {
  try {
    const checks = await api('GET', '/api/manual');
    renderManual(Array.isArray(checks) ? checks : []);
    showError($('manual-error'), '');
  } catch (e) {
    showError($('manual-error'), `核验队列加载失败 Could not load the queue: ${e.message}`);
  }
}

function renderManual(checks) {
  const list = $('manual-list');
  const wanted = new Set(checks.map((c) => String(c.id)));
  for (const item of [...list.children]) {
    if (!wanted.has(item.dataset.id) && !item.classList.contains('busy')) item.remove();
  }
  // Oldest first: the longest wait is served first.
  checks.sort((a, b) => (a.created_at || 0) - (b.created_at || 0));
  // Insert new items in place; an item already in place is not moved, since moving a node
  // takes the focus away from a reason being typed in it.
  checks.forEach((check, i) => {
    let item = list.querySelector(`.manual-check[data-id="${CSS.escape(String(check.id))}"]`);
    if (!item) item = manualItem(check);
    const here = list.children[i] || null;
    if (item !== here) list.insertBefore(item, here);
  });
  setManualCount(checks.length);
  $('manual-empty').hidden = list.children.length > 0;
}

function setManualCount(n) {
  const badge = $('manual-count');
  badge.textContent = String(n);
  badge.classList.toggle('zero', !n);
}

function manualItem(check) {
  const ticket = check.ticket;
  const trip = check.trip;
  const item = el('li', { className: 'manual-check', dataset: { id: check.id, reason: check.reason || '' } });

  item.append(
    el(
      'div',
      { className: 'manual-head' },
      el('span', { className: 'manual-lane', text: `通道 Lane ${check.lane}` }),
      el('span', { className: 'manual-reason', text: words(REASONS, check.reason) }),
      el('span', { className: 'waiting', dataset: { since: check.created_at } }),
    ),
  );

  const body = el('div', { className: 'manual-body' });
  if (ticket) {
    if (ticket.has_photo) {
      const img = el('img', {
        className: 'manual-photo',
        src: `/api/manual/${encodeURIComponent(check.id)}/photo`,
        alt: '证件照 ID photo',
      });
      img.addEventListener('error', () => img.replaceWith(el('p', { className: 'no-photo', text: '照片不可用 Photo unavailable' })));
      body.append(img);
    } else {
      body.append(el('p', { className: 'no-photo', text: '无证件照 No photo on file' }));
    }
    body.append(ticketDetails(ticket, trip));
  } else {
    body.append(
      el('p', {
        className: 'no-ticket',
        text: '未识别车票：请扫乘客二维码或核对证件后输入票号 No ticket: scan the passenger\'s QR or check the ID, then type the ticket id',
      }),
    );
    if (trip) body.append(ticketDetails(null, trip));
  }
  item.append(body);

  const reason = el('input', { className: 'reason', type: 'text', required: true, placeholder: 'reason / 理由', 'aria-label': 'reason / 理由', maxlength: 200 });
  const form = el('div', { className: 'manual-form' }, reason);
  let ticketInput = null;
  if (!ticket) {
    ticketInput = el('input', { className: 'ticket', type: 'text', placeholder: 'ticket id / 票号', 'aria-label': 'ticket id / 票号', autocomplete: 'off', spellcheck: 'false' });
    form.append(ticketInput);
  }
  const approve = el('button', { className: 'approve', type: 'button', text: '放行 Approve' });
  const refuse = el('button', { className: 'refuse', type: 'button', text: '拒绝 Refuse' });
  const error = el('p', { className: 'manual-error error', role: 'alert', hidden: true });
  form.append(approve, refuse);
  item.append(form, error);

  approve.addEventListener('click', () => resolveCheck(item, true));
  refuse.addEventListener('click', () => resolveCheck(item, false));
  reason.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') e.preventDefault(); // Enter must not decide by itself
  });
  tickWaiting(item.querySelector('.waiting'));
  return item;
}

function ticketDetails(ticket, trip) {
  const dl = el('dl', { className: 'ticket-info' });
  const row = (term, value, className) => {
    dl.append(el('dt', { text: term }), el('dd', { className, text: value ?? '—' }));
  };
  if (ticket) {
    row('姓名 Name', ticket.name, 'info-name');
    row('座位 Seat', ticket.seat, 'info-seat');
    row('票号 Ticket', ticket.id, 'info-ticket');
    const doc = ticket.document_masked ? `${words(DOCUMENTS, ticket.document_type)} ${ticket.document_masked}` : words(DOCUMENTS, ticket.document_type);
    row('证件 Document', doc, 'info-document');
    if (ticket.child) row('儿童 Child', '是 Yes — 核对监护人 check the guardian', 'info-child');
  }
  if (trip) {
    row('班次 Trip', `${trip.id} ${trip.route || ''}`.trim(), 'info-trip');
    row('发车 Departure', departure(trip.departure), 'info-departure');
    row('检票口 Gate', trip.gate, 'info-gate');
  } else if (ticket) {
    row('班次 Trip', ticket.trip_id, 'info-trip');
  }
  return dl;
}

function tickWaiting(node) {
  const at = Number(node.dataset.since);
  node.textContent = Number.isNaN(at) ? '' : `已等待 Waiting ${since(at)}`;
}

async function resolveCheck(item, approve) {
  const reasonInput = item.querySelector('.reason');
  const ticketInput = item.querySelector('.ticket');
  const error = item.querySelector('.manual-error');
  const reason = reasonInput.value.trim();
  if (!reason) {
    showError(error, '请填写理由 A reason is required');
    reasonInput.focus();
    return;
  }
  const body = { approve, reason };
  const ticket = ticketInput ? ticketInput.value.trim() : '';
  if (ticket) body.ticket = ticket;

  showError(error, '');
  item.classList.add('busy');
  for (const b of item.querySelectorAll('button, input')) b.disabled = true;
  try {
    const decision = await api('POST', `/api/manual/${encodeURIComponent(item.dataset.id)}`, body);
    item.remove();
    notice(resolutionText(decision, approve));
    loadManual();
  } catch (e) {
    showError(error, e.message);
    for (const b of item.querySelectorAll('button, input')) b.disabled = false;
  } finally {
    item.classList.remove('busy');
    $('manual-empty').hidden = $('manual-list').children.length > 0;
  }
}

function resolutionText(decision, approved) {
  const outcome = decision && decision.outcome;
  if (outcome === 'already_boarded') return '该票已在其他通道登车 The ticket already boarded at another lane';
  if (outcome) return `${words(OUTCOMES, outcome)}${decision.ticket ? ` · 票 ${decision.ticket}` : ''}`;
  return approved ? OUTCOMES.manual_approved : OUTCOMES.manual_refused;
}

let noticeTimer = null;

/** A short confirmation at the top, gone after a few seconds. */
function notice(text) {
  const node = $('notice');
  node.textContent = text;
  node.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    node.hidden = true;
  }, 6000);
}

// ---------------------------------------------------------------------------------------
// Manifest board: the trips now and next, and one trip's passengers.

const board = { trip: null, passengersSeq: 0, searchTimer: null };

async function loadTrips() {
  try {
    const trips = await api('GET', '/api/trips');
    renderTrips(Array.isArray(trips) ? trips : []);
    showError($('trips-error'), '');
  } catch (e) {
    showError($('trips-error'), `班次加载失败 Could not load trips: ${e.message}`);
  }
}

function renderTrips(trips) {
  const list = $('trip-list');
  list.replaceChildren(...trips.map((t) => el('li', {}, tripButton(t))));
  $('trips-empty').hidden = trips.length > 0;
  // Nothing chosen yet: show the first trip boarding now, so the board is never blank.
  if (!board.trip && trips.length) {
    const first = trips.find((t) => t.boarding) || trips[0];
    selectTrip(first.id, first);
  } else {
    markSelected();
    const current = trips.find((t) => t.id === board.trip);
    if (current) setBoardTitle(current);
  }
}

function tripCounts(trip) {
  const c = trip.counts || trip;
  const passengers = pick(c, 'passengers', 'total', 'tickets');
  const boarded = pick(c, 'boarded');
  let notYet = pick(c, 'not_yet', 'not_boarded', 'waiting');
  if (notYet === undefined && typeof passengers === 'number' && typeof boarded === 'number') {
    notYet = passengers - boarded - (pick(c, 'refunded') || 0);
  }
  const manual = pick(c, 'manual_pending', 'manual', 'pending_manual');
  return { passengers, boarded, notYet, manual };
}

function tripButton(trip) {
  const n = tripCounts(trip);
  const button = el(
    'button',
    { type: 'button', className: `trip${trip.boarding ? ' boarding' : ''}`, dataset: { trip: trip.id } },
    el('span', { className: 'trip-line' },
      el('span', { className: 'trip-time', text: departure(trip.departure) }),
      el('span', { className: 'trip-route', text: trip.route || trip.id }),
      el('span', { className: 'trip-gate', text: `检票口 Gate ${trip.gate || '—'}` })),
    el('span', { className: 'trip-line trip-counts' },
      el('span', { className: 'count-boarded', text: `已登车 Boarded ${n.boarded ?? '—'} / ${n.passengers ?? '—'}` }),
      el('span', { className: 'count-not-yet', text: `未登车 Not yet ${n.notYet ?? '—'}` }),
      el('span', { className: `count-manual${n.manual ? ' pending' : ''}`, text: `待核验 Manual ${n.manual ?? 0}` })),
    el('span', { className: 'trip-line trip-meta' },
      el('span', { className: 'trip-id', text: trip.id }),
      el('span', { className: 'trip-phase', text: trip.boarding ? '检票中 Boarding now' : '下一班 Next' })),
  );
  button.addEventListener('click', () => selectTrip(trip.id, trip));
  return button;
}

function markSelected() {
  for (const b of document.querySelectorAll('#trip-list .trip')) {
    const on = b.dataset.trip === board.trip;
    b.classList.toggle('selected', on);
    b.setAttribute('aria-pressed', String(on));
  }
}

function setBoardTitle(trip) {
  const title = $('board-title');
  title.replaceChildren(
    el('span', { text: `${trip.route || trip.id} · ${departure(trip.departure)}` }),
    el('span', { className: 'en', text: ` ${trip.id} · 检票口 Gate ${trip.gate || '—'}` }),
  );
}

function selectTrip(id, trip) {
  if (board.trip !== id) $('board-search').value = '';
  board.trip = id;
  $('board-search').disabled = false;
  markSelected();
  if (trip) setBoardTitle(trip);
  loadPassengers();
}

async function loadPassengers() {
  if (!board.trip) return;
  // Answers may come back out of order (typing, switching trips): only the latest counts.
  const seq = ++board.passengersSeq;
  const trip = board.trip;
  const q = $('board-search').value.trim();
  const path = `/api/trips/${encodeURIComponent(trip)}/passengers${q ? `?q=${encodeURIComponent(q)}` : ''}`;
  try {
    const rows = await api('GET', path);
    if (seq !== board.passengersSeq) return;
    renderPassengers(Array.isArray(rows) ? rows : rows && Array.isArray(rows.passengers) ? rows.passengers : []);
    showError($('passengers-error'), '');
  } catch (e) {
    if (seq !== board.passengersSeq) return;
    showError($('passengers-error'), `乘客名单加载失败 Could not load passengers: ${e.message}`);
  }
}

function renderPassengers(rows) {
  const body = $('passenger-rows');
  body.replaceChildren(...rows.map(passengerRow));
  $('passengers-empty').hidden = rows.length > 0;
}

function passengerRow(p) {
  const ticket = pick(p, 'ticket', 'ticket_id', 'id');
  const status = String(pick(p, 'status', 'state') ?? '');
  const doc = [p.document_type ? words(DOCUMENTS, p.document_type) : '', p.document_masked || ''].join(' ').trim();
  const at = pick(p, 'boarded_at', 'at');
  const checked = [
    typeof at === 'number' ? clock(at) : '',
    p.method ? words(METHODS, p.method) : '',
    p.lane ? `通道 ${p.lane}` : '',
  ].filter(Boolean).join(' · ');
  const name = el('td', { className: 'name', text: p.name || '—' });
  if (p.child) name.append(el('span', { className: 'child-flag', text: '儿童 Child' }));
  return el(
    'tr',
    { className: 'passenger', dataset: { ticket: ticket ?? '', status } },
    el('td', { className: 'seat', text: p.seat ?? '—' }),
    name,
    el('td', { className: 'document', text: doc || '—' }),
    el('td', { className: 'ticket-id', text: ticket ?? '—' }),
    // The API's status word, exactly (tests and staff habits rely on it) …
    el('td', { className: `status status-${status}`, text: status }),
    // … and what it means, separately.
    el('td', { className: 'status-label', text: words(STATUSES, status) }),
    el('td', { className: 'checked', text: checked || '—' }),
  );
}

function initBoard() {
  $('board-search').addEventListener('input', () => {
    clearTimeout(board.searchTimer);
    board.searchTimer = setTimeout(loadPassengers, SEARCH_DEBOUNCE_MS);
  });
}

// A burst of board events (a busy lane) becomes one refetch.
let boardRefreshTimer = null;
function refreshBoardSoon() {
  clearTimeout(boardRefreshTimer);
  boardRefreshTimer = setTimeout(() => {
    loadTrips();
    loadPassengers();
  }, 250);
}

// ---------------------------------------------------------------------------------------
// Reports (supervisors).

const reports = { opened: false };

function reportsOpened() {
  if (reports.opened) return;
  reports.opened = true;
  loadDayReport();
  loadMonthReport();
}

function initReports() {
  const now = new Date();
  $('report-date').value = localDate(now);
  $('report-month').value = localDate(now).slice(0, 7);
  $('report-date').addEventListener('change', loadDayReport);
  $('report-month').addEventListener('change', loadMonthReport);
}

async function loadDayReport() {
  const date = $('report-date').value;
  if (!date) return;
  const q = `date=${encodeURIComponent(date)}`;
  await loadReport({
    path: `/api/reports/day?${q}`,
    chart: `/api/reports/day/chart.svg?${q}`,
    csv: `/api/reports/day?${q}&format=csv`,
    rowsKey: 'trips',
    prefix: 'day',
    input: 'report-date',
    value: date,
  });
}

async function loadMonthReport() {
  const month = $('report-month').value;
  if (!month) return;
  const q = `month=${encodeURIComponent(month)}`;
  await loadReport({
    path: `/api/reports/month?${q}`,
    chart: `/api/reports/month/chart.svg?${q}`,
    csv: `/api/reports/month?${q}&format=csv`,
    rowsKey: 'days',
    prefix: 'month',
    input: 'report-month',
    value: month,
  });
}

async function loadReport(r) {
  const table = $(`${r.prefix}-table`);
  const chart = $(`${r.prefix}-chart`);
  const csv = $(`${r.prefix}-csv`);
  try {
    const data = await api('GET', r.path);
    if ($(r.input).value !== r.value) return; // the picker moved on meanwhile
    let rows = data && data[r.rowsKey];
    if (!Array.isArray(rows)) rows = Object.values(data || {}).find(Array.isArray) || [];
    table.replaceChildren(reportTable(rows, data && data.totals));
    chart.src = r.chart;
    chart.hidden = false;
    csv.href = r.csv;
    csv.hidden = false;
    showError($(`${r.prefix}-error`), '');
  } catch (e) {
    if ($(r.input).value !== r.value) return;
    table.replaceChildren();
    chart.hidden = true;
    csv.hidden = true;
    showError($(`${r.prefix}-error`), `报表加载失败 Could not load the report: ${e.message}`);
  }
}

/** A table from whatever keys the rows have (the first row's order, then any new ones). */
function reportTable(rows, totals) {
  const keys = [];
  for (const row of rows) {
    for (const key of Object.keys(row || {})) if (!keys.includes(key)) keys.push(key);
  }
  if (!keys.length && totals) keys.push(...Object.keys(totals));
  if (!keys.length) return el('p', { className: 'empty', text: '没有数据 No data for this period' });

  const head = el('tr', {}, ...keys.map((k) => el('th', { dataset: { key: k }, text: REPORT_COLUMNS[k] || k })));
  const body = el('tbody', {}, ...rows.map((row) => el('tr', {}, ...keys.map((k) => reportCell(k, row[k])))));
  const table = el('table', { className: 'data report' }, el('thead', {}, head), body);
  if (totals && typeof totals === 'object') {
    const cells = keys.map((k, i) => {
      if (i === 0 && totals[k] === undefined) return el('th', { scope: 'row', text: '合计 Total' });
      return totals[k] === undefined ? el('td', { dataset: { key: k } }) : reportCell(k, totals[k]);
    });
    table.append(el('tfoot', {}, el('tr', { className: 'totals' }, ...cells)));
  }
  if (!rows.length) table.append(el('caption', { text: '没有班次 No trips in this period' }));
  return table;
}

function reportCell(key, value) {
  const cell = el('td', { dataset: { key } });
  if (value === null || value === undefined) cell.textContent = '—';
  else if (typeof value === 'number' && key.endsWith('_rate')) {
    cell.textContent = value <= 1 ? `${(value * 100).toFixed(1)} %` : `${value.toFixed(1)} %`;
  } else if (typeof value === 'number' && key === 'departure') cell.textContent = departure(value);
  else if (typeof value === 'number') cell.textContent = Number.isInteger(value) ? String(value) : value.toFixed(2);
  else if (typeof value === 'object') cell.textContent = JSON.stringify(value);
  else cell.textContent = String(value);
  if (typeof value === 'number') cell.classList.add('num');
  return cell;
}

// ---------------------------------------------------------------------------------------
// Live updates: server-sent events, with a periodic refetch in case an event was missed.

const stream = { source: null, opened: false, broken: false, retryTimer: null };

function setStreamState(state) {
  const node = $('stream-state');
  node.dataset.state = state;
  const text = {
    connecting: ['连接中', 'Connecting'],
    live: ['实时', 'Live'],
    reconnecting: ['连接中断，正在重连', 'Reconnecting…'],
  }[state];
  node.replaceChildren(`${text[0]} `, el('span', { className: 'en', text: text[1] }));
}

function openStream() {
  if (stream.source) stream.source.close();
  setStreamState(stream.opened ? 'reconnecting' : 'connecting');
  const source = new EventSource('/api/stream');
  stream.source = source;

  source.addEventListener('open', () => {
    setStreamState('live');
    // Back after a break: anything may have happened meanwhile.
    if (stream.broken) refreshAll();
    stream.opened = true;
    stream.broken = false;
  });

  source.addEventListener('error', () => {
    stream.broken = true;
    setStreamState('reconnecting');
    // EventSource retries by itself unless the server answered with an error (a closed
    // source): then check the session (401 → login) and open a new one a little later.
    if (source.readyState === EventSource.CLOSED) {
      clearTimeout(stream.retryTimer);
      stream.retryTimer = setTimeout(async () => {
        try {
          await api('GET', '/api/session');
        } catch (e) {
          // unreachable: try the stream again anyway
        }
        openStream();
      }, 3000);
    }
  });

  on(source, 'decision', (event) => {
    addDecision(event);
    if (event.trip && event.trip === board.trip) refreshBoardSoon();
  });
  on(source, 'manual', (data) => {
    if (typeof data.pending === 'number') setManualCount(data.pending);
    loadManual();
  });
  on(source, 'health', healthChanged);
  on(source, 'board', () => refreshBoardSoon());
}

/** A named event whose data is JSON; a malformed one is skipped. */
function on(source, name, handle) {
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

function refreshAll() {
  loadLanes();
  loadManual();
  loadTrips();
  loadPassengers();
}

// Waiting times and "last seen" move on between refreshes.
function tickClocks() {
  for (const node of document.querySelectorAll('.manual-check .waiting')) tickWaiting(node);
  for (const node of document.querySelectorAll('.lane .last-seen[data-since]')) tickLastSeen(node);
}

// ---------------------------------------------------------------------------------------
// Console start-up.

async function initConsole() {
  let me;
  try {
    me = await api('GET', '/api/session');
  } catch (e) {
    if (e.status !== 401) showError($('lanes-error'), e.message);
    return; // 401: already on the way to /login
  }
  Object.assign(session, { staff: me.staff, role: me.role, csrf: me.csrf });
  $('staff-id').textContent = me.staff || '';
  $('staff-role').textContent = words(ROLES, me.role);
  $('staff-role').dataset.role = me.role || '';

  const supervisor = me.role === 'supervisor';
  $('tab-reports').hidden = !supervisor;
  if (!supervisor) $('reports').hidden = true;

  $('logout').addEventListener('click', logout);
  initTabs();
  initBoard();
  if (supervisor) initReports();
  openTab(location.hash.slice(1) || 'lanes');

  refreshAll();
  openStream();
  setInterval(refreshAll, REFRESH_MS);
  setInterval(tickClocks, 1000);
}

async function logout() {
  $('logout').disabled = true;
  try {
    await api('POST', '/api/logout');
  } catch (e) {
    // Gone either way: the login page follows.
  }
  if (stream.source) stream.source.close();
  location.assign('/login');
}

document.addEventListener('DOMContentLoaded', () => {
  if (document.body.dataset.page === 'login') initLogin();
  else if (document.body.dataset.page === 'console') initConsole();
});
