import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { KeyStanding } from '../auth/key-standing.js';
import type { NetworkPolicy } from '../netguard/network-policy.js';
import type { WebhookSecretStore } from '../store/webhook-secret-store.js';
import type { JobView, WebhookRecord } from './job-model.js';
import { QUEUE_PREFIX, WEBHOOK_QUEUE, type CaptureQueue } from './queue.js';
import { closeWithin, closeWorkerWithin, outageLogger, ownConnection } from './bounded-close.js';
import { createWebhookMessageId } from './webhook-signature.js';
import { attemptWebhook } from './webhook-delivery.js';
import { WebhookFairness } from './webhook-fairness.js';
import { DEFAULT_RETRY_DELAYS_MS, nextRetryDelay } from './webhook-retry.js';

/** One webhook to deliver: the job it tells of, where to, and the signed body's content. */
export interface WebhookJobData {
  jobId: string;
  /** Whose key must still stand, and whose signing secret signs it. */
  owner: string;
  url: string;
  /** The `webhook-id`: the same on every attempt and after a worker crash (receivers deduplicate by it). */
  messageId: string;
  payload: { type: 'job.succeeded' | 'job.failed'; timestamp: string; data: JobView };
}

/** Attempts running at once on one worker node: they wait on the network, not the CPU. */
const DELIVERY_CONCURRENCY = 16;
/**
 * One owner's share of a node's slots. A quarter: receivers that hang until the timeout
 * hold four of sixteen slots, and twelve keep serving everyone else (bench/webhook-fairness.ts).
 */
const OWNER_SHARE = 0.25;
/** How long a delivery waits before its key is checked again, when the key store cannot be read (not an attempt). */
const STORE_RETRY_MS = 5_000;
/** A parked delivery comes back by itself after this long (±20 %), should no wake reach it. */
const PARK_MS = 60_000;
/** The custom backoff type of delivery jobs: the wait comes with the error (see `RetryLater`). */
const BACKOFF_TYPE = 'webhook-schedule';

/** Thrown by an attempt that failed and may be retried: BullMQ moves the job to the delayed set for `delayMs`. */
class RetryLater extends Error {
  override readonly name = 'RetryLater';
  constructor(readonly delayMs: number, reason: string) {
    super(reason);
    this.stack = ''; // nothing of interest, and it would be stored with the job
  }
}

/** What delivering needs. */
export interface WebhookDispatchDeps {
  captureQueue: CaptureQueue;
  secrets: WebhookSecretStore;
  policy: NetworkPolicy;
  /** Whether the key that owns a job still stands (revoked, disabled, expired, scope): checked before every attempt. */
  standing: KeyStanding;
  logger: Logger;
  /** Waits between attempts (tests shorten them); 5 s, 30 s, 2 min, 10 min otherwise. */
  retryDelaysMs?: readonly number[];
  /** One attempt's time limit (tests shorten it); 10 s otherwise. */
  timeoutMs?: number;
  /** Attempts at once on this node (tests narrow it); 16 otherwise. */
  concurrency?: number;
}

/**
 * Webhooks of finished jobs, as jobs of their own on a second queue. One queue job run
 * makes exactly one attempt; a retryable failure (network error, timeout, 429, 5xx) puts
 * the job back as a delayed job until its next attempt (BullMQ's retry, with the wait of
 * `nextRetryDelay`), so no slot is held while a receiver is waited for, and a delivery
 * whose worker died is taken up by another once its lock lapses. Before every attempt the
 * owner's key must still stand and still have its signing secret; the URL passes the
 * network guard and the POST goes to the address it approved. Each attempt is recorded
 * beside the capture job, so `GET /v1/jobs/:id` shows how delivery stands. Owners are
 * served fairly (see `WebhookFairness`).
 */
export class WebhookDispatcher {
  private readonly queue: Queue<WebhookJobData>;
  private readonly fairness: WebhookFairness;
  private readonly delays: readonly number[];
  private readonly concurrency: number;
  private worker: Worker<WebhookJobData> | undefined;
  private closing = false;

  constructor(private readonly deps: WebhookDispatchDeps) {
    this.queue = new Queue(WEBHOOK_QUEUE, { connection: deps.captureQueue.redis, prefix: QUEUE_PREFIX });
    this.queue.on('error', () => undefined); // it shares the capture queue's connection, which reports outages
    this.delays = deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.concurrency = Math.max(1, deps.concurrency ?? DELIVERY_CONCURRENCY);
    this.fairness = new WebhookFairness(deps.captureQueue.redis, Math.max(1, Math.floor(this.concurrency * OWNER_SHARE)));
  }

  /** Queues the webhook of `view` (a finished job) to `url`, signed with `owner`'s secret. */
  async send(owner: string, url: string, view: JobView): Promise<void> {
    const data: WebhookJobData = {
      jobId: view.id,
      owner,
      url,
      messageId: createWebhookMessageId(),
      payload: { type: view.status === 'succeeded' ? 'job.succeeded' : 'job.failed', timestamp: new Date().toISOString(), data: view },
    };
    const age = this.deps.captureQueue.config.resultTtlSeconds;
    const priority = await this.fairness.waiting(owner);
    try {
      // One delivery per job (its id): a capture job run again after a crash does not send two.
      await this.queue.add('deliver', data, {
        jobId: `webhook-${view.id}`,
        priority,
        attempts: this.delays.length + 1,
        backoff: { type: BACKOFF_TYPE },
        stackTraceLimit: 0,
        removeOnComplete: { age },
        removeOnFail: { age },
      });
    } catch (error) {
      await this.fairness.taken(owner, `webhook-${view.id}`).catch(() => undefined);
      throw error;
    }
  }

  /** Starts delivering (worker nodes). */
  start(): void {
    const { captureQueue, logger } = this.deps;
    const connection = ownConnection(captureQueue.redisUrl, () => this.closing);
    this.worker = new Worker(WEBHOOK_QUEUE, (job, token, signal) => this.process(job, token, signal), {
      connection,
      prefix: QUEUE_PREFIX,
      concurrency: this.concurrency,
      lockDuration: captureQueue.config.lockMs,
      stalledInterval: captureQueue.config.lockMs,
      // A delivery lost with its worker is attempted again once; lost twice, it fails.
      maxStalledCount: 1,
      drainDelay: 1,
      // After a Redis error the worker waits this long before trying again (and closing waits for that).
      runRetryDelay: 1_000,
      // A receiver's failure carries its wait; anything else thrown is a fault here, tried again soon.
      settings: { backoffStrategy: (_made: number, _type?: string, error?: Error) => (error instanceof RetryLater ? error.delayMs : STORE_RETRY_MS) },
    });
    const outage = outageLogger((error) => logger.warn({ err: error }, 'the webhook worker cannot reach Redis'));
    this.worker.on('error', outage.error);
    this.worker.on('ready', outage.recovered);
    // Told on every failure, retries included; only one that ends the job (its worker was lost twice) is recorded here.
    this.worker.on('failed', (job, error) => {
      if (job?.finishedOn && !(error instanceof RetryLater)) void this.lost(job, error).catch((failure: unknown) => logger.warn({ err: failure }, 'could not record a lost webhook delivery'));
    });
  }

  /** One queue job run: an attempt if its owner has a slot free on this node, else a park. */
  private async process(job: Job<WebhookJobData>, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const { owner } = job.data;
    const entered = this.fairness.enter(owner);
    if (!entered && token) await this.park(job, token);
    try {
      await this.attempt(job, token, signal);
    } finally {
      if (entered) {
        this.fairness.leave(owner);
        void this.wake(owner);
      }
    }
  }

  /** Puts the job back until its owner has a slot free (a wake) or `PARK_MS` passes; never returns. */
  private async park(job: Job<WebhookJobData>, token: string): Promise<never> {
    // Unlisted (Redis refused the list), nothing would wake it: it comes back sooner by itself.
    const listed = await this.fairness.park(job.data.owner, job.id!).then(() => true, () => false);
    await job.moveToDelayed(Date.now() + (listed ? Math.round(PARK_MS * (0.8 + 0.4 * Math.random())) : STORE_RETRY_MS), token);
    throw new DelayedError();
  }

  /** An attempt of `owner` ended: its oldest parked delivery goes back to the queue. */
  private async wake(owner: string): Promise<void> {
    try {
      const id = await this.fairness.nextParked(owner);
      if (id) await (await this.queue.getJob(id))?.promote();
    } catch {
      // Already back by its own timer, or Redis is away: the park's timer brings it back.
    }
  }

  /**
   * One attempt: the key must still stand and have its secret (read now: a replaced secret
   * signs this attempt), then the guarded, signed POST. A retryable failure is recorded
   * as pending and thrown as `RetryLater`: BullMQ counts the attempt and moves the job to
   * the delayed set, atomically; nothing here sleeps.
   */
  private async attempt(job: Job<WebhookJobData>, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const { jobId, owner, url, messageId, payload } = job.data;
    const made = job.attemptsMade;
    const checked = await this.check(owner);
    if (checked === undefined) {
      // The key store cannot be read now: the delivery waits rather than go out unchecked or fail.
      if (!token) throw new Error('cannot check the key now');
      await job.moveToDelayed(Date.now() + STORE_RETRY_MS, token);
      throw new DelayedError();
    }
    await this.fairness.taken(owner, job.id!).catch(() => undefined);
    if (typeof checked === 'string') return this.finish(job, { status: 'failed', attempts: made, lastError: checked });
    const outcome = await attemptWebhook({ url, payload, secret: checked.secret, policy: this.deps.policy, messageId, timeoutMs: this.deps.timeoutMs, signal });
    if (outcome.invalid) return this.finish(job, { status: 'failed', attempts: made, lastError: outcome.error! });
    const attempts = made + 1;
    const seen = { attempts, ...(outcome.statusCode !== undefined ? { lastStatusCode: outcome.statusCode } : {}), ...(outcome.error ? { lastError: outcome.error } : {}) };
    if (!outcome.error) return this.finish(job, { status: 'delivered', ...seen, deliveredAt: new Date().toISOString() });
    if (!outcome.retry || attempts >= (job.opts.attempts ?? 1)) return this.finish(job, { status: 'failed', ...seen });
    await this.record(jobId, { status: 'pending', ...seen });
    // Waiting again: behind its owner's other waiting deliveries, as a new one would be.
    const priority = await this.fairness.waiting(owner).catch(() => undefined);
    if (priority !== undefined) await job.changePriority({ priority }).catch(() => undefined);
    throw new RetryLater(nextRetryDelay({ made: attempts, delaysMs: this.delays, retryAfterMs: outcome.retryAfterMs }), outcome.error);
  }

  /**
   * The owner's secret when its key still stands; why not (a short text: no secret, no
   * URL) when it does not; undefined when the store cannot be read.
   */
  private async check(owner: string): Promise<{ secret: string } | string | undefined> {
    try {
      const standing = await this.deps.standing.of(owner, 'screenshot');
      if (!standing.ok) return `the API key may no longer send webhooks (${standing.error.code})`;
      const secret = await this.deps.secrets.secretOf(owner);
      return secret ? { secret } : 'the key has no webhook signing secret (it was deleted)';
    } catch (error) {
      this.deps.logger.warn({ err: error }, "cannot read the key store to check a webhook's key; the delivery waits");
      return undefined;
    }
  }

  /** The delivery's last word: recorded, and logged (without the URL). */
  private async finish(job: Job<WebhookJobData>, record: WebhookRecord): Promise<void> {
    await this.record(job.data.jobId, record);
    this.deps.logger.info({ jobId: job.data.jobId, status: record.status, attempts: record.attempts }, 'webhook delivery finished');
  }

  /** Writes how delivery stands beside the capture job; a failed write is logged, not thrown. */
  private async record(jobId: string, record: WebhookRecord): Promise<void> {
    await this.deps.captureQueue.setWebhookRecord(jobId, record).catch((error: unknown) => this.deps.logger.warn({ err: error, jobId }, 'could not record a webhook attempt'));
  }

  /** A delivery failed outside an attempt (its worker was lost twice, or a fault here): the record says so. */
  private async lost(job: Job<WebhookJobData>, error: Error): Promise<void> {
    const { jobId } = job.data;
    const previous = await this.deps.captureQueue.webhookRecord(jobId);
    // BullMQ's own words for a job whose worker stopped more than `maxStalledCount` times.
    const stalled = /stalled more than allowable limit/.test(error?.message ?? '');
    const lastError = stalled ? 'the delivery was lost (its worker stopped twice)' : 'the delivery failed on the server';
    if (!stalled) this.deps.logger.error({ err: error, jobId }, 'a webhook delivery failed on the server');
    await this.finish(job, { ...(previous ?? { attempts: job.attemptsMade }), status: 'failed', lastError });
  }

  /** Stops delivering (a delivery cut short is taken up again by another worker) and closes the queue. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.worker) await closeWorkerWithin(this.worker, 3_000);
    await closeWithin(this.queue, 2_000);
  }
}
