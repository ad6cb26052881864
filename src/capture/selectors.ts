import { ApiError } from '../errors.js';
import type { CaptureOptions } from './options.js';
import type { PooledContext } from './pooled-context.js';

/** An element's box in CSS pixels of the page (scroll offsets included). */
export interface ElementBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Checks `selector`, `waitForSelector`, `clickSelector` and each of `hideSelectors`
 * against Chromium's own CSS grammar before the target is loaded, so a caller's typo is
 * a 400 naming the field, not a failed capture. All are plain CSS
 * (`document.querySelector`): Playwright's selector engines (`text=`, `xpath=`,
 * `internal:…`) are not reachable through them.
 */
export async function assertSelectorsValid(pooled: PooledContext, options: CaptureOptions): Promise<void> {
  const single = (['selector', 'waitForSelector', 'clickSelector'] as const).filter((field) => options[field] !== undefined);
  const entries: Array<[string, string]> = [
    ...single.map((field): [string, string] => [field, options[field]!]),
    ...(options.hideSelectors ?? []).map((css, index): [string, string] => [`hideSelectors/${index}`, css]),
  ];
  if (entries.length === 0) return;
  const invalid = await pooled.page.evaluate(
    (pairs) =>
      pairs.find(([, css]) => {
        try {
          document.createDocumentFragment().querySelector(css);
          return false;
        } catch {
          return true;
        }
      })?.[0],
    entries,
  );
  if (invalid !== undefined) {
    throw new ApiError('VALIDATION_ERROR', `"${invalid}" is not a valid CSS selector.`, { extras: { field: invalid } });
  }
}

/**
 * Waits until an element matching `css` is visible (a non-empty box and not
 * `visibility: hidden`, Playwright's definition), polling every animation frame. A page
 * that breaks the DOM methods used here only makes the wait run out (504), never an
 * error of ours.
 */
export async function waitForVisible(pooled: PooledContext, css: string, timeoutMs: number): Promise<void> {
  await pooled.page.waitForFunction(
    (selector) => {
      try {
        const element = document.querySelector(selector);
        if (!element) return false;
        const rect = element.getBoundingClientRect();
        return rect.width > 0 && rect.height > 0 && getComputedStyle(element).visibility !== 'hidden';
      } catch {
        return false;
      }
    },
    css,
    { polling: 'raf', timeout: timeoutMs },
  );
}

/** The box of the first element matching `css`; SELECTOR_NOT_FOUND when none is visible. */
export async function elementBox(pooled: PooledContext, css: string): Promise<ElementBox> {
  const box = await pooled.page.evaluate((selector) => {
    try {
      const element = document.querySelector(selector);
      if (!element) return null;
      const rect = element.getBoundingClientRect();
      // Numbers only: a page may have replaced these methods with anything.
      const numbers = [rect.left + window.scrollX, rect.top + window.scrollY, rect.width, rect.height].map(Number);
      return numbers.every(Number.isFinite) ? { x: numbers[0]!, y: numbers[1]!, width: numbers[2]!, height: numbers[3]! } : null;
    } catch {
      return null;
    }
  }, css);
  if (!box || box.width < 1 || box.height < 1) {
    throw new ApiError('SELECTOR_NOT_FOUND', `No visible element matches the selector "${css.slice(0, 100)}".`);
  }
  return box;
}

/** How long a click waits for what it started (a "load more" fetch, a panel opening). */
const AFTER_CLICK_MS = 2_000;

/**
 * Clicks the first visible element matching `css` the way a person would (scrolled into
 * view, a real mouse event at its centre), then waits for what the click started: a
 * navigation it caused to load, the network to settle, two frames to paint.
 * SELECTOR_NOT_FOUND when no element is visible within the deadline.
 */
export async function clickElement(pooled: PooledContext, css: string, deadline: number): Promise<void> {
  const timeout = Math.max(1, deadline - Date.now());
  try {
    await waitForVisible(pooled, css, Math.min(timeout, AFTER_CLICK_MS));
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') {
      throw new ApiError('SELECTOR_NOT_FOUND', `No visible element matches the clickSelector "${css.slice(0, 100)}".`);
    }
    throw error;
  }
  const box = await elementBox(pooled, css);
  // Page coordinates; the mouse works in the viewport's, so bring the element into view
  // first, and put the page back where it was afterwards: the picture is of the page, not
  // of wherever the button happened to be.
  const view = await pooled.page.evaluate(
    ({ x, y, width, height }) => {
      const before = { x: window.scrollX, y: window.scrollY };
      window.scrollTo(Math.max(0, x + width / 2 - window.innerWidth / 2), Math.max(0, y + height / 2 - window.innerHeight / 2));
      return { before, x: x + width / 2 - window.scrollX, y: y + height / 2 - window.scrollY };
    },
    box,
  );
  const clickedAt = Date.now();
  await pooled.page.mouse.click(view.x, view.y);
  // Two frames: the click's handlers ran and the requests they started were seen.
  await pooled.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  const settleMs = Math.min(AFTER_CLICK_MS, Math.max(1, deadline - Date.now()));
  await pooled.page.waitForLoadState('load', { timeout: settleMs }).catch(() => undefined);
  await pooled.networkQuiet(300, settleMs, clickedAt);
  await pooled.page.evaluate(({ x, y }) => window.scrollTo(x, y), view.before).catch(() => undefined);
}
