// The dialogs of the keys page: create, revoke (a confirmation), rotate (a grace
// period), and the one that shows a new key once. Native <dialog>.showModal() keeps
// focus inside, closes on Escape and gives focus back to the opener.
import { api } from './api.js';
import { byId, closeButtons, copyText, describeError } from './dom.js';

/** What each dialog's submit does now; set by the open* functions. */
const pending = { create: null, revoke: null, rotate: null };

/** "a, b\nc" → ["a", "b", "c"]. */
function listOf(text) {
  return text.split(/[\s,]+/).map((item) => item.trim()).filter(Boolean);
}

/** The create form as the body of POST /v1/keys; only what was filled in is sent. */
function settingsOf(form) {
  const data = new FormData(form);
  const settings = { name: String(data.get('name')).trim(), scopes: data.getAll('scopes') };
  const limits = {};
  for (const name of ['rate', 'burst', 'daily', 'concurrent']) {
    const value = String(data.get(name)).trim();
    if (value !== '') limits[name] = Number(value);
  }
  if (Object.keys(limits).length) settings.limits = limits;
  // A date input gives a day; the key works through the end of that day, UTC.
  const expires = String(data.get('expires'));
  if (expires) settings.expiresAt = `${expires}T23:59:59Z`;
  const hosts = listOf(String(data.get('allowedHosts')));
  if (hosts.length) settings.allowedHosts = hosts;
  const ips = listOf(String(data.get('allowedIps')));
  if (ips.length) settings.allowedIps = ips;
  return settings;
}

/** The form control an API error's `field` names: "limits/daily" → daily, "allowedHosts/0" → allowedHosts. */
function controlFor(form, field) {
  if (!field) return null;
  const parts = field.split('/');
  for (const part of [parts.at(-1), parts[0]]) {
    const control = form.elements.namedItem(part === 'expiresAt' ? 'expires' : part);
    if (control) return control instanceof RadioNodeList ? control[0] : control;
  }
  return null;
}

/**
 * Runs a dialog's submit: disables its buttons meanwhile, and shows an error inside the
 * dialog (focusing the field it is about) instead of closing it.
 */
async function submitting(form, errorId, action) {
  const error = byId(errorId);
  error.textContent = '';
  for (const invalid of form.querySelectorAll('[aria-invalid]')) invalid.removeAttribute('aria-invalid');
  const buttons = form.querySelectorAll('button');
  buttons.forEach((button) => (button.disabled = true));
  try {
    await action();
  } catch (failure) {
    error.textContent = describeError(failure);
    const control = controlFor(form, failure.field);
    control?.setAttribute('aria-invalid', 'true');
    (control ?? form.querySelector('button[type="submit"]')).focus();
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
}

async function submitCreate(event) {
  event.preventDefault();
  const form = event.target;
  const settings = settingsOf(form);
  if (!settings.name) return showFormError(form, 'create-error', 'Give the key a name.', 'name');
  if (settings.scopes.length === 0) return showFormError(form, 'create-error', 'Choose at least one scope.', 'scopes');
  await submitting(form, 'create-error', async () => {
    const record = await api('/v1/keys', { method: 'POST', body: settings });
    byId('create-dialog').close();
    await pending.create(record);
  });
}

function showFormError(form, errorId, message, field) {
  byId(errorId).textContent = message;
  controlFor(form, field)?.focus();
}

/** Opens the create dialog, empty; `onCreated(record)` gets the 201 answer (with the key). */
export function openCreate(onCreated) {
  pending.create = onCreated;
  const form = byId('create-form');
  form.reset();
  // The API refuses an expiry in the past; the date picker does not offer one.
  byId('create-expires').min = new Date().toISOString().slice(0, 10);
  byId('create-error').textContent = '';
  byId('create-dialog').showModal();
  byId('create-name').focus();
}

/** Asks before revoking `key`; after DELETE /v1/keys/:id, `onRevoked()` runs. */
export function openRevoke(key, onRevoked) {
  pending.revoke = { key, then: onRevoked };
  byId('revoke-text').textContent =
    `“${key.name}” (${key.hint}) will be refused at once with 403 KEY_REVOKED, everywhere it is used. This cannot be undone.`;
  byId('revoke-error').textContent = '';
  byId('revoke-dialog').showModal();
  // The safe choice has focus: Enter alone does not revoke.
  byId('revoke-dialog').querySelector('[data-close]').focus();
}

/** Asks for a grace period and rotates `key`; `onRotated(answer, seconds)` gets the new key. */
export function openRotate(key, onRotated) {
  pending.rotate = { key, then: onRotated };
  byId('rotate-text').textContent = `A new key with the same settings replaces “${key.name}” (${key.hint}). Give the old one time to be swapped out.`;
  byId('rotate-error').textContent = '';
  byId('rotate-dialog').showModal();
  byId('rotate-grace').focus();
}

/**
 * Shows a new key, once. It exists only in this dialog's text while the dialog is open
 * and is wiped when it closes: nothing else in the page ever holds it.
 */
export function revealKey(key, note) {
  byId('secret-value').textContent = key;
  byId('secret-note').textContent = note;
  byId('secret-copied').textContent = '';
  byId('secret-dialog').showModal();
  byId('secret-copy').focus();
}

export function initKeyDialogs() {
  for (const id of ['create-dialog', 'secret-dialog', 'revoke-dialog', 'rotate-dialog']) closeButtons(byId(id));
  byId('create-form').addEventListener('submit', submitCreate);
  // Each action's request runs while its dialog is open (a refusal is shown there); the
  // page is updated only after the dialog closed, so focus lands in the new table.
  byId('revoke-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const { key, then } = pending.revoke;
    submitting(event.target, 'revoke-error', async () => {
      await api(`/v1/keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' });
      byId('revoke-dialog').close();
      await then();
    });
  });
  byId('rotate-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const { key, then } = pending.rotate;
    const gracePeriodSeconds = Number(byId('rotate-grace').value);
    submitting(event.target, 'rotate-error', async () => {
      const issued = await api(`/v1/keys/${encodeURIComponent(key.id)}/rotate`, { method: 'POST', body: { gracePeriodSeconds } });
      byId('rotate-dialog').close();
      await then(issued, gracePeriodSeconds);
    });
  });
  const secret = byId('secret-dialog');
  byId('secret-copy').addEventListener('click', async () => {
    const copied = await copyText(byId('secret-value').textContent, byId('secret-value'));
    byId('secret-copied').textContent = copied ? 'Copied to the clipboard.' : 'Selected: press Ctrl+C (⌘C) to copy.';
  });
  // Escape would lose the key by accident: the explicit button closes this one.
  secret.addEventListener('cancel', (event) => event.preventDefault());
  secret.addEventListener('close', () => {
    byId('secret-value').textContent = '';
    byId('secret-note').textContent = '';
    window.getSelection()?.removeAllRanges();
  });
}
