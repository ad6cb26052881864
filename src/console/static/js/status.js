// The status page: GET /status every few seconds while the page is shown and the tab
// is visible. /status is public, so the key is not sent with it.
import { byId, formatDuration, formatNumber } from './dom.js';
import { utcClock } from './time.js';

const INTERVAL_MS = 3000;
let timer = null;
let shown = false;

/** What each `[data-field]` of the page shows, from one /status answer. */
export function fieldsOf(status) {
  const { system, queue, browser, pool } = status;
  const refusals = Object.entries(queue.refusals ?? {});
  const refused = refusals.reduce((sum, [, count]) => sum + count, 0);
  return {
    'system.cpuUsage': system.cpuUsage,
    'system.cpuCount': String(system.cpuCount),
    'system.loadAverage': system.loadAverage.join(', '),
    'system.memory.processRssMb': `${formatNumber(system.memory.processRssMb)} MB`,
    'system.memory.systemFreeMb': `${formatNumber(system.memory.systemFreeMb)} of ${formatNumber(system.memory.systemTotalMb)} MB`,
    'queue.running': `${queue.activeRequests} of ${queue.maxConcurrency}`,
    'queue.waiting': `${queue.queuedRequests} of ${queue.maxQueue}`,
    'queue.queueTimeoutMs': `${formatNumber(queue.queueTimeoutMs)} ms`,
    'queue.refused': refused === 0 ? 'none' : `${refused} (${refusals.map(([code, count]) => `${code} ${count}`).join(', ')})`,
    'browser.state': browser.state,
    'browser.version': browser.version ?? 'not started',
    'browser.capturesServed': formatNumber(browser.capturesServed),
    'browser.restarts': `${browser.restarts} (${browser.crashes} crashes)`,
    'pool.summary': `${pool.contexts} of ${pool.maxContexts} (${pool.busy} busy, ${pool.idle} idle)`,
    version: status.version,
    uptime: formatDuration(status.uptimeSeconds),
  };
}

function render(status) {
  const fields = fieldsOf(status);
  for (const element of byId('view-status').querySelectorAll('[data-field]')) {
    element.textContent = fields[element.dataset.field] ?? '—';
    // Long values (the browser's version) are cut with an ellipsis: the title keeps them whole.
    element.title = element.textContent;
  }
  const badge = byId('status-badge');
  badge.textContent = status.status === 'busy' ? 'Busy: new work is being refused' : 'Running';
  badge.className = `badge ${status.status}`;
  byId('status-updated').textContent = `Last update: ${utcClock(Date.now())}.`;
  byId('status-error').textContent = '';
}

async function refresh() {
  clearTimeout(timer);
  try {
    const response = await fetch('/status', { cache: 'no-store', credentials: 'omit' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    if (shown) render(await response.json());
  } catch (error) {
    if (shown) byId('status-error').textContent = `Status could not be read (${error.message}); retrying.`;
  } finally {
    // One request at a time: the next starts only after this one ended.
    if (shown && !document.hidden) timer = setTimeout(refresh, INTERVAL_MS);
  }
}

// A hidden tab does not poll; it catches up as soon as it is visible again.
document.addEventListener('visibilitychange', () => {
  if (shown && !document.hidden) refresh();
});

export const statusView = {
  init() {},
  show() {
    shown = true;
    refresh();
  },
  hide() {
    shown = false;
    clearTimeout(timer);
  },
  reset() {
    for (const element of byId('view-status').querySelectorAll('[data-field]')) {
      element.textContent = '';
      element.title = '';
    }
    byId('status-badge').textContent = '';
  },
};
