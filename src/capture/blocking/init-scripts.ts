import type { Disposable } from 'playwright-core';
import type { PooledContext } from '../pooled-context.js';

/** Per context, the document-start scripts installed for its captures, by name. */
const installed = new WeakMap<PooledContext, Map<string, Disposable>>();

/**
 * Installs the script `name` in the context's page for the coming capture (`source`),
 * or removes it (`undefined`). Playwright's init scripts run at document start in every
 * frame, cross-origin iframes included, and the Disposable that `addInitScript` returns
 * (Playwright ≥ 1.5x) removes them again from every frame target; so a capture that
 * does not ask for a script runs none, and one installed for consecutive captures that
 * ask for it stays put instead of being sent to Chromium again.
 */
export async function setInitScript(pooled: PooledContext, name: string, source: string | undefined): Promise<void> {
  const scripts = installed.get(pooled) ?? new Map<string, Disposable>();
  installed.set(pooled, scripts);
  const current = scripts.get(name);
  if (source !== undefined && !current) {
    scripts.set(name, await pooled.page.addInitScript({ content: source }));
  } else if (source === undefined && current) {
    scripts.delete(name);
    await current.dispose();
  }
}
