// @ts-check
// The console's manual-check queue: each waiting passenger with the manifest ID photo and the
// ticket, and a reason from the fixed list (plus an optional note) to approve or refuse with.
// Items are kept across refreshes (by id) so that a note being typed is not wiped when the
// queue changes.

import { api, messageOf } from './api.js';
import { $, el, loadList, showError } from './dom.js';
import { APPROVE_REASONS, DOCUMENTS, OUTCOMES, REASONS, REFUSE_REASONS, STAFF_REASONS, departure, since, words } from './console-words.js';

/** @typedef {import('../../../api/bindings/api').ManualItem} ManualItem */
/** @typedef {import('../../../api/bindings/api').TicketView} TicketView */
/** @typedef {import('../../../api/bindings/api').Trip} Trip */
/** @typedef {import('../../../api/bindings/api').Decision} Decision */
/** @typedef {import('../../../api/bindings/api').ResolveRequest} ResolveRequest */
/** @typedef {import('../../../api/bindings/api').StaffReason} StaffReason */

export function loadManual() {
  return loadList('/api/manual', renderManual, 'manual-error', '核验队列加载失败 Could not load the queue');
}

function renderManual(/** @type {ManualItem[]} */ checks) {
  const list = $('manual-list');
  const wanted = new Set(checks.map((c) => String(c.id)));
  for (const item of [...list.children]) {
    const id = /** @type {HTMLElement} */ (item).dataset.id || '';
    if (!wanted.has(id) && !item.classList.contains('busy')) {
      // Resolved elsewhere (staff work every lane): say so, above all if a reason was chosen.
      const chosen = /** @type {HTMLSelectElement | null} */ (item.querySelector('select.reason'))?.value;
      const typed = /** @type {HTMLInputElement | null} */ (item.querySelector('input.note'))?.value.trim();
      if (chosen || typed) notice(`核验 #${id} 已由同事处理 Check #${id} was resolved by a colleague`);
      item.remove();
    }
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

/** The count on the tab. */
export function setManualCount(/** @type {number} */ n) {
  const badge = $('manual-count');
  badge.textContent = String(n);
  badge.classList.toggle('zero', !n);
}

function manualItem(/** @type {ManualItem} */ check) {
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

  const reason = reasonChoice();
  const note = el('input', { className: 'note', type: 'text', placeholder: '备注（可选）note (optional)', 'aria-label': '备注 note', maxlength: 500 });
  const form = el('div', { className: 'manual-form' }, reason, note);
  /** @type {HTMLInputElement | null} */
  let ticketInput = null;
  if (!ticket) {
    ticketInput = el('input', { className: 'ticket', type: 'text', placeholder: 'ticket id / 票号', 'aria-label': 'ticket id / 票号', autocomplete: 'off', spellcheck: 'false' });
    form.append(ticketInput);
  }
  // A supervisor may board a ticket of another gate or outside its boarding time, on the record.
  const override = el('input', { className: 'override', type: 'checkbox' });
  const overrideLabel = el('label', { className: 'override-label', text: '主管越权放行（检票口/时间）Supervisor override (gate / time)' });
  overrideLabel.prepend(override);
  overrideLabel.hidden = document.body.dataset.role !== 'supervisor';
  form.append(overrideLabel);
  const approve = el('button', { className: 'approve', type: 'button', text: '放行 Approve' });
  const refuse = el('button', { className: 'refuse', type: 'button', text: '拒绝 Refuse' });
  const error = el('p', { className: 'manual-error error', role: 'alert', hidden: true });
  form.append(approve, refuse);
  item.append(form, error);

  const inputs = { item, reason, note, ticket: ticketInput, override, error };
  approve.addEventListener('click', () => resolveCheck(check.id, inputs, true));
  refuse.addEventListener('click', () => resolveCheck(check.id, inputs, false));
  note.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') e.preventDefault(); // Enter must not decide by itself
  });
  tickWaiting(/** @type {HTMLElement} */ (item.querySelector('.waiting')));
  return item;
}

/** The reason list: approvals' reasons, then refusals', nothing chosen at first. */
function reasonChoice() {
  const select = el('select', { className: 'reason', required: true, 'aria-label': '理由 reason' });
  select.append(el('option', { value: '', text: '— 选择理由 choose a reason —' }));
  /** @type {[string, Set<StaffReason>][]} */
  const groups = [
    ['放行 Approve', APPROVE_REASONS],
    ['拒绝 Refuse', REFUSE_REASONS],
  ];
  for (const [label, reasons] of groups) {
    const group = el('optgroup', { label });
    for (const code of reasons) if (code !== 'other') group.append(el('option', { value: code, text: STAFF_REASONS[code] }));
    select.append(group);
  }
  select.append(el('option', { value: 'other', text: STAFF_REASONS.other }));
  return select;
}

/**
 * @param {TicketView | null} ticket
 * @param {Trip | null} trip
 */
function ticketDetails(ticket, trip) {
  const dl = el('dl', { className: 'ticket-info' });
  /** @type {(term: string, value: string | null, className: string) => void} */
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

function tickWaiting(/** @type {HTMLElement} */ node) {
  const at = Number(node.dataset.since);
  node.textContent = Number.isNaN(at) ? '' : `已等待 Waiting ${since(at)}`;
}

/** Waiting times move on between refreshes. */
export function tickManual() {
  for (const node of document.querySelectorAll('.manual-check .waiting')) tickWaiting(/** @type {HTMLElement} */ (node));
}

/**
 * Sends staff's decision on check `id`, with the reason chosen, the note typed (and the
 * ticket, when the check had none).
 * @param {number} id
 * @param {{ item: HTMLElement, reason: HTMLSelectElement, note: HTMLInputElement, ticket: HTMLInputElement | null, override: HTMLInputElement, error: HTMLElement }} inputs
 * @param {boolean} approve
 */
async function resolveCheck(id, inputs, approve) {
  const { item, error } = inputs;
  const reason = /** @type {StaffReason | ''} */ (inputs.reason.value);
  const note = inputs.note.value.trim();
  if (!reason) {
    showError(error, '请选择理由 Choose a reason');
    inputs.reason.focus();
    return;
  }
  if (!(approve ? APPROVE_REASONS : REFUSE_REASONS).has(reason)) {
    showError(error, approve ? '此理由不能用于放行 This reason is for a refusal' : '此理由不能用于拒绝 This reason is for an approval');
    inputs.reason.focus();
    return;
  }
  if (reason === 'other' && !note) {
    showError(error, '选择“其他”时请填写备注 Add a note to say why');
    inputs.note.focus();
    return;
  }
  /** @type {ResolveRequest} */
  const body = { approve, reason, override: approve && inputs.override.checked };
  if (note) body.note = note;
  const ticket = inputs.ticket ? inputs.ticket.value.trim() : '';
  if (ticket) body.ticket = ticket;

  showError(error, '');
  item.classList.add('busy');
  const controls = /** @type {NodeListOf<HTMLButtonElement | HTMLInputElement>} */ (item.querySelectorAll('button, input'));
  for (const b of controls) b.disabled = true;
  try {
    const decision = /** @type {Decision} */ (await api('POST', `/api/manual/${encodeURIComponent(id)}`, body));
    item.remove();
    notice(resolutionText(decision, approve));
    loadManual();
  } catch (e) {
    showError(error, messageOf(e));
    for (const b of controls) b.disabled = false;
  } finally {
    item.classList.remove('busy');
    $('manual-empty').hidden = $('manual-list').children.length > 0;
  }
}

/**
 * @param {Decision | null} decision
 * @param {boolean} approved
 */
function resolutionText(decision, approved) {
  const outcome = decision && decision.outcome;
  if (outcome === 'already_boarded') return '该票已在其他通道登车 The ticket already boarded at another lane';
  if (outcome) return `${words(OUTCOMES, outcome)}${decision?.ticket ? ` · 票 ${decision.ticket}` : ''}`;
  return approved ? OUTCOMES.manual_approved : OUTCOMES.manual_refused;
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let noticeTimer;

/** A short confirmation at the top, gone after a few seconds. */
function notice(/** @type {string} */ text) {
  const node = $('notice');
  node.textContent = text;
  node.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    node.hidden = true;
  }, 6000);
}
