import type { Page } from 'playwright-core';
import { ApiError } from '../../errors.js';

/**
 * Hides every element matching the caller's `hideSelectors` in the main frame with
 * `visibility: hidden !important`, on the element and on all its descendants (a child
 * that sets `visibility: visible` itself would otherwise show through).
 *
 * Visibility, not `display: none`: the hidden element keeps its box, so nothing else on
 * the page moves. The picture is the page as the caller knows it, minus the element; a
 * `selector` or full-page capture keeps its size and positions, and no reflow wakes
 * lazy content or layout-shift scripts. (A caller who wants the gap closed can send
 * `css` with `display: none`.)
 *
 * Each selector is inserted as its own rule through the CSSOM, so a selector can never
 * break out into other rules; one the browser refuses is a VALIDATION_ERROR naming it.
 */
export async function hideCallerSelectors(page: Page, selectors: readonly string[]): Promise<void> {
  if (selectors.length === 0) return;
  const refused = await page.mainFrame().evaluate(insertHidingRules, selectors);
  if (typeof refused === 'number' && refused >= 0 && refused < selectors.length) {
    throw new ApiError('VALIDATION_ERROR', `"hideSelectors/${refused}" is not a valid CSS selector.`, {
      extras: { field: `hideSelectors/${refused}` },
    });
  }
}

/**
 * In the page: one style sheet, two rules per selector; answers the index of a refused
 * selector, or -1 (also when the page broke the DOM methods used here: then it keeps
 * its elements, which is its own doing).
 */
function insertHidingRules(selectors: readonly string[]): number {
  let sheet: CSSStyleSheet | null;
  try {
    const style = document.createElement('style');
    (document.head ?? document.documentElement).appendChild(style);
    sheet = style.sheet;
  } catch {
    return -1;
  }
  for (let index = 0; sheet && index < selectors.length; index++) {
    const selector = selectors[index]!;
    try {
      document.createDocumentFragment().querySelector(selector);
      sheet.insertRule(`${selector} { visibility: hidden !important; }`, sheet.cssRules.length);
      sheet.insertRule(`:is(${selector}) * { visibility: hidden !important; }`, sheet.cssRules.length);
    } catch (error) {
      // Only a syntax error is the selector's fault.
      return (error as { name?: unknown } | null)?.name === 'SyntaxError' ? index : -1;
    }
  }
  return -1;
}
