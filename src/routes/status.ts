import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { formatPercent, type Admission } from '../admission/admission.js';
import type { BrowserManager } from '../capture/browser.js';
import { chromiumMemory, type ProcessMemory } from '../capture/process-memory.js';
import type { WarmPool } from '../capture/warm-pool.js';
import type { Config } from '../config.js';
import type { CaptureQueue, QueueFigures } from '../jobs/queue.js';
import { StatusAnswer } from './status-schema.js';
import { VERSION } from '../version.js';

/** What the status route reads. */
export interface StatusRouteDeps {
  config: Config;
  admission: Admission;
  /** This node's browser and pool; undefined on an api node, which has none. */
  capture: { browsers: BrowserManager; pool: WarmPool } | undefined;
  /** The cluster's job queue, when there is Redis. */
  queue: CaptureQueue | undefined;
  cpuUsage: () => number;
  startedAt: number;
}

/** The queue's cluster-wide figures, or null while Redis cannot say. */
async function clusterFigures(queue: CaptureQueue | undefined): Promise<QueueFigures | null> {
  if (!queue) return null;
  return queue.figures().catch(() => null);
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
 * `status` is "busy" exactly when a request that had to wait would be refused: by this
 * node's queue, or on an api node by the cluster's (as many synchronous captures
 * waiting as PAGESHOT_MAX_QUEUE allows). `cluster` holds the queue's figures across
 * every node when there is Redis; an api node's `queue` is made of them, and its
 * `browser` and `pool` are null.
 */
export function statusRoutes(app: FastifyInstance, deps: StatusRouteDeps): void {
  const browserMemory = memoryReader();
  const schema = { tags: ['operations'], summary: 'Whether this service takes more work right now, and why not', response: { 200: StatusAnswer } };
  app.withTypeProvider<TypeBoxTypeProvider>().get('/status', { schema }, async (_request, reply) => {
    const { admission, capture, config } = deps;
    const cluster = await clusterFigures(deps.queue);
    const queue = capture
      ? admission.stats()
      : {
          activeRequests: cluster?.running ?? 0,
          queuedRequests: cluster?.waitingSync ?? 0,
          maxConcurrency: cluster?.slots ?? 0,
          maxQueue: config.maxQueue,
          queueTimeoutMs: config.queueTimeoutMs,
        };
    const busy = capture ? admission.isBusy() : clusterIsBusy(cluster, config.maxQueue);
    reply.header('cache-control', 'no-store');
    return {
      status: busy ? ('busy' as const) : ('running' as const),
      version: VERSION,
      role: config.role,
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
      queue: { ...queue, refusals: admission.refusals },
      browser: capture ? browserStatus(capture.browsers) : null,
      pool: capture ? { ...capture.pool.stats(), ...poolMemory(browserMemory()) } : null,
      ...(deps.queue ? { cluster } : {}),
    };
  });
}

/**
 * Whether an api node would refuse a capture that has to wait: no worker, or as many
 * synchronous captures waiting as PAGESHOT_MAX_QUEUE allows beyond the workers' free
 * slots (the rule AdmissionReservations applies).
 */
function clusterIsBusy(cluster: QueueFigures | null, maxQueue: number): boolean {
  if (cluster === null || cluster.workers === 0) return true;
  const freeSlots = Math.max(0, cluster.slots - cluster.running);
  return cluster.waitingSync >= maxQueue + freeSlots;
}

function browserStatus(browsers: BrowserManager) {
  return {
    state: browsers.state,
    version: browsers.version ?? null,
    capturesServed: browsers.capturesServed,
    restarts: browsers.crashes + browsers.recycles,
    crashes: browsers.crashes,
    sandbox: browsers.sandboxed === undefined ? null : browsers.sandboxed ? ('on' as const) : ('off' as const),
  };
}
