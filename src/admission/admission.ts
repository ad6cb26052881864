import { ApiError, type ErrorCode } from '../errors.js';
import { FairQueue } from './fair-queue.js';

/** Settings of the admission controller. */
export interface AdmissionOptions {
  /** Captures that may run at once while the CPU has room. */
  maxConcurrency: number;
  /**
   * Captures that may run at once however busy the CPU is (at most maxConcurrency);
   * undefined: maxConcurrency, which turns the CPU gate on extra slots off.
   */
  baseConcurrency?: number;
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
 * Lets captures run at once as the machine can take them and at most `maxQueue` wait, in
 * a queue fair between callers. Sheds load with 503 "busy" answers instead of letting
 * latency grow without bound: queue full, waited too long, or a wait that would outlast
 * the queue timeout on a saturated CPU.
 *
 * How many run at once: `baseConcurrency` always (a default of one per core); more, up
 * to `maxConcurrency`, only while the CPU is below `cpuBusyPercent`. Why: on 2 cores a
 * capture of a light page keeps ~80 % of the machine busy on its own (browser,
 * renderer, GPU and Node processes work in parallel), and each capture run beside it
 * costs more CPU than one run after it (measured: 290 ms of CPU per picture at one at
 * once, 410 ms at four), so a CPU-bound burst goes faster queued than overlapped. A page
 * that waits on its network leaves the CPU idle, and then the extra slots open.
 *
 * A full queue refuses a newcomer (QUEUE_FULL) unless another caller has more than one
 * request more than the newcomer's caller waiting: then that caller's newest request is
 * refused instead, and the newcomer takes its place.
 *
 * A request that finds no slot waits: the CPU being busy with the captures running is
 * what a queue is for. It is refused at once (SERVER_BUSY) only when the CPU is
 * saturated and the wait ahead of it, estimated from the queue and recent capture times,
 * is longer than the queue timeout would allow.
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
      baseConcurrency: this.baseConcurrency,
      maxQueue: this.options.maxQueue,
      queueTimeoutMs: this.options.queueTimeoutMs,
    };
  }

  /** True when a request that had to wait would be refused right now. */
  isBusy(): boolean {
    return this.waitTooLong() || this.queue.size >= this.options.maxQueue;
  }

  /**
   * Waits for a slot for `caller`. Rejects with an ApiError (QUEUE_FULL, QUEUE_TIMEOUT,
   * SERVER_BUSY, SHUTTING_DOWN) when the request is shed. An aborted `signal` (the
   * client went away) takes the request out of the queue.
   */
  acquire(caller: string, signal?: AbortSignal): Promise<Release> {
    if (this.closing) return Promise.reject(this.refusal('SHUTTING_DOWN', 'The server is shutting down.'));
    if (signal?.aborted) return Promise.reject(new ApiError('CLIENT_CLOSED_REQUEST', 'The client went away.'));
    if (this.queue.size === 0 && this.canStart()) return Promise.resolve(this.take());
    if (this.waitTooLong()) {
      return Promise.reject(
        this.refusal('SERVER_BUSY', 'Server is currently overloaded', { cpuUsage: formatPercent(this.options.cpuUsage()) }),
      );
    }
    if (this.queue.size >= this.options.maxQueue) {
      // A full queue sheds from the caller with the most waiting: its newest request makes
      // room for a caller with fewer, so one flooding caller cannot lock everyone else out.
      const displaced = this.queue.takeNewestOfLongest(this.queue.waiting(caller) + 1);
      if (!displaced) return Promise.reject(this.refusal('QUEUE_FULL', 'Server is currently overloaded'));
      displaced.refuse(this.refusal('QUEUE_FULL', 'Server is currently overloaded'));
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

  /** The captures that run at once however busy the CPU is. */
  private get baseConcurrency(): number {
    return Math.min(this.options.maxConcurrency, this.options.baseConcurrency ?? this.options.maxConcurrency);
  }

  /** Whether one more capture may start now: a base slot is free, or an extra one and the CPU has room. */
  private canStart(): boolean {
    if (this.active < this.baseConcurrency) return true;
    return this.active < this.options.maxConcurrency && !this.cpuSaturated();
  }

  /** Milliseconds a request joining the queue now would wait, from the queue ahead and recent capture times. */
  private expectedWaitMs(): number {
    return ((this.queue.size + 1) / Math.max(1, this.active)) * this.averageHoldMs;
  }

  /** True when the CPU is saturated and a request joining the queue would likely time out in it. */
  private waitTooLong(): boolean {
    return this.cpuSaturated() && this.expectedWaitMs() > this.options.queueTimeoutMs;
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
    while (this.canStart()) {
      const waiter = this.queue.shift();
      if (!waiter) return;
      waiter.grant(this.take());
    }
  }

  /** A busy answer: counts it, and estimates when the queue ahead will have drained. */
  private refusal(code: ErrorCode, message: string, extras: Record<string, string> = {}): ApiError {
    this.refusals[code] = (this.refusals[code] ?? 0) + 1;
    const waitMs = this.expectedWaitMs();
    const retryAfter = Math.min(60, Math.max(1, Math.ceil(waitMs / 1000)));
    return new ApiError(code, message, {
      retryAfter,
      extras: { status: 'busy', ...extras, queueLength: this.queue.size },
    });
  }
}
