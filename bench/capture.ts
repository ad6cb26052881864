/**
 * Capture benchmark: PageShot against the naive Playwright loop, on this machine.
 *
 * What it measures
 *   One local fixture page (test/helpers/fixture-site.ts, `/`), captured as a 1280×720
 *   PNG, every shot with its own query string (`/?shot=N`) so no cache can answer.
 *   Scenarios, run one after the other, never side by side (each closes its Chromium
 *   before the next starts, so they do not compete for the cores):
 *     pageshot        PageShot in this process (test harness, real Chromium), one HTTP
 *                     client sending `POST /screenshot {"url": …}`: its warm pool reuses
 *                     a reset context between shots.
 *     pageshot fresh  the same with `"fresh": true`: a brand-new context per shot.
 *     [variant]       pageshot with PAGESHOT_MAX_CONCURRENCY=4, at c=4 only, run when
 *                     503 busy answers made up a noticeable share of a c=4 run
 *                     (BENCH_VARIANT=auto|always|never, default auto).
 *     playwright      baseline: one launched browser; per shot newContext(1280×720),
 *                     newPage, goto, screenshot({type:'png'}), context.close().
 *   --sandbox=auto|on|off  PageShot's PAGESHOT_CHROMIUM_SANDBOX for every PageShot
 *                     scenario (BENCH_SANDBOX; default: the server's default, auto).
 *   Each scenario runs at concurrency 1 and 4: N workers looping over a shared shot
 *   budget. Warm-up shots come first and are not measured.
 *
 * How to read it
 *   ok / failed  shots that returned a 1280×720 PNG / everything else (non-200, bad
 *                image, exceptions). Failures are never retried or dropped; "503" is the
 *                part of the failures that were 503 answers (load shedding).
 *   p50 / p99    nearest-rank percentiles of the successful shots' latency in ms, from
 *                sending the request to holding the image. For playwright the latency
 *                stops once the image is in hand; its context.close() is still awaited
 *                before that worker's next shot, so it counts in shots/s (and its p50
 *                is printed below the table). With 100 shots or fewer, the nearest-rank
 *                p99 is simply the slowest shot.
 *   shots/s      successful shots per second of wall-clock time of the measured phase.
 *                Marked "*" when 503s made up >= 5% of the run's shots: a worker that is
 *                refused at once takes the next shot at once, so it burns the shared
 *                budget and the measured phase can end after a single round of captures.
 *                Such a figure is reported but not used for a goal verdict.
 *   Ratios compare each PageShot scenario with the playwright baseline of this same
 *   run: p50 at c=1 (goal <= 0.5) and shots/s at c=4 (goal >= 2, aim 3). Nothing is
 *   tuned to meet them; they are printed as measured.
 *   Below the table: failure reasons (with Retry-After), PageShot's own Server-Timing
 *   (queue wait, render), image sizes, and PageShot's /status after each scenario.
 *   The last line, `BENCH_JSON {…}`, holds every figure for notes.
 *   Everything (client, fixture site, PageShot's server, Playwright's driver) shares this
 *   one Node process, and PageShot's CPU reading is machine-wide, so it includes them.
 *
 * Usage
 *   npm run bench:capture [-- --shots=C1[,C4]] [--warmup=N] [--variant=auto|always|never] [--callers=N]
 *   --callers=N (BENCH_CALLERS): the warm scenario's shots take turns between N callers
 *       (source addresses 127.0.1.1…N, as N API keys would), default 1.
 *   env BENCH_SHOTS=C1[,C4] (one number N means N at c=1 and 2N at c=4; default 30,60,
 *       which keeps the whole run under ~3 minutes on 2 cores),
 *       BENCH_WARMUP=N (warm-up shots per worker, default 3), BENCH_VARIANT=auto|always|never.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS } from '../src/capture/browser.js';
import { startFixtureSite, type FixtureSite } from '../test/helpers/fixture-site.js';
import { startPageShot, type TestServer } from '../test/helpers/harness.js';

const WIDTH = 1280;
const HEIGHT = 720;
const CONCURRENCIES = [1, 4] as const;
/** Share of 503 answers in a run from which its shots/s says little (and, at c=4, the variant runs in auto). */
const DISTORTING_503_SHARE = 0.05;
/** Pause after a browser closes, so its processes are gone before the next scenario. */
const SETTLE_MS = 1_000;

/** The outcome of one shot. */
interface Outcome {
  ok: boolean;
  /** Milliseconds from start to image in hand (or to the failure). */
  ms: number;
  /** Why it failed: "HTTP 503 SERVER_BUSY", "bad image", an exception message. */
  reason?: string;
  /** True for a 503 answer from PageShot. */
  busy?: boolean;
  /** PageShot's Server-Timing figures, when it sent them. */
  queueMs?: number;
  renderMs?: number;
  /** Playwright baseline only: how long context.close() took after the image. */
  closeMs?: number;
  /** Size of the image returned. */
  bytes?: number;
}

/** Takes one screenshot of `url`. Never throws: failures come back as outcomes. */
type Shooter = (url: string) => Promise<Outcome>;

/** Figures of one measured run (one scenario at one concurrency). */
interface RunResult {
  scenario: string;
  concurrency: number;
  ok: number;
  failed: number;
  busy503: number;
  failures: Record<string, number>;
  p50: number | null;
  p99: number | null;
  shotsPerSec: number;
  wallMs: number;
  /** True when 503s were so many that shots/s says little (see DISTORTING_503_SHARE). */
  distorted: boolean;
  /** p50 size of the images returned, in bytes. */
  imageBytesP50: number | null;
  /** PageShot only: p50 of its own queue wait and render time (Server-Timing). */
  serverQueueP50?: number | null;
  serverRenderP50?: number | null;
  /** Playwright only: p50 of context.close(). */
  closeP50?: number | null;
}

/** Shot counts and switches, from argv and the environment. */
interface BenchSettings {
  shots: Record<number, number>;
  warmupPerWorker: number;
  variant: 'auto' | 'always' | 'never';
  /** Environment every PageShot scenario starts with (e.g. its Chromium sandbox setting). */
  pageshotEnv: Record<string, string>;
  /** Distinct callers the warm PageShot scenario's shots take turns between (1: one client). */
  callers: number;
}

// ---------------------------------------------------------------------------------------
// Settings

/** Reads `--name=value` or `--name value` from argv. */
function argValue(name: string): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
    if (arg === `--${name}`) return args[i + 1];
  }
  return undefined;
}

/** Parses a positive integer or exits with a message naming the setting. */
function positiveInt(raw: string, what: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`${what}=${JSON.stringify(raw)} is not a positive integer.`);
    process.exit(2);
  }
  return value;
}

/** Shot budgets per concurrency, warm-up size and variant switch. */
function readSettings(): BenchSettings {
  const shotsRaw = argValue('shots') ?? process.env.BENCH_SHOTS ?? '30,60';
  const [c1Raw, c4Raw] = shotsRaw.split(',');
  const c1 = positiveInt(c1Raw ?? '', 'shots');
  const c4 = c4Raw === undefined ? c1 * 2 : positiveInt(c4Raw, 'shots');
  const warmupPerWorker = positiveInt(argValue('warmup') ?? process.env.BENCH_WARMUP ?? '3', 'warmup');
  const variantRaw = argValue('variant') ?? process.env.BENCH_VARIANT ?? 'auto';
  if (variantRaw !== 'auto' && variantRaw !== 'always' && variantRaw !== 'never') {
    console.error(`variant=${JSON.stringify(variantRaw)} must be auto, always or never.`);
    process.exit(2);
  }
  // The sandbox costs CPU per capture (measured: see README); compare with --sandbox=off.
  const sandbox = argValue('sandbox') ?? process.env.BENCH_SANDBOX;
  const pageshotEnv: Record<string, string> = sandbox ? { PAGESHOT_CHROMIUM_SANDBOX: sandbox } : {};
  // Callers are told apart by source address (the harness runs without keys): 127.0.1.x.
  const callers = positiveInt(argValue('callers') ?? process.env.BENCH_CALLERS ?? '1', 'callers');
  if (callers > 250) {
    console.error('callers must be at most 250.');
    process.exit(2);
  }
  return { shots: { 1: c1, 4: c4 }, warmupPerWorker, variant: variantRaw, pageshotEnv, callers };
}

// ---------------------------------------------------------------------------------------
// Statistics

/** Nearest-rank percentile `p` (0–100) of `values`; null when there are none. */
function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Rounds to one decimal, keeping null. */
function round1(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10) / 10;
}

/** Summarises the outcomes of one measured run. */
function summarise(scenario: string, concurrency: number, outcomes: Outcome[], wallMs: number): RunResult {
  const good = outcomes.filter((outcome) => outcome.ok);
  const bad = outcomes.filter((outcome) => !outcome.ok);
  const failures: Record<string, number> = {};
  for (const outcome of bad) failures[outcome.reason ?? 'unknown'] = (failures[outcome.reason ?? 'unknown'] ?? 0) + 1;
  const defined = (values: Array<number | undefined>) => values.filter((value): value is number => value !== undefined);
  const queue = defined(good.map((outcome) => outcome.queueMs));
  const render = defined(good.map((outcome) => outcome.renderMs));
  const close = defined(good.map((outcome) => outcome.closeMs));
  const latencies = good.map((outcome) => outcome.ms);
  const busy503 = bad.filter((outcome) => outcome.busy).length;
  return {
    scenario,
    concurrency,
    ok: good.length,
    failed: bad.length,
    busy503,
    failures,
    p50: round1(percentile(latencies, 50)),
    p99: round1(percentile(latencies, 99)),
    shotsPerSec: Math.round((good.length / (wallMs / 1000)) * 100) / 100,
    wallMs: Math.round(wallMs),
    distorted: outcomes.length > 0 && busy503 / outcomes.length >= DISTORTING_503_SHARE,
    imageBytesP50: percentile(defined(good.map((outcome) => outcome.bytes)), 50),
    ...(queue.length ? { serverQueueP50: percentile(queue, 50), serverRenderP50: percentile(render, 50) } : {}),
    ...(close.length ? { closeP50: round1(percentile(close, 50)) } : {}),
  };
}

// ---------------------------------------------------------------------------------------
// Load generation

/** True when `bytes` is a PNG of exactly WIDTH×HEIGHT (reads the IHDR chunk). */
function isExpectedPng(bytes: Buffer): boolean {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(signature)) return false;
  return bytes.readUInt32BE(16) === WIDTH && bytes.readUInt32BE(20) === HEIGHT;
}

/** Short text for an exception, for the failure breakdown. */
function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `exception: ${message.split('\n')[0]!.slice(0, 120)}`;
}

/** Hands out fixture URLs that differ in their query string on every call. */
function urlSequence(site: FixtureSite): () => string {
  let shot = 0;
  return () => `${site.url}/?shot=${++shot}`;
}

/**
 * Runs `total` shots with `concurrency` workers pulling from one shared budget.
 * Returns every outcome and the wall-clock time from first start to last finish.
 */
async function runShots(shoot: Shooter, nextUrl: () => string, concurrency: number, total: number) {
  const outcomes: Outcome[] = [];
  let taken = 0;
  const worker = async () => {
    while (taken < total) {
      taken++;
      outcomes.push(await shoot(nextUrl()));
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { outcomes, wallMs: performance.now() - started };
}

/** Warm-up (discarded), then the measured run, at one concurrency. */
async function measure(
  scenario: string,
  shoot: Shooter,
  nextUrl: () => string,
  concurrency: number,
  settings: BenchSettings,
): Promise<RunResult> {
  const warmup = await runShots(shoot, nextUrl, concurrency, settings.warmupPerWorker * concurrency);
  const warmupFailed = warmup.outcomes.filter((outcome) => !outcome.ok).length;
  const { outcomes, wallMs } = await runShots(shoot, nextUrl, concurrency, settings.shots[concurrency]!);
  const result = summarise(scenario, concurrency, outcomes, wallMs);
  const warmNote = warmupFailed ? ` (warm-up: ${warmupFailed} of ${warmup.outcomes.length} failed)` : '';
  console.error(
    `  ${scenario} c=${concurrency}: ${result.ok} ok, ${result.failed} failed, p50 ${result.p50} ms, ` +
      `${result.shotsPerSec} shots/s${warmNote}`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------
// Scenarios

/** Reads `name;dur=N` from a Server-Timing header. */
function serverTiming(header: string | string[] | undefined, name: string): number | undefined {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const match = new RegExp(`(?:^|,)\\s*${name};dur=([\\d.]+)`).exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * A shooter that asks PageShot over HTTP. With `callers` > 1 the shots take turns
 * between that many callers (source addresses 127.0.1.1…), as many API keys would:
 * PageShot keeps warm contexts and fair-queue places per caller.
 */
function pageShotShooter(server: TestServer, extraBody: Record<string, unknown>, callers = 1): Shooter {
  let turn = 0;
  return async (url) => {
    const started = performance.now();
    const from = callers > 1 ? `127.0.1.${(turn++ % callers) + 1}` : undefined;
    try {
      const reply = await server.shoot({ url, ...extraBody }, from ? { from } : {});
      const ms = performance.now() - started;
      if (reply.status !== 200) {
        const code = typeof reply.json?.code === 'string' ? ` ${reply.json.code}` : '';
        const retryAfter = reply.headers['retry-after'] ? ` (Retry-After ${reply.headers['retry-after']} s)` : '';
        return { ok: false, ms, reason: `HTTP ${reply.status}${code}${retryAfter}`, busy: reply.status === 503 };
      }
      const timing = {
        queueMs: serverTiming(reply.headers['server-timing'], 'queue'),
        renderMs: serverTiming(reply.headers['server-timing'], 'render'),
      };
      if (!isExpectedPng(reply.body)) return { ok: false, ms, reason: 'bad image', ...timing };
      return { ok: true, ms, bytes: reply.body.length, ...timing };
    } catch (error) {
      return { ok: false, ms: performance.now() - started, reason: describeError(error) };
    }
  };
}

/** PageShot's own view after a scenario: contexts opened, refusals, CPU reading. */
async function pageShotStatus(server: TestServer): Promise<Record<string, unknown>> {
  const reply = await server.request('/status');
  const status = reply.json ?? {};
  const queue = status.queue as Record<string, unknown> | undefined;
  const system = status.system as Record<string, unknown> | undefined;
  return {
    pool: status.pool,
    refusals: queue?.refusals,
    maxConcurrency: queue?.maxConcurrency,
    browser: status.browser,
    cpuUsage: system?.cpuUsage,
  };
}

/**
 * Starts a PageShot with `env`, measures it at `concurrencies`, records its /status,
 * and stops it before returning.
 */
async function runPageShot(
  scenario: string,
  env: Record<string, string>,
  body: Record<string, unknown>,
  concurrencies: readonly number[],
  nextUrl: () => string,
  settings: BenchSettings,
  callers = 1,
): Promise<{ runs: RunResult[]; status: Record<string, unknown> }> {
  const server = await startPageShot({ ...settings.pageshotEnv, ...env });
  try {
    const shoot = pageShotShooter(server, body, callers);
    const runs: RunResult[] = [];
    for (const concurrency of concurrencies) runs.push(await measure(scenario, shoot, nextUrl, concurrency, settings));
    return { runs, status: { ...(await pageShotStatus(server)), chromiumRssMb: chromiumRssMb() } };
  } finally {
    await server.stop();
    await sleep(SETTLE_MS);
  }
}

/**
 * Resident memory of every Chromium process on the machine, in MB (from /proc): what the
 * browser and its warm contexts hold after a scenario. Shared pages are counted in each
 * process, so this is an upper bound. Undefined where /proc is not readable.
 */
function chromiumRssMb(): number | undefined {
  try {
    let kb = 0;
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chromium')) continue;
        kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      } catch {
        // The process ended while it was being read.
      }
    }
    return Math.round(kb / 1024);
  } catch {
    return undefined;
  }
}

/** A shooter that does what a user writing Playwright by hand does: a context per shot. */
function playwrightShooter(browser: Browser): Shooter {
  return async (url) => {
    const started = performance.now();
    let context;
    try {
      context = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT } });
      const page = await context.newPage();
      const response = await page.goto(url);
      const image = await page.screenshot({ type: 'png' });
      const ms = performance.now() - started;
      const closeStarted = performance.now();
      await context.close();
      const closeMs = performance.now() - closeStarted;
      if (!response || response.status() !== 200) return { ok: false, ms, reason: `target HTTP ${response?.status()}`, closeMs };
      if (!isExpectedPng(image)) return { ok: false, ms, reason: 'bad image', closeMs };
      return { ok: true, ms, closeMs, bytes: image.length };
    } catch (error) {
      await context?.close().catch(() => undefined);
      return { ok: false, ms: performance.now() - started, reason: describeError(error) };
    }
  };
}

/** Launches the baseline browser, measures it at c=1 and c=4, and closes it. */
async function runPlaywright(
  nextUrl: () => string,
  settings: BenchSettings,
): Promise<{ runs: RunResult[]; version: string }> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const shoot = playwrightShooter(browser);
    const runs: RunResult[] = [];
    for (const concurrency of CONCURRENCIES) runs.push(await measure('playwright', shoot, nextUrl, concurrency, settings));
    return { runs, version: browser.version() };
  } finally {
    await browser.close();
    await sleep(SETTLE_MS);
  }
}

/** Whether a c=4 run shed enough load with 503s that its throughput says little. */
function sheddingDistorts(runs: RunResult[]): boolean {
  return runs.some((run) => run.concurrency === 4 && run.distorted);
}

// ---------------------------------------------------------------------------------------
// Report

/** Pads cells into aligned columns. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** Formats a number of milliseconds, or "-" when there is none. */
function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : value.toFixed(1);
}

/** Prints the results table and the failure breakdown. */
function printTable(runs: RunResult[]): void {
  const rows = runs.map((run) => [
    run.scenario,
    String(run.concurrency),
    `${run.ok}/${run.failed}`,
    String(run.busy503),
    ms(run.p50),
    ms(run.p99),
    `${run.shotsPerSec.toFixed(2)}${run.distorted ? '*' : ' '}`,
  ]);
  console.log(table(['scenario', 'c', 'ok/failed', '503 busy', 'p50 ms', 'p99 ms', 'shots/s '], rows));
  if (runs.some((run) => run.distorted)) {
    console.log(
      `  * ${Math.round(DISTORTING_503_SHARE * 100)}% or more of the shots were 503 busy: the refused worker burned the shot budget, ` +
        'so this shots/s covers only a short phase and is not a throughput figure.',
    );
  }
  if (runs.some((run) => run.scenario.includes('maxconc=4'))) {
    console.log(`  maxconc=4: PageShot started with PAGESHOT_MAX_CONCURRENCY=4 (its default is 2 × cores = ${2 * os.availableParallelism()}).`);
  }
  console.log('\nDetails:');
  for (const run of runs) console.log(`  ${`${run.scenario} c=${run.concurrency}`.padEnd(28)} ${runDetails(run)}`);
}

/** One line of secondary figures for a run: failures, server timing, image size, close time. */
function runDetails(run: RunResult): string {
  const parts: string[] = [];
  const reasons = Object.entries(run.failures);
  if (reasons.length) parts.push(`failures: ${reasons.map(([reason, count]) => `${count}× ${reason}`).join(', ')}`);
  if (run.serverQueueP50 !== undefined) {
    parts.push(`server queue p50 ${ms(run.serverQueueP50)} ms, render p50 ${ms(run.serverRenderP50)} ms`);
  }
  if (run.closeP50 !== undefined) parts.push(`context.close() p50 ${ms(run.closeP50)} ms (not in latency)`);
  if (run.imageBytesP50 !== null) parts.push(`PNG p50 ${Math.round(run.imageBytesP50 / 1024)} KiB`);
  parts.push(`measured phase ${run.wallMs} ms`);
  return parts.join('; ');
}

/** One goal check: pageshot figure / baseline figure against a threshold. */
interface RatioCheck {
  scenario: string;
  metric: 'p50 c=1' | 'shots/s c=4';
  ratio: number | null;
  goal: string;
  /** null when it cannot be told: no successful shots, or a run distorted by 503s. */
  met: boolean | null;
  note?: string;
}

/** Ratios of each PageShot scenario against the playwright baseline of this run. */
function ratios(runs: RunResult[]): RatioCheck[] {
  const find = (scenario: string, concurrency: number) => runs.find((run) => run.scenario === scenario && run.concurrency === concurrency);
  const base1 = find('playwright', 1);
  const base4 = find('playwright', 4);
  const checks: RatioCheck[] = [];
  const scenarios = [...new Set(runs.map((run) => run.scenario))].filter((scenario) => scenario !== 'playwright');
  for (const scenario of scenarios) {
    const c1 = find(scenario, 1);
    if (c1) {
      const ratio = c1.p50 !== null && base1?.p50 ? c1.p50 / base1.p50 : null;
      checks.push({ scenario, metric: 'p50 c=1', ratio, goal: '<= 0.5', met: ratio === null ? null : ratio <= 0.5 });
    }
    const c4 = find(scenario, 4);
    if (c4) {
      const ratio = base4?.shotsPerSec ? c4.shotsPerSec / base4.shotsPerSec : null;
      const check: RatioCheck = { scenario, metric: 'shots/s c=4', ratio, goal: '>= 2 (aim 3)', met: ratio === null ? null : ratio >= 2 };
      if (c4.distorted) {
        check.met = null;
        check.note =
          `not meaningful: ${c4.busy503} of ${c4.ok + c4.failed} shots were 503 busy, ` +
          `leaving ${c4.ok} ok shots in ${c4.wallMs} ms`;
      }
      checks.push(check);
    }
  }
  return checks.map((check) => ({ ...check, ratio: check.ratio === null ? null : Math.round(check.ratio * 100) / 100 }));
}

/** Prints the goal checks, plainly. */
function printRatios(checks: RatioCheck[]): void {
  console.log('\nAgainst the plain-playwright baseline of this run (pageshot / playwright):');
  for (const check of checks) {
    const verdict = check.note ?? (check.met === null ? 'cannot tell (no successful shots)' : check.met ? 'goal MET' : 'goal NOT met');
    const aim = check.met && check.metric === 'shots/s c=4' && check.ratio !== null ? (check.ratio >= 3 ? ', aim of 3 reached' : ', aim of 3 not reached') : '';
    console.log(`  ${check.scenario.padEnd(24)} ${check.metric.padEnd(12)} ratio ${check.ratio ?? '-'}  goal ${check.goal}: ${verdict}${aim}`);
  }
}

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const settings = readSettings();
  const benchStarted = performance.now();
  console.error(
    `capture bench: ${os.availableParallelism()} cores, shots c=1 ${settings.shots[1]}, c=4 ${settings.shots[4]}, ` +
      `warm-up ${settings.warmupPerWorker}/worker, ${WIDTH}x${HEIGHT} PNG`,
  );
  const site = await startFixtureSite();
  const nextUrl = urlSequence(site);
  const runs: RunResult[] = [];
  const statuses: Record<string, unknown> = {};
  let chromiumVersion = '';
  try {
    const warmName = settings.callers > 1 ? `pageshot ${settings.callers} callers` : 'pageshot';
    const plain = await runPageShot(warmName, {}, {}, CONCURRENCIES, nextUrl, settings, settings.callers);
    const fresh = await runPageShot('pageshot fresh', {}, { fresh: true }, CONCURRENCIES, nextUrl, settings);
    runs.push(...plain.runs, ...fresh.runs);
    Object.assign(statuses, { [warmName]: plain.status, 'pageshot fresh': fresh.status });

    const runVariant = settings.variant === 'always' || (settings.variant === 'auto' && sheddingDistorts(runs));
    if (runVariant) {
      console.error('  running the PAGESHOT_MAX_CONCURRENCY=4 variant at c=4 (503s distorted a c=4 run, or BENCH_VARIANT=always)');
      const env = { PAGESHOT_MAX_CONCURRENCY: '4' };
      const variant = await runPageShot('pageshot maxconc=4', env, {}, [4], nextUrl, settings);
      const variantFresh = await runPageShot('pageshot fresh maxconc=4', env, { fresh: true }, [4], nextUrl, settings);
      runs.push(...variant.runs, ...variantFresh.runs);
      Object.assign(statuses, { 'pageshot maxconc=4': variant.status, 'pageshot fresh maxconc=4': variantFresh.status });
    }

    const baseline = await runPlaywright(nextUrl, settings);
    runs.push(...baseline.runs);
    chromiumVersion = baseline.version;
  } finally {
    await site.close();
  }

  console.log(`\nPageShot capture bench — ${os.availableParallelism()} cores, Chromium ${chromiumVersion}, ${WIDTH}x${HEIGHT} PNG, ${settings.callers > 1 ? `${settings.callers} callers taking turns (warm scenario)` : "one client"}`);
  console.log('latency over successful shots only; shots/s = successful shots per wall-clock second\n');
  printTable(runs);
  const checks = ratios(runs);
  printRatios(checks);
  console.log('\nPageShot /status after each scenario:');
  for (const [scenario, status] of Object.entries(statuses)) console.log(`  ${scenario}: ${JSON.stringify(status)}`);
  const totalSeconds = Math.round((performance.now() - benchStarted) / 100) / 10;
  console.log(`\nwhole run: ${totalSeconds} s`);
  const json = {
    cores: os.availableParallelism(),
    chromium: chromiumVersion,
    node: process.version,
    settings,
    runs,
    ratios: checks,
    pageshotStatus: statuses,
    totalSeconds,
  };
  console.log(`BENCH_JSON ${JSON.stringify(json)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
