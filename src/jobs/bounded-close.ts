import { setTimeout as sleep } from 'node:timers/promises';

/** Something BullMQ-like: closes gracefully (or, forced, without waiting for running work), or drops its connections. */
export interface Closable {
  close(force?: boolean): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Closes `part` gracefully within `graceMs`, else drops its connections. BullMQ's close
 * waits for Redis (and a worker's close for its running jobs); with Redis gone it would
 * wait forever, and a stopping node must stop.
 */
export async function closeWithin(part: Closable, graceMs: number): Promise<void> {
  const closed = await Promise.race([part.close().then(
    () => true,
    () => false,
  ), sleep(graceMs, false, { ref: false })]);
  if (closed) return;
  const forced = part.close(true).then(
    () => true,
    () => false,
  );
  if (await Promise.race([forced, sleep(1_000, false, { ref: false })])) return;
  await Promise.race([part.disconnect().catch(() => undefined), sleep(1_000, undefined, { ref: false })]);
}

/**
 * An error logger for a Redis-backed part that says "unreachable" once per outage, not
 * once per reconnection attempt (several a second); `recovered` re-arms it.
 */
export function outageLogger(warn: (error: unknown) => void): { error: (error: unknown) => void; recovered: () => void } {
  let down = false;
  return {
    error(error) {
      if (down) return;
      down = true;
      warn(error);
    },
    recovered() {
      down = false;
    },
  };
}

/** The parts of a BullMQ Worker that keep timers running after a close that never finished. */
interface WorkerInternals {
  lockManager?: { close(): Promise<void> };
  stalledCheckStopper?: () => void;
}

/**
 * `closeWithin` for a BullMQ Worker, which needs one more step. Measured here with
 * BullMQ 5.81 and 6.7: after Redis restarts, `Worker.close()` (forced too) can wait
 * forever for its fetch loop, leaving its lock-renewal and stalled-check timers armed,
 * which keep the process alive. When the close does not finish in time, those timers
 * are stopped by hand (private parts of BullMQ: checked to exist, skipped otherwise).
 */
export async function closeWorkerWithin(worker: Closable, graceMs: number): Promise<void> {
  await closeWithin(worker, graceMs);
  if ((worker as { closed?: boolean }).closed === true) return;
  const internals = worker as unknown as WorkerInternals;
  await internals.lockManager?.close().catch(() => undefined);
  internals.stalledCheckStopper?.();
}

/**
 * Connection options for a BullMQ part that opens its own Redis connections (a Worker,
 * QueueEvents): reconnect with a capped backoff while the part runs, and stop trying once
 * `closing()` says so. Without that, a part closed while Redis is away keeps a reconnect
 * timer armed forever (BullMQ's copies of the connection are out of reach), and the
 * process never exits.
 */
export function ownConnection(url: string, closing: () => boolean) {
  return {
    url,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt: number) => (closing() ? null : Math.min(attempt * 500, 5_000)),
  };
}
