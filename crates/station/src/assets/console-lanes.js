// @ts-check
// The console's lanes: one card per lane with its camera health and last decisions, kept
// live by the stream's decision and health events.

import { $, el, loadList } from './dom.js';
import { CAMERA, METHODS, OUTCOMES, PASSING, REASONS, clock, since, words } from './console-words.js';

/** @typedef {import('../../../api/bindings/api').LaneView} LaneView */
/** @typedef {import('../../../api/bindings/api').LaneEvent} LaneEvent */
/** @typedef {import('../../../api/bindings/api').Health} Health */
/** @typedef {Extract<import('../../../api/bindings/api').StreamEvent, { event: 'health' }>['data']} HealthChange */

const MAX_DECISIONS = 10;

export function loadLanes() {
  return loadList('/api/lanes', renderLanes, 'lanes-error', '通道加载失败 Could not load lanes');
}

function renderLanes(/** @type {LaneView[]} */ lanes) {
  const list = $('lane-list');
  list.replaceChildren(...lanes.map(laneCard));
  $('lanes-empty').hidden = lanes.length > 0;
}

/** The card of `lane`, null when the console does not show it (yet). */
function cardOf(/** @type {string} */ lane) {
  return document.querySelector(`.lane[data-lane="${CSS.escape(lane)}"]`);
}

/** The part of a card (or a decision list) that the console always builds. */
function partOf(/** @type {Element} */ node, /** @type {string} */ selector) {
  return /** @type {HTMLElement} */ (node.querySelector(selector));
}

function laneCard(/** @type {LaneView} */ lane) {
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
  const list = partOf(card, '.decisions');
  const decisions = Array.isArray(lane.last_decisions) ? lane.last_decisions.slice() : [];
  // The newest first whatever order the server keeps them in.
  decisions.sort((a, b) => (b.at || 0) - (a.at || 0) || (b.id || 0) - (a.id || 0));
  list.replaceChildren(...decisions.slice(0, MAX_DECISIONS).map(decisionItem));
  return card;
}

/**
 * @param {Element} card
 * @param {Health | null | undefined} health
 */
function updateHealth(card, health) {
  const camera = health && (health.camera === 'up' || health.camera === 'down') ? health.camera : 'unknown';
  const box = partOf(card, '.lane-health');
  box.dataset.camera = camera;
  const fps = typeof health?.fps === 'number' ? `${health.fps.toFixed(1)} fps` : '— fps';
  const seen = typeof health?.last_seen === 'number'
    ? el('span', { className: 'last-seen', dataset: { since: health.last_seen } })
    : el('span', { className: 'last-seen', text: '从未上报 Never seen' });
  box.replaceChildren(
    el('span', { className: `camera camera-${camera}`, text: words(CAMERA, camera) }),
    el('span', { className: 'fps', text: fps }),
    seen,
  );
  tickLastSeen(seen);
}

function tickLastSeen(/** @type {HTMLElement} */ node) {
  const at = Number(node.dataset.since);
  if (node.dataset.since === undefined || Number.isNaN(at)) return;
  node.textContent = `最后上报 Last seen ${clock(at)} (${since(at)} ago)`;
}

/** "Last seen" moves on between refreshes. */
export function tickLanes() {
  for (const node of document.querySelectorAll('.lane .last-seen[data-since]')) tickLastSeen(/** @type {HTMLElement} */ (node));
}

function decisionItem(/** @type {LaneEvent} */ event) {
  const outcome = event.outcome || '';
  let label = words(OUTCOMES, outcome);
  if (outcome === 'wrong_bus' && event.gate) label += ` → ${event.gate}`;
  const item = el(
    'li',
    {
      className: `last-decision ${PASSING.has(outcome) ? 'passing' : 'attention'}`,
      dataset: { id: event.id, outcome },
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
export function addDecision(/** @type {LaneEvent} */ event) {
  const card = cardOf(event.lane);
  if (!card) {
    loadLanes(); // a lane we do not show yet
    return;
  }
  const list = partOf(card, '.decisions');
  if (list.querySelector(`.last-decision[data-id="${CSS.escape(String(event.id))}"]`)) return;
  list.prepend(decisionItem(event));
  while (list.children.length > MAX_DECISIONS) list.lastElementChild?.remove();
}

/** A lane's health changed. */
export function healthChanged(/** @type {HealthChange} */ data) {
  const card = cardOf(data.lane);
  if (card) updateHealth(card, data.health);
  else loadLanes();
}
