// The playground's answer: the image (a PDF is not previewed: the CSP allows no frame
// or plugin), a download link with a file name that says what and when, and the
// response headers, rate-limit ones highlighted and X-RateLimit-Reset shown as a time.
import { byId, formatBytes, h } from './dom.js';
import { fromNow, utcClock } from './time.js';

/** Headers a client needs to pace itself: highlighted. */
const RATE_LIMIT_HEADER = /^(x-ratelimit-|ratelimit|retry-after)/i;
const EXTENSIONS = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'application/pdf': 'pdf' };
/** The blob: URL of the answer shown now; revoked when another replaces it. */
let objectUrl = null;

/**
 * The download's file name: `pageshot-<host>-<UTC time>.<ext>`, e.g.
 * `pageshot-example.com-20261201T083850Z.png`. Only letters, digits, dots and dashes.
 */
export function fileNameFor(pageUrl, contentType, at = Date.now()) {
  let host = '';
  try {
    host = new URL(pageUrl).hostname.replace(/[^a-z0-9.-]+/gi, '-').replace(/^[.-]+|[.-]+$/g, '');
  } catch {
    // Not a URL: the name does without a host.
  }
  const stamp = `${new Date(at).toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`;
  const extension = EXTENSIONS[contentType.split(';')[0].trim()] ?? 'bin';
  return `pageshot-${host || 'page'}-${stamp}.${extension}`;
}

/** A header's value for people: X-RateLimit-Reset (Unix seconds) as a UTC time and a countdown. */
function headerValue(name, value) {
  if (name !== 'x-ratelimit-reset' || !/^\d{1,12}$/.test(value)) return h('dd', {}, value);
  const at = Number(value) * 1000;
  return h('dd', { title: `${value} (Unix time, seconds)`, dataset: { raw: value } }, `${utcClock(at)} (${fromNow(at)})`);
}

/** Lists `headers`, sorted by name. */
export function showHeaders(headers) {
  const rows = [...headers.entries()].sort(([a], [b]) => a.localeCompare(b));
  byId('shot-headers').replaceChildren(
    ...rows.map(([name, value]) =>
      h('div', { className: RATE_LIMIT_HEADER.test(name) ? 'ratelimit' : '', dataset: { header: name } }, h('dt', {}, name), headerValue(name, value)),
    ),
  );
}

/** Forgets the answer shown (its image and download). */
export function clearResult() {
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = null;
  const image = byId('shot-image');
  image.removeAttribute('src');
  image.hidden = true;
  const download = byId('shot-download');
  download.removeAttribute('href');
  download.hidden = true;
}

/** Shows a capture of `pageUrl` that took `took` ms: its image (not for a PDF), size and download link. */
export async function showCapture(blob, pageUrl, took) {
  clearResult();
  objectUrl = URL.createObjectURL(blob);
  const type = blob.type || 'application/octet-stream';
  const download = byId('shot-download');
  download.href = objectUrl;
  download.download = fileNameFor(pageUrl, type);
  download.textContent = `Download ${download.download.split('.').pop().toUpperCase()}`;
  download.hidden = false;
  let details = `${type}, ${formatBytes(blob.size)}, ${took} ms`;
  if (type.startsWith('image/')) {
    const image = byId('shot-image');
    image.alt = `Screenshot of ${pageUrl}`;
    image.src = objectUrl;
    image.hidden = false;
    await image.decode().catch(() => {});
    details = `${type}, ${image.naturalWidth} × ${image.naturalHeight} px, ${formatBytes(blob.size)}, ${took} ms`;
  } else {
    details += '. A PDF is not previewed here: download it to look at it.';
  }
  byId('shot-caption').textContent = details;
}
