/**
 * Rate-limit decisions per second, on this machine, in this run.
 *
 * What it measures
 *   memory decide   MemoryLimitBackend.decide(), synchronous, in a tight loop.
 *   memory consume  MemoryLimitBackend.consume(), awaited one after the other (adds a promise).
 *   redis consume   RedisLimitBackend.consume() on REDIS_URL with BENCH_CONCURRENCY callers
 *                   in flight at once (one connection; ioredis pipelines what is in flight).
 *   Every run uses the default policy (rate 200/s, burst 500, daily 2000) over
 *   BENCH_CALLERS distinct callers taken in turn, with the real clock, so most decisions
 *   past the first seconds are refusals — which cost the same work as admissions.
 *
 * How to read it
 *   decisions/s  decisions made / wall time of the run. The goal for in-process is
 *   >= 1 000 000/s on 2 cores; it is printed as measured, nothing is tuned to meet it.
 *   Redis figures depend on the Redis server sharing these cores.
 *
 * Usage
 *   node --import tsx bench/limits-decisions.ts
 *   env BENCH_SECONDS per run (default 3), BENCH_CALLERS (default 10000),
 *       BENCH_CONCURRENCY (default 50), REDIS_URL (default redis://127.0.0.1:6379; '' skips).
 */
import { randomUUID } from 'node:crypto';
import { MemoryLimitBackend } from '../src/limits/memory-backend.js';
import { RedisLimitBackend } from '../src/limits/redis-backend.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const POLICY = { rate: 200, burst: 500, daily: 2_000 };
const GOAL = 1_000_000;

const run = randomUUID().slice(0, 8);
const callers = Array.from({ length: CALLERS }, (_, i) => `bench-${run}:key_${i}`);

function report(name: string, decisions: number, ms: number): number {
  const perSecond = decisions / (ms / 1000);
  const rate = Math.round(perSecond).toLocaleString('en-US').padStart(12);
  console.log(`${name.padEnd(16)} ${rate} decisions/s  (${decisions.toLocaleString('en-US')} in ${(ms / 1000).toFixed(2)} s)`);
  return perSecond;
}

function benchDecide(): number {
  const backend = new MemoryLimitBackend();
  const end = performance.now() + SECONDS * 1000;
  let count = 0;
  let i = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let j = 0; j < 10_000; j++) {
      backend.decide(callers[i]!, POLICY);
      i = i + 1 === CALLERS ? 0 : i + 1;
    }
    count += 10_000;
  }
  void backend.close();
  return report('memory decide', count, performance.now() - start);
}

async function benchConsume(): Promise<number> {
  const backend = new MemoryLimitBackend();
  const end = performance.now() + SECONDS * 1000;
  let count = 0;
  let i = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let j = 0; j < 10_000; j++) {
      await backend.consume(callers[i]!, POLICY);
      i = i + 1 === CALLERS ? 0 : i + 1;
    }
    count += 10_000;
  }
  await backend.close();
  return report('memory consume', count, performance.now() - start);
}

async function benchRedis(): Promise<void> {
  const backend = new RedisLimitBackend({ redis: REDIS_URL });
  try {
    await backend.ready();
  } catch (error) {
    console.log(`redis consume    skipped: ${REDIS_URL} not ready (${(error as Error).message})`);
    await backend.close();
    return;
  }
  const end = performance.now() + SECONDS * 1000;
  let count = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await backend.consume(callers[next]!, POLICY);
      next = next + 1 === CALLERS ? 0 : next + 1;
      count += 1;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  report(`redis consume×${CONCURRENCY}`, count, performance.now() - start);
  // Leave nothing behind: the keys would expire by themselves, but not for a day.
  for (let i = 0; i < callers.length; i += 500) {
    const keys = callers.slice(i, i + 500).flatMap((c) => [backend.key(c, 'burst'), backend.key(c, 'daily')]);
    await backend.client.del(...keys);
  }
  await backend.close();
}

console.log(`PageShot rate-limit decisions, ${SECONDS} s per run, ${CALLERS} callers, policy ${JSON.stringify(POLICY)}`);
const decide = benchDecide();
await benchConsume();
if (REDIS_URL) await benchRedis();
console.log(`in-process goal >= ${GOAL.toLocaleString('en-US')}/s (memory decide): ${decide >= GOAL ? 'met' : 'NOT met'}`);
