// @ts-check
// The console's tabs. The hash names the open tab (/#manual), so a reload keeps it.

import { $ } from './dom.js';

const TABS = ['lanes', 'manual', 'board', 'reports'];

/** @type {Record<string, () => void>} what to do when a tab opens (e.g. load the reports) */
let onOpen = {};

/** The tab's button. */
function tabButton(/** @type {string} */ name) {
  return /** @type {HTMLElement | null} */ (document.querySelector(`.tab[data-tab="${name}"]`));
}

/** Opens the tab `name`, or the lanes when there is no such tab (or it is hidden). */
export function openTab(/** @type {string} */ name) {
  const tab = tabButton(name);
  if (!TABS.includes(name) || !tab || tab.hidden) name = 'lanes';
  for (const t of TABS) {
    $(t).hidden = t !== name;
    const button = /** @type {HTMLElement} */ (tabButton(t));
    button.classList.toggle('active', t === name);
    button.setAttribute('aria-selected', String(t === name));
  }
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  onOpen[name]?.();
}

/**
 * Makes the tab buttons and the address's hash open tabs.
 * @param {Record<string, () => void>} opened  by tab name: runs each time that tab opens
 */
export function initTabs(opened) {
  onOpen = opened;
  for (const button of document.querySelectorAll('.tab')) {
    if (!(button instanceof HTMLElement)) continue;
    button.addEventListener('click', () => openTab(button.dataset.tab || ''));
  }
  window.addEventListener('hashchange', () => openTab(location.hash.slice(1)));
}
