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
 * Checks `selector` and `waitForSelector` against Chromium's own CSS grammar before the
 * target is loaded, so a caller's typo is a 400 naming the field, not a failed capture.
 * Both options are plain CSS (`document.querySelector`): Playwright's selector engines
 * (`text=`, `xpath=`, `internal:…`) are not reachable through them.
 */
export async function assertSelectorsValid(pooled: PooledContext, options: CaptureOptions): Promise<void> {
  const fields = (['selector', 'waitForSelector'] as const).filter((field) => options[field] !== undefined);
  if (fields.length === 0) return;
  const invalid = await pooled.page.evaluate(
    (entries) =>
      entries.find(([, css]) => {
        try {
          document.createDocumentFragment().querySelector(css);
          return false;
        } catch {
          return true;
        }
      })?.[0],
    fields.map((field) => [field, options[field]!] as [string, string]),
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
