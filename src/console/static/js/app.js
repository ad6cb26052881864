// The console's entry point: sign-in, the session, and a hash router (#/keys, #/usage,
// #/status, #/playground) so each page has an address and the back button works.
import { forgetKey, rememberKey, restoreKey, whenAuthLost, whoIs } from './api.js';
import { byId, describeError } from './dom.js';
import { keysView } from './keys.js';
import { playgroundView } from './playground.js';
import { statusView } from './status.js';
import { usageView } from './usage.js';

/** Each page: its title and its module ({ init, show(session), hide, reset }). */
const VIEWS = {
  keys: { title: 'API keys', module: keysView, needs: 'keys:manage' },
  usage: { title: 'Usage', module: usageView },
  // /status is public, but the issue gives a non-admin key only its usage and the playground.
  status: { title: 'Status', module: statusView, needs: 'keys:manage' },
  playground: { title: 'Playground', module: playgroundView },
};

/** Who is signed in (GET /v1/me), or null. */
let session = null;
let current = null;

/** The session derived from /v1/me: what this key may see. */
function sessionOf(me) {
  const scopes = new Set(me.scopes);
  return { me, scopes, isAdmin: scopes.has('keys:manage') };
}

function setSignedIn(signedIn) {
  byId('nav').hidden = !signedIn;
  byId('session').hidden = !signedIn;
  if (!signedIn) return;
  const { me, scopes } = session;
  byId('session-name').textContent = me.hint ? `${me.name} · ${me.hint}` : me.name;
  byId('session-name').title = `${byId('session-name').textContent}; scopes: ${me.scopes.join(', ')}`;
  // Pages the key cannot use are not offered at all.
  for (const item of byId('nav').querySelectorAll('[data-needs]')) item.hidden = !scopes.has(item.dataset.needs);
}

/** Shows one section of <main> and moves focus to its heading, so a screen reader follows. */
function showSection(id, title, moveFocus) {
  for (const section of document.querySelectorAll('main > .view')) section.hidden = section.id !== id;
  document.title = `${title} · PageShot console`;
  if (moveFocus) byId(id).querySelector('h1').focus();
}

/** Renders the page the address names (or the default one for this key). */
function route({ moveFocus = true } = {}) {
  if (!session) {
    showSection('view-signin', 'Sign in', false);
    return;
  }
  const hash = location.hash;
  // In-page anchors such as the skip link's #main are not pages.
  if (hash && !hash.startsWith('#/')) return;
  let name = hash.slice(2);
  const view = VIEWS[name];
  if (!view || (view.needs && !session.scopes.has(view.needs))) {
    name = session.isAdmin ? 'keys' : 'usage';
    history.replaceState(null, '', `#/${name}`);
  }
  if (current && current !== name) VIEWS[current].module.hide();
  current = name;
  for (const link of byId('nav').querySelectorAll('a')) {
    if (link.getAttribute('href') === `#/${name}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  showSection(`view-${name}`, VIEWS[name].title, moveFocus);
  VIEWS[name].module.show(session);
}

/** Ends the session: the key is forgotten and every page drops what it showed. */
function signOut(message = '') {
  forgetKey();
  session = null;
  if (current) VIEWS[current].module.hide();
  current = null;
  for (const view of Object.values(VIEWS)) view.module.reset();
  setSignedIn(false);
  byId('signin-error').textContent = message;
  route();
  byId('signin-key').focus();
}

async function signIn(event) {
  event.preventDefault();
  const input = byId('signin-key');
  const error = byId('signin-error');
  const key = input.value.trim();
  error.textContent = '';
  if (!key) {
    error.textContent = 'Paste an API key first.';
    input.focus();
    return;
  }
  const button = event.submitter ?? byId('signin-form').querySelector('button');
  button.disabled = true;
  try {
    const me = await whoIs(key);
    rememberKey(key);
    input.value = '';
    session = sessionOf(me);
    setSignedIn(true);
    route();
  } catch (failure) {
    error.textContent = `That key was refused: ${describeError(failure)}`;
    input.select();
  } finally {
    button.disabled = false;
  }
}

/** On load: a key kept earlier in this tab is checked again before anything is shown. */
async function start() {
  for (const view of Object.values(VIEWS)) view.module.init();
  byId('signin-form').addEventListener('submit', signIn);
  byId('sign-out').addEventListener('click', () => signOut());
  whenAuthLost((error) => signOut(`Signed out: the key stopped working. ${describeError(error)}`));
  window.addEventListener('hashchange', () => route());

  const kept = restoreKey();
  if (kept) {
    try {
      session = sessionOf(await whoIs(kept));
      setSignedIn(true);
    } catch (error) {
      forgetKey();
      byId('signin-error').textContent = `Signed out: ${describeError(error)}`;
    }
  }
  route({ moveFocus: false });
  if (!session) byId('signin-key').focus();
}

start();
