import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Admission } from './admission/admission.js';
import { CpuSampler } from './admission/cpu-sampler.js';
import { BrowserManager } from './capture/browser.js';
import { createResultStore, ResultCache } from './cache/result-cache.js';
import { createContentBlocking } from './capture/blocking/page-blocking.js';
import { CaptureEngine } from './capture/engine.js';
import { WarmPool } from './capture/warm-pool.js';
import type { Config } from './config.js';
import { Authenticator } from './auth/authenticator.js';
import { isWildcardHost, issueFirstAdminKey } from './auth/bootstrap.js';
import { createKeyChanges } from './auth/key-changes.js';
import { KeyService } from './auth/key-service.js';
import { KeyStanding } from './auth/key-standing.js';
import { createCaptureSlots } from './limits/capture-slots.js';
import { FailoverLimitBackend } from './limits/failover-backend.js';
import { MemoryLimitBackend } from './limits/memory-backend.js';
import type { LimitBackend } from './limits/policy.js';
import { RedisLimitBackend } from './limits/redis-backend.js';
import { createLogger, logDestination } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { policyFromConfig, type NetworkPolicy, type Resolver } from './netguard/network-policy.js';
import { buildServer, type ServerDeps } from './server.js';
import { drainHttp } from './http/drain.js';
import { AuditStore } from './store/audit-store.js';
import { DATABASE_FILE, openDatabase } from './store/database.js';
import { KeyStore } from './store/key-store.js';
import { UsageStore } from './store/usage-store.js';
import { createServerFactory } from './tls.js';
import { UsageRecorder } from './usage/usage-recorder.js';
import { CaptureService, LocalRenderer, type Renderer } from './capture/service.js';
import { describingHeaders } from './routes/capture-headers.js';
import { CaptureQueue } from './jobs/queue.js';
import { QueuedRenderer } from './jobs/queued-renderer.js';
import { WebhookDispatcher } from './jobs/webhook-dispatch.js';
import { CaptureWorker, type CaptureWorkerDeps } from './jobs/worker.js';
import { WebhookSecretStore } from './store/webhook-secret-store.js';
import { SigningSecretStore } from './store/signing-secret-store.js';

/** Replaceable parts, for tests. */
export interface AppOverrides {
  logger?: Logger;
  /** Replaces the machine's CPU reading (percent), so tests can force "busy". */
  cpuUsage?: () => number;
  /** Where the first-start admin key is printed (default: standard output). */
  print?: (text: string) => void;
  /** Replaces the rate-limit backend (tests inject one with a fake clock). */
  limitBackend?: LimitBackend;
  /** Replaces DNS resolution for the network guard (tests simulate rebinding). */
  resolve?: Resolver;
}

/** In-process limits, or Redis behind a failover when PAGESHOT_REDIS_URL is set. */
function createLimitBackend(config: Config, logger: Logger, metrics: Metrics): LimitBackend {
  const { redisUrl, onStoreFailure } = config.rateLimits;
  if (!redisUrl) return new MemoryLimitBackend();
  return new FailoverLimitBackend({
    primary: new RedisLimitBackend({ redis: redisUrl }),
    mode: onStoreFailure,
    logger,
    onStoreFailure: () => metrics.limitStoreFailures.inc(),
  });
}

/** A running PageShot: its HTTP server, its parts, and how to stop it. */
export interface App {
  server: FastifyInstance;
  /** Chromium (not on an api node, which has none: reading it there throws). */
  browsers: BrowserManager;
  /** The warm pool (not on an api node: reading it there throws). */
  pool: WarmPool;
  /** The job queue, when there is Redis to hold it. */
  queue: CaptureQueue | undefined;
  admission: Admission;
  keyService: KeyService;
  authenticator: Authenticator;
  usageRecorder: UsageRecorder;
  metrics: Metrics;
  /** Listens on the configured host and port; returns the base URL. */
  listen(): Promise<string>;
  /** Graceful stop: refuse new work, finish running captures (bounded), close the browser last. */
  stop(): Promise<void>;
}

/** The database and what lives in it: keys, the audit log, usage; the first admin key. */
async function openAccounts(config: Config, logger: Logger, print: (text: string) => void) {
  const database = await openDatabase(config.store);
  // Which store this server reads (a PostgreSQL URL may hold a password: only its kind is named).
  logger.info({ store: config.store.databaseUrl ? 'postgresql' : path.join(config.store.dataDir, DATABASE_FILE) }, 'store opened');
  const keys = new KeyStore(database.db);
  const audit = new AuditStore(database.db);
  const signingSecrets = new SigningSecretStore(database.db, {
    onTouchError: (error) => logger.error({ err: error }, 'could not record when a signing secret was last used'),
  });
  const authenticator = new Authenticator(config.auth, keys, audit, logger, signingSecrets);
  // A change made here, on another instance or by the CLI reaches every instance's key cache over Redis.
  const keyChanges = createKeyChanges(
    config.rateLimits.redisUrl,
    { changed: (hash) => authenticator.invalidate(hash), missedSome: () => authenticator.forgetAll() },
    logger,
  );
  const onChange = (hash: string) => {
    authenticator.invalidate(hash);
    void keyChanges.publish(hash);
  };
  const keyService = new KeyService(keys, { prefix: config.auth.keyPrefix, defaultLimits: config.rateLimits.defaults, onChange });
  await issueFirstAdminKey(config, keys, keyService, print).catch(async (error: unknown) => {
    await keyChanges.close();
    await authenticator.close();
    await database.close();
    throw error;
  });
  if (!config.auth.enabled) logger.warn('authentication is OFF (PAGESHOT_AUTH=off): anyone who can reach this server can use it');
  return { database, audit, authenticator, keyService, keyChanges, signingSecrets, usageStore: new UsageStore(database.db) };
}

/** Chromium, the warm pool in front of it and the engine that captures with both. */
async function startCapture(config: Config, logger: Logger, policy: NetworkPolicy) {
  const browsers = BrowserManager.forConfig(config, logger);
  await browsers.start();
  const pool = new WarmPool(
    browsers,
    { ...config.pool, maxUses: config.pool.maxUsesPerContext, maxHeapBytes: config.pool.maxHeapMb * 1024 * 1024, policy },
    logger,
  );
  const { maxContexts, sizedBy, availableMb, memoryShare, contextMb } = config.pool;
  logger.info({ maxContexts, sizedBy, ...(sizedBy === 'memory' ? { availableMb, memoryShare, contextMb } : {}) }, 'warm pool sized');
  // Filter lists are parsed in a worker thread from now on (or read from the cache); the
  // first capture that blocks ads waits for them, no other does.
  const contentBlocking = createContentBlocking({
    listsDir: config.filterListsDir,
    cacheDir: path.join(config.store.dataDir, 'filter-engines'),
    preload: config.filterListsPreload,
    logger,
  });
  return { browsers, pool, contentBlocking, engine: new CaptureEngine(pool, config.limits, logger, contentBlocking) };
}

/**
 * Takes jobs on this node: captures, and the webhooks of the async ones. Returns how to
 * close both, the capture worker first (it may still queue webhooks).
 */
function startJobWorkers(deps: Omit<CaptureWorkerDeps, 'webhooks'>, secrets: WebhookSecretStore, policy: NetworkPolicy): Closer[] {
  // The key that owns a job is checked before each of its webhook's attempts too (revoked, disabled, expired, scope).
  const webhooks = new WebhookDispatcher({ captureQueue: deps.queue, secrets, policy, standing: deps.standing, logger: deps.logger });
  const worker = new CaptureWorker({ ...deps, webhooks });
  webhooks.start();
  worker.start();
  return [
    { name: 'webhooks', close: () => webhooks.close() },
    { name: 'captureWorker', close: () => worker.close() },
  ];
}

/** Something start-up started, and how to close it. */
type Closer = { name: string; close: () => unknown };

/** Closes, newest first, what start-up had started before a later step failed. */
async function unwind(started: Closer[], logger: Logger): Promise<void> {
  for (const { name, close } of started.reverse()) {
    await Promise.resolve()
      .then(close)
      .catch((error: unknown) => logger.error({ err: error, part: name }, 'closing after a failed start failed'));
  }
}

/**
 * Runs the shutdown steps in order, each bounded by nothing but itself: a step that
 * throws is logged and the next still runs (an open database must not outlive a
 * failed Redis quit). Returns how long each step took, for the "stopped" log line.
 */
async function runSteps(steps: Closer[], logger: Logger): Promise<Record<string, number>> {
  const durationsMs: Record<string, number> = {};
  for (const { name, close } of steps) {
    const started = performance.now();
    await Promise.resolve()
      .then(close)
      .catch((error: unknown) => logger.error({ err: error, part: name }, 'shutdown step failed'));
    durationsMs[name] = Math.round(performance.now() - started);
  }
  return durationsMs;
}

/**
 * Wires the parts together and launches Chromium, last: it is the slowest and most
 * likely step to fail. If any step fails, what was already started (database, timers,
 * Redis, Chromium) is closed before the error is thrown, so nothing outlives it.
 */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger(config.logLevel, logDestination(config.logFormat));
  // Reads the TLS files: a bad one fails here, before anything is started.
  const serverFactory = createServerFactory(config);
  const { database, audit, authenticator, keyService, keyChanges, signingSecrets, usageStore } = await openAccounts(
    config,
    logger,
    overrides.print ?? ((text) => process.stdout.write(text)),
  );
  const started: Closer[] = [
    { name: 'database', close: () => database.close() },
    { name: 'authenticator', close: () => authenticator.close() },
    { name: 'keyChanges', close: () => keyChanges.close() },
  ];
  try {
    const networkPolicy = policyFromConfig(config, overrides.resolve);
    const sampler = overrides.cpuUsage ? undefined : new CpuSampler().start();
    if (sampler) started.push({ name: 'cpuSampler', close: () => sampler.stop() });
    const cpuUsage = overrides.cpuUsage ?? (() => sampler!.percent());
    const admission = new Admission({ ...config, cpuUsage });
    const metrics = createMetrics({
      queue: () => admission.stats(),
      browserRestarts: () => (capture ? capture.browsers.crashes + capture.browsers.recycles : 0),
      poolContexts: () => capture?.pool.stats().contexts ?? 0,
    });
    const limitBackend = overrides.limitBackend ?? createLimitBackend(config, logger, metrics);
    started.push({ name: 'limitBackend', close: () => limitBackend.close() });
    const { redisUrl, onStoreFailure } = config.rateLimits;
    const slots = createCaptureSlots({ redis: redisUrl, onStoreFailure, logger });
    started.push({ name: 'captureSlots', close: () => slots.close() });
    const usageRecorder = new UsageRecorder(usageStore, logger);
    started.push({ name: 'usageRecorder', close: () => usageRecorder.close() });
    const resultCache: ServerDeps['resultCache'] = new ResultCache(createResultStore(config.cache), config.cache, logger, metrics.cache);
    started.push({ name: 'resultCache', close: () => resultCache.close() });
    const queue = config.rateLimits.redisUrl ? new CaptureQueue(config.rateLimits.redisUrl, config.jobs, logger) : undefined;
    if (queue) {
      started.push({ name: 'jobQueue', close: () => queue.close() });
      if (!(await queue.ready())) logger.warn('the job queue cannot reach Redis yet: job routes answer 503 until it can');
    }
    // An api node starts no browser: its captures are rendered by workers, through the queue.
    const capture = config.role === 'api' ? undefined : await startCapture(config, logger, networkPolicy);
    if (capture) {
      started.push(
        { name: 'browser', close: () => capture.browsers.close() },
        { name: 'pool', close: () => capture.pool.close() },
        { name: 'contentBlocking', close: () => capture.contentBlocking.close() },
      );
    }
    const renderer: Renderer = capture
      ? new LocalRenderer({ admission, engine: capture.engine, metrics, resultCache, describeResult: describingHeaders })
      : new QueuedRenderer(queue!, { maxQueue: config.maxQueue, queueTimeoutMs: config.queueTimeoutMs });
    const captureService = new CaptureService({ networkPolicy, resultCache, renderer });
    const webhookSecrets = new WebhookSecretStore(database.db);
    const keyStanding = new KeyStanding(new KeyStore(database.db));
    if (queue && capture) {
      const deps = { queue, service: captureService, config, usage: usageRecorder, limitBackend, describeResult: describingHeaders, logger, standing: keyStanding };
      started.push(...startJobWorkers(deps, webhookSecrets, networkPolicy));
    }
    let shuttingDown = false;
    const server = buildServer({
      config,
      logger,
      admission,
      capture,
      captureService,
      queue,
      webhookSecrets,
      keyStanding,
      signingSecrets,
      db: database.db,
      cpuUsage,
      startedAt: Date.now(),
      isShuttingDown: () => shuttingDown,
      authenticator,
      keyService,
      audit,
      metrics,
      networkPolicy,
      resultCache,
      limitBackend,
      slots,
      usageStore,
      usageRecorder,
      serverFactory,
    });
    const parts = { server, admission, logger, config, closers: started.slice().reverse() };
    const stop = stopper(parts, () => (shuttingDown = true));
    const noBrowser = () => {
      throw new Error('an api node has no browser');
    };
    return {
      server,
      get browsers() {
        return capture?.browsers ?? noBrowser();
      },
      get pool() {
        return capture?.pool ?? noBrowser();
      },
      queue,
      admission,
      keyService,
      authenticator,
      usageRecorder,
      metrics,
      async listen() {
        const address = await server.listen({ host: config.host, port: config.port });
        if (isWildcardHost(config.host)) {
          logger.info({ host: config.host }, 'listening on every network interface; HOST=127.0.0.1 keeps the server to this machine');
        }
        // Fastify names the scheme from its own `https` option, which a server factory bypasses.
        return config.tls ? address.replace(/^http:/, 'https:') : address;
      },
      stop,
    };
  } catch (error) {
    await unwind(started, logger);
    throw error;
  }
}

interface StoppableParts {
  server: FastifyInstance;
  admission: Admission;
  logger: Logger;
  config: Config;
  /** What to close after the HTTP server, in order: pool, browser (last of the capture side), then state. */
  closers: Closer[];
}

/**
 * Graceful stop, once: refuse new work, let running captures finish (bounded by
 * PAGESHOT_SHUTDOWN_TIMEOUT_MS), then close the pool, Chromium and the stores. The
 * listener stays open while running requests finish, so a client connecting meanwhile is
 * answered 503 SHUTTING_DOWN (with `Connection: close` and `Retry-After`), `/readyz`
 * included, rather than refused a connection; it closes as soon as the last request taken
 * before the stop is answered, or when the time is up (see http/drain.ts).
 */
function stopper(parts: StoppableParts, beginShutdown: () => void): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    const { server, admission, logger, config } = parts;
    beginShutdown();
    admission.close();
    const drain = () => drainHttp(server, config.shutdownTimeoutMs, logger);
    const durationsMs = await runSteps([{ name: 'http', close: drain }, ...parts.closers], logger);
    logger.info({ durationsMs }, 'stopped');
  }
  return () => (stopping ??= shutdown());
}
