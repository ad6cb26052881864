/**
 * A light caller beside a flood: does the fair queue keep one caller's few captures fast
 * while another keeps the server full?
 *
 * What it measures
 *   PageShot as a separate `pageshot serve` process (defaults, as in production), the
 *   fixture page as a 1280×720 PNG, a new query string per shot. The flooding caller
 *   (source address 127.0.1.1) keeps 12 captures in flight for the whole run; the light
 *   caller (127.0.1.2) sends one capture at a time, one after the other. Warm-up shots
 *   from both come first and are not measured.
 *
 * How to read it
 *   Refused requests are counted by answer code; the flood retries at once (a client
 *   ignoring Retry-After, which keeps the queue full), the light caller after 100 ms.
 *   p50 / p99 latency of each caller's successful captures, and the light caller's p50
 *   over the flooding caller's: goal <= 0.5 (without fairness the light caller would wait
 *   behind the flood and see about the same latency). Failures are counted, never retried.
 *   The last line, `BENCH_JSON {…}`, holds every figure.
 *
 * Usage
 *   node --import tsx bench/light-caller.ts [--seconds=20]
 */
import { performance } from 'node:perf_hooks';
import { argValue } from './lib/args.js';
import { startBenchServer } from './pageshot-process.js';
import { startFixtureSite } from '../test/helpers/fixture-site.js';

const FLOOD_DEPTH = 12;
const GOAL = 0.5;

/** Nearest-rank percentile `p` (0–100); null when there are none. */
function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
}

async function main(): Promise<void> {
  const seconds = Number(argValue('seconds') ?? 20);
  const site = await startFixtureSite();
  const server = await startBenchServer('process', {});
  let shot = 0;
  const reasons = { flood: {} as Record<string, number>, light: {} as Record<string, number> };
  /** One capture; its latency in ms, or undefined (its answer's code counted for `who`) when it failed. */
  const shoot = async (from: string, who?: 'flood' | 'light'): Promise<number | undefined> => {
    const started = performance.now();
    const reply = await server.shoot({ url: `${site.url}/?shot=${shot++}` }, { from });
    if (reply.status === 200) return performance.now() - started;
    if (who) {
      const reason = `${reply.status} ${String(reply.json?.code ?? '')}`.trim();
      reasons[who][reason] = (reasons[who][reason] ?? 0) + 1;
      // The light caller retries after a pause, as a polite client would; the flood at
      // once, as a client ignoring Retry-After does (it keeps the queue full).
      if (who === 'light') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return undefined;
  };
  try {
    await Promise.all([...Array.from({ length: 4 }, () => shoot('127.0.1.1')), shoot('127.0.1.2')]);
    const latencies = { flood: [] as number[], light: [] as number[] };
    const failed = { flood: 0, light: 0 };
    const until = performance.now() + seconds * 1000;
    const loop = async (who: 'flood' | 'light', from: string) => {
      while (performance.now() < until) {
        const ms = await shoot(from, who);
        if (ms === undefined) failed[who]++;
        else latencies[who].push(ms);
      }
    };
    await Promise.all([...Array.from({ length: FLOOD_DEPTH }, () => loop('flood', '127.0.1.1')), loop('light', '127.0.1.2')]);
    const figures = {
      flood: { ok: latencies.flood.length, failed: failed.flood, reasons: reasons.flood, p50: percentile(latencies.flood, 50), p99: percentile(latencies.flood, 99) },
      light: { ok: latencies.light.length, failed: failed.light, reasons: reasons.light, p50: percentile(latencies.light, 50), p99: percentile(latencies.light, 99) },
    };
    const ratio = figures.light.p50 !== null && figures.flood.p50 ? Math.round((figures.light.p50 / figures.flood.p50) * 100) / 100 : null;
    console.log(`light caller beside a ${FLOOD_DEPTH}-deep flood, ${seconds} s, PageShot defaults`);
    for (const who of ['flood', 'light'] as const) {
      const f = figures[who];
      console.log(`  ${who.padEnd(6)} ${f.ok} ok, ${f.failed} failed ${JSON.stringify(f.reasons)}, p50 ${f.p50} ms, p99 ${f.p99} ms`);
    }
    console.log(`light p50 / flood p50: ${ratio ?? '-'} (goal <= ${GOAL}): ${ratio === null ? 'cannot tell' : ratio <= GOAL ? 'goal MET' : 'goal NOT met'}`);
    console.log(`BENCH_JSON ${JSON.stringify({ seconds, floodDepth: FLOOD_DEPTH, ...figures, ratio, goal: GOAL })}`);
  } finally {
    await server.stop();
    await site.close();
  }
}

await main();
