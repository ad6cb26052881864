import type { Admission } from '../admission/admission.js';
import type { CachePlan, ResultCache } from '../cache/result-cache.js';
import type { CachedResult } from '../cache/result-store.js';
import { ApiError } from '../errors.js';
import { parseUrl } from '../safe.js';
import type { Metrics } from '../metrics.js';
import type { NetworkPolicy } from '../netguard/network-policy.js';
import { assertTargetAllowed, assertTargetRulesAllowed } from '../netguard/target-policy.js';
import type { CaptureEngine, CaptureResult } from './engine.js';
import type { CaptureOptions, CaptureRequest } from './options.js';

/** The stored answer header that names where the page ended up (see routes/capture-headers.ts). */
const FINAL_URL_HEADER = 'x-pageshot-final-url';

/** How one render ended, shared by every request that waited for it; never a rejection. */
export type RenderOutcome =
  | { ok: true; result: CaptureResult; waitedMs: number; entry: CachedResult | undefined }
  /** `failedMs` is undefined when no capture ran (refused by admission). */
  | { ok: false; error: unknown; failedMs: number | undefined };

/** Who a capture is for: the identity the pool and queue know, and the key's host list. */
export interface CaptureCaller {
  caller: string;
  allowedHosts: readonly string[];
}

/** A capture once started: answered from the cache, or a render to wait for. */
export type StartedCapture =
  | { kind: 'hit'; entry: CachedResult; plan: CachePlan; lookupMs: number }
  | {
      kind: 'render';
      /** Settles when the render is over, however it ends. */
      outcome: Promise<RenderOutcome>;
      /** False when this capture joined an identical render another caller started. */
      leader: boolean;
      plan: CachePlan | undefined;
    };

/** One capture to render: who for, the request as validated, and its options. */
export interface RenderJob {
  caller: CaptureCaller;
  request: CaptureRequest;
  options: CaptureOptions;
  /** Where the result goes in the cache, when it is cached. */
  plan: CachePlan | undefined;
}

/**
 * What renders a capture the cache could not answer: this process's browser (`LocalRenderer`),
 * or a worker node reached through the job queue (an api node's `QueuedRenderer`).
 */
export interface Renderer {
  /** Throws when this server cannot serve `options` at all (a filter list it lacks). */
  assertAvailable(options: CaptureOptions): void;
  /** Renders, and stores the result in the cache when `plan` says so; never rejects. */
  render(job: RenderJob, signal: AbortSignal): Promise<RenderOutcome>;
}

/** What the capture service works with. */
export interface CaptureServiceDeps {
  networkPolicy: NetworkPolicy;
  resultCache: ResultCache<RenderOutcome>;
  renderer: Renderer;
}

/** What the local renderer works with. */
export interface LocalRendererDeps {
  admission: Admission;
  engine: CaptureEngine;
  metrics: Metrics;
  resultCache: ResultCache<RenderOutcome>;
  /** The headers a cached result is sent again with (what describes the bytes), as the caller's protocol says them. */
  describeResult: (result: CaptureResult) => Record<string, string>;
}

/** `outcome`, or a RENDER_TIMEOUT outcome once `timeoutMs` has passed. */
function withinTimeout(outcome: Promise<RenderOutcome>, timeoutMs: number): Promise<RenderOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<RenderOutcome>((resolve) => {
    timer = setTimeout(() => {
      const error = new ApiError('RENDER_TIMEOUT', `The page did not finish rendering within ${timeoutMs} ms.`);
      resolve({ ok: false, error, failedMs: timeoutMs });
    }, timeoutMs);
  });
  return Promise.race([outcome, expired]).finally(() => clearTimeout(timer));
}

/**
 * One capture from its options to its bytes, independent of HTTP (the route, and a
 * worker's jobs, call it): the target's rules, the result cache, the target's DNS check,
 * then a render — its own, or an identical one already running (single flight) — by
 * the renderer.
 */
export class CaptureService {
  constructor(private readonly deps: CaptureServiceDeps) {}

  /**
   * Starts a capture for `caller`. Throws (an ApiError) when the target is refused or the
   * server cannot serve the options; otherwise answers from the cache or returns the
   * render to wait for. `signal` is the caller's own (its client going away).
   */
  async start(caller: CaptureCaller, request: CaptureRequest, options: CaptureOptions, signal: AbortSignal): Promise<StartedCapture> {
    const { networkPolicy, resultCache, renderer } = this.deps;
    if (options.target.kind === 'url') assertTargetRulesAllowed(networkPolicy, options.target.url, caller.allowedHosts);
    else if (caller.allowedHosts.length > 0) {
      // Raw html could load anything: a key limited to some hosts may not send any.
      throw new ApiError('TARGET_FORBIDDEN', 'This API key may capture only its allowed hosts, not raw html.');
    }
    const plan = resultCache.plan(caller, options);
    const lookupStarted = performance.now();
    const entry = plan && (await resultCache.lookup(plan));
    if (entry && this.mayServe(entry, options, caller)) return { kind: 'hit', entry, plan, lookupMs: performance.now() - lookupStarted };
    renderer.assertAvailable(options);
    if (options.target.kind === 'url') await assertTargetAllowed(networkPolicy, options.target.url, caller.allowedHosts);
    return { kind: 'render', plan, ...this.startRender({ caller, request, options, plan }, signal) };
  }

  /**
   * Whether a stored result may answer this caller now. The request's URL was checked
   * above, but the picture shows where the page ended up: an earlier render may have been
   * redirected (or sent by a script) to a host this key may no longer capture, or one the
   * server has denied since. The entry's final URL is held to the same rules, without DNS;
   * an entry that cannot say where it ended (its address was too long for the header) is
   * not trusted. A refused entry is a miss, not a refusal: the page may no longer redirect,
   * and a render under the current rules gives the true answer (TARGET_FORBIDDEN from the
   * guard if it still goes there). The entry stays stored for callers who may see it.
   */
  private mayServe(entry: CachedResult, options: CaptureOptions, caller: CaptureCaller): boolean {
    if (options.target.kind !== 'url') return true;
    const finalUrl = parseUrl(entry.headers[FINAL_URL_HEADER] ?? '');
    if (!finalUrl) return false;
    try {
      this.deps.networkPolicy.checkUrlRules(finalUrl, caller.allowedHosts);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A render for this capture: its own when the cache is bypassed or `fresh` is asked,
   * else the one running for the same key (single flight), started if there is none.
   */
  private startRender(job: RenderJob, signal: AbortSignal) {
    const { renderer, resultCache } = this.deps;
    const { plan, options } = job;
    if (!plan || !plan.read) return { outcome: renderer.render(job, signal), leader: true };
    const flight = resultCache.flights.join(plan.key, signal, (flightSignal) => renderer.render(job, flightSignal));
    // `timeout` is not part of the cache key: one who joined a render started with a longer
    // deadline still gets an answer within its own.
    return { outcome: flight.leader ? flight.promise : withinTimeout(flight.promise, options.timeout), leader: flight.leader };
  }
}

/**
 * Renders with this process's browser: waits for a slot in the fair queue, captures,
 * gives the slot back in one place (a finally, however the capture ends), and stores
 * the result in the cache when the plan says so.
 */
export class LocalRenderer implements Renderer {
  constructor(private readonly deps: LocalRendererDeps) {}

  assertAvailable(options: CaptureOptions): void {
    this.deps.engine.assertAvailable(options);
  }

  async render({ caller, options, plan }: RenderJob, signal: AbortSignal): Promise<RenderOutcome> {
    const { admission, engine, metrics, resultCache, describeResult } = this.deps;
    let captureStarted: number | undefined;
    try {
      const queuedAt = Date.now();
      // The queue is fair between callers, and a browser context never serves two of them.
      const release = await admission.acquire(caller.caller, signal);
      const waitedMs = Date.now() - queuedAt;
      captureStarted = Date.now();
      let result: CaptureResult;
      try {
        result = await engine.capture(caller.caller, options, caller.allowedHosts, signal);
      } finally {
        release();
      }
      metrics.captureDuration.observe({ outcome: 'succeeded' }, result.renderMs / 1000);
      const entry = plan && (await resultCache.remember(plan, { body: result.body, contentType: result.contentType, headers: describeResult(result) }));
      return { ok: true, result, waitedMs, entry };
    } catch (error) {
      const failedMs = captureStarted === undefined ? undefined : Date.now() - captureStarted;
      if (failedMs !== undefined) metrics.captureDuration.observe({ outcome: 'failed' }, failedMs / 1000);
      return { ok: false, error, failedMs };
    }
  }
}
