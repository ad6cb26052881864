// Small DOM helpers. Every node is built with createElement and textContent: the page
// never turns a string into markup (the CSP's Trusted Types rule would refuse it, and a
// key's name is the caller's text).

/** The element with `id`; throws early when the page and the script disagree. */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`console: no element #${id}`);
  return element;
}

/**
 * Builds an element: `props` are assigned as properties (`className`, `type`, …), except
 * `dataset` and `attrs`, which set data-* and plain attributes; children are nodes or text.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  const { dataset, attrs, ...rest } = props;
  Object.assign(element, rest);
  for (const [name, value] of Object.entries(dataset ?? {})) element.dataset[name] = value;
  for (const [name, value] of Object.entries(attrs ?? {})) element.setAttribute(name, value);
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Builds an SVG element; `attrs` are attributes (SVG has few useful properties). */
export function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

const number = new Intl.NumberFormat();

/** A count with thousands separators. */
export function formatNumber(value) {
  return number.format(value);
}

/** Bytes as B / kB / MB. */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A duration in seconds as "3 d 4 h", "5 min", "12 s". */
export function formatDuration(seconds) {
  if (seconds >= 86400) return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min`;
  return `${seconds} s`;
}

/** An API error as one sentence for a person, with its code for searching the docs. */
export function describeError(error) {
  const code = error.code ? ` (${error.code})` : '';
  const retry = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : '';
  return `${error.message}${code}${retry}`;
}

/**
 * Copies `text` to the clipboard. The async Clipboard API needs a secure context
 * (HTTPS or localhost); elsewhere the text of `fallback` is selected so Ctrl+C works.
 * Resolves to true when the text was copied.
 */
export async function copyText(text, fallback) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(fallback);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return false;
  }
}

/** Wires every `[data-close]` button of `dialog` to close it. */
export function closeButtons(dialog) {
  for (const button of dialog.querySelectorAll('[data-close]')) button.addEventListener('click', () => dialog.close());
}
