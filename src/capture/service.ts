import type { Admission } from '../admission/admission.js';
import type { CachePlan, ResultCache } from '../cache/result-cache.js';
import type { CachedResult } from '../cache/result-store.js';
import { ApiError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { NetworkPolicy } from '../netguard/network-policy.js';
import { assertTargetAllowed, assertTargetRulesAllowed } from '../netguard/target-policy.js';
import type { CaptureEngine, CaptureResult } from './engine.js';
import type { CaptureOptions } from './options.js';

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

/** What the capture service works with. */
export interface CaptureServiceDeps {
  admission: Admission;
  engine: CaptureEngine;
  metrics: Metrics;
  networkPolicy: NetworkPolicy;
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
 * One capture from its options to its bytes, independent of HTTP: the target's rules,
 * the result cache, the target's DNS check, then a render — its own, or an identical one
 * already running (single flight) — through the fair queue and the engine, with its
 * metrics and the cache's new entry. The slot in the queue is given back in one place
 * (`render`'s finally), however the capture ends.
 */
export class CaptureService {
  constructor(private readonly deps: CaptureServiceDeps) {}

  /**
   * Starts a capture for `caller`. Throws (an ApiError) when the target is refused or the
   * server cannot serve the options; otherwise answers from the cache or returns the
   * render to wait for. `signal` is the caller's own (its client going away).
   */
  async start(caller: CaptureCaller, options: CaptureOptions, signal: AbortSignal): Promise<StartedCapture> {
    const { networkPolicy, resultCache, engine } = this.deps;
    if (options.target.kind === 'url') assertTargetRulesAllowed(networkPolicy, options.target.url, caller.allowedHosts);
    else if (caller.allowedHosts.length > 0) {
      // Raw html could load anything: a key limited to some hosts may not send any.
      throw new ApiError('TARGET_FORBIDDEN', 'This API key may capture only its allowed hosts, not raw html.');
    }
    const plan = resultCache.plan(caller, options);
    const lookupStarted = performance.now();
    const entry = plan && (await resultCache.lookup(plan));
    if (entry) return { kind: 'hit', entry, plan, lookupMs: performance.now() - lookupStarted };
    engine.assertAvailable(options);
    if (options.target.kind === 'url') await assertTargetAllowed(networkPolicy, options.target.url, caller.allowedHosts);
    return { kind: 'render', plan, ...this.startRender(caller, options, plan, signal) };
  }

  /**
   * A render for this capture: its own when the cache is bypassed or `fresh` is asked,
   * else the one running for the same key (single flight), started if there is none.
   */
  private startRender(caller: CaptureCaller, options: CaptureOptions, plan: CachePlan | undefined, signal: AbortSignal) {
    if (!plan || !plan.read) return { outcome: this.render(caller, options, plan, signal), leader: true };
    const flight = this.deps.resultCache.flights.join(plan.key, signal, (flightSignal) => this.render(caller, options, plan, flightSignal));
    // `timeout` is not part of the cache key: one who joined a render started with a longer
    // deadline still gets an answer within its own.
    return { outcome: flight.leader ? flight.promise : withinTimeout(flight.promise, options.timeout), leader: flight.leader };
  }

  /** Waits for a slot (fair between callers), captures, stores the result when a plan says so. */
  private async render(caller: CaptureCaller, options: CaptureOptions, plan: CachePlan | undefined, signal: AbortSignal): Promise<RenderOutcome> {
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
