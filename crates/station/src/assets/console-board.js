// @ts-check
// The console's manifest board: the trips boarding now and next with their counts, and one
// trip's passengers, searchable by seat, name or masked document number.

import { api, messageOf } from './api.js';
import { $, el, loadList, showError } from './dom.js';
import { DOCUMENTS, METHODS, STATUSES, clock, departure, words } from './console-words.js';

/** @typedef {import('../../../api/bindings/api').TripView} TripView */
/** @typedef {import('../../../api/bindings/api').Passenger} Passenger */
/** @typedef {import('../../../api/bindings/api').RetentionStatus} RetentionStatus */

const SEARCH_DEBOUNCE_MS = 300;

const board = {
  /** @type {string | null} the trip shown */
  trip: null,
  passengersSeq: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  searchTimer: undefined,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  refreshTimer: undefined,
};

const search = () => $('board-search', HTMLInputElement);

function loadTrips() {
  return loadList('/api/trips', renderTrips, 'trips-error', '班次加载失败 Could not load trips');
}

function renderTrips(/** @type {TripView[]} */ trips) {
  const list = $('trip-list');
  list.replaceChildren(...trips.map((t) => el('li', {}, tripButton(t))));
  $('trips-empty').hidden = trips.length > 0;
  // Nothing chosen yet: show the first trip boarding now, so the board is never blank.
  if (!board.trip && trips.length) {
    const first = trips.find((t) => t.boarding) || trips[0];
    selectTrip(first);
  } else {
    markSelected();
    const current = trips.find((t) => t.id === board.trip);
    if (current) setBoardTitle(current);
  }
}

function tripButton(/** @type {TripView} */ trip) {
  const n = trip.counts;
  const button = el(
    'button',
    { type: 'button', className: `trip${trip.boarding ? ' boarding' : ''}`, dataset: { trip: trip.id } },
    el('span', { className: 'trip-line' },
      el('span', { className: 'trip-time', text: departure(trip.departure) }),
      el('span', { className: 'trip-route', text: trip.route || trip.id }),
      el('span', { className: 'trip-gate', text: `检票口 Gate ${trip.gate || '—'}` })),
    el('span', { className: 'trip-line trip-counts' },
      el('span', { className: 'count-boarded', text: `已登车 Boarded ${n.boarded} / ${n.passengers}` }),
      el('span', { className: 'count-not-yet', text: `未登车 Not yet ${n.not_yet}` }),
      el('span', { className: `count-manual${n.manual_pending ? ' pending' : ''}`, text: `待核验 Manual ${n.manual_pending}` })),
    el('span', { className: 'trip-line trip-meta' },
      el('span', { className: 'trip-id', text: trip.id }),
      el('span', { className: 'trip-phase', text: trip.boarding ? '检票中 Boarding now' : '下一班 Next' })),
  );
  button.addEventListener('click', () => selectTrip(trip));
  return button;
}

function markSelected() {
  for (const b of document.querySelectorAll('#trip-list .trip')) {
    const on = /** @type {HTMLElement} */ (b).dataset.trip === board.trip;
    b.classList.toggle('selected', on);
    b.setAttribute('aria-pressed', String(on));
  }
}

function setBoardTitle(/** @type {TripView} */ trip) {
  const title = $('board-title');
  title.replaceChildren(
    el('span', { text: `${trip.route || trip.id} · ${departure(trip.departure)}` }),
    el('span', { className: 'en', text: ` ${trip.id} · 检票口 Gate ${trip.gate || '—'}` }),
  );
}

function selectTrip(/** @type {TripView} */ trip) {
  if (board.trip !== trip.id) search().value = '';
  board.trip = trip.id;
  search().disabled = false;
  markSelected();
  setBoardTitle(trip);
  loadPassengers();
}

async function loadPassengers() {
  if (!board.trip) return;
  // Answers may come back out of order (typing, switching trips): only the latest counts.
  const seq = ++board.passengersSeq;
  const trip = board.trip;
  const q = search().value.trim();
  const path = `/api/trips/${encodeURIComponent(trip)}/passengers${q ? `?q=${encodeURIComponent(q)}` : ''}`;
  try {
    const rows = /** @type {Passenger[]} */ (await api('GET', path));
    if (seq !== board.passengersSeq) return;
    renderPassengers(Array.isArray(rows) ? rows : []);
    showError($('passengers-error'), '');
  } catch (e) {
    if (seq !== board.passengersSeq) return;
    showError($('passengers-error'), `乘客名单加载失败 Could not load passengers: ${messageOf(e)}`);
  }
}

function renderPassengers(/** @type {Passenger[]} */ rows) {
  const body = $('passenger-rows');
  body.replaceChildren(...rows.map(passengerRow));
  $('passengers-empty').hidden = rows.length > 0;
}

function passengerRow(/** @type {Passenger} */ p) {
  const doc = [words(DOCUMENTS, p.document_type), p.document_masked || ''].join(' ').trim();
  const checked = [
    typeof p.boarded_at === 'number' ? clock(p.boarded_at) : '',
    p.method ? words(METHODS, p.method) : '',
  ].filter(Boolean).join(' · ');
  const name = el('td', { className: 'name', text: p.name || '—' });
  if (p.child) name.append(el('span', { className: 'child-flag', text: '儿童 Child' }));
  return el(
    'tr',
    { className: 'passenger', dataset: { ticket: p.ticket, status: p.status } },
    el('td', { className: 'seat', text: p.seat }),
    name,
    el('td', { className: 'document', text: doc || '—' }),
    el('td', { className: 'ticket-id', text: p.ticket }),
    // The API's status word, exactly (tests and staff habits rely on it) …
    el('td', { className: `status status-${p.status}`, text: p.status }),
    // … and what it means, separately.
    el('td', { className: 'status-label', text: words(STATUSES, p.status) }),
    el('td', { className: 'checked', text: checked || '—' }),
  );
}

/** When personal data was last purged: the retention promise, visible to staff. */
async function loadRetention() {
  const line = $('retention');
  try {
    const status = /** @type {RetentionStatus} */ (await api('GET', '/api/retention'));
    const run = status.last_run;
    const promise = `个人数据于发车 ${status.retention_hours} 小时后清除 Personal data is purged ${status.retention_hours} h after departure`;
    if (!run) {
      line.textContent = `${promise} · 尚未运行 not run yet`;
    } else if (run.error) {
      line.textContent = `${promise} · 上次清除失败 last purge failed (${clock(run.at)}): ${run.error}`;
      line.classList.add('error');
    } else {
      line.textContent = `${promise} · 上次 last ${clock(run.at)}: ${run.trips} 班次 trips, ${run.tickets} 张票 tickets`;
      line.classList.remove('error');
    }
  } catch (e) {
    line.textContent = messageOf(e);
  }
}

/** The trips and the passengers shown, again. */
export function loadBoard() {
  loadTrips();
  loadPassengers();
  loadRetention();
}

/** A burst of board events (a busy lane) becomes one refetch. */
export function refreshBoardSoon() {
  clearTimeout(board.refreshTimer);
  board.refreshTimer = setTimeout(loadBoard, 250);
}

/** A decision about `trip`: the board refetches when it shows that trip. */
export function tripDecided(/** @type {string | null} */ trip) {
  if (trip && trip === board.trip) refreshBoardSoon();
}

export function initBoard() {
  search().addEventListener('input', () => {
    clearTimeout(board.searchTimer);
    board.searchTimer = setTimeout(loadPassengers, SEARCH_DEBOUNCE_MS);
  });
}
