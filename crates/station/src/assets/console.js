// @ts-check
// The station's staff console: wires its views (console-*.js) to the session, the tabs and
// the live stream. Plain ES2020 modules, no libraries, no build step.

import { api, keepStreaming } from './api.js';
import { initBoard, loadBoard, refreshBoardSoon, tripDecided } from './console-board.js';
import { initLogout, setStreamState, signedIn } from './console-header.js';
import { addDecision, healthChanged, loadLanes, tickLanes } from './console-lanes.js';
import { loadManual, setManualCount, tickManual } from './console-manual.js';
import { initReports, reportsOpened } from './console-reports.js';
import { initTabs, openTab } from './console-tabs.js';
import { $ } from './dom.js';

/** @typedef {import('../../../api/bindings/api').StreamEvent} StreamEvent */
/** @typedef {import('./api.js').StreamHandlers<StreamEvent>} ConsoleHandlers */

/** Everything is fetched again this often, in case an event was missed. */
const REFRESH_MS = 15000;

function refreshAll() {
  loadLanes();
  loadManual();
  loadBoard();
}

/** Live updates: server-sent events; after a break, everything is fetched again. */
function openStream() {
  let opened = false;
  let broken = false;
  return keepStreaming(
    '/api/stream',
    {
      connecting: () => setStreamState(opened ? 'reconnecting' : 'connecting'),
      open() {
        setStreamState('live');
        // Back after a break: anything may have happened meanwhile.
        if (broken) refreshAll();
        opened = true;
        broken = false;
      },
      broken() {
        broken = true;
        setStreamState('reconnecting');
      },
      // The server answered with an error: check the session (401 → login) first.
      retryMs: 3000,
      async beforeRetry() {
        try {
          await api('GET', '/api/session');
        } catch (e) {
          // unreachable: try the stream again anyway
        }
      },
    },
    /** @satisfies {ConsoleHandlers} */ ({
      decision(event) {
        addDecision(event);
        tripDecided(event.trip);
      },
      manual(data) {
        setManualCount(data.pending);
        loadManual();
      },
      health: healthChanged,
      board: () => refreshBoardSoon(),
    }),
  );
}

async function initConsole() {
  const me = await signedIn();
  if (!me) return;

  const supervisor = me.role === 'supervisor';
  document.body.dataset.role = me.role;
  $('tab-reports').hidden = !supervisor;
  if (!supervisor) $('reports').hidden = true;

  /** @type {{ close(): void } | null} */
  let stream = null;
  initLogout(() => stream?.close());
  initTabs(supervisor ? { reports: reportsOpened } : {});
  initBoard();
  if (supervisor) initReports();
  openTab(location.hash.slice(1) || 'lanes');

  refreshAll();
  stream = openStream();
  setInterval(refreshAll, REFRESH_MS);
  setInterval(() => {
    tickManual();
    tickLanes();
  }, 1000);
}

document.addEventListener('DOMContentLoaded', initConsole);
