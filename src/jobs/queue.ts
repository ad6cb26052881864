import { Queue, QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { JobsConfig } from '../config.js';
import { closeWithin, outageLogger, ownConnection } from './bounded-close.js';
import { AdmissionReservations, type Admission } from './admission-reservations.js';
import type { CaptureJobData, CaptureJobReturn, JobKind, JobSnapshot, WebhookRecord } from './job-model.js';
import { RedisJobResultStore, type JobResultStore } from './result-store.js';

export type { JobResultStore } from './result-store.js';

/** BullMQ's key prefix: every queue key starts `pageshot:`. */
export const QUEUE_PREFIX = 'pageshot';
export const CAPTURE_QUEUE = 'captures';
export const WEBHOOK_QUEUE = 'webhooks';

/** Async jobs queue behind every synchronous capture: a caller holds a connection open for those. */
const ASYNC_PRIORITY_BASE = 1000;
/** BullMQ's largest priority. */
const MAX_PRIORITY = 2_097_152;
/** How long closing waits for Redis before dropping the connections. */
const CLOSE_GRACE_MS = 2_000;
/** How often a waiting caller asks for its job's state, should an event be lost. */
const POLL_MS = 1000;
/** Beyond its deadline, how long a synchronous capture's place is held should its node die. */
const SYNC_HOLD_MARGIN_MS = 10_000;

/** Where a job waits: how many of its kind may, and how long its place holds if nobody lets it go. */
export interface AddOptions {
  /** Jobs of its kind that may wait at once, cluster-wide (default: no bound). */
  maxWaiting?: number;
  /** How long the job may wait (a synchronous capture's PAGESHOT_QUEUE_TIMEOUT_MS; async: a job's lifetime). */
  waitMs?: number;
}

/** Cluster-wide figures of the capture queue, for /status. */
export interface QueueFigures {
  /** Jobs waiting for a worker (async and synchronous). */
  waiting: number;
  /** Synchronous captures waiting (callers holding a connection). */
  waitingSync: number;
  /** Jobs a worker is running now. */
  running: number;
  /** Workers connected to the queue. */
  workers: number;
  /** Capture slots the workers announce (PAGESHOT_MAX_CONCURRENCY each). */
  slots: number;
}

/**
 * The capture queue on Redis (BullMQ), as api and worker nodes share it: adding jobs in
 * an order fair between callers, reading them, waiting for one to finish, and what
 * travels beside a job (its result's bytes, its webhook's record).
 *
 * Fairness: BullMQ serves lower priorities first, in order within one priority. A job's
 * priority is how many jobs its owner already has waiting, so each caller's first
 * waiting job goes before anyone's second: round robin between callers, across nodes.
 * The counts are the places reserved in AdmissionReservations, which also refuses a job
 * when its kind's queue is full, in the same step that counts it.
 */
export class CaptureQueue {
  readonly queue: Queue<CaptureJobData, CaptureJobReturn>;
  /** Counts, results and webhook records: commands that must fail fast when Redis is gone. */
  readonly redis: Redis;
  readonly results: JobResultStore;
  readonly admission: AdmissionReservations;
  private events: QueueEvents | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();
  private closing = false;

  constructor(
    readonly redisUrl: string,
    readonly config: Pick<JobsConfig, 'resultTtlSeconds' | 'lockMs' | 'maxQueued'>,
    private readonly logger: Logger,
  ) {
    // No offline queue: while Redis is away, an add fails at once (503) instead of hanging a request.
    this.redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
    const outage = outageLogger((error) => this.logger.warn({ err: error }, 'the job queue cannot reach Redis; job routes answer 503 until it can'));
    this.redis.on('error', outage.error);
    this.redis.on('ready', outage.recovered);
    this.queue = new Queue(CAPTURE_QUEUE, { connection: this.redis, prefix: QUEUE_PREFIX });
    this.queue.on('error', () => undefined); // the connection's own listener above reports it
    this.results = new RedisJobResultStore(this.redis, QUEUE_PREFIX);
    this.admission = new AdmissionReservations(this.redis, QUEUE_PREFIX, this.queue.keys.active!);
  }

  /**
   * Resolves once Redis answers, or after `withinMs` (then false): a node starts either
   * way, and job routes answer 503 until Redis is there.
   */
  async ready(withinMs = 5_000): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), withinMs)));
    const connected = new Promise<true>((resolve) => this.redis.once('ready', () => resolve(true)));
    return Promise.race([connected, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Adds a capture job under `id` if its kind's queue has room (`options.maxWaiting`),
   * reserving its place and adding it as one decision: refused, nothing is added.
   * Finished jobs, and what travels beside them, are kept for PAGESHOT_JOB_RESULT_TTL
   * seconds.
   */
  async add(id: string, data: CaptureJobData, options: AddOptions = {}): Promise<Admission> {
    const age = this.config.resultTtlSeconds;
    const holdMs = data.kind === 'sync' ? (options.waitMs ?? 60_000) + SYNC_HOLD_MARGIN_MS : Math.max(options.waitMs ?? 0, age * 1000);
    const admission = await this.admission.admit(id, data.kind, data.owner, options.maxWaiting ?? Number.MAX_SAFE_INTEGER, holdMs);
    if (!admission.admitted) return admission;
    const priority = Math.min(MAX_PRIORITY, (data.kind === 'async' ? ASYNC_PRIORITY_BASE : 0) + Math.max(1, admission.ownerWaiting));
    try {
      await this.queue.add(data.kind, data, { jobId: id, priority, removeOnComplete: { age }, removeOnFail: { age }, attempts: 1 });
    } catch (error) {
      await this.leftWaiting(id, data).catch(() => undefined);
      throw error;
    }
    return admission;
  }

  /**
   * Job `id` no longer waits (a worker took it, or it was taken back): its place is let
   * go. Idempotent, so every worker that takes the job may say so.
   */
  async leftWaiting(id: string, data: Pick<CaptureJobData, 'kind' | 'owner'>): Promise<void> {
    await this.admission.release(id, data.kind, data.owner);
  }

  /** Jobs of `kind` waiting, cluster-wide. */
  async waitingOf(kind: JobKind): Promise<number> {
    return this.admission.waiting(kind);
  }

  /** Takes a job out of the queue if no worker has it yet; true when it was removed. */
  async takeBack(id: string, data: CaptureJobData): Promise<boolean> {
    const removed = (await this.queue.remove(id)) === 1;
    if (removed) await this.leftWaiting(id, data).catch(() => undefined);
    return removed;
  }

  /** The job as the API shows it, or undefined when there is none (or it expired). */
  async snapshot(id: string): Promise<JobSnapshot | undefined> {
    // The state first, then the job: BullMQ writes a job's result and moves it to
    // `completed` in one script, so a job read as completed always has its result. The
    // other order read a job that finished in between as "completed without a result"
    // (which the view shows as lost): 1 job in 20–60 in bench:queue.
    const state = await this.queue.getJobState(id);
    if (state === 'unknown') return undefined;
    const job = (await this.queue.getJob(id)) as Job<CaptureJobData, CaptureJobReturn> | undefined;
    if (!job) return undefined;
    return {
      id,
      data: job.data,
      state,
      returnvalue: job.returnvalue,
      processedOn: job.processedOn,
      finishedOn: job.finishedOn,
      attemptsStarted: job.attemptsStarted,
    };
  }

  /**
   * Resolves with the job once it has finished (completed or failed), or undefined when
   * `signal` fires or `waitMs` passes first. Listens to the queue's events and, should
   * one be lost, asks every second.
   */
  async finished(id: string, signal: AbortSignal, waitMs: number): Promise<JobSnapshot | undefined> {
    await this.listen();
    const deadline = Date.now() + waitMs;
    while (!signal.aborted && Date.now() < deadline) {
      const snapshot = await this.snapshot(id);
      if (!snapshot || snapshot.state === 'completed' || snapshot.state === 'failed') return snapshot;
      await this.nextEvent(id, signal, Math.min(POLL_MS, deadline - Date.now()));
    }
    return undefined;
  }

  /** Waits until `id` finishes, `signal` fires or `ms` pass, whichever is first. */
  private nextEvent(id: string, signal: AbortSignal, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiting = this.waiters.get(id);
      if (!waiting) this.waiters.set(id, (waiting = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiting.delete(done);
        if (waiting.size === 0) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      signal.addEventListener('abort', done, { once: true });
      waiting.add(done);
    });
  }

  /** Starts listening to the queue's finished events (once). */
  private async listen(): Promise<void> {
    if (this.events) return;
    this.events = new QueueEvents(CAPTURE_QUEUE, { connection: ownConnection(this.redisUrl, () => this.closing), prefix: QUEUE_PREFIX });
    this.events.on('error', () => undefined); // polling covers lost events; the queue's connection reports outages
    const wake = ({ jobId }: { jobId: string }) => {
      for (const done of [...(this.waiters.get(jobId) ?? [])]) done();
    };
    this.events.on('completed', wake);
    this.events.on('failed', wake);
    await this.events.waitUntilReady();
  }

  /**
   * Forgets a finished job: its result (its bytes given back to its owner's share) and its
   * record. A marker kept for the job's lifetime remembers whose it was, so that deleting
   * it again is answered as the first time. The marker goes first: a node that stops
   * half-way leaves a job that the next delete finishes.
   */
  async forget(id: string, data: Pick<CaptureJobData, 'owner'>): Promise<void> {
    await this.redis.set(`${QUEUE_PREFIX}:job-deleted:${id}`, data.owner, 'EX', this.config.resultTtlSeconds);
    await this.results.delete(id, data.owner);
    await this.queue.remove(id);
  }

  /** Whose job `id` was, when it was deleted (within a job's lifetime). */
  async deletedOwner(id: string): Promise<string | undefined> {
    return (await this.redis.get(`${QUEUE_PREFIX}:job-deleted:${id}`)) ?? undefined;
  }

  /** The webhook record kept beside job `id` (for as long as the job). */
  async webhookRecord(id: string): Promise<WebhookRecord | undefined> {
    const raw = await this.redis.get(`${QUEUE_PREFIX}:job-webhook:${id}`);
    return raw ? (JSON.parse(raw) as WebhookRecord) : undefined;
  }

  async setWebhookRecord(id: string, record: WebhookRecord): Promise<void> {
    await this.redis.set(`${QUEUE_PREFIX}:job-webhook:${id}`, JSON.stringify(record), 'EX', this.config.resultTtlSeconds);
  }

  /** Cluster-wide figures for /status. */
  async figures(): Promise<QueueFigures> {
    const [counts, waitingSync, workers, slots] = await Promise.all([
      this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'),
      this.waitingOf('sync'),
      this.queue.getWorkersCount(),
      this.admission.announcedSlots(),
    ]);
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
      waitingSync,
      running: counts.active ?? 0,
      workers,
      slots,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.events) await closeWithin(this.events, CLOSE_GRACE_MS);
    await closeWithin(this.queue, CLOSE_GRACE_MS);
    this.redis.disconnect();
  }
}
