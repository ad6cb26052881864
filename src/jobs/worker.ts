import { DelayedError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { entityTag } from '../cache/result-cache.js';
import type { CaptureResult } from '../capture/engine.js';
import { toCaptureOptions } from '../capture/options.js';
import type { KeyStanding, Standing } from '../auth/key-standing.js';
import type { CaptureService } from '../capture/service.js';
import type { Config } from '../config.js';
import type { LimitBackend } from '../limits/policy.js';
import { REFUNDED_CODES } from '../errors.js';
import type { UsageOutcome, UsageRecorder } from '../usage/usage-recorder.js';
import { jobView, toJobFailure, WORKER_LOST, type CaptureJobData, type CaptureJobReturn, type JobFailure } from './job-model.js';
import { closeWorkerWithin, outageLogger, ownConnection } from './bounded-close.js';
import { CAPTURE_QUEUE, QUEUE_PREFIX, type CaptureQueue } from './queue.js';
import { resultTooLarge, storageFull } from './result-limits.js';
import type { WebhookDispatcher } from './webhook-dispatch.js';

/** Refusals that mean "this node is busy now", not "this capture cannot be done": try again later. */
const TRY_LATER = new Set(['QUEUE_FULL', 'QUEUE_TIMEOUT', 'SERVER_BUSY', 'SHUTTING_DOWN']);

/** How long a job waits before its key is checked again, when the key store cannot be read. */
const STORE_RETRY_MS = 5_000;

/** How long a synchronous capture's bytes wait for the api node that asked (it reads them at once). */
const SYNC_RESULT_TTL_SECONDS = 120;

/** What a worker works with. */
export interface CaptureWorkerDeps {
  queue: CaptureQueue;
  service: CaptureService;
  config: Config;
  usage: UsageRecorder;
  limitBackend: LimitBackend;
  webhooks: WebhookDispatcher;
  /** How an async job's key stands when the job starts (revoked, disabled, narrowed…). */
  standing: KeyStanding;
  /** The headers that describe a result's bytes (as the HTTP answer would carry them). */
  describeResult: (result: CaptureResult) => Record<string, string>;
  logger: Logger;
}

/**
 * Takes capture jobs from the queue and runs each through the capture service (cache,
 * guard, fair slot, browser), as many at once as this node captures. A job whose worker
 * dies is taken back by BullMQ once its lock lapses (PAGESHOT_JOB_LOCK_MS) and run again,
 * once; a second loss fails it with WORKER_LOST. Async jobs are accounted here (usage,
 * refunds) and their webhooks queued; a synchronous job is accounted by the api node
 * that holds its caller's connection.
 */
export class CaptureWorker {
  private worker: Worker<CaptureJobData, CaptureJobReturn> | undefined;
  /** Jobs this node is running now. */
  private running = 0;
  private closing = false;
  /** Tells api nodes how many capture slots this worker has (PAGESHOT_MAX_QUEUE counts beyond them). */
  private announcement: { stop: () => Promise<void> } | undefined;

  constructor(private readonly deps: CaptureWorkerDeps) {}

  start(): void {
    const { config, logger } = this.deps;
    this.worker = new Worker<CaptureJobData, CaptureJobReturn>(CAPTURE_QUEUE, (job, token, signal) => this.process(job, token, signal), {
      connection: ownConnection(this.deps.queue.redisUrl, () => this.closing),
      prefix: QUEUE_PREFIX,
      concurrency: config.maxConcurrency,
      lockDuration: config.jobs.lockMs,
      stalledInterval: config.jobs.lockMs,
      // Run again once after a lost worker; the second loss fails the job (a page that kills its worker cannot loop).
      maxStalledCount: 1,
      // Seconds an idle worker's blocking wait lasts; closing waits for it, so keep it short.
      drainDelay: 1,
      // After a Redis error the worker waits this long before trying again (and closing waits for that).
      runRetryDelay: 1_000,
    });
    const outage = outageLogger((error) => logger.warn({ err: error }, 'the capture worker cannot reach Redis; it takes no jobs until it can'));
    this.worker.on('error', outage.error);
    this.worker.on('ready', outage.recovered);
    this.announcement = this.deps.queue.admission.announce(config.maxConcurrency);
    // Jobs that fail outside `process` (their worker was lost twice) are told here.
    this.worker.on('failed', (job) => {
      if (job) void this.lost(job).catch((error: unknown) => logger.error({ err: error, jobId: job.id }, 'could not settle a lost job'));
    });
  }

  /**
   * Stops taking jobs and waits for the running ones to finish (bounded by
   * PAGESHOT_SHUTDOWN_TIMEOUT_MS; one cut short is run again by another worker).
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.announcement?.stop();
    // With nothing running there is nothing to wait for but Redis, which may be gone.
    if (this.worker) await closeWorkerWithin(this.worker, this.running > 0 ? this.deps.config.shutdownTimeoutMs : 3_000);
  }

  private async process(job: Job<CaptureJobData, CaptureJobReturn>, token: string | undefined, signal: AbortSignal | undefined): Promise<CaptureJobReturn> {
    this.running++;
    try {
      return await this.run(job, token, signal);
    } finally {
      this.running--;
    }
  }

  private async run(job: Job<CaptureJobData, CaptureJobReturn>, token: string | undefined, signal: AbortSignal | undefined): Promise<CaptureJobReturn> {
    const { queue } = this.deps;
    const { data } = job;
    const id = job.id!;
    // Every take lets go of the job's place (idempotent): a job taken again after its
    // worker was lost, or after a delay, holds none, and one whose first worker died
    // before saying so is let go of here.
    await queue.leftWaiting(id, data).catch(() => undefined);
    const standing = await this.standingOf(data);
    if (standing === undefined && token) {
      // The key store cannot be read now: the job waits rather than run unchecked or fail.
      await job.moveToDelayed(Date.now() + STORE_RETRY_MS, token);
      throw new DelayedError();
    }
    if (standing?.ok === false) {
      // The key went away (or lost its scope) after submitting: nothing runs, and nobody is
      // told by a webhook signed in its name.
      const refused: CaptureJobReturn = { ok: false, error: toJobFailure(standing.error), failedMs: undefined };
      await this.account(data, refused);
      if (data.webhookUrl) {
        // Said on the job, so that a successor reading it sees "not sent", not "pending" for ever.
        const lastError = `not sent: the API key may no longer send webhooks (${standing.error.code})`;
        await queue.setWebhookRecord(id, { status: 'failed', attempts: 0, lastError }).catch(() => undefined);
      }
      return refused;
    }
    const outcome = await this.capture(job, standing?.allowedHosts ?? data.allowedHosts, signal ?? new AbortController().signal);
    if (!outcome.ok && TRY_LATER.has(outcome.error.code) && token) {
      // This node is busy (its HTTP callers and jobs share the browser): another worker, or this one later, takes it.
      await job.moveToDelayed(Date.now() + (outcome.error.retryAfter ?? 1) * 1000, token);
      throw new DelayedError();
    }
    const finished: CaptureJobReturn = outcome.ok ? await this.keep(id, data, outcome) : outcome;
    if (data.kind === 'async') {
      await this.account(data, finished);
      if (data.webhookUrl) {
        const view = jobView(
          { id, data, state: 'completed', returnvalue: finished, processedOn: job.processedOn, finishedOn: Date.now(), attemptsStarted: job.attemptsStarted },
          undefined,
        );
        await this.deps.webhooks.send(data.owner, data.webhookUrl, view);
      }
    }
    return finished;
  }

  /**
   * How the job's key stands now: an async job waited in the queue, and its key may have
   * been revoked, disabled or narrowed since. A synchronous capture's caller was
   * authenticated a moment ago by the api node that holds its connection. Undefined when
   * the store cannot be read.
   */
  private async standingOf(data: CaptureJobData): Promise<Standing | undefined> {
    if (data.kind === 'sync') return { ok: true, allowedHosts: data.allowedHosts };
    try {
      return await this.deps.standing.of(data.owner, 'screenshot');
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'cannot read the key store to check a job\'s key; the job waits');
      return undefined;
    }
  }

  /** Runs the capture; never throws. `allowedHosts` are the key's as they stand now. */
  private async capture(job: Job<CaptureJobData, CaptureJobReturn>, allowedHosts: readonly string[], signal: AbortSignal): Promise<CaptureWithBody | { ok: false; error: JobFailure; failedMs: number | undefined }> {
    const { service, config, describeResult } = this.deps;
    const { data } = job;
    try {
      const options = toCaptureOptions(data.request, config.limits);
      const caller = { caller: data.owner, allowedHosts };
      const started = await service.start(caller, data.request, options, signal);
      if (started.kind === 'hit') {
        const { entry } = started;
        return {
          ok: true,
          body: entry.body,
          contentType: entry.contentType,
          headers: entry.headers,
          etag: entry.etag,
          renderMs: 0,
          waitedMs: 0,
          timings: [],
          cached: { hit: true, storedAt: entry.storedAt, expiresAt: entry.expiresAt },
        };
      }
      const outcome = await started.outcome;
      if (!outcome.ok) return { ok: false, error: toJobFailure(outcome.error), failedMs: outcome.failedMs };
      const { result, waitedMs, entry } = outcome;
      return {
        ok: true,
        body: result.body,
        contentType: result.contentType,
        headers: describeResult(result),
        etag: entry?.etag ?? entityTag(result.body),
        renderMs: result.renderMs,
        waitedMs,
        timings: result.timings,
        cached: entry && { hit: !started.leader, storedAt: entry.storedAt, expiresAt: entry.expiresAt },
      };
    } catch (error) {
      return { ok: false, error: toJobFailure(error), failedMs: undefined };
    }
  }

  /**
   * Stores the bytes beside the job for as long as the job is kept; what the job returns
   * points at them. An async job's result is capped in size and counted in its key's
   * share of the store; one that does not fit fails the job and nothing is kept. A
   * synchronous capture's bytes are read once, at once, by the api node that asked.
   */
  private async keep(id: string, data: CaptureJobData, capture: CaptureWithBody): Promise<CaptureJobReturn> {
    const { jobs } = this.deps.config;
    const { body, ...rest } = capture;
    if (data.kind === 'sync') {
      const stored = await this.deps.queue.results.put(id, body, { ttlSeconds: SYNC_RESULT_TTL_SECONDS });
      return { ...rest, bytes: body.length, expiresAt: stored.stored ? stored.expiresAt : Date.now() };
    }
    if (body.length > jobs.maxResultBytes) {
      return { ok: false, error: toJobFailure(resultTooLarge(body.length, jobs.maxResultBytes)), failedMs: capture.renderMs };
    }
    const share = { owner: data.owner, limitBytes: jobs.maxStoredBytesPerKey };
    const stored = await this.deps.queue.results.put(id, body, { ttlSeconds: jobs.resultTtlSeconds, share });
    if (!stored.stored) return { ok: false, error: toJobFailure(storageFull(stored.standing)), failedMs: capture.renderMs };
    return { ...rest, bytes: body.length, expiresAt: stored.expiresAt };
  }

  /**
   * An async job's usage: its outcome (its request was counted when it was submitted),
   * and the daily unit given back under the rules of synchronous captures.
   */
  private async account(data: CaptureJobData, finished: CaptureJobReturn): Promise<void> {
    const { usage, limitBackend, logger } = this.deps;
    let outcome: UsageOutcome;
    let refund: boolean;
    if (finished.ok) {
      outcome = { kind: 'succeeded', renderMs: finished.renderMs, bytes: finished.bytes, ...(finished.cached?.hit ? { cached: true } : {}) };
      refund = finished.cached?.hit === true;
    } else {
      outcome = finished.failedMs !== undefined ? { kind: 'failed', renderMs: finished.failedMs } : { kind: 'rejected', reason: finished.error.code };
      refund = REFUNDED_CODES.has(finished.error.code);
    }
    usage.record(data.subject, outcome, { countRequest: false });
    // Awaited, so that once the job reads as finished its unit is back.
    if (refund && data.dailyCounted) {
      await limitBackend.refundDaily(data.owner).catch((error: unknown) => logger.error({ err: error }, 'could not refund the daily quota'));
    }
  }

  /** A job failed outside `process`: its worker was lost twice. Settled like a failed capture. */
  private async lost(job: Job<CaptureJobData, CaptureJobReturn>): Promise<void> {
    const { data } = job;
    this.deps.logger.warn({ jobId: job.id, reason: job.failedReason }, 'capture job lost its worker twice; given up');
    if (data.kind !== 'async') return;
    const finished: CaptureJobReturn = { ok: false, error: WORKER_LOST, failedMs: undefined };
    await this.account(data, finished);
    if (data.webhookUrl) {
      const view = jobView(
        { id: job.id!, data, state: 'failed', returnvalue: null, processedOn: job.processedOn, finishedOn: job.finishedOn ?? Date.now(), attemptsStarted: job.attemptsStarted },
        undefined,
      );
      await this.deps.webhooks.send(data.owner, data.webhookUrl, view);
    }
  }
}

/** A successful capture with its bytes, before they are stored. */
type CaptureWithBody = Omit<Extract<CaptureJobReturn, { ok: true }>, 'bytes' | 'expiresAt'> & { ok: true; body: Buffer };
