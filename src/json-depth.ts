/**
 * How deep JSON may nest, and two iterative ways to measure it: over the text (before it
 * is parsed) and over a value (what a library caller passes). Neither recurses, so no
 * input can exhaust the stack; everything downstream of them (Ajv, `JSON.stringify`, the
 * store, a webhook) recurses and would answer a 5,000-level object with
 * "Maximum call stack size exceeded".
 *
 * A leaf module (no imports): the HTTP parser and the key service both use it.
 */

/**
 * Levels of objects and arrays a JSON body may nest, the body itself counting as one:
 * `{"metadata":{"a":{"b":1}}}` is 3 deep. No real option or metadata comes near 32;
 * Node's stack overflows in `JSON.stringify` from a few thousand.
 */
export const MAX_JSON_DEPTH = 32;

/** Where a JSON text first nests too deep: the top-level property it happens under, `(root)` for an array. */
export interface DepthViolation {
  field: string;
}

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Scans JSON `text` once, counting nesting outside strings; returns where it first goes
 * past `maxDepth`, else undefined. It does not validate the JSON (the parser after it
 * does): on broken text it may answer either way, and the parser then refuses it.
 */
export function jsonTextDepthViolation(text: string, maxDepth = MAX_JSON_DEPTH): DepthViolation | undefined {
  let depth = 0;
  let rootIsObject = false;
  // The last string that started at depth 1 of an object: the key of the member being read
  // (a string value at depth 1 ends its member, so it is never followed by a nested value).
  let keyStart = -1;
  let keyEnd = -1;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (char === QUOTE) {
      const start = index;
      index = closingQuote(text, index);
      if (depth === 1 && rootIsObject) {
        keyStart = start;
        keyEnd = index + 1;
      }
    } else if (char === OPEN_OBJECT || char === OPEN_ARRAY) {
      if (depth === 0) rootIsObject = char === OPEN_OBJECT;
      depth++;
      if (depth > maxDepth) return { field: rootIsObject && keyStart >= 0 ? decodeKey(text.slice(keyStart, keyEnd)) : '(root)' };
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      depth--;
    }
  }
  return undefined;
}

/**
 * Where the string opened at `open` ends (its closing quote, or the text's end). Jumps from
 * quote to quote with indexOf, which is several times faster than reading each character
 * of a long `html` value; a quote after an odd run of backslashes is escaped. Each
 * backslash is counted once at most, so this stays linear.
 */
function closingQuote(text: string, open: number): number {
  for (let quote = text.indexOf('"', open + 1); quote !== -1; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return text.length;
}

/** A JSON string literal's value, cut to a length fit for an error body. */
function decodeKey(literal: string): string {
  try {
    return String(JSON.parse(literal)).slice(0, 100);
  } catch {
    return '(root)';
  }
}

/**
 * True when `value` nests objects and arrays more than `maxDepth` levels (`value` itself
 * counting as one when it is an object or array). Iterative, and stops at the first
 * branch that is too deep; a cycle counts as too deep (it goes round until it is).
 */
export function valueDepthExceeds(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}
