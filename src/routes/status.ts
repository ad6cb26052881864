import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { formatPercent, type Admission } from '../admission/admission.js';
import type { BrowserManager } from '../capture/browser.js';
import { chromiumMemory, type ProcessMemory } from '../capture/process-memory.js';
import type { WarmPool } from '../capture/warm-pool.js';
import { VERSION } from '../version.js';

/** What the status route reads. */
export interface StatusRouteDeps {
  admission: Admission;
  browsers: BrowserManager;
  pool: WarmPool;
  cpuUsage: () => number;
  startedAt: number;
}

const MB = 1024 * 1024;

/** How long one reading of Chromium's memory is shown again (a reading scans /proc). */
const MEMORY_READING_MS = 5_000;

/**
 * Chromium's memory (PSS/RSS over its process tree), read at most every 5 s: a reading
 * costs a scan of /proc (a few ms with hundreds of renderers), and health checks may ask
 * often. Null where /proc cannot be read (not Linux).
 */
function memoryReader(): () => ProcessMemory | null {
  let reading: ProcessMemory | null = null;
  let readAt = -Infinity;
  return () => {
    if (Date.now() - readAt >= MEMORY_READING_MS) {
      reading = chromiumMemory() ?? null;
      readAt = Date.now();
    }
    return reading;
  };
}

/**
 * The pool's memory as /status shows it: Chromium's whole process tree (idle warm
 * contexts, captures running, the browser itself), PSS and RSS in MB; flat numbers, as
 * the clients read `pool` as a map of numbers, and left out where /proc cannot be read.
 */
function poolMemory(memory: ProcessMemory | null): { memoryPssMb?: number; memoryRssMb?: number } {
  return memory ? { memoryPssMb: memory.pssMb, memoryRssMb: memory.rssMb } : {};
}

/**
 * `GET /status`: whether the service would take more work right now, and why not.
 * `status` is "busy" exactly when a request that had to wait would be refused.
 */
export function statusRoutes(app: FastifyInstance, deps: StatusRouteDeps): void {
  const browserMemory = memoryReader();
  app.get('/status', async (_request, reply) => {
    const { admission, browsers, pool } = deps;
    reply.header('cache-control', 'no-store');
    return {
      status: admission.isBusy() ? 'busy' : 'running',
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      system: {
        cpuUsage: formatPercent(deps.cpuUsage()),
        cpuCount: os.availableParallelism(),
        loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
        memory: {
          processRssMb: Math.round(process.memoryUsage.rss() / MB),
          systemFreeMb: Math.round(os.freemem() / MB),
          systemTotalMb: Math.round(os.totalmem() / MB),
        },
      },
      queue: { ...admission.stats(), refusals: admission.refusals },
      browser: {
        state: browsers.state,
        version: browsers.version ?? null,
        capturesServed: browsers.capturesServed,
        restarts: browsers.crashes + browsers.recycles,
        crashes: browsers.crashes,
        sandbox: browsers.sandboxed === undefined ? null : browsers.sandboxed ? 'on' : 'off',
      },
      pool: { ...pool.stats(), ...poolMemory(browserMemory()) },
    };
  });
}
