/**
 * Capture benchmark: PageShot against the naive Playwright loop, on this machine.
 *
 * What it measures
 *   One local fixture page (test/helpers/fixture-site.ts, `/`), captured as a 1280×720
 *   PNG, every shot with its own query string (`/?shot=N`) so no cache can answer.
 *   Scenarios, run one after the other, never side by side (each closes its Chromium
 *   before the next starts, so they do not compete for the cores):
 *     pageshot        PageShot (a `pageshot serve` process, real Chromium), one HTTP
 *                     client sending `POST /screenshot {"url": …}`: its warm pool reuses
 *                     a reset context between shots.
 *     pageshot N callers  the same, its shots taking turns between N callers (c=4 only).
 *     pageshot fresh  the same with `"fresh": true`: a brand-new context per shot.
 *     [variant]       pageshot with PAGESHOT_MAX_CONCURRENCY=4, at c=4 only, run when
 *                     503 busy answers made up a noticeable share of a c=4 run
 *                     (BENCH_VARIANT=auto|always|never, default auto).
 *     playwright      baseline: one Chromium launched by Playwright as this process's
 *                     user (root here), without its sandbox (Playwright's default),
 *                     with PageShot's own flags (CHROMIUM_ARGS), no proxy; per shot
 *                     newContext(1280×720), newPage, goto, screenshot({type:'png'}),
 *                     context.close() awaited before the worker's next shot; run before
 *                     and after PageShot's scenarios (see --baseline-runs). The fastest
 *                     honest setup a user would write by hand: the same browser binary,
 *                     a context per shot, nothing shared between shots.
 *   --sandbox=auto|on|off  PageShot's PAGESHOT_CHROMIUM_SANDBOX for every PageShot
 *                     scenario (BENCH_SANDBOX; default: the server's default, auto).
 *   Each scenario runs at concurrency 1 and 4 (the one-caller warm scenario at 8 too):
 *   N workers looping over a shared shot budget. Warm-up shots come first and are not
 *   measured.
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
 *   CPU ms/shot  the whole machine's CPU time (all cores, /proc/stat: user + system +
 *                irq) over the measured phase, per successful shot, with its system part;
 *                it includes this bench's own client. Below the table, for PageShot in its
 *                own process, the same split by process kind over its process tree (node,
 *                browser, renderer, gpu, other; bench/lib/cpu-accounting.ts), and the p50
 *                of its Server-Timing phases (navigation, waits, capture).
 *   Goals, each printed with its verdict, from this run's figures: the warm scenario's p50
 *   at c=1 over the baseline's (<= 0.5) and shots/s at c=4 over the baseline's (>= 2),
 *   its own c=4 over its own c=1 (>= 1.15), its CPU per shot at c=1 (<= 200 ms) and at
 *   c=4 over c=1 (<= 1.1); N callers at c=4 over the baseline (>= 1.5); fresh contexts
 *   no slower than the baseline (p50 c=1 <= 1, shots/s c=4 >= 1). The baseline is the
 *   better of its two runs. Nothing is tuned to meet them; they are printed as measured.
 *   Below the table: failure reasons (with Retry-After), PageShot's own Server-Timing
 *   (queue wait, render), image sizes, and PageShot's /status after each scenario.
 *   The last line, `BENCH_JSON {…}`, holds every figure for notes.
 *   PageShot runs as a separate `pageshot serve` process by default (--server=process), as
 *   in production: the client, the fixture site and Playwright's driver share this bench's
 *   Node process, PageShot has its own. --server=inline runs it inside this process (the
 *   test harness), as this bench did before; --server=both adds the one-caller scenario
 *   inline beside the separate one, to compare the two methods. PageShot's CPU reading is
 *   machine-wide either way, so it includes the client.
 *   Memory: after each PageShot scenario (contexts idle and reset), PSS and RSS summed over
 *   that PageShot's Chromium process tree, against the same reading right after start, and
 *   divided by the pool's contexts: what one warm context holds.
 *
 * Usage
 *   npm run bench:capture [-- --shots=C1[,C4]] [--warmup=N] [--variant=auto|always|never]
 *       [--callers=1,12,40] [--server=process|inline|both] [--fresh=on|off]
 *   --callers=LIST (BENCH_CALLERS, default 1,12,40): one warm scenario per count. 1 runs at
 *       c=1 and c=4; N > 1 at c=4 only, its shots taking turns between N callers (source
 *       addresses 127.0.1.1…N, as N API keys would), goal >= 1.5x Playwright's shots/s.
 *       Its warm-up lasts at least one round of the callers.
 *   --fresh=off (BENCH_FRESH) skips the `fresh: true` scenario.
 *   --baseline-runs=1|2 (BENCH_BASELINE_RUNS, default 2): the Playwright baseline runs
 *       before and after PageShot's scenarios, and each ratio uses the better of its two
 *       figures (its c=4 throughput varied 2.2-3.8 shots/s between runs on the same
 *       machine, and a slow baseline run is what once made this bench print 3.9x).
 *   env BENCH_SHOTS=C1[,C4] (one number N means N at c=1 and 2N at c=4; c=8 takes C4; default 30,60,
 *       which keeps the whole run under ~3 minutes on 2 cores),
 *       BENCH_WARMUP=N (warm-up shots per worker, default 3), BENCH_VARIANT=auto|always|never.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS } from '../src/capture/browser.js';
import type { ProcessMemory } from '../src/capture/process-memory.js';
import { startFixtureSite, type FixtureSite } from '../test/helpers/fixture-site.js';
import {
  DISTORTING_503_SHARE,
  printMemory,
  printRatios,
  printTable,
  ratios,
  type PoolMemory,
  type RunResult,
} from './capture-report.js';
import { startBenchServer, type BenchServer, type ServerMode } from './pageshot-process.js';
import { argValue } from './lib/args.js';
import { machineCpu, treeCpu, treeCpuSince, PROCESS_KINDS, type ProcessKind } from './lib/cpu-accounting.js';

const WIDTH = 1280;
const HEIGHT = 720;
const CONCURRENCIES = [1, 4] as const;
/** The one-caller warm scenario also runs at 8 in flight: does overlap beyond the slots cost? */
const WARM_CONCURRENCIES = [1, 4, 8] as const;
/** Server-Timing phases reported per run (p50). */
const PHASES = ['navigation', 'waits', 'capture'] as const;
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
  /** PageShot's Server-Timing phases of the render. */
  phases?: Partial<Record<(typeof PHASES)[number], number>>;
  /** Playwright baseline only: how long context.close() took after the image. */
  closeMs?: number;
  /** Size of the image returned. */
  bytes?: number;
}

/** Takes one screenshot of `url`. Never throws: failures come back as outcomes. */
type Shooter = (url: string) => Promise<Outcome>;

/** Shot counts and switches, from argv and the environment. */
interface BenchSettings {
  shots: Record<number, number>;
  warmupPerWorker: number;
  variant: 'auto' | 'always' | 'never';
  /** Environment every PageShot scenario starts with (e.g. its Chromium sandbox setting). */
  pageshotEnv: Record<string, string>;
  /**
   * Caller counts of the warm scenarios: 1 runs at c=1 and c=4; N > 1 (shots taking turns
   * between N callers, as N API keys would) at c=4 only.
   */
  callers: number[];
  /** Where PageShot runs (see pageshot-process.ts); `both` runs the one-caller scenario in each. */
  server: ServerMode | 'both';
  /** Whether to run the `fresh: true` scenario. */
  fresh: boolean;
  /** Playwright baseline runs: 1 (after PageShot's scenarios) or 2 (before and after; the better counts). */
  baselineRuns: 1 | 2;
}

// ---------------------------------------------------------------------------------------
// Settings

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
  // Callers are told apart by source address (the server runs without keys): 127.0.1.x.
  const callersRaw = argValue('callers') ?? process.env.BENCH_CALLERS ?? '1,12,40';
  const callers = [...new Set(callersRaw.split(',').map((part) => positiveInt(part.trim(), 'callers')))];
  if (callers.some((count) => count > 250)) {
    console.error('callers must be at most 250.');
    process.exit(2);
  }
  const server = argValue('server') ?? process.env.BENCH_SERVER ?? 'process';
  if (server !== 'process' && server !== 'inline' && server !== 'both') {
    console.error(`server=${JSON.stringify(server)} must be process, inline or both.`);
    process.exit(2);
  }
  const fresh = (argValue('fresh') ?? process.env.BENCH_FRESH ?? 'on') !== 'off';
  const baselineRaw = argValue('baseline-runs') ?? process.env.BENCH_BASELINE_RUNS ?? '2';
  if (baselineRaw !== '1' && baselineRaw !== '2') {
    console.error(`baseline-runs=${JSON.stringify(baselineRaw)} must be 1 or 2.`);
    process.exit(2);
  }
  const baselineRuns = baselineRaw === '1' ? 1 : 2;
  return { shots: { 1: c1, 4: c4, 8: c4 }, warmupPerWorker, variant: variantRaw, pageshotEnv, callers, server, fresh, baselineRuns };
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
function summarise(scenario: string, concurrency: number, outcomes: Outcome[], wallMs: number, cpu: RunCpu): RunResult {
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
    ...phaseMedians(good),
    ...cpuPerShot(cpu, good.length),
  };
}

/** CPU used during a measured run: the whole machine, and the PageShot server's tree by kind. */
interface RunCpu {
  machineBusyMs: number;
  machineSystemMs: number;
  tree?: Record<ProcessKind, number>;
}

/** CPU per successful shot: whole machine (busy and system) and, for a PageShot server, by process kind. */
function cpuPerShot(cpu: RunCpu, shots: number): Pick<RunResult, 'cpuMsPerShot' | 'systemMsPerShot' | 'cpuSplitMsPerShot'> {
  if (shots === 0) return {};
  const per = (value: number) => Math.round(value / shots);
  const split = cpu.tree && Object.fromEntries(PROCESS_KINDS.map((kind) => [kind, per(cpu.tree![kind])]));
  return {
    cpuMsPerShot: per(cpu.machineBusyMs),
    systemMsPerShot: per(cpu.machineSystemMs),
    ...(split ? { cpuSplitMsPerShot: split as Record<ProcessKind, number> } : {}),
  };
}

/** p50 of each Server-Timing phase over the successful shots that reported it. */
function phaseMedians(good: Outcome[]): Pick<RunResult, 'phasesP50'> {
  const medians: Record<string, number> = {};
  for (const phase of PHASES) {
    const values = good.map((outcome) => outcome.phases?.[phase]).filter((value): value is number => value !== undefined);
    const median = percentile(values, 50);
    if (median !== null) medians[phase] = median;
  }
  return Object.keys(medians).length ? { phasesP50: medians } : {};
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

/**
 * Warm-up (discarded), then the measured run, at one concurrency. With several callers
 * the warm-up lasts at least one round of them, so the measured phase sees callers that
 * came before (the steady state of a server with that many regular callers).
 */
async function measure(
  scenario: string,
  shoot: Shooter,
  nextUrl: () => string,
  concurrency: number,
  settings: BenchSettings,
  callers = 1,
  /** A PageShot server's process: its tree's CPU is split by kind of process. */
  serverPid?: number,
): Promise<RunResult> {
  const warmup = await runShots(shoot, nextUrl, concurrency, Math.max(callers, settings.warmupPerWorker * concurrency));
  const warmupFailed = warmup.outcomes.filter((outcome) => !outcome.ok).length;
  const machineBefore = machineCpu();
  const treeBefore = serverPid === undefined ? undefined : treeCpu(serverPid);
  const { outcomes, wallMs } = await runShots(shoot, nextUrl, concurrency, settings.shots[concurrency]!);
  const machineAfter = machineCpu();
  const cpu: RunCpu = {
    machineBusyMs: machineAfter.busyMs - machineBefore.busyMs,
    machineSystemMs: machineAfter.systemMs - machineBefore.systemMs,
    ...(treeBefore && serverPid !== undefined ? { tree: treeCpuSince(treeBefore, treeCpu(serverPid)) } : {}),
  };
  const result = summarise(scenario, concurrency, outcomes, wallMs, cpu);
  const warmNote = warmupFailed ? ` (warm-up: ${warmupFailed} of ${warmup.outcomes.length} failed)` : '';
  console.error(
    `  ${scenario} c=${concurrency}: ${result.ok} ok, ${result.failed} failed, p50 ${result.p50} ms, ` +
      `${result.shotsPerSec} shots/s, ${result.cpuMsPerShot ?? '-'} ms CPU/shot${warmNote}`,
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
function pageShotShooter(server: BenchServer, extraBody: Record<string, unknown>, callers = 1): Shooter {
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
        phases: Object.fromEntries(PHASES.map((phase) => [phase, serverTiming(reply.headers['server-timing'], phase)])),
      };
      if (!isExpectedPng(reply.body)) return { ok: false, ms, reason: 'bad image', ...timing };
      return { ok: true, ms, bytes: reply.body.length, ...timing };
    } catch (error) {
      return { ok: false, ms: performance.now() - started, reason: describeError(error) };
    }
  };
}

/** PageShot's own view after a scenario: contexts opened, refusals, CPU reading. */
async function pageShotStatus(server: BenchServer): Promise<Record<string, unknown>> {
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

/** Reads the pool's memory once its contexts are idle and reset (resets take ~100 ms). */
async function poolMemory(server: BenchServer, empty: ProcessMemory | undefined): Promise<PoolMemory> {
  await sleep(1_500);
  const status = (await server.request('/status')).json ?? {};
  const contexts = Number((status.pool as Record<string, unknown> | undefined)?.contexts ?? 0);
  const after = server.chromiumMemory();
  const memory: PoolMemory = { contexts, ...(empty ? { empty } : {}), ...(after ? { after } : {}) };
  if (empty && after && contexts > 0) {
    memory.perContextPssMb = Math.round(((after.pssMb - empty.pssMb) / contexts) * 10) / 10;
    memory.perContextRssMb = Math.round(((after.rssMb - empty.rssMb) / contexts) * 10) / 10;
  }
  return memory;
}

/** What one PageShot scenario brought back: its runs, its /status and its memory. */
interface PageShotScenario {
  runs: RunResult[];
  status: Record<string, unknown>;
}

/**
 * Starts a PageShot with `env` (in `mode`), measures it at `concurrencies`, records its
 * /status and Chromium's memory, and stops it before returning.
 */
async function runPageShot(
  scenario: string,
  env: Record<string, string>,
  body: Record<string, unknown>,
  concurrencies: readonly number[],
  nextUrl: () => string,
  settings: BenchSettings,
  callers = 1,
  mode: ServerMode = 'process',
): Promise<PageShotScenario> {
  const server = await startBenchServer(mode, { ...settings.pageshotEnv, ...env });
  try {
    await sleep(SETTLE_MS); // Chromium's start-up work ends before the empty reading
    const empty = server.chromiumMemory();
    const shoot = pageShotShooter(server, body, callers);
    const runs: RunResult[] = [];
    for (const concurrency of concurrencies) runs.push(await measure(scenario, shoot, nextUrl, concurrency, settings, callers, server.pid));
    const memory = await poolMemory(server, empty);
    return { runs, status: { ...(await pageShotStatus(server)), memory } };
  } finally {
    await server.stop();
    await sleep(SETTLE_MS);
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

/** Launches the baseline browser, measures it at c=1 and c=4 as `scenario`, and closes it. */
async function runPlaywright(
  scenario: string,
  nextUrl: () => string,
  settings: BenchSettings,
): Promise<{ runs: RunResult[]; version: string }> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const shoot = playwrightShooter(browser);
    const runs: RunResult[] = [];
    for (const concurrency of CONCURRENCIES) runs.push(await measure(scenario, shoot, nextUrl, concurrency, settings));
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

/** A warm scenario's name: "pageshot", "pageshot 12 callers", "… inline" when in this process. */
function scenarioName(callers: number, mode: ServerMode): string {
  return `pageshot${callers > 1 ? ` ${callers} callers` : ''}${mode === 'inline' ? ' inline' : ''}`;
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
  const statuses: Record<string, Record<string, unknown>> = {};
  let chromiumVersion = '';
  const mode: ServerMode = settings.server === 'inline' ? 'inline' : 'process';
  const record = (name: string, result: PageShotScenario) => {
    runs.push(...result.runs);
    statuses[name] = result.status;
  };
  try {
    if (settings.baselineRuns === 2) runs.push(...(await runPlaywright('playwright (before)', nextUrl, settings)).runs);
    for (const callers of settings.callers) {
      const name = scenarioName(callers, mode);
      const concurrencies = callers > 1 ? [4] : WARM_CONCURRENCIES;
      record(name, await runPageShot(name, {}, {}, concurrencies, nextUrl, settings, callers, mode));
      if (callers === 1 && settings.server === 'both') {
        record(scenarioName(1, 'inline'), await runPageShot(scenarioName(1, 'inline'), {}, {}, CONCURRENCIES, nextUrl, settings, 1, 'inline'));
      }
    }
    if (settings.fresh) {
      const name = `pageshot fresh${mode === 'inline' ? ' inline' : ''}`;
      record(name, await runPageShot(name, {}, { fresh: true }, CONCURRENCIES, nextUrl, settings, 1, mode));
    }

    const runVariant = settings.variant === 'always' || (settings.variant === 'auto' && sheddingDistorts(runs));
    if (runVariant) {
      console.error('  running the PAGESHOT_MAX_CONCURRENCY=4 variant at c=4 (503s distorted a c=4 run, or BENCH_VARIANT=always)');
      const env = { PAGESHOT_MAX_CONCURRENCY: '4' };
      record('pageshot maxconc=4', await runPageShot('pageshot maxconc=4', env, {}, [4], nextUrl, settings, 1, mode));
    }

    const baseline = await runPlaywright(settings.baselineRuns === 2 ? 'playwright (after)' : 'playwright', nextUrl, settings);
    runs.push(...baseline.runs);
    chromiumVersion = baseline.version;
  } finally {
    await site.close();
  }

  const callersNote = settings.callers.filter((count) => count > 1).map((count) => `${count}`).join(', ');
  console.log(
    `\nPageShot capture bench — ${os.availableParallelism()} cores, Chromium ${chromiumVersion}, ${WIDTH}x${HEIGHT} PNG, ` +
      `PageShot ${mode === 'process' ? 'as a separate `pageshot serve` process' : 'inside the bench process'}` +
      `${settings.server === 'both' ? ' (and inside it, "inline")' : ''}${callersNote ? `; ${callersNote} callers taking turns at c=4` : ''}`,
  );
  console.log('latency over successful shots only; shots/s = successful shots per wall-clock second\n');
  printTable(runs);
  printMemory(statuses);
  const checks = ratios(runs);
  printRatios(checks);
  console.log('\nPageShot /status after each scenario:');
  for (const [scenario, status] of Object.entries(statuses)) {
    const { memory: _memory, ...rest } = status;
    console.log(`  ${scenario}: ${JSON.stringify(rest)}`);
  }
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
