import { ApiError } from '../errors.js';
import type { PooledContext } from './pooled-context.js';

/** Longest reason from a thrown `js` error that is carried back to the caller. */
const MAX_REASON_CHARS = 200;

/**
 * Runs the caller's `js` in the page and waits for it (a returned promise is awaited),
 * inside the page's own event loop. Nothing it returns comes back to Node: a script that
 * evaluates to a 500 MB string would otherwise be serialised over CDP and held in
 * PageShot's memory. When it throws, only the first line of the reason, cut to 200
 * characters inside the page, comes back as 422 SCRIPT_FAILED.
 *
 * The script is evaluated with indirect `eval`, as Playwright evaluates string scripts,
 * so its top-level declarations are globals, as in a `<script>`.
 */
export async function runUserScript(pooled: PooledContext, js: string): Promise<void> {
  const failure = await evaluateDiscarding(pooled, js);
  if (typeof failure === 'string') throw new ApiError('SCRIPT_FAILED', `The "js" option threw: ${failure.slice(0, MAX_REASON_CHARS)}`);
}

/** Runs the script; resolves to its error's reason, or undefined when it ran (or navigated away). */
async function evaluateDiscarding(pooled: PooledContext, js: string): Promise<string | undefined> {
  try {
    return await evaluateInPage(pooled, js);
  } catch (error) {
    // A script that navigates (location = …) destroys the context it ran in: the capture
    // goes on with the page it went to, which the guard holds to the same rules.
    if (error instanceof Error && /Execution context was destroyed|navigat/i.test(error.message)) return undefined;
    throw error;
  }
}

function evaluateInPage(pooled: PooledContext, js: string): Promise<string | undefined> {
  return pooled.page.evaluate(
    async ([source, maxChars]) => {
      // Taken before the script runs: it may replace String or Error.
      const toText = String;
      try {
        await (0, eval)(source);
        return undefined;
      } catch (error) {
        try {
          const message = error instanceof Error ? error.message : toText(error);
          return toText(message).slice(0, maxChars).split('\n')[0] ?? '';
        } catch {
          return 'an unprintable value';
        }
      }
    },
    [js, MAX_REASON_CHARS] as const,
  );
}

/** Longest wait for the caller's style sheet (its @imports) to load. */
const STYLE_LOAD_WAIT_MS = 2_000;

/**
 * Adds the caller's `css` as a `<style>` at the end of the document and waits until it
 * and its @imports have loaded or failed (at most 2 s). A sheet that fails to load (an
 * @import of a refused URL) is simply not applied: unlike Playwright's addStyleTag, it
 * does not fail the capture, since what a sheet imports is not ours to answer for.
 */
export async function addUserStyle(pooled: PooledContext, css: string): Promise<void> {
  await pooled.page.evaluate(
    ([text, waitMs]) =>
      new Promise<void>((resolve) => {
        const style = document.createElement('style');
        style.textContent = text;
        style.onload = () => resolve();
        style.onerror = () => resolve();
        setTimeout(resolve, waitMs);
        (document.head ?? document.documentElement).appendChild(style);
      }),
    [css, STYLE_LOAD_WAIT_MS] as const,
  );
}
