// @ts-check
// The console's reports (supervisors): a day's trips and a month's days, each as a table with
// its totals, a chart (SVG from the service) and a CSV download.

import { api, messageOf } from './api.js';
import { $, el, showError } from './dom.js';
import { REPORT_COLUMNS, departure, localDate } from './console-words.js';

/** @typedef {import('../../../api/bindings/api').Report} Report */
/** @typedef {import('../../../api/bindings/api').MonthReport} MonthReport */
/** @typedef {import('../../../api/bindings/api').Totals} Totals */

/**
 * One report on the page: where its figures, chart and CSV come from, and its part of the page.
 * @template {Report | MonthReport} R
 * @typedef {object} ReportKind
 * @property {'day' | 'month'} prefix  its elements' ids: `${prefix}-table`, -chart, -csv, -error
 * @property {string} input            the id of its date or month picker
 * @property {string} param            the query parameter the picker's value goes in
 * @property {(report: R) => object[]} rows  the report's rows, one a table row
 */

/** @type {ReportKind<Report>} */
const DAY = { prefix: 'day', input: 'report-date', param: 'date', rows: (report) => report.trips };
/** @type {ReportKind<MonthReport>} */
const MONTH = { prefix: 'month', input: 'report-month', param: 'month', rows: (report) => report.days };

let opened = false;

/** The reports tab opened: the first time, the reports load. */
export function reportsOpened() {
  if (opened) return;
  opened = true;
  loadReport(DAY);
  loadReport(MONTH);
}

export function initReports() {
  const now = new Date();
  $('report-date', HTMLInputElement).value = localDate(now);
  $('report-month', HTMLInputElement).value = localDate(now).slice(0, 7);
  $(DAY.input).addEventListener('change', () => loadReport(DAY));
  $(MONTH.input).addEventListener('change', () => loadReport(MONTH));
}

/**
 * Loads the report that `kind`'s picker names, and shows it.
 * @template {Report | MonthReport} R
 * @param {ReportKind<R>} kind
 */
async function loadReport(kind) {
  const value = $(kind.input, HTMLInputElement).value;
  if (!value) return;
  const q = `${kind.param}=${encodeURIComponent(value)}`;
  const table = $(`${kind.prefix}-table`);
  const chart = $(`${kind.prefix}-chart`, HTMLImageElement);
  const csv = $(`${kind.prefix}-csv`, HTMLAnchorElement);
  const moved = () => $(kind.input, HTMLInputElement).value !== value; // the picker moved on meanwhile
  try {
    const data = /** @type {R} */ (await api('GET', `/api/reports/${kind.prefix}?${q}`));
    if (moved()) return;
    table.replaceChildren(reportTable(kind.rows(data), data.totals));
    chart.src = `/api/reports/${kind.prefix}/chart.svg?${q}`;
    chart.hidden = false;
    csv.href = `/api/reports/${kind.prefix}?${q}&format=csv`;
    csv.hidden = false;
    showError($(`${kind.prefix}-error`), '');
  } catch (e) {
    if (moved()) return;
    table.replaceChildren();
    chart.hidden = true;
    csv.hidden = true;
    showError($(`${kind.prefix}-error`), `报表加载失败 Could not load the report: ${messageOf(e)}`);
  }
}

/**
 * A table with a column for each field of the rows (in the order the service writes them),
 * and the totals beneath.
 * @param {object[]} rows
 * @param {Totals} totals
 */
function reportTable(rows, totals) {
  /** @type {Record<string, unknown>[]} */
  const fields = /** @type {Record<string, unknown>[]} */ (rows);
  /** @type {Record<string, unknown>} */
  const sums = totals;
  /** @type {string[]} */
  const keys = [];
  for (const row of fields) {
    for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  }
  if (!keys.length) keys.push(...Object.keys(sums));
  if (!keys.length) return el('p', { className: 'empty', text: '没有数据 No data for this period' });

  /** @type {Record<string, string | undefined>} */
  const headings = REPORT_COLUMNS;
  const head = el('tr', {}, ...keys.map((k) => el('th', { dataset: { key: k }, text: headings[k] || k })));
  const body = el('tbody', {}, ...fields.map((row) => el('tr', {}, ...keys.map((k) => reportCell(k, row[k])))));
  const table = el('table', { className: 'data report' }, el('thead', {}, head), body);
  const cells = keys.map((k, i) => {
    if (i === 0 && sums[k] === undefined) return el('th', { scope: 'row', text: '合计 Total' });
    return sums[k] === undefined ? el('td', { dataset: { key: k } }) : reportCell(k, sums[k]);
  });
  table.append(el('tfoot', {}, el('tr', { className: 'totals' }, ...cells)));
  if (!rows.length) table.append(el('caption', { text: '没有班次 No trips in this period' }));
  return table;
}

function reportCell(/** @type {string} */ key, /** @type {unknown} */ value) {
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
