// The API keys page: a table of every key and the actions on one. After each action
// the list is read again from the API, so the table shows what the server now holds.
import { api } from './api.js';
import { byId, copyText, describeError, formatNumber, h } from './dom.js';
import { initKeyDialogs, openCreate, openRevoke, openRotate, revealKey } from './key-dialogs.js';
import { formatTime, fromNow, utcDateTime } from './time.js';

/** Every key the API listed, newest first. */
let keys = [];
const PAGE_SIZE = 100;
const MAX_PAGES = 50;

const status = (text, isError = false) => {
  const line = byId('keys-status');
  line.textContent = text;
  line.classList.toggle('error', isError);
};

/** Reads every page of GET /v1/keys (the API pages oldest first; the table shows newest first). */
async function load() {
  const all = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = cursor ? `?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(cursor)}` : `?limit=${PAGE_SIZE}`;
    const answer = await api(`/v1/keys${query}`);
    all.push(...answer.data);
    cursor = answer.next;
    if (!cursor) break;
  }
  keys = all.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  render();
}

/** Loads the list and reports failure in the page rather than throwing. */
async function refresh(message = '') {
  try {
    await load();
    status(message);
  } catch (error) {
    status(`Could not load the keys: ${describeError(error)}`, true);
  }
}

function limitsOf(key) {
  const { rate, burst, daily, concurrent } = key.limits;
  const parts = [];
  if (rate !== undefined) parts.push(`${formatNumber(rate)}/s`);
  if (burst !== undefined) parts.push(`burst ${formatNumber(burst)}`);
  if (daily !== undefined) parts.push(`${formatNumber(daily)}/day`);
  if (concurrent !== undefined) parts.push(`${concurrent} at once`);
  const lines = [h('div', {}, parts.length ? parts.join(', ') : h('span', { className: 'muted' }, 'server defaults'))];
  if (key.allowedHosts.length) lines.push(h('div', { className: 'muted' }, `hosts: ${key.allowedHosts.join(', ')}`));
  if (key.allowedIps.length) lines.push(h('div', { className: 'muted' }, `IPs: ${key.allowedIps.join(', ')}`));
  return lines;
}

/** A button whose accessible name says which key it acts on ("Revoke key website"). */
function actionButton(action, label, key) {
  return h(
    'button',
    { type: 'button', className: action === 'revoke' ? 'link danger-text' : 'link', dataset: { action, id: key.id } },
    label,
    h('span', { className: 'visually-hidden' }, ` key ${key.name}`),
  );
}

function actionsOf(key) {
  if (key.state === 'revoked') return [h('span', { className: 'muted' }, 'none')];
  const buttons = [];
  if (key.state === 'active') buttons.push(actionButton('disable', 'Disable', key));
  if (key.state === 'disabled') buttons.push(actionButton('enable', 'Enable', key));
  if (key.state !== 'expired') buttons.push(actionButton('rotate', 'Rotate', key));
  buttons.push(actionButton('revoke', 'Revoke', key));
  return [h('div', { className: 'row-actions' }, ...buttons)];
}

/** The key's id (what the API's /v1/keys/:id and the CLI take), with a copy button. */
function idOf(key) {
  return h(
    'div',
    { className: 'key-id' },
    h('code', { className: 'id', title: 'Key id' }, key.id),
    h(
      'button',
      { type: 'button', className: 'link copy', dataset: { action: 'copy-id', id: key.id } },
      'Copy id',
      h('span', { className: 'visually-hidden' }, ` of key ${key.name}`),
    ),
  );
}

function rowOf(key) {
  const name = [h('strong', {}, key.name)];
  if (key.rotatedFrom) name.push(h('div', { className: 'muted' }, 'from a rotation'));
  const cells = [
    ['Name', ...name],
    ['Key', h('span', { className: 'hint', title: 'Key hint' }, key.hint), idOf(key)],
    ['Scopes', h('ul', { className: 'scopes' }, ...key.scopes.map((scope) => h('li', {}, scope)))],
    ['Limits', ...limitsOf(key)],
    ['Created', formatTime(key.createdAt)],
    ['Last used', formatTime(key.lastUsedAt)],
    ['Expires', formatTime(key.expiresAt)],
    ['State', h('span', { className: `state state-${key.state}` }, key.state)],
    ['Actions', ...actionsOf(key)],
  ];
  // data-label is what narrow screens show before each value (the header row is hidden there).
  // The content sits in one wrapper, so the narrow layout's two-column grid keeps it together.
  return h(
    'tr',
    { dataset: { keyId: key.id, state: key.state } },
    ...cells.map(([label, ...content]) => h('td', { dataset: { label } }, h('div', {}, ...content))),
  );
}

function render() {
  const hideRevoked = byId('hide-revoked').checked;
  const shown = keys.filter((key) => !hideRevoked || key.state !== 'revoked');
  const body = byId('keys-table').tBodies[0];
  body.replaceChildren(...shown.map(rowOf));
  if (shown.length === 0) {
    body.append(h('tr', {}, h('td', { colSpan: 9 }, keys.length ? 'Only revoked keys, which are hidden.' : 'No keys yet. Create one.')));
  }
}

/** After the table is redrawn, focus goes back to the same action of the same key, else to the heading. */
function refocus(id, action) {
  const again = byId('keys-table').querySelector(`button[data-id="${CSS.escape(id)}"][data-action="${action}"]`);
  (again ?? byId('keys-title')).focus();
}

async function setDisabled(key, disabled) {
  const verb = disabled ? 'disabled' : 'enabled';
  try {
    await api(`/v1/keys/${encodeURIComponent(key.id)}`, { method: 'PATCH', body: { disabled } });
    await refresh(`Key “${key.name}” ${verb}.`);
    refocus(key.id, disabled ? 'enable' : 'disable');
  } catch (error) {
    status(`Could not change “${key.name}”: ${describeError(error)}`, true);
  }
}

async function revoked(key) {
  await refresh(`Key “${key.name}” revoked: it is refused from now on.`);
  byId('keys-title').focus();
}

async function rotated(key, issued, grace) {
  const at = Date.now() + grace * 1000;
  const until = `${utcDateTime(at)} (${fromNow(at)})`;
  const note = grace === 0 ? 'The old key was revoked.' : `The old key keeps working until ${until}.`;
  await refresh(`Key “${key.name}” rotated. ${note}`);
  revealKey(issued.key, `“${issued.name}” (${issued.hint}) replaces ${key.hint}. ${note}`);
}

function onTableClick(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const key = keys.find((candidate) => candidate.id === button.dataset.id);
  if (!key) return;
  const action = button.dataset.action;
  if (action === 'copy-id') copyId(key, button);
  else if (action === 'disable' || action === 'enable') setDisabled(key, action === 'disable');
  else if (action === 'revoke') openRevoke(key, () => revoked(key));
  else if (action === 'rotate') openRotate(key, (issued, grace) => rotated(key, issued, grace));
}

async function copyId(key, button) {
  const copied = await copyText(key.id, button.previousElementSibling);
  status(copied ? `Copied the id of “${key.name}”: ${key.id}` : 'Selected: press Ctrl+C (⌘C) to copy the id.');
}

async function created(record) {
  await refresh(`Key “${record.name}” created.`);
  revealKey(record.key, `“${record.name}” (${record.hint}), scopes: ${record.scopes.join(', ')}.`);
}

export const keysView = {
  init() {
    initKeyDialogs();
    byId('create-key').addEventListener('click', () => openCreate(created));
    byId('hide-revoked').addEventListener('change', render);
    byId('keys-refresh').addEventListener('click', () => refresh('Keys reloaded.'));
    byId('keys-table').addEventListener('click', onTableClick);
  },
  show() {
    status('Loading keys…');
    refresh();
  },
  hide() {},
  reset() {
    keys = [];
    byId('keys-table').tBodies[0].replaceChildren();
    status('');
  },
};
