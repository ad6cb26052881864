import type { Logger } from 'pino';
import type { BrowserManager } from './browser.js';
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

/**
 * Keeps browser contexts warm between captures, without ever letting two callers
 * share one: a context belongs to the caller that opened it, serves only that caller,
 * and is wiped (see reset.ts) before each reuse.
 *
 * Why reuse at all: a new context + page costs ~220 ms of CPU on 2 cores for a new
 * renderer process, twice the cost of a whole capture on a reused, reset page.
 */
export class WarmPool {
  private readonly idle = new Map<string, IdleEntry[]>();
  private readonly busy = new Set<PooledContext>();
  private idleCount = 0;
  /** Contexts being opened right now: they count against `maxContexts` already. */
  private opening = 0;
  private readonly sweeper: NodeJS.Timeout;
  contextsOpened = 0;

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
  stats(): { contexts: number; idle: number; busy: number; maxContexts: number; opened: number } {
    return {
      contexts: this.size(),
      idle: this.idleCount,
      busy: this.busy.size,
      maxContexts: this.options.maxContexts,
      opened: this.contextsOpened,
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
      this.opening++;
      try {
        const pooled = await PooledContext.open(caller, handle, this.options.policy);
        this.contextsOpened++;
        return this.markBusy(pooled, allowedHosts);
      } finally {
        this.opening--;
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
    this.busy.delete(pooled);
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
    const list = this.idle.get(pooled.caller) ?? [];
    list.push(entry);
    this.idle.set(pooled.caller, list);
    this.idleCount++;
    this.makeRoom(0);
  }

  /** Closes every context. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.busy, ...[...this.idle.values()].flat().map((entry) => entry.pooled)];
    this.idle.clear();
    this.idleCount = 0;
    this.busy.clear();
    await Promise.allSettled(all.map((pooled) => pooled.close()));
  }

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
      const list = this.idle.get(caller);
      const entry = list?.findLast((candidate) => candidate.pooled.browser.generation === generation);
      if (!entry) return undefined;
      this.remove(entry);
      // A renderer can die while idle (the OOM killer, a crash): such a page answers nothing.
      if ((await entry.ready) && !entry.pooled.crashed && !entry.pooled.closed) return entry.pooled;
      void entry.pooled.close();
    }
  }

  private size(): number {
    return this.busy.size + this.idleCount + this.opening;
  }

  /** Closes least recently used idle contexts until `extra` more fit under `maxContexts`. */
  private makeRoom(extra: number): void {
    while (this.size() + extra > this.options.maxContexts) {
      const oldest = [...this.idle.values()].flat().sort((a, b) => a.pooled.lastUsed - b.pooled.lastUsed)[0];
      if (!oldest) return; // every context is busy: admission bounds this, so go over briefly
      this.drop(oldest);
    }
  }

  private closeIdleSince(cutoff: number): void {
    for (const entry of [...this.idle.values()].flat()) if (entry.pooled.lastUsed < cutoff) this.drop(entry);
  }

  private forgetGeneration(generation: number): void {
    for (const entry of [...this.idle.values()].flat()) {
      if (entry.pooled.browser.generation === generation) this.drop(entry);
    }
    this.logger.debug({ generation }, 'forgot the contexts of an ended browser');
  }

  private drop(entry: IdleEntry): void {
    if (this.remove(entry)) void entry.pooled.close();
  }

  private remove(entry: IdleEntry): boolean {
    const list = this.idle.get(entry.pooled.caller);
    const index = list?.indexOf(entry) ?? -1;
    if (!list || index < 0) return false;
    list.splice(index, 1);
    if (list.length === 0) this.idle.delete(entry.pooled.caller);
    this.idleCount--;
    return true;
  }
}
