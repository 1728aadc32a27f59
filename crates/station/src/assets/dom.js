// @ts-check
// Building the pages: every piece of server data goes into the DOM through textContent or
// attributes, never as HTML.

import { api, messageOf } from './api.js';

/**
 * The element with this id, which the page must have; with `kind`, also of that kind.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{ new (): T }} [kind]  e.g. HTMLInputElement
 * @returns {T}
 */
export function $(id, kind) {
  const node = document.getElementById(id);
  if (!node || (kind && !(node instanceof kind))) throw new Error(`the page has no #${id}${kind ? ` (${kind.name})` : ''}`);
  return /** @type {T} */ (node);
}

/**
 * What `el` sets on a new element: className, text, dataset, hidden, or any attribute (true:
 * present and empty; null, undefined or false: left out).
 * @typedef {{
 *   className?: string,
 *   text?: string | number | null,
 *   dataset?: Record<string, string | number>,
 *   hidden?: boolean,
 * } & Record<string, unknown>} Props
 */

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * Builds an element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {...Child} children  null, undefined and false are left out
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = String(value);
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

/**
 * GETs the list at `path` and renders it; when that fails, #`errorId` says so after `failed`
 * (and is hidden again once a load succeeds).
 * @template T
 * @param {string} path
 * @param {(items: T[]) => void} render
 * @param {string} errorId
 * @param {string} failed  e.g. '通道加载失败 Could not load lanes'
 */
export async function loadList(path, render, errorId, failed) {
  try {
    const items = /** @type {T[]} */ (await api('GET', path));
    render(Array.isArray(items) ? items : []);
    showError($(errorId), '');
  } catch (e) {
    showError($(errorId), `${failed}: ${messageOf(e)}`);
  }
}

/** Shows `message` in `node`, or hides `node` when there is none. */
export function showError(/** @type {HTMLElement} */ node, /** @type {string} */ message) {
  node.textContent = message || '';
  node.hidden = !message;
}
