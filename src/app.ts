import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Admission } from './admission/admission.js';
import { CpuSampler } from './admission/cpu-sampler.js';
import { BrowserManager } from './capture/browser.js';
import { findChromium } from './capture/chromium-path.js';
import { CaptureEngine } from './capture/engine.js';
import { WarmPool } from './capture/warm-pool.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import { buildServer } from './server.js';

/** Replaceable parts, for tests. */
export interface AppOverrides {
  logger?: Logger;
  /** Replaces the machine's CPU reading (percent), so tests can force "busy". */
  cpuUsage?: () => number;
}

/** A running PageShot: its HTTP server, its parts, and how to stop it. */
export interface App {
  server: FastifyInstance;
  browsers: BrowserManager;
  pool: WarmPool;
  admission: Admission;
  /** Listens on the configured host and port; returns the base URL. */
  listen(): Promise<string>;
  /** Graceful stop: refuse new work, finish running captures (bounded), close the browser last. */
  stop(): Promise<void>;
}

/** Wires the parts together and launches Chromium. Fails fast if Chromium cannot start. */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const browsers = new BrowserManager({
    executablePath: findChromium(config.chromiumPath),
    maxCaptures: config.browserMaxCaptures,
    logger,
  });
  await browsers.start();
  const pool = new WarmPool(
    browsers,
    { ...config.pool, maxUses: config.pool.maxUsesPerContext, maxHeapBytes: config.pool.maxHeapMb * 1024 * 1024 },
    logger,
  );
  const engine = new CaptureEngine(pool, config.limits, logger);
  const sampler = overrides.cpuUsage ? undefined : new CpuSampler().start();
  const cpuUsage = overrides.cpuUsage ?? (() => sampler!.percent());
  const admission = new Admission({ ...config, cpuUsage });
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
    logger.info('stopped');
  }

  return {
    server,
    browsers,
    pool,
    admission,
    async listen() {
      const address = await server.listen({ host: config.host, port: config.port });
      return address;
    },
    stop() {
      stopping ??= shutdown();
      return stopping;
    },
  };
}
