import { type CallerState, decideRequest, refundToday } from './decision.js';
import { msToUs, utcDay } from './gcra.js';
import { type LimitBackend, type LimitDecision, type LimitPolicy, validatePolicy } from './policy.js';

/** How a MemoryLimitBackend keeps time and tidies up. */
export interface MemoryLimitBackendOptions {
  /** The clock, in ms since 1970; tests pass their own. Default `Date.now`. */
  now?: () => number;
  /** How often callers with nothing left to remember are forgotten; 0 turns the timer off. Default 60 s. */
  sweepIntervalMs?: number;
}

/**
 * Rate limits held in this process's memory: exact and fast (well over a million
 * decisions a second), but each instance counts on its own, so N instances admit up to
 * N times the limits. Use it for a single instance, or as the fallback while Redis is
 * unreachable (see FailoverLimitBackend).
 *
 * Memory stays bounded by the callers seen today: a caller is forgotten once its burst
 * bucket is full again and it has used nothing today, since it then reads the same
 * as a caller never seen. A timer (unref'd: it never keeps the process alive) sweeps them.
 */
export class MemoryLimitBackend implements LimitBackend {
  private readonly callers = new Map<string, CallerState>();
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryLimitBackendOptions = {}) {
    this.now = options.now ?? Date.now;
    const every = options.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(), every);
      this.timer.unref();
    }
  }

  /** Callers currently remembered. */
  get size(): number {
    return this.callers.size;
  }

  /**
   * The decision for one request of `caller` at `nowMs` (default: the clock), taken
   * synchronously; `consume` is this behind a promise. Throws a RangeError for a bad policy.
   */
  decide(caller: string, policy: LimitPolicy, nowMs: number = this.now()): LimitDecision {
    validatePolicy(policy);
    const known = this.callers.get(caller);
    const state = known ?? { tatUs: 0, day: 0, used: 0 };
    const decision = decideRequest(state, policy, msToUs(nowMs));
    // A new caller is always admitted (burst >= 1, daily >= 1); remember it only if
    // something was charged, so unlimited callers cost no memory.
    if (known === undefined && (policy.rate > 0 || policy.daily > 0)) this.callers.set(caller, state);
    return decision;
  }

  /** One atomic decision (see LimitBackend.consume). */
  async consume(caller: string, policy: LimitPolicy): Promise<LimitDecision> {
    return this.decide(caller, policy);
  }

  /** Gives back one of today's units to `caller`, never below zero. */
  async refundDaily(caller: string): Promise<void> {
    const state = this.callers.get(caller);
    if (state) refundToday(state, msToUs(this.now()));
  }

  /**
   * Forgets every caller whose bucket is full at `nowMs` and who has used nothing today;
   * returns how many were forgotten. The timer calls this; tests call it directly.
   */
  sweep(nowMs: number = this.now()): number {
    const nowUs = msToUs(nowMs);
    const today = utcDay(nowUs);
    let removed = 0;
    for (const [caller, state] of this.callers) {
      if (state.tatUs <= nowUs && (state.day !== today || state.used === 0)) {
        this.callers.delete(caller);
        removed += 1;
      }
    }
    return removed;
  }

  /** Stops the sweep timer. */
  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
