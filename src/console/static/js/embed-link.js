// "Copy embed link": a signed GET /screenshot link for an <img src>, which works without
// a key until it expires (README: "Signed embed links"). The server signs it with the
// key's newest signing secret; a key without one is offered to create one, then the
// link is asked for again.
import { api } from './api.js';
import { byId, copyText, describeError } from './dom.js';
import { formatTime, fromNow } from './time.js';

/** The options of the link being made, kept for the retry after a secret was created. */
let pendingOptions = null;
/** Where the form's current options come from, and whether they are fine (set by init). */
let readOptions = () => ({ options: null, problem: 'Not ready.' });

const note = (text) => (byId('embed-status').textContent = text);
const fail = (text) => (byId('embed-error').textContent = text);

/** The link as the browser must load it: the API answers a path, which is relative to this origin. */
export function absoluteLink(url, origin = location.origin) {
  return new URL(url, origin).href;
}

/** Shows the link and its expiry, and copies it; `done` is said before the copy's outcome. */
async function showLink({ url, expiresAt }, done = '') {
  const link = absoluteLink(url);
  const code = byId('embed-url');
  code.textContent = link;
  byId('embed-expiry').replaceChildren(
    'Works without a key until ',
    formatTime(expiresAt),
    ` (${fromNow(Date.parse(expiresAt))}), or until the key or its signing secret is revoked.`,
  );
  byId('embed-result').hidden = false;
  const copied = await copyText(link, code);
  note(`${done}${copied ? 'Embed link copied to the clipboard.' : 'Selected: press Ctrl+C (⌘C) to copy the link.'}`);
}

/** Why a signed-link request failed, for people; the missing secret is handled by the caller. */
function reasonOf(error) {
  if (error.status === 404 && error.code === 'NOT_FOUND') return 'This server does not offer signed links (POST /v1/signed-urls answered 404).';
  return `No embed link: ${describeError(error)}`;
}

/** POST /v1/signed-urls with `options`; on SIGNING_SECRET_MISSING, offers to create a secret. */
async function requestLink(options, done = '') {
  const expiresIn = Number(byId('embed-expires').value);
  try {
    const answer = await api('/v1/signed-urls', { method: 'POST', body: { options, expiresIn } });
    pendingOptions = null;
    await showLink(answer, done);
  } catch (error) {
    if (error.code !== 'SIGNING_SECRET_MISSING') throw error;
    pendingOptions = options;
    byId('embed-secret-offer').hidden = false;
  }
}

/** Runs one step with the buttons off and any failure shown; then focus goes to the offer, if one is made. */
async function busy(step) {
  const buttons = [byId('embed-copy'), byId('embed-create-secret')];
  buttons.forEach((button) => (button.disabled = true));
  try {
    await step();
  } catch (error) {
    fail(reasonOf(error));
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
  if (!byId('embed-secret-offer').hidden) byId('embed-create-secret').focus();
}

function onCopy() {
  fail('');
  note('');
  byId('embed-secret-offer').hidden = true;
  byId('embed-result').hidden = true;
  const { options, problem } = readOptions();
  if (problem) {
    fail(problem);
    return;
  }
  busy(() => requestLink(options));
}

function onCreateSecret() {
  fail('');
  busy(async () => {
    // No body: the server makes the secret and keeps it to sign links; the console never needs it.
    const secret = await api('/v1/me/signing-secrets', { method: 'POST' });
    byId('embed-secret-offer').hidden = true;
    await requestLink(pendingOptions, `Signing secret ${secret.hint ?? ''} created for this key. `);
  });
}

/** Wires the buttons; `optionsOf()` gives `{ options, problem }` from the playground's form. */
export function initEmbedLink(optionsOf) {
  readOptions = optionsOf;
  byId('embed-copy').addEventListener('click', onCopy);
  byId('embed-create-secret').addEventListener('click', onCreateSecret);
}

/** Whether this session may ask for links (scope `screenshot`). */
export function enableEmbedLink(enabled) {
  byId('embed-copy').disabled = !enabled;
}

/** Forgets the link shown: it lets anyone capture with this key until it expires. */
export function resetEmbedLink() {
  pendingOptions = null;
  byId('embed-url').textContent = '';
  byId('embed-expiry').replaceChildren();
  byId('embed-result').hidden = true;
  byId('embed-secret-offer').hidden = true;
  fail('');
  note('');
}
