// The usage page: one key's requests per UTC day for the last 30 days. Reading usage
// makes the server write its pending counts first, so requests just made are included.
import { api } from './api.js';
import { drawChart } from './chart.js';
import { byId, describeError, formatBytes, formatNumber, h } from './dom.js';

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
    const day = new Date(time).toISOString().slice(0, 10);
    days.push(byDay.get(day) ?? { day, requests: 0, succeeded: 0, failed: 0, rejected: 0, rejectedBy: {}, renderMs: 0, bytesSent: 0, cacheHits: 0 });
  }
  return days;
}

/**
 * The keys this session may choose from: itself (when it may read its own usage) and,
 * for an admin, every stored key. An admin's own stored key appears once, as a stored key.
 */
async function choicesFor(session) {
  const { me, scopes, isAdmin } = session;
  const choices = [];
  const listed = [];
  if (isAdmin) {
    let cursor = null;
    do {
      const answer = await api(`/v1/keys?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      listed.push(...answer.data);
      cursor = answer.next;
    } while (cursor && listed.length < 5000);
  }
  const ownIsListed = listed.some((key) => key.id === me.id);
  if (scopes.has('usage:read') && !ownIsListed) choices.push({ value: SELF, label: `${me.name} (this key)` });
  for (const key of listed.sort((a, b) => b.createdAt.localeCompare(a.createdAt))) {
    const self = key.id === me.id ? ', this key' : '';
    choices.push({ value: key.id, label: `${key.name} · ${key.hint} (${key.state}${self})` });
  }
  return choices;
}

function totalsOf(answer) {
  const { totals } = answer;
  const rejectedBy = Object.entries(totals.rejectedBy).map(([code, count]) => `${code}: ${count}`).join(', ');
  const items = [
    ['Requests', formatNumber(totals.requests)],
    ['Succeeded', formatNumber(totals.succeeded)],
    ['Cache hits', formatNumber(totals.cacheHits ?? 0)],
    ['Failed', formatNumber(totals.failed)],
    ['Rejected', formatNumber(totals.rejected), rejectedBy],
    ['Render time', `${formatNumber(Math.round(totals.renderMs / 1000))} s`],
    ['Images sent', formatBytes(totals.bytesSent)],
  ];
  return items.map(([label, value, detail]) =>
    h('div', { dataset: { total: label.toLowerCase() } }, h('dt', {}, label), h('dd', {}, value), detail ? h('dd', { className: 'help' }, detail) : null),
  );
}

function render(answer, label) {
  const days = fillDays(answer.from, answer.to, answer.days);
  byId('usage-totals').replaceChildren(...totalsOf(answer));
  byId('usage-caption').textContent = `Requests per day for ${label}, ${answer.from} to ${answer.to} (UTC)`;
  drawChart(byId('usage-chart'), byId('usage-legend'), days);
  byId('usage-table').tBodies[0].replaceChildren(
    ...days
      .filter((day) => day.requests > 0)
      .reverse()
      .map((day) => h('tr', {}, ...[day.day, day.requests, day.succeeded, day.failed, day.rejected].map((value) => h('td', {}, String(value))))),
  );
  byId('usage-body').hidden = false;
}

/** Loads and draws the usage of the selected key. */
async function load() {
  const select = byId('usage-key');
  const value = select.value;
  if (!value) return;
  status('Loading usage…');
  try {
    const path = value === SELF ? '/v1/usage' : `/v1/keys/${encodeURIComponent(value)}/usage`;
    const answer = await api(path);
    if (select.value !== value) return; // another key was chosen meanwhile
    render(answer, select.selectedOptions[0].textContent);
    status('');
  } catch (error) {
    status(`Could not load usage: ${describeError(error)}`, true);
  }
}

export const usageView = {
  init() {
    byId('usage-key').addEventListener('change', load);
  },
  async show(session) {
    const select = byId('usage-key');
    const previous = select.value;
    status('Loading…');
    try {
      const choices = await choicesFor(session);
      select.replaceChildren(...choices.map(({ value, label }) => h('option', { value }, label)));
      if (choices.some((choice) => choice.value === previous)) select.value = previous;
      if (choices.length === 0) {
        byId('usage-body').hidden = true;
        status('This key has neither the usage:read nor the keys:manage scope, so it cannot read usage.', true);
        return;
      }
      await load();
    } catch (error) {
      status(`Could not load usage: ${describeError(error)}`, true);
    }
  },
  hide() {},
  reset() {
    byId('usage-key').replaceChildren();
    byId('usage-body').hidden = true;
    status('');
  },
};
