// The playground: one real POST /screenshot with the signed-in key, its image (or PDF)
// to download, its response headers, the same request as a curl command that names the
// key only as $PAGESHOT_API_KEY, and a signed embed link for the same options.
import { send } from './api.js';
import { byId, copyText, describeError } from './dom.js';
import { enableEmbedLink, initEmbedLink, resetEmbedLink } from './embed-link.js';
import { clearResult, showCapture, showHeaders } from './shot-result.js';

let canShoot = false;

/** The form as the JSON body of POST /screenshot; unticked options are left out. */
function optionsOf() {
  const body = {
    url: byId('shot-url').value.trim(),
    width: Number(byId('shot-width').value),
    height: Number(byId('shot-height').value),
    format: byId('shot-format').value,
  };
  if (byId('shot-fullpage').checked) body.fullPage = true;
  if (byId('shot-dark').checked) body.darkMode = true;
  return body;
}

/** A shell word in single quotes: a ' inside becomes '\'' (close, escaped quote, reopen). */
function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The request as curl; the key stays in the reader's environment. */
export function curlFor(body, origin = location.origin) {
  return [
    `curl -s -X POST ${shellQuote(`${origin}/screenshot`)}`,
    `  -H "Authorization: Bearer $PAGESHOT_API_KEY"`,
    `  -H 'content-type: application/json'`,
    `  -d ${shellQuote(JSON.stringify(body))}`,
    `  -o shot.${body.format === 'jpeg' ? 'jpg' : body.format}`,
  ].join(' \\\n');
}

/** Keeps the form consistent (a PDF has no "full page": it is paged) and the curl command current. */
function onInput() {
  const pdf = byId('shot-format').value === 'pdf';
  const fullPage = byId('shot-fullpage');
  if (pdf) fullPage.checked = false;
  fullPage.disabled = pdf;
  const body = optionsOf();
  if (!body.url) body.url = 'https://example.com';
  byId('shot-curl').textContent = curlFor(body);
}

/** Checks the URL before spending a request on it. */
function urlProblem(url) {
  if (!url) return 'Enter the URL of the page to capture.';
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:' ? null : 'Only http: and https: URLs can be captured.';
  } catch {
    return 'That is not a URL: include https://.';
  }
}

async function shoot(event) {
  event.preventDefault();
  const error = byId('shot-error');
  const body = optionsOf();
  error.textContent = urlProblem(body.url) ?? '';
  if (error.textContent) {
    byId('shot-url').focus();
    return;
  }
  const button = byId('shot-submit');
  button.disabled = true;
  byId('shot-status').textContent = 'Taking the screenshot…';
  const started = performance.now();
  try {
    const response = await send('/screenshot', { method: 'POST', body });
    const blob = await response.blob();
    const took = Math.round(performance.now() - started);
    await showCapture(blob, body.url, took);
    showHeaders(response.headers);
    byId('shot-result').hidden = false;
    byId('shot-status').textContent = `Done in ${took} ms.`;
  } catch (failure) {
    error.textContent = describeError(failure);
    byId('shot-status').textContent = '';
    // An error answer carries the rate-limit headers too (a 429 says when to retry).
    if (failure.headers) {
      clearResult();
      byId('shot-caption').textContent = `No image: ${failure.status} ${failure.code}`;
      showHeaders(failure.headers);
      byId('shot-result').hidden = false;
    }
  } finally {
    button.disabled = !canShoot;
  }
}

export const playgroundView = {
  init() {
    byId('shot-form').addEventListener('submit', shoot);
    byId('shot-form').addEventListener('input', onInput);
    byId('shot-copy-curl').addEventListener('click', async () => {
      const copied = await copyText(byId('shot-curl').textContent, byId('shot-curl'));
      byId('shot-curl-copied').textContent = copied ? 'Command copied.' : 'Selected: press Ctrl+C (⌘C) to copy.';
    });
    // An embed link carries the same options as a GET query: scalars only, as the form has.
    initEmbedLink(() => {
      const options = optionsOf();
      return { options, problem: urlProblem(options.url) };
    });
  },
  show(session) {
    canShoot = session.scopes.has('screenshot');
    byId('shot-submit').disabled = !canShoot;
    enableEmbedLink(canShoot);
    byId('shot-error').textContent = canShoot ? '' : 'This key has no "screenshot" scope: it cannot take screenshots.';
    onInput();
  },
  hide() {},
  reset() {
    clearResult();
    resetEmbedLink();
    byId('shot-result').hidden = true;
    byId('shot-headers').replaceChildren();
    byId('shot-form').reset();
    byId('shot-error').textContent = '';
    byId('shot-status').textContent = '';
  },
};
