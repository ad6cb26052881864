// The usage page: one key's requests per UTC day over a range of days (the last 30 by
// default). Reading usage makes the server write its pending counts first, so requests
// just made are included.
import { api } from './api.js';
import { drawChart } from './chart.js';
import { byId, describeError, formatBytes, formatNumber, h } from './dom.js';
import { defaultRange, rangeProblem } from './usage-range.js';
import { utcDay } from './time.js';

const DAY_MS = 86_400_000;
/** The option that means "the signed-in key itself" (GET /v1/usage). */
const SELF = 'self';

const status = (text, isError = false) => {
  const line = byId('usage-status');
  line.textContent = text;
  line.classList.toggle('error', isError);
};

/** Every day from `from` to `to` (YYYY-MM-DD, UTC), with zeros where the API listed none. */
export function fillDays(from, to, listed) {
  const byDay = new Map(listed.map((day) => [day.day, day]));
  const days = [];
  for (let time = Date.parse(`${from}T00:00:00Z`); time <= Date.parse(`${to}T00:00:00Z`); time += DAY_MS) {
    const day = utcDay(time);
    days.push(byDay.get(day) ?? { day, requests: 0, succeeded: 0, failed: 0, rejected: 0, rejectedBy: {}, renderMs: 0, bytesSent: 0, cacheHits: 0 });
  }
  return days;
}

/** Every stored key (admins only), read page by page. */
async function allKeys() {
  const listed = [];
  let cursor = null;
  do {
    const answer = await api(`/v1/keys?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    listed.push(...answer.data);
    cursor = answer.next;
  } while (cursor && listed.length < 5000);
  return listed;
}

/**
 * The keys this session may choose from, its own key first: itself (when it may read
 * its own usage, or is an admin whose stored key is listed) and, for an admin, every
 * other stored key, newest first. `own` is the value of the signed-in key's option, if any.
 */
async function choicesFor(session) {
  const { me, scopes, isAdmin } = session;
  const listed = isAdmin ? await allKeys() : [];
  const mine = listed.find((key) => key.id === me.id);
  const others = listed.filter((key) => key !== mine).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const choices = [];
  if (mine) choices.push({ value: mine.id, label: `${mine.name} · ${mine.hint} (this key)` });
  else if (scopes.has('usage:read')) choices.push({ value: SELF, label: `${me.name} (this key)` });
  const own = choices[0]?.value ?? null;
  for (const key of others) choices.push({ value: key.id, label: `${key.name} · ${key.hint} (${key.state})` });
  return { choices, own };
}

function totalsOf(totals) {
  const items = [
    ['Requests', formatNumber(totals.requests)],
    ['Succeeded', formatNumber(totals.succeeded)],
    ['Cache hits', formatNumber(totals.cacheHits ?? 0)],
    ['Failed', formatNumber(totals.failed)],
    ['Rejected', formatNumber(totals.rejected)],
    ['Render time', `${formatNumber(Math.round(totals.renderMs / 1000))} s`],
    ['Images sent', formatBytes(totals.bytesSent)],
  ];
  return items.map(([label, value]) => h('div', { dataset: { total: label.toLowerCase() } }, h('dt', {}, label), h('dd', {}, value)));
}

/** The rejections by error code, most first, in their own table under the cards (hidden when none). */
function showRejections(rejectedBy) {
  const rows = Object.entries(rejectedBy).sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b));
  byId('usage-rejections-table').tBodies[0].replaceChildren(
    ...rows.map(([code, count]) => h('tr', { dataset: { code } }, h('td', {}, h('code', {}, code)), h('td', { className: 'number' }, formatNumber(count)))),
  );
  byId('usage-rejections').hidden = rows.length === 0;
}

function render(answer, label) {
  const days = fillDays(answer.from, answer.to, answer.days);
  byId('usage-totals').replaceChildren(...totalsOf(answer.totals));
  showRejections(answer.totals.rejectedBy ?? {});
  byId('usage-caption').textContent = `Requests per day for ${label}, ${answer.from} to ${answer.to} (UTC, ${days.length} days)`;
  // Shown before drawing: the axis measures the chart's width.
  byId('usage-body').hidden = false;
  drawChart(byId('usage-chart'), byId('usage-legend'), days);
  byId('usage-table').tBodies[0].replaceChildren(
    ...days
      .filter((day) => day.requests > 0)
      .reverse()
      .map((day) => h('tr', {}, ...[day.day, day.requests, day.succeeded, day.failed, day.rejected].map((value) => h('td', {}, String(value))))),
  );
}

/** Shows a problem with the range on its field; `null` clears it. */
function rangeError(problem) {
  byId('usage-range-error').textContent = problem?.message ?? '';
  for (const field of ['from', 'to']) {
    const input = byId(`usage-${field}`);
    if (problem?.field === field) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

/** Loads and draws the usage of the selected key over the chosen days. */
async function load() {
  const select = byId('usage-key');
  const value = select.value;
  const from = byId('usage-from').value;
  const to = byId('usage-to').value;
  if (!value) return;
  const problem = rangeProblem(from, to);
  rangeError(problem);
  if (problem) {
    byId(`usage-${problem.field}`).focus();
    return;
  }
  status('Loading usage…');
  const query = `?from=${from}&to=${to}`;
  try {
    const path = value === SELF ? `/v1/usage${query}` : `/v1/keys/${encodeURIComponent(value)}/usage${query}`;
    const answer = await api(path);
    // Another key or range was chosen meanwhile: that answer is the one to show.
    if (select.value !== value || byId('usage-from').value !== from || byId('usage-to').value !== to) return;
    render(answer, select.selectedOptions[0].textContent);
    status('');
  } catch (error) {
    if (error.code === 'VALIDATION_ERROR' && (error.field === 'from' || error.field === 'to')) rangeError({ field: error.field, message: describeError(error) });
    else status(`Could not load usage: ${describeError(error)}`, true);
  }
}

/** Puts the default range (the last 30 days) in the date fields; the newest day allowed is today. */
function resetRange() {
  const { from, to } = defaultRange();
  byId('usage-from').value = from;
  byId('usage-to').value = to;
  byId('usage-from').max = to;
  byId('usage-to').max = to;
  rangeError(null);
}

export const usageView = {
  init() {
    resetRange();
    byId('usage-key').addEventListener('change', load);
    byId('usage-form').addEventListener('submit', (event) => {
      event.preventDefault();
      load();
    });
  },
  async show(session) {
    const select = byId('usage-key');
    const previous = select.value;
    // A day may have passed since the page was drawn: today is the latest day allowed.
    for (const field of ['usage-from', 'usage-to']) byId(field).max = utcDay(Date.now());
    status('Loading…');
    try {
      const { choices, own } = await choicesFor(session);
      select.replaceChildren(...choices.map(({ value, label }) => h('option', { value }, label)));
      if (choices.length === 0) {
        byId('usage-body').hidden = true;
        status('This key has neither the usage:read nor the keys:manage scope, so it cannot read usage.', true);
        return;
      }
      // Coming back to the page keeps the key chosen before; a new session starts with its own.
      if (previous && choices.some((choice) => choice.value === previous)) select.value = previous;
      else if (own) select.value = own;
      await load();
    } catch (error) {
      status(`Could not load usage: ${describeError(error)}`, true);
    }
  },
  hide() {},
  reset() {
    byId('usage-key').replaceChildren();
    byId('usage-body').hidden = true;
    resetRange();
    status('');
  },
};
