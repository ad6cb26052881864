/**
 * Content-blocking benchmark: what blocking costs and saves, on this machine.
 *
 * What it measures
 *   1. Filter engines: the time until EasyList and EasyPrivacy are ready, parsed in the
 *      worker (cold: empty cache) and loaded from the engine cache (warm), and the
 *      memory the two engines keep in this process (after GC when run with --expose-gc).
 *   2. Captures, on the engine directly (no HTTP), one Chromium, one warm context, the
 *      blocking site of the tests (test/helpers/blocking-site.ts) on loopback:
 *        ad-heavy   /ad-heavy: an article with 20 ad iframes and 20 async ad scripts,
 *                   every ad answered after 500 ms: without options vs `blockAds`.
 *        default    /plain: no options, engine without content blocking (baseline) vs
 *                   the real content blocking (must cost nothing when nothing is asked).
 *        no CMP     /plain without options vs `blockCookieBanners`: the price of looking
 *                   for a consent dialog on a page that has none (the bounded wait).
 *      The two sides of a pair alternate shot by shot (ABAB…), so drift on a busy
 *      machine falls on both. Warm-up shots first, not measured.
 *
 * How to read it
 *   p50 / mean in ms of the capture (engine.capture() to bytes in hand); ratio = the
 *   side's p50 / its baseline's p50 in this same run. blockAds should be well under 1 on
 *   the ad-heavy page; the default path should be 1 within noise.
 *
 * Usage
 *   node --expose-gc --import tsx bench/blocking.ts [--shots=N] (default 15 per side)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { noContentBlocking, type ContentBlocking } from '../src/capture/blocking/content-blocking.js';
import { createContentBlocking } from '../src/capture/blocking/page-blocking.js';
import { BrowserManager } from '../src/capture/browser.js';
import { CaptureEngine } from '../src/capture/engine.js';
import { toCaptureOptions, type CaptureRequest } from '../src/capture/options.js';
import { WarmPool } from '../src/capture/warm-pool.js';
import { loadConfig, type CaptureLimits } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { policyFromConfig } from '../src/netguard/network-policy.js';
import { captureRequest } from '../test/helpers/capture-request.js';
import { HOSTS, SITE_HOSTS, startBlockingSite } from '../test/helpers/blocking-site.js';

const shotsArg = process.argv.find((arg) => arg.startsWith('--shots='));
const SHOTS = Math.max(3, Number(shotsArg?.slice('--shots='.length)) || 15);
const WARMUP = 3;
const MB = 1024 * 1024;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const memory = () => {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed, arrayBuffers, external } = process.memoryUsage();
  return { rss, heapUsed, arrayBuffers, external };
};

/** Part 1: building the engines, cold and from the cache, and what they keep in memory. */
async function measureEngines(cacheDir: string) {
  const logger = createLogger('silent');
  const before = memory();
  let started = performance.now();
  const cold = createContentBlocking({ listsDir: loadConfig({}).filterListsDir, cacheDir, logger });
  await cold.ready();
  const coldMs = performance.now() - started;
  const after = memory();
  started = performance.now();
  const warm = createContentBlocking({ listsDir: loadConfig({}).filterListsDir, cacheDir, logger });
  await warm.ready();
  const warmMs = performance.now() - started;
  const kept = Object.fromEntries(Object.entries(after).map(([key, value]) => [key, ((value - before[key as keyof typeof before]) / MB).toFixed(1)]));
  console.log(`engines ready: cold (worker parse) ${coldMs.toFixed(0)} ms, warm (cache) ${warmMs.toFixed(0)} ms`);
  console.log(`memory kept by both engines (MB): ${JSON.stringify(kept)}${'gc' in globalThis ? '' : '  (run with --expose-gc for steadier figures)'}`);
  return { blocking: warm, coldMs, warmMs, kept };
}

/** One side of a comparison: an engine and the options it captures with. */
interface Side {
  engine: CaptureEngine;
  request: Partial<CaptureRequest>;
}

/** Captures alternately with each side; answers each side's durations. */
async function alternate(sides: Side[], limits: CaptureLimits) {
  const times = sides.map(() => [] as number[]);
  for (let shot = 0; shot < WARMUP + SHOTS; shot++) {
    for (const [index, side] of sides.entries()) {
      const options = toCaptureOptions(captureRequest(limits, side.request), limits);
      const started = performance.now();
      await side.engine.capture('bench', options);
      if (shot >= WARMUP) times[index]!.push(performance.now() - started);
    }
  }
  return times;
}

function report(name: string, labels: [string, string], [baseline, other]: number[][]) {
  const ratio = median(other!) / median(baseline!);
  console.log(
    `${name.padEnd(10)} ${labels[0]}: p50 ${median(baseline!).toFixed(0)} ms (mean ${mean(baseline!).toFixed(0)})` +
      `  ${labels[1]}: p50 ${median(other!).toFixed(0)} ms (mean ${mean(other!).toFixed(0)})  ratio ${ratio.toFixed(2)}`,
  );
  return ratio;
}

/** A Chromium, a warm pool and a factory of engines over it, as the server builds them. */
async function startCapture(dataDir: string) {
  const config = loadConfig({ PAGESHOT_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8', PAGESHOT_DATA_DIR: dataDir, PAGESHOT_LOG_LEVEL: 'silent' });
  const policy = policyFromConfig(config, async (host) => (SITE_HOSTS.includes(host) ? ['127.0.0.1'] : Promise.reject(new Error(host))));
  const logger = createLogger('silent');
  const browsers = BrowserManager.forConfig(config, logger);
  await browsers.start();
  const pool = new WarmPool(browsers, { ...config.pool, maxUses: 10_000, maxHeapBytes: Infinity, policy }, logger);
  const engine = (blocking: ContentBlocking) => new CaptureEngine(pool, config.limits, logger, blocking);
  const close = async () => {
    await pool.close();
    await browsers.close();
  };
  return { limits: config.limits, engine, close };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-bench-blocking-'));
  const { blocking, coldMs, warmMs, kept } = await measureEngines(path.join(dataDir, 'filter-engines'));
  const site = await startBlockingSite();
  site.adDelayMs = 500;
  const capture = await startCapture(dataDir);
  try {
    const [plain, blocked] = [capture.engine(noContentBlocking), capture.engine(blocking)];
    const run = (a: Side, b: Side) => alternate([a, b], capture.limits);
    const heavy = `${site.origin(HOSTS.news)}/ad-heavy?n=20`;
    const page = `${site.origin(HOSTS.news)}/plain`;
    const figures = {
      enginesColdMs: Math.round(coldMs),
      enginesWarmMs: Math.round(warmMs),
      keptMB: kept,
      adHeavyRatio: report('ad-heavy', ['no options', 'blockAds'], await run({ engine: blocked, request: { url: heavy } }, { engine: blocked, request: { url: heavy, blockAds: true } })),
      defaultPathRatio: report('default', ['no blocking', 'blocking, no options'], await run({ engine: plain, request: { url: page } }, { engine: blocked, request: { url: page } })),
      noCmpConsentRatio: report('no CMP', ['no options', 'blockCookieBanners'], await run({ engine: blocked, request: { url: page } }, { engine: blocked, request: { url: page, blockCookieBanners: true } })),
      shots: SHOTS,
    };
    console.log(`BENCH_JSON ${JSON.stringify(figures)}`);
  } finally {
    await capture.close();
    await blocking.close();
    await site.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
