import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { NetworkPolicy } from '../netguard/network-policy.js';
import type { WebhookSecretStore } from '../store/webhook-secret-store.js';
import type { JobView, WebhookRecord } from './job-model.js';
import { QUEUE_PREFIX, WEBHOOK_QUEUE, type CaptureQueue } from './queue.js';
import { closeWithin, closeWorkerWithin, outageLogger, ownConnection } from './bounded-close.js';
import { createWebhookMessageId } from './webhook-signature.js';
import { deliverWebhook } from './webhook-delivery.js';

/** One webhook to deliver: the job it tells of, where to, and the signed body's content. */
export interface WebhookJobData {
  jobId: string;
  /** Whose signing secret signs it. */
  owner: string;
  url: string;
  /** The `webhook-id`: the same on every attempt and after a worker crash (receivers deduplicate by it). */
  messageId: string;
  payload: { type: 'job.succeeded' | 'job.failed'; timestamp: string; data: JobView };
}

/** Deliveries running at once on one worker node: they wait on the network, not the CPU. */
const DELIVERY_CONCURRENCY = 16;

/** What delivering needs. */
export interface WebhookDispatchDeps {
  captureQueue: CaptureQueue;
  secrets: WebhookSecretStore;
  policy: NetworkPolicy;
  logger: Logger;
  /** Waits between attempts (tests shorten them); the delivery module's defaults otherwise. */
  retryDelaysMs?: readonly number[];
}

/**
 * Webhooks of finished jobs, as jobs of their own on a second queue: a delivery (with its
 * retries and backoff, up to ~13 minutes) outlives the capture's worker, and one whose
 * worker crashed is taken up again by another. Each attempt is recorded beside the capture
 * job, so `GET /v1/jobs/:id` shows how delivery stands.
 */
export class WebhookDispatcher {
  private readonly queue: Queue<WebhookJobData>;
  private worker: Worker<WebhookJobData> | undefined;
  private closing = false;

  constructor(private readonly deps: WebhookDispatchDeps) {
    this.queue = new Queue(WEBHOOK_QUEUE, { connection: deps.captureQueue.redis, prefix: QUEUE_PREFIX });
    this.queue.on('error', () => undefined); // it shares the capture queue's connection, which reports outages
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
    // One delivery per job: a capture job retried after a crash does not send two.
    // Retried when it could not start (the database holding the secret was away); the
    // delivery's own retries (receiver errors) happen inside one attempt.
    await this.queue.add('deliver', data, {
      jobId: `webhook-${view.id}`,
      removeOnComplete: { age },
      removeOnFail: { age },
      attempts: 5,
      backoff: { type: 'exponential', delay: 5_000 },
    });
  }

  /** Starts delivering (worker nodes). */
  start(): void {
    const connection = ownConnection(this.deps.captureQueue.redisUrl, () => this.closing);
    this.worker = new Worker(WEBHOOK_QUEUE, (job) => this.deliver(job), {
      connection,
      prefix: QUEUE_PREFIX,
      concurrency: DELIVERY_CONCURRENCY,
      maxStalledCount: 1,
      drainDelay: 1,
      // After a Redis error the worker waits this long before trying again (and closing waits for that).
      runRetryDelay: 1_000,
    });
    const outage = outageLogger((error) => this.deps.logger.warn({ err: error }, 'the webhook worker cannot reach Redis'));
    this.worker.on('error', outage.error);
    this.worker.on('ready', outage.recovered);
  }

  private async deliver(job: Job<WebhookJobData>): Promise<void> {
    const { captureQueue, secrets, policy, logger } = this.deps;
    const { jobId, owner, url, messageId, payload } = job.data;
    // Records are written one after another, so a slow write of attempt 2 never lands after the final one.
    let written = Promise.resolve();
    const record = (value: WebhookRecord) =>
      (written = written.then(() =>
        captureQueue.setWebhookRecord(jobId, value).catch((error: unknown) => logger.warn({ err: error, jobId }, 'could not record a webhook attempt')),
      ));
    const secret = await secrets.secretOf(owner);
    if (!secret) {
      await record({ status: 'failed', attempts: 0, lastError: 'the key has no webhook signing secret (it was deleted)' });
      return;
    }
    const delivery = await deliverWebhook({
      url,
      payload,
      secret,
      policy,
      messageId,
      ...(this.deps.retryDelaysMs ? { retryDelaysMs: this.deps.retryDelaysMs } : {}),
      onAttempt: ({ attempt, statusCode, error }) =>
        void record({
          status: 'pending',
          attempts: attempt,
          ...(statusCode !== undefined ? { lastStatusCode: statusCode } : {}),
          ...(error ? { lastError: error } : {}),
        }),
    });
    const { messageId: _sent, ...rest } = delivery;
    await record(rest);
    logger.info({ jobId, status: delivery.status, attempts: delivery.attempts }, 'webhook delivery finished');
  }

  /** Stops delivering (a delivery cut short is taken up again by another worker) and closes the queue. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.worker) await closeWorkerWithin(this.worker, 3_000);
    await closeWithin(this.queue, 2_000);
  }
}
