import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { GuardProxy } from '../netguard/guard-proxy.js';
import type { NetworkPolicy } from '../netguard/network-policy.js';
import type { BrowserHandle } from './browser.js';

/**
 * One browser context with its one page, owned by exactly one caller for its whole
 * life. It remembers what it needs to be wiped clean before its next capture.
 */
export class PooledContext {
  uses = 0;
  lastUsed = Date.now();
  /** Every http(s) origin the page or its frames, workers and popups talked to. */
  readonly origins = new Set<string>();
  /**
   * Set when the context picked up state that no reset can remove (HTTP auth
   * credentials from a URL); such a context is closed, not reused.
   */
  tainted = false;
  closed = false;

  private constructor(
    readonly caller: string,
    readonly browser: BrowserHandle,
    readonly context: BrowserContext,
    readonly page: Page,
    readonly cdp: CDPSession,
    /** The proxy all of this context's traffic goes through. */
    readonly proxy: GuardProxy,
  ) {
    context.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith('http:') && !url.startsWith('https:')) return;
      const parsed = new URL(url);
      this.origins.add(parsed.origin);
      // Credentials in a URL (the target's, or a script's XHR open(…, user, password))
      // land in Chromium's HTTP auth cache, which nothing over CDP can empty.
      if (parsed.username !== '' || parsed.password !== '') this.tainted = true;
    });
    context.on('close', () => {
      // Closed from outside (browser crash, deadline): the proxy goes with it.
      this.closed = true;
      void this.proxy.close();
    });
  }

  /** Opens a new context and page for `caller` in the given browser, behind its own guard proxy. */
  static async open(caller: string, browser: BrowserHandle, policy: NetworkPolicy): Promise<PooledContext> {
    const proxy = await GuardProxy.start(policy);
    let context: BrowserContext | undefined;
    try {
      context = await browser.browser.newContext({
        // PageShot sets the viewport, scale and colour scheme itself per capture over CDP,
        // so that one context can serve captures of different sizes.
        viewport: null,
        // Service workers could fetch around the page and outlive it: none at all.
        serviceWorkers: 'block',
        acceptDownloads: false,
        // Every connection goes through the guard, loopback included: without
        // `<-loopback>` Chromium sends loopback and link-local traffic around any proxy.
        proxy: { server: proxy.url, bypass: '<-loopback>' },
      });
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      return new PooledContext(caller, browser, context, page, cdp, proxy);
    } catch (error) {
      await context?.close().catch(() => undefined);
      await proxy.close();
      throw error;
    }
  }

  /** Closes the context, with every page and renderer it owns, and its proxy. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.context.close().catch(() => undefined);
    await this.proxy.close();
  }
}
