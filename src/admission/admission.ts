import { ApiError, type ErrorCode } from '../errors.js';
import { FairQueue } from './fair-queue.js';

/** Settings of the admission controller. */
export interface AdmissionOptions {
  maxConcurrency: number;
  maxQueue: number;
  queueTimeoutMs: number;
  cpuBusyPercent: number;
  /** Smoothed machine CPU use in percent; a seam tests replace. */
  cpuUsage: () => number;
}

/** Gives back the slot taken by `acquire()`. Calling it twice is harmless. */
export type Release = () => void;

interface Waiter {
  caller: string;
  grant: (release: Release) => void;
  refuse: (error: ApiError) => void;
}

/** Formats a CPU reading the way the public API shows it: "96%". */
export function formatPercent(value: number): string {
  return `${Math.round(value)}%`;
}

/**
 * Lets at most `maxConcurrency` captures run at once and at most `maxQueue` wait, in a
 * queue fair between callers. Sheds load with 503 "busy" answers instead of letting
 * latency grow without bound: queue full, waited too long, or CPU saturated.
 *
 * The CPU check applies to requests that would have to wait: with a slot free, the
 * capture runs, because the captures already running are what keeps the CPU busy.
 */
export class Admission {
  private active = 0;
  private readonly queue = new FairQueue<Waiter>();
  private closing = false;
  /** Moving average of how long a slot is held, for Retry-After estimates. */
  private averageHoldMs = 1000;
  /** Refusals since start, by code. */
  readonly refusals: Partial<Record<ErrorCode, number>> = {};

  constructor(private readonly options: AdmissionOptions) {}

  /** Captures running and waiting, and the limits. */
  stats() {
    return {
      activeRequests: this.active,
      queuedRequests: this.queue.size,
      maxConcurrency: this.options.maxConcurrency,
      maxQueue: this.options.maxQueue,
      queueTimeoutMs: this.options.queueTimeoutMs,
    };
  }

  /** True when a request that had to wait would be refused right now. */
  isBusy(): boolean {
    return this.cpuSaturated() || this.queue.size >= this.options.maxQueue;
  }

  /**
   * Waits for a slot for `caller`. Rejects with an ApiError (QUEUE_FULL, QUEUE_TIMEOUT,
   * SERVER_BUSY, SHUTTING_DOWN) when the request is shed. An aborted `signal` (the
   * client went away) takes the request out of the queue.
   */
  acquire(caller: string, signal?: AbortSignal): Promise<Release> {
    if (this.closing) return Promise.reject(this.refusal('SHUTTING_DOWN', 'The server is shutting down.'));
    if (signal?.aborted) return Promise.reject(new ApiError('CLIENT_CLOSED_REQUEST', 'The client went away.'));
    if (this.active < this.options.maxConcurrency && this.queue.size === 0) return Promise.resolve(this.take());
    if (this.cpuSaturated()) {
      return Promise.reject(
        this.refusal('SERVER_BUSY', 'Server is currently overloaded', { cpuUsage: formatPercent(this.options.cpuUsage()) }),
      );
    }
    if (this.queue.size >= this.options.maxQueue) {
      return Promise.reject(this.refusal('QUEUE_FULL', 'Server is currently overloaded'));
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        caller,
        grant: (release) => {
          cleanup();
          resolve(release);
        },
        refuse: (error) => {
          cleanup();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        if (this.queue.remove(caller, waiter)) waiter.refuse(this.refusal('QUEUE_TIMEOUT', 'Request queue timeout'));
      }, this.options.queueTimeoutMs);
      const onAbort = () => {
        if (this.queue.remove(caller, waiter)) waiter.refuse(new ApiError('CLIENT_CLOSED_REQUEST', 'The client went away.'));
      };
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(caller, waiter);
    });
  }

  /** Refuses everything waiting and everything new; running captures go on. */
  close(): void {
    this.closing = true;
    for (const waiter of this.queue.drain()) waiter.refuse(this.refusal('SHUTTING_DOWN', 'The server is shutting down.'));
  }

  private cpuSaturated(): boolean {
    return this.options.cpuUsage() > this.options.cpuBusyPercent;
  }

  private take(): Release {
    this.active++;
    const started = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.averageHoldMs = 0.8 * this.averageHoldMs + 0.2 * (Date.now() - started);
      this.next();
    };
  }

  private next(): void {
    while (this.active < this.options.maxConcurrency) {
      const waiter = this.queue.shift();
      if (!waiter) return;
      waiter.grant(this.take());
    }
  }

  /** A busy answer: counts it, and estimates when the queue ahead will have drained. */
  private refusal(code: ErrorCode, message: string, extras: Record<string, string> = {}): ApiError {
    this.refusals[code] = (this.refusals[code] ?? 0) + 1;
    const waitMs = ((this.queue.size + 1) / this.options.maxConcurrency) * this.averageHoldMs;
    const retryAfter = Math.min(60, Math.max(1, Math.ceil(waitMs / 1000)));
    return new ApiError(code, message, {
      retryAfter,
      extras: { status: 'busy', ...extras, queueLength: this.queue.size },
    });
  }
}
