import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Admission } from './admission/admission.js';
import { CpuSampler } from './admission/cpu-sampler.js';
import { BrowserManager } from './capture/browser.js';
import { findChromium } from './capture/chromium-path.js';
import { CaptureEngine } from './capture/engine.js';
import { WarmPool } from './capture/warm-pool.js';
import type { Config } from './config.js';
import { Authenticator } from './auth/authenticator.js';
import { issueFirstAdminKey } from './auth/bootstrap.js';
import { KeyService } from './auth/key-service.js';
import { ConcurrencyLimiter } from './limits/concurrency-limiter.js';
import { FailoverLimitBackend } from './limits/failover-backend.js';
import { MemoryLimitBackend } from './limits/memory-backend.js';
import type { LimitBackend } from './limits/policy.js';
import { RedisLimitBackend } from './limits/redis-backend.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { policyFromConfig, type NetworkPolicy, type Resolver } from './netguard/network-policy.js';
import { buildServer } from './server.js';
import { AuditStore } from './store/audit-store.js';
import { openDatabase } from './store/database.js';
import { KeyStore } from './store/key-store.js';
import { UsageStore } from './store/usage-store.js';
import { tlsServerFactory } from './tls.js';
import { UsageRecorder } from './usage/usage-recorder.js';

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
  browsers: BrowserManager;
  pool: WarmPool;
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
  const keys = new KeyStore(database.db);
  const audit = new AuditStore(database.db);
  const authenticator = new Authenticator(config.auth, keys, audit, logger);
  const keyService = new KeyService(keys, audit, config.auth.keyPrefix, (hash) => authenticator.invalidate(hash));
  await issueFirstAdminKey(config, keys, keyService, print);
  if (!config.auth.enabled) logger.warn('authentication is OFF (PAGESHOT_AUTH=off): anyone who can reach this server can use it');
  return { database, audit, authenticator, keyService, usageStore: new UsageStore(database.db) };
}

/** Chromium, the warm pool in front of it and the engine that captures with both. */
async function startCapture(config: Config, logger: Logger, policy: NetworkPolicy) {
  const browsers = new BrowserManager({
    executablePath: findChromium(config.chromiumPath),
    maxCaptures: config.browserMaxCaptures,
    logger,
  });
  await browsers.start();
  const pool = new WarmPool(
    browsers,
    { ...config.pool, maxUses: config.pool.maxUsesPerContext, maxHeapBytes: config.pool.maxHeapMb * 1024 * 1024, policy },
    logger,
  );
  return { browsers, pool, engine: new CaptureEngine(pool, config.limits, logger) };
}

/** Wires the parts together and launches Chromium. Fails fast if Chromium cannot start. */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const serverFactory = tlsServerFactory(config.tls);
  const { database, audit, authenticator, keyService, usageStore } = await openAccounts(
    config,
    logger,
    overrides.print ?? ((text) => process.stdout.write(text)),
  );
  const networkPolicy = policyFromConfig(config, overrides.resolve);
  const { browsers, pool, engine } = await startCapture(config, logger, networkPolicy).catch(async (error: unknown) => {
    await database.close();
    throw error;
  });
  const sampler = overrides.cpuUsage ? undefined : new CpuSampler().start();
  const cpuUsage = overrides.cpuUsage ?? (() => sampler!.percent());
  const admission = new Admission({ ...config, cpuUsage });
  const metrics = createMetrics({
    queue: () => admission.stats(),
    browserRestarts: () => browsers.crashes + browsers.recycles,
    poolContexts: () => pool.stats().contexts,
  });
  const limitBackend = overrides.limitBackend ?? createLimitBackend(config, logger, metrics);
  const usageRecorder = new UsageRecorder(usageStore, logger);
  let shuttingDown = false;
  const server = buildServer({
    config,
    logger,
    admission,
    engine,
    browsers,
    pool,
    cpuUsage,
    startedAt: Date.now(),
    isShuttingDown: () => shuttingDown,
    authenticator,
    keyService,
    audit,
    metrics,
    networkPolicy,
    limitBackend,
    concurrency: new ConcurrencyLimiter(),
    usageStore,
    usageRecorder,
    ...(serverFactory ? { serverFactory } : {}),
  });

  let stopping: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    shuttingDown = true;
    admission.close();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        logger.warn('shutdown timeout reached with captures still running; closing anyway');
        resolve();
      }, config.shutdownTimeoutMs);
    });
    await Promise.race([server.close(), deadline]);
    clearTimeout(timer);
    sampler?.stop();
    await pool.close();
    await browsers.close();
    await usageRecorder.close();
    await limitBackend.close();
    await authenticator.close();
    await database.close();
    logger.info('stopped');
  }

  return {
    server,
    browsers,
    pool,
    admission,
    keyService,
    authenticator,
    usageRecorder,
    metrics,
    async listen() {
      const address = await server.listen({ host: config.host, port: config.port });
      // Fastify names the scheme from its own `https` option, which a server factory bypasses.
      return config.tls ? address.replace(/^http:/, 'https:') : address;
    },
    stop() {
      stopping ??= shutdown();
      return stopping;
    },
  };
}
