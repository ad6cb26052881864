// The playground: one real POST /screenshot with the signed-in key, its image, its
// response headers, and the same request as a curl command that names the key only as
// $PAGESHOT_API_KEY.
import { send } from './api.js';
import { byId, copyText, describeError, formatBytes, h } from './dom.js';

/** Headers a client needs to pace itself: highlighted. */
const RATE_LIMIT_HEADER = /^(x-ratelimit-|ratelimit|retry-after)/i;
let imageUrl = null;
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

function updateCurl() {
  const body = optionsOf();
  if (!body.url) body.url = 'https://example.com';
  byId('shot-curl').textContent = curlFor(body);
}

function showHeaders(headers) {
  const rows = [...headers.entries()].sort(([a], [b]) => a.localeCompare(b));
  byId('shot-headers').replaceChildren(
    ...rows.map(([name, value]) =>
      h('div', { className: RATE_LIMIT_HEADER.test(name) ? 'ratelimit' : '', dataset: { header: name } }, h('dt', {}, name), h('dd', {}, value)),
    ),
  );
}

function clearImage() {
  if (imageUrl) URL.revokeObjectURL(imageUrl);
  imageUrl = null;
  byId('shot-image').removeAttribute('src');
  byId('shot-image').hidden = true;
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
    clearImage();
    imageUrl = URL.createObjectURL(blob);
    const image = byId('shot-image');
    image.alt = `Screenshot of ${body.url}`;
    image.src = imageUrl;
    image.hidden = false;
    await image.decode().catch(() => {});
    const took = Math.round(performance.now() - started);
    byId('shot-caption').textContent = `${blob.type}, ${image.naturalWidth} × ${image.naturalHeight} px, ${formatBytes(blob.size)}, ${took} ms`;
    showHeaders(response.headers);
    byId('shot-result').hidden = false;
    byId('shot-status').textContent = `Done in ${took} ms.`;
  } catch (failure) {
    error.textContent = describeError(failure);
    byId('shot-status').textContent = '';
    // An error answer carries the rate-limit headers too (a 429 says when to retry).
    if (failure.headers) {
      clearImage();
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
    byId('shot-form').addEventListener('input', updateCurl);
    byId('shot-copy-curl').addEventListener('click', async () => {
      const copied = await copyText(byId('shot-curl').textContent, byId('shot-curl'));
      byId('shot-curl-copied').textContent = copied ? 'Command copied.' : 'Selected: press Ctrl+C (⌘C) to copy.';
    });
  },
  show(session) {
    canShoot = session.scopes.has('screenshot');
    byId('shot-submit').disabled = !canShoot;
    byId('shot-error').textContent = canShoot ? '' : 'This key has no "screenshot" scope: it cannot take screenshots.';
    updateCurl();
  },
  hide() {},
  reset() {
    clearImage();
    byId('shot-result').hidden = true;
    byId('shot-headers').replaceChildren();
    byId('shot-form').reset();
    byId('shot-error').textContent = '';
    byId('shot-status').textContent = '';
  },
};
