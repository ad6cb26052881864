/**
 * Queue-burst benchmark: how an api node sheds a burst of synchronous captures far past
 * its queue's bound, the attack of issue 22 (item 4).
 *
 * What it does
 *   A private redis-server (test/helpers/redis-server.ts), an api node and one worker node
 *   (`pageshot serve --role api|worker`, test/helpers/node-process.ts, each with its own
 *   data directory; authentication off, loopback allowed; the worker's default slots,
 *   max(2, 2 × cores)). The api node runs with PAGESHOT_MAX_QUEUE=--max-queue and the
 *   default PAGESHOT_QUEUE_TIMEOUT_MS (30 s). After one warm-up capture, --n captures
 *   are sent at once (one connection each) of the fixture site's page
 *   (test/helpers/fixture-site.ts, `/`, each with its own query string), addressed by host
 *   name (`localhost`) as real targets are.
 *
 * What it prints
 *   answers      how many answers had each code (200 for an image).
 *   wait p50     of the captures that succeeded: Server-Timing `queue;dur` (submit → a
 *                worker started it), and the whole latency.
 *   refused p50  latency of the QUEUE_FULL answers (how "at once" a refusal is), and of the
 *                QUEUE_TIMEOUT ones, if any.
 *   The last line, `BENCH_JSON {…}`, holds every figure. Run it in two checkouts (the same
 *   script) to compare; nothing is asserted.
 *
 * Usage
 *   node --import tsx bench/queue-burst.ts [--n=100] [--max-queue=10]
 *   Needs redis-server on PATH and Chromium.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFixtureSite } from '../test/helpers/fixture-site.js';
import type { Reply } from '../test/helpers/harness.js';
import { startNode, type NodeProcess } from '../test/helpers/node-process.js';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import { argValue } from './lib/args.js';

const N = Number(argValue('n') ?? 100);
const MAX_QUEUE = Number(argValue('max-queue') ?? 10);

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};

const codeOf = (reply: Reply) => (reply.status === 200 ? '200' : String(reply.json?.code ?? reply.status));

async function main(): Promise<void> {
  const redis = await startPrivateRedis();
  const site = await startFixtureSite();
  const dirs = [0, 1].map(() => mkdtempSync(path.join(os.tmpdir(), 'pageshot-bench-burst-')));
  const shared = { PAGESHOT_REDIS_URL: redis.url, PAGESHOT_LOG_LEVEL: 'warn', PAGESHOT_CACHE_TTL: '0' };
  let api: NodeProcess | undefined;
  let worker: NodeProcess | undefined;
  try {
    [api, worker] = await Promise.all([
      startNode('api', { ...shared, PAGESHOT_DATA_DIR: dirs[0]!, PAGESHOT_MAX_QUEUE: String(MAX_QUEUE) }),
      startNode('worker', { ...shared, PAGESHOT_DATA_DIR: dirs[1]! }),
    ]);
    const target = (i: number | string) => ({ url: `http://localhost:${site.port}/?shot=${i}` });
    const warm = await api.request('/screenshot', { body: target('warm-up') });
    if (warm.status !== 200) throw new Error(`warm-up: ${warm.status} ${warm.body.toString()}`);
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const sent = Date.now();
        const reply = await api!.request('/screenshot', { body: target(i) });
        return { reply, ms: Date.now() - sent };
      }),
    );
    const wallMs = Date.now() - started;
    const codes: Record<string, number> = {};
    for (const { reply } of answers) codes[codeOf(reply)] = (codes[codeOf(reply)] ?? 0) + 1;
    const ok = answers.filter(({ reply }) => reply.status === 200);
    const queueMs = ok.map(({ reply }) => Number(/queue;dur=([\d.]+)/.exec(String(reply.headers['server-timing']))?.[1] ?? NaN)).filter(Number.isFinite);
    const latencyOf = (code: string) => answers.filter(({ reply }) => codeOf(reply) === code).map(({ ms }) => ms);
    const figures = {
      n: N,
      maxQueue: MAX_QUEUE,
      codes,
      okQueueWaitP50Ms: median(queueMs),
      okLatencyP50Ms: median(ok.map(({ ms }) => ms)),
      queueFullLatencyP50Ms: median(latencyOf('QUEUE_FULL')),
      queueTimeoutLatencyP50Ms: median(latencyOf('QUEUE_TIMEOUT')),
      wallMs,
    };
    console.log(`answers      ${JSON.stringify(codes)} of ${N}, in ${wallMs} ms (PAGESHOT_MAX_QUEUE=${MAX_QUEUE}, one worker)`);
    console.log(`wait p50     ${figures.okQueueWaitP50Ms} ms in the queue, ${figures.okLatencyP50Ms} ms in all, for the ${ok.length} captured`);
    console.log(`refused p50  QUEUE_FULL after ${figures.queueFullLatencyP50Ms} ms; QUEUE_TIMEOUT after ${figures.queueTimeoutLatencyP50Ms} ms`);
    console.log(`BENCH_JSON ${JSON.stringify(figures)}`);
  } finally {
    await Promise.all([api?.kill(), worker?.kill()]);
    await site.close();
    await redis.kill();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
