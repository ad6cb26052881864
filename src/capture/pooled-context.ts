import type { BrowserContext, CDPSession, Page, Request, Response } from 'playwright-core';
import { REFUSED_HEADER, UPSTREAM_ERROR_HEADER } from '../netguard/guard-headers.js';
import { GuardProxy } from '../netguard/guard-proxy.js';
import type { NetworkPolicy } from '../netguard/network-policy.js';
import { ApiError } from '../errors.js';
import { contained, parseUrl } from '../safe.js';
import type { BrowserHandle } from './browser.js';
import { whenDisconnected } from './browser-gone.js';

/**
 * Schemes the main frame may navigate to. http(s) go through the guard; about:, data: and
 * blob: hold only what the page itself made (Chromium refuses top-level data: anyway);
 * javascript: runs in the page. Anything else (file:, ftp:, chrome:, mailto:, custom
 * protocol handlers) is never loaded.
 */
const NAVIGABLE_SCHEMES = new Set(['http', 'https', 'about', 'data', 'blob', 'javascript']);

/**
 * Failures of a document's body after its headers arrived. Others (a refused tunnel, an
 * unreachable host, an aborted navigation) are told by `goto` itself, with the guard's
 * reason, and must not be pre-empted here.
 */
const BODY_FAILURES = new Set([
  'ERR_CONTENT_LENGTH_MISMATCH',
  'ERR_INCOMPLETE_CHUNKED_ENCODING',
  'ERR_INVALID_CHUNKED_ENCODING',
  'ERR_CONNECTION_RESET',
  'ERR_CONNECTION_CLOSED',
]);

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
  /** Set when the page's renderer crashed (out of memory, most often). */
  crashed = false;
  /** Requests of the page that have started and not yet finished or failed. */
  private readonly inFlight = new Set<Request>();
  /** When a request last started or ended (ms epoch). */
  private lastNetworkActivity = Date.now();
  /** Ends the running capture early (see `interruption()`). */
  private interrupt: ((error: Error) => void) | undefined;
  /** The CDP id of the page's main frame. */
  private mainFrameId = '';
  /**
   * The guard's verdict on the last document the main frame loaded, when the guard
   * answered it: a page-initiated navigation (meta refresh, `location`, a form) to a
   * refused or unreachable target ends on the guard's own answer, which must not be
   * captured as if it were the page. Cleared at the start of every capture.
   */
  mainDocumentBlock: { refused?: string; unreachable?: string } | undefined;

  private constructor(
    readonly caller: string,
    readonly browser: BrowserHandle,
    readonly context: BrowserContext,
    readonly page: Page,
    readonly cdp: CDPSession,
    /** The proxy all of this context's traffic goes through. */
    readonly proxy: GuardProxy,
  ) {
    // Listeners on Playwright objects run outside any request's try/catch: a throw here
    // would end the whole process. Everything they touch comes from the page, so each is
    // contained (see safe.ts); a listener that fails leaves the context untrusted.
    const untrusted = () => {
      this.tainted = true;
    };
    context.on('request', contained((request: Request) => this.noteRequest(request), untrusted));
    context.on('response', contained((response: Response) => this.noteResponse(response), untrusted));
    context.on('requestfinished', (request: Request) => this.noteRequestEnded(request));
    context.on('requestfailed', contained((request: Request) => this.noteFailedRequest(request), untrusted));
    page.on('crash', () => {
      this.crashed = true;
      this.interrupt?.(new Error('Target crashed'));
    });
    cdp.on(
      'Page.frameRequestedNavigation',
      contained((event: { frameId: string; url: string }) => this.noteNavigationRequest(event.frameId, event.url), untrusted),
    );
    context.on('close', () => {
      // Closed from outside (browser crash, deadline): the proxy goes with it.
      this.closed = true;
      void this.proxy.close();
    });
  }

  /**
   * Remembers the origin a page request went to (for the reset) and taints the context
   * when the URL carries credentials. The URL is the page's: it may not parse (a space in
   * a host name, an odd IDN spelling); such a request reached no server we must forget,
   * but the context is no longer trusted to be clean, so it is closed after use.
   */
  private noteRequest(request: Request): void {
    this.inFlight.add(request);
    this.lastNetworkActivity = Date.now();
    const url = request.url();
    if (!url.startsWith('http:') && !url.startsWith('https:')) return;
    const parsed = parseUrl(url);
    if (!parsed) {
      this.tainted = true;
      return;
    }
    this.origins.add(parsed.origin);
    // Credentials in a URL (the target's, or a script's XHR open(…, user, password))
    // land in Chromium's HTTP auth cache, which nothing over CDP can empty.
    if (parsed.username !== '' || parsed.password !== '') this.tainted = true;
  }

  /**
   * A promise that rejects when the running capture must end at once: the renderer
   * crashed (nothing more will come from it), or the page asked to open a URL of a scheme
   * PageShot never loads (file:, ftp:, mailto:, chrome:…), which leaves Chromium's
   * navigation pending for good. Call at the start of each capture; it never resolves.
   */
  interruption(): Promise<never> {
    const interrupted = new Promise<never>((_, reject) => {
      this.interrupt = reject;
    });
    if (this.crashed) this.interrupt?.(new Error('Target crashed'));
    interrupted.catch(() => undefined); // a capture that ended first no longer listens
    return interrupted;
  }

  /** Fails the capture when the main frame is asked to go to a scheme PageShot never loads. */
  private noteNavigationRequest(frameId: unknown, url: unknown): void {
    if (frameId !== this.mainFrameId || typeof url !== 'string') return;
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '';
    if ((scheme === 'http' || scheme === 'https') && !parseUrl(url)) {
      // Chromium leaves a navigation to an invalid URL (`http://[::1/`) pending for good.
      const networkError = 'ERR_INVALID_URL';
      this.interrupt?.(new ApiError('NAVIGATION_FAILED', 'The page navigated to an address that is not a valid URL.', { extras: { networkError } }));
      return;
    }
    if (NAVIGABLE_SCHEMES.has(scheme)) return;
    this.interrupt?.(new ApiError('TARGET_FORBIDDEN', `The page tried to open a ${scheme.slice(0, 32) || 'malformed'}: URL, which PageShot never loads.`));
  }

  /**
   * Ends the capture when the main frame's document failed to load (a body cut short, a
   * broken length): Chromium reports it, but Playwright's `goto` can wait on such a page
   * until the deadline.
   */
  private noteFailedRequest(request: Request): void {
    this.noteRequestEnded(request);
    if (!this.isMainDocument(request)) return;
    const networkError = /ERR_[A-Z_]+/.exec(request.failure()?.errorText ?? '')?.[0];
    if (!networkError || !BODY_FAILURES.has(networkError)) return;
    this.interrupt?.(
      new ApiError('NAVIGATION_FAILED', `The target could not be loaded: ${networkError}.`, { extras: { networkError } }),
    );
  }

  /**
   * Evaluates `fn(arg)` in an isolated world of the main frame's current document: the
   * same DOM, but PageShot's own globals, so a page that replaced `requestAnimationFrame`,
   * `setTimeout` or `Promise` cannot hang or fool it. `fn` must be self-contained (it is
   * sent as source) and `arg` JSON. A returned promise is awaited; the result comes back
   * as JSON.
   */
  async evaluateIsolated<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
    const { executionContextId } = (await this.cdp.send('Page.createIsolatedWorld', {
      frameId: this.mainFrameId,
      worldName: 'pageshot',
    })) as { executionContextId: number };
    const answer = (await this.cdp.send('Runtime.evaluate', {
      expression: `(${fn.toString()})(${JSON.stringify(arg)})`,
      contextId: executionContextId,
      awaitPromise: true,
      returnByValue: true,
    })) as { result: { value?: R }; exceptionDetails?: { text?: string } };
    if (answer.exceptionDetails) throw new Error(`isolated evaluation failed: ${answer.exceptionDetails.text ?? 'exception'}`);
    return answer.result.value as R;
  }

  /** Forgets what the previous capture left behind in this context's records; call as a capture starts. */
  beginCapture(): void {
    this.mainDocumentBlock = undefined;
    this.inFlight.clear();
    this.lastNetworkActivity = Date.now();
  }

  private noteRequestEnded(request: Request): void {
    this.inFlight.delete(request);
    this.lastNetworkActivity = Date.now();
  }

  /**
   * Resolves when the page's network has settled, or after `maxMs`: nothing in flight
   * for `quietMs`, or nothing started or ended for four times that (a long poll or an
   * event stream stays open for good and must not hold every capture to the limit).
   * When nothing happened on the network since `since` and nothing is in flight, it is
   * settled already.
   */
  async networkQuiet(quietMs: number, maxMs: number, since = Date.now()): Promise<void> {
    if (this.inFlight.size === 0 && this.lastNetworkActivity < since) return;
    const until = Date.now() + maxMs;
    const pollMs = Math.max(10, Math.floor(quietMs / 4));
    while (Date.now() < until && !this.closed) {
      const idleFor = Date.now() - this.lastNetworkActivity;
      if (idleFor >= (this.inFlight.size === 0 ? quietMs : 4 * quietMs)) return;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** Whether a request loads the main frame's document (a worker's request has no frame: not). */
  private isMainDocument(request: Request): boolean {
    if (!request.isNavigationRequest()) return false;
    try {
      return request.frame() === this.page.mainFrame();
    } catch {
      return false;
    }
  }

  /** Remembers whether a main-frame document came from the guard rather than the target. */
  private noteResponse(response: Response): void {
    if (!this.isMainDocument(response.request())) return;
    const headers = response.headers();
    const refused = headers[REFUSED_HEADER];
    const unreachable = headers[UPSTREAM_ERROR_HEADER];
    this.mainDocumentBlock = refused || unreachable ? { ...(refused ? { refused } : {}), ...(unreachable ? { unreachable } : {}) } : undefined;
  }

  /** Opens a new context and page for `caller` in the given browser, behind its own guard proxy. */
  static async open(caller: string, browser: BrowserHandle, policy: NetworkPolicy): Promise<PooledContext> {
    const proxy = await GuardProxy.start(policy);
    let context: BrowserContext | undefined;
    // A browser that dies while the context opens fails it at once (BROWSER_CRASHED), whichever step it was in.
    const gone = whenDisconnected(browser.browser);
    const orGone = <T>(step: Promise<T>): Promise<T> => Promise.race([step, gone.promise]);
    try {
      context = await orGone(browser.browser.newContext({
        // PageShot sets the viewport, scale and colour scheme itself per capture over CDP,
        // so that one context can serve captures of different sizes.
        viewport: null,
        // Service workers could fetch around the page and outlive it: none at all.
        serviceWorkers: 'block',
        acceptDownloads: false,
        // Every connection goes through the guard, loopback included: without
        // `<-loopback>` Chromium sends loopback and link-local traffic around any proxy.
        proxy: { server: proxy.url, bypass: '<-loopback>' },
      }));
      const page = await orGone(context.newPage());
      const cdp = await orGone(context.newCDPSession(page));
      const pooled = new PooledContext(caller, browser, context, page, cdp, proxy);
      // Page events on this session tell the main frame's navigation requests.
      const [, tree] = await orGone(Promise.all([cdp.send('Page.enable'), cdp.send('Page.getFrameTree')]));
      pooled.mainFrameId = tree.frameTree.frame.id;
      return pooled;
    } catch (error) {
      await context?.close().catch(() => undefined);
      await proxy.close();
      throw error;
    } finally {
      gone.dispose();
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
