import type { Logger } from 'pino';
import type { BrowserManager } from './browser.js';
import { CallerLedger } from './caller-ledger.js';
import { PooledContext } from './pooled-context.js';
import { resetForReuse } from './reset.js';
import type { NetworkPolicy } from '../netguard/network-policy.js';

/** Settings of the warm pool. */
export interface WarmPoolOptions {
  /** Contexts kept at most, busy and idle together, across all callers. */
  maxContexts: number;
  /** A context is closed after this many captures. */
  maxUses: number;
  /** An idle context is closed after this long unused. */
  idleTimeoutMs: number;
  /** A context whose page's JS heap is above this after a capture is closed. */
  maxHeapBytes: number;
  /** The rule every connection of every context is held to (through its own proxy). */
  policy: NetworkPolicy;
}

interface IdleEntry {
  pooled: PooledContext;
  /** Resolves once the reset after the last capture is done: true when reusable. */
  ready: Promise<boolean>;
}

/** What the pool holds now (GET /status shows it). */
export interface WarmPoolStats {
  contexts: number;
  idle: number;
  busy: number;
  maxContexts: number;
  /** Contexts opened since start. */
  opened: number;
  /** Callers holding a context (idle or busy). */
  callers: number;
  /** Idle contexts closed to make room for another (not for age or use count). */
  evicted: number;
}

/**
 * Keeps browser contexts warm between captures, without ever letting two callers
 * share one: a context belongs to the caller that opened it, serves only that caller,
 * and is wiped (see reset.ts) before each reuse.
 *
 * Why reuse at all: a new context + page costs ~220 ms of CPU on 2 cores for a new
 * renderer process, twice the cost of a whole capture on a reused, reset page.
 *
 * When the pool is full, it closes first a caller's surplus idle contexts (one who holds
 * several), then the least recently used caller's last one (see caller-ledger.ts), so
 * that as many recent callers as fit keep one warm context each.
 */
export class WarmPool {
  private readonly ledger = new CallerLedger<IdleEntry>();
  private readonly busy = new Set<PooledContext>();
  /**
   * Contexts being opened, or taken from idle and waiting for their reset: they count
   * against `maxContexts` already.
   */
  private pending = 0;
  private readonly sweeper: NodeJS.Timeout;
  contextsOpened = 0;
  private evictions = 0;

  constructor(
    private readonly browsers: BrowserManager,
    private readonly options: WarmPoolOptions,
    private readonly logger: Logger,
  ) {
    browsers.on('generation-ended', (generation: number) => this.forgetGeneration(generation));
    this.sweeper = setInterval(() => this.closeIdleSince(Date.now() - options.idleTimeoutMs), Math.min(10_000, options.idleTimeoutMs));
    this.sweeper.unref();
  }

  /** Contexts open now, and how many of them wait idle. */
  stats(): WarmPoolStats {
    return {
      contexts: this.size(),
      idle: this.ledger.idleCount,
      busy: this.busy.size,
      maxContexts: this.options.maxContexts,
      opened: this.contextsOpened,
      callers: this.ledger.callerCount,
      evicted: this.evictions,
    };
  }

  /**
   * A context for one capture by `caller`: a warm one of theirs when there is one
   * (and `fresh` is not asked), otherwise a new one. Give it back with `release()`.
   */
  async acquire(caller: string, fresh: boolean, allowedHosts: readonly string[] = []): Promise<PooledContext> {
    const handle = await this.browsers.acquire();
    try {
      if (!fresh) {
        const reused = await this.takeIdle(caller, handle.generation);
        if (reused) return this.markBusy(reused, allowedHosts);
      }
      this.makeRoom(1);
      this.pending++;
      this.ledger.hold(caller);
      try {
        const pooled = await PooledContext.open(caller, handle, this.options.policy);
        this.contextsOpened++;
        return this.markBusy(pooled, allowedHosts);
      } catch (error) {
        this.ledger.unhold(caller);
        throw error;
      } finally {
        this.pending--;
      }
    } catch (error) {
      this.browsers.release(handle);
      throw error;
    }
  }

  /**
   * Takes back a context after its capture. A reusable one is reset in the background
   * and becomes available to the same caller; any other is closed.
   */
  release(pooled: PooledContext, reusable: boolean): void {
    // Not busy any more when the pool was closed under a running capture: nothing to uncount.
    if (this.busy.delete(pooled)) this.ledger.unhold(pooled.caller);
    this.browsers.release(pooled.browser);
    pooled.lastUsed = Date.now();
    const keep = reusable && !pooled.tainted && !pooled.crashed && pooled.uses < this.options.maxUses && this.browsers.state === 'running';
    if (!keep) {
      void pooled.close();
      return;
    }
    const entry: IdleEntry = { pooled, ready: resetForReuse(pooled, this.options.maxHeapBytes) };
    entry.ready.then((clean) => {
      if (!clean) this.drop(entry);
    });
    this.ledger.addIdle(pooled.caller, entry);
    this.makeRoom(0);
  }

  /** Closes every context. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.busy, ...this.ledger.allIdle().map((entry) => entry.pooled)];
    this.ledger.clear();
    this.busy.clear();
    await Promise.allSettled(all.map((pooled) => pooled.close()));
  }

  /** Counts a context busy; the caller's ledger count was taken by `hold` or `takeNewest`. */
  private markBusy(pooled: PooledContext, allowedHosts: readonly string[]): PooledContext {
    // The key's host list can change between captures; apply the current one.
    pooled.proxy.narrowHosts = allowedHosts;
    pooled.uses++;
    this.busy.add(pooled);
    return pooled;
  }

  /** The caller's most recently used idle context of this browser, once its reset is done. */
  private async takeIdle(caller: string, generation: number): Promise<PooledContext | undefined> {
    for (;;) {
      const entry = this.ledger.takeNewest(caller, (candidate) => candidate.pooled.browser.generation === generation);
      if (!entry) return undefined;
      this.pending++;
      let clean: boolean;
      try {
        clean = await entry.ready;
      } finally {
        this.pending--;
      }
      // A renderer can die while idle (the OOM killer, a crash): such a page answers nothing.
      if (clean && !entry.pooled.crashed && !entry.pooled.closed) return entry.pooled;
      this.ledger.unhold(caller);
      void entry.pooled.close();
    }
  }

  private size(): number {
    return this.busy.size + this.ledger.idleCount + this.pending;
  }

  /** Closes idle contexts, surplus ones first, then LRU, until `extra` more fit under `maxContexts`. */
  private makeRoom(extra: number): void {
    while (this.size() + extra > this.options.maxContexts) {
      const victim = this.ledger.victim();
      if (!victim) return; // every context is busy: admission bounds this, so go over briefly
      this.evictions++;
      this.drop(victim);
    }
  }

  /** Closes idle contexts last used before `cutoff`: the LRU order is oldest first, so it stops at the first newer one. */
  private closeIdleSince(cutoff: number): void {
    const expired: IdleEntry[] = [];
    for (const entry of this.ledger.oldestFirst()) {
      if (entry.pooled.lastUsed >= cutoff) break;
      expired.push(entry);
    }
    for (const entry of expired) this.drop(entry);
  }

  private forgetGeneration(generation: number): void {
    for (const entry of this.ledger.allIdle()) {
      if (entry.pooled.browser.generation === generation) this.drop(entry);
    }
    this.logger.debug({ generation }, 'forgot the contexts of an ended browser');
  }

  private drop(entry: IdleEntry): void {
    if (this.ledger.removeIdle(entry)) void entry.pooled.close();
  }
}
