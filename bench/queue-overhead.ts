/**
 * Queue-overhead benchmark: what the job queue (BullMQ on Redis) adds to one capture,
 * on loopback, against the same capture rendered in-process, measured in this same run.
 *
 * What it measures
 *   One local fixture page (test/helpers/fixture-site.ts, `/`, a coloured block), every
 *   shot with its own query string (`/?shot=N`; the result cache is off anyway,
 *   PAGESHOT_CACHE_TTL=0), captured with the default options (a PNG). One request at a
 *   time, so nothing ever waits for a browser slot: what differs between modes is the
 *   path to and from the browser, not contention. Three modes, each a separate
 *   `pageshot serve` process (test/helpers/node-process.ts), so every mode pays the same
 *   HTTP cost (a new loopback connection per request), and the bench's own process is
 *   only the client and the fixture site:
 *     direct  `--role all` without Redis: `POST /screenshot`, rendered in that process.
 *     queued  `--role api` + `--role worker` on a private redis-server
 *             (test/helpers/redis-server.ts): the same `POST /screenshot` sent to the api
 *             node, which queues it; the worker renders it, stores the bytes in Redis and
 *             the api node, woken by BullMQ's QueueEvents (or its 1 s poll, should an
 *             event be lost), reads them back and answers.
 *     async   the same two nodes: `POST /v1/jobs`, then `GET /v1/jobs/:id` every
 *             --poll ms (sleeping between the end of one poll and the next) until it reads
 *             `succeeded`, then `GET /v1/jobs/:id/result`: time from submit to bytes.
 *   All three nodes run throughout (the idle ones' Chromium sits idle), with the test
 *   environment (auth off, so callers are told apart by IP; loopback allowed; logs
 *   silent), default limits, each with its own temporary data directory.
 *   Order: after a warm-up of --warmup shots per mode (not measured), --rounds rounds,
 *   each running direct, then queued, then async, N/rounds shots each, so drift and other
 *   load on the machine fall on every mode alike rather than on whichever ran last.
 *
 * How to read it
 *   p50 / p99 / mean  of the successful shots' latency in ms, from sending the request to
 *                holding the image (nearest-rank percentiles: with 100 shots or fewer, p99
 *                is the slowest shot).
 *   queue        Server-Timing `queue;dur`: direct = the wait for a browser slot (~0 here);
 *                queued = enqueue → a worker starts the job (the api node's submit time
 *                to BullMQ's processedOn, so it includes the enqueue's own Redis round
 *                trips); async = startedAt − createdAt from the job's view.
 *   render       Server-Timing `render;dur` (direct, queued): the capture itself; for
 *                async, finishedAt − startedAt of the job (the worker's whole run).
 *   rest         latency − queue − render per shot: HTTP, validation, limits, and for the
 *                queue modes the way back (result stored in Redis, completion event or
 *                poll, result read back).
 *   -render      latency − render per shot (queue + rest): all but the capture itself. The
 *                page's render time varies by more than the queue adds (tens of ms between
 *                rounds on 2 cores), so this difference is the steadier measure of overhead.
 *   overhead     queued (or async) p50 − direct p50, and the same at p99; ratio = p50/p50;
 *                and the difference of the -render figures.
 *   Failures are never retried or dropped; any makes the run "not valid". An async job that
 *   reads as failed is read once more, only to say in the failure whether it then read as
 *   succeeded (a torn read of the job, not a failed capture). Timings are
 *   reported, never asserted: there is no goal. The last line, `BENCH_JSON {…}`, holds
 *   every figure.
 *
 * Usage
 *   npm run bench:queue [-- --n=60] [--rounds=3] [--warmup=5] [--poll=10]
 *   env BENCH_N, BENCH_ROUNDS, BENCH_WARMUP, BENCH_POLL_MS do the same. Needs
 *   redis-server on PATH and Chromium (PAGESHOT_CHROMIUM_PATH or /usr/bin/chromium).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFixtureSite, type FixtureSite } from '../test/helpers/fixture-site.js';
import type { Reply } from '../test/helpers/harness.js';
import { startNode, type NodeProcess } from '../test/helpers/node-process.js';
import { noRedisServer, startPrivateRedis } from '../test/helpers/redis-server.js';
import { argValue } from './lib/args.js';

const MODES = ['direct', 'queued', 'async'] as const;
type Mode = (typeof MODES)[number];

/** How long an async job may take from submit to `succeeded` before the shot counts as failed. */
const ASYNC_DEADLINE_MS = 60_000;
/** How long a node gets to stop gracefully before it is killed. */
const STOP_GRACE_MS = 15_000;
/** How long the api node may take to see its worker. */
const WORKER_WAIT_MS = 30_000;

/** The outcome of one shot. */
interface Outcome {
  ok: boolean;
  /** Milliseconds from sending the (first) request to holding the image, or to the failure. */
  ms: number;
  reason?: string;
  queueMs?: number;
  renderMs?: number;
  /** Async only: how many `GET /v1/jobs/:id` it took. */
  polls?: number;
  bytes?: number;
}

interface Settings {
  n: number;
  rounds: number;
  warmup: number;
  pollMs: number;
}

// ---------------------------------------------------------------------------------------
// Settings

/** Parses an integer >= `min` or exits with a message naming the setting. */
function intSetting(name: string, envName: string, fallback: number, min: number): number {
  const raw = argValue(name) ?? process.env[envName] ?? String(fallback);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`${name}=${JSON.stringify(raw)} is not an integer >= ${min}.`);
    process.exit(2);
  }
  return value;
}

function readSettings(): Settings {
  const n = intSetting('n', 'BENCH_N', 60, 1);
  const rounds = Math.min(n, intSetting('rounds', 'BENCH_ROUNDS', 3, 1));
  return { n, rounds, warmup: intSetting('warmup', 'BENCH_WARMUP', 5, 0), pollMs: intSetting('poll', 'BENCH_POLL_MS', 10, 1) };
}

// ---------------------------------------------------------------------------------------
// Statistics

/** Nearest-rank percentile `p` (0–100) of `values`; NaN when there are none. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

function mean(values: number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Rounds to one decimal (NaN stays NaN, and prints as "-"). */
function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

function signed(value: number): string {
  return Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(1)}` : '-';
}

interface Spread {
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

function spread(values: number[]): Spread {
  return {
    p50: round1(percentile(values, 50)),
    p99: round1(percentile(values, 99)),
    mean: round1(mean(values)),
    min: round1(values.length ? Math.min(...values) : Number.NaN),
    max: round1(values.length ? Math.max(...values) : Number.NaN),
  };
}

interface ModeSummary {
  mode: Mode;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  latency: Spread;
  queue: Spread;
  render: Spread;
  rest: Spread;
  /** latency - render per shot: everything but the capture itself (queue + rest). */
  outsideRender: Spread;
  pollsMean?: number;
  bytesP50: number;
}

function summarise(mode: Mode, outcomes: Outcome[]): ModeSummary {
  const good = outcomes.filter((outcome) => outcome.ok);
  const failures: Record<string, number> = {};
  for (const outcome of outcomes) if (!outcome.ok) failures[outcome.reason ?? 'unknown'] = (failures[outcome.reason ?? 'unknown'] ?? 0) + 1;
  const timed = good.filter((outcome) => outcome.queueMs !== undefined && outcome.renderMs !== undefined);
  const polls = good.map((outcome) => outcome.polls).filter((value): value is number => value !== undefined);
  return {
    mode,
    ok: good.length,
    failed: outcomes.length - good.length,
    failures,
    latency: spread(good.map((outcome) => outcome.ms)),
    queue: spread(timed.map((outcome) => outcome.queueMs!)),
    render: spread(timed.map((outcome) => outcome.renderMs!)),
    rest: spread(timed.map((outcome) => outcome.ms - outcome.queueMs! - outcome.renderMs!)),
    outsideRender: spread(timed.map((outcome) => outcome.ms - outcome.renderMs!)),
    ...(polls.length ? { pollsMean: round1(mean(polls)) } : {}),
    bytesP50: percentile(good.map((outcome) => outcome.bytes ?? 0), 50),
  };
}

// ---------------------------------------------------------------------------------------
// Shots

/** Reads `name;dur=N` from a Server-Timing header. */
function serverTiming(header: string | string[] | undefined, name: string): number | undefined {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const match = new RegExp(`(?:^|,)\\s*${name};dur=([\\d.]+)`).exec(text);
  return match ? Number(match[1]) : undefined;
}

function isPng(bytes: Buffer): boolean {
  return bytes.length > 24 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
}

/** "HTTP 503 QUEUE_TIMEOUT" for a refusal. */
function describeReply(what: string, reply: Reply): string {
  const code = typeof reply.json?.code === 'string' ? ` ${reply.json.code}` : '';
  return `${what}: HTTP ${reply.status}${code}`;
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `exception: ${message.split('\n')[0]!.slice(0, 120)}`;
}

/** One synchronous capture: `POST /screenshot` to `node`. */
async function shootSync(node: NodeProcess, url: string): Promise<Outcome> {
  const started = performance.now();
  try {
    const reply = await node.request('/screenshot', { body: { url } });
    const ms = performance.now() - started;
    if (reply.status !== 200) return { ok: false, ms, reason: describeReply('POST /screenshot', reply) };
    if (!isPng(reply.body)) return { ok: false, ms, reason: 'not a PNG' };
    const header = reply.headers['server-timing'];
    return { ok: true, ms, bytes: reply.body.length, queueMs: serverTiming(header, 'queue'), renderMs: serverTiming(header, 'render') };
  } catch (error) {
    return { ok: false, ms: performance.now() - started, reason: describeError(error) };
  }
}

/** One async capture: submit, poll until succeeded, fetch the bytes. */
async function shootAsync(node: NodeProcess, url: string, pollMs: number): Promise<Outcome> {
  const started = performance.now();
  try {
    const submitted = await node.request('/v1/jobs', { body: { url } });
    if (submitted.status !== 202) return { ok: false, ms: performance.now() - started, reason: describeReply('POST /v1/jobs', submitted) };
    const { statusUrl, resultUrl } = submitted.json as { statusUrl: string; resultUrl: string };
    let polls = 0;
    let view: Record<string, unknown> | undefined;
    for (;;) {
      await sleep(pollMs);
      const reply = await node.request(statusUrl);
      polls++;
      if (reply.status !== 200) return { ok: false, ms: performance.now() - started, reason: describeReply('GET /v1/jobs/:id', reply) };
      view = reply.json!;
      if (view.status === 'succeeded') break;
      if (view.status === 'failed') {
        const ms = performance.now() - started;
        const code = String((view.error as Record<string, unknown> | null)?.code);
        // Still a failure (a client would have given up), but say whether it was only a torn
        // read: the view is built from two Redis reads (the job's hash, then its state), and a
        // job that completes between them reads as completed without a result, i.e. failed.
        const again = await node.request(statusUrl).catch(() => undefined);
        const later = again?.json?.status;
        return { ok: false, ms, reason: `job read as failed (${code})${later === 'succeeded' ? ', read again at once: succeeded' : later ? `, read again: ${String(later)}` : ''}` };
      }
      if (performance.now() - started > ASYNC_DEADLINE_MS) return { ok: false, ms: performance.now() - started, reason: `not succeeded within ${ASYNC_DEADLINE_MS} ms` };
    }
    const result = await node.request(resultUrl);
    const ms = performance.now() - started;
    if (result.status !== 200) return { ok: false, ms, reason: describeReply('GET /v1/jobs/:id/result', result) };
    if (!isPng(result.body)) return { ok: false, ms, reason: 'not a PNG' };
    // The job's own clock, to the millisecond: createdAt (api node) → startedAt → finishedAt (worker).
    const at = (field: string) => Date.parse(String(view[field]));
    const queueMs = at('startedAt') - at('createdAt');
    const renderMs = at('finishedAt') - at('startedAt');
    return {
      ok: true,
      ms,
      polls,
      bytes: result.body.length,
      ...(Number.isFinite(queueMs) && Number.isFinite(renderMs) ? { queueMs, renderMs } : {}),
    };
  } catch (error) {
    return { ok: false, ms: performance.now() - started, reason: describeError(error) };
  }
}

// ---------------------------------------------------------------------------------------
// Processes

/** What must be undone at the end, last started first. */
const cleanups: Array<{ what: string; undo: () => Promise<unknown> | unknown }> = [];
let cleaning: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const { what, undo } of cleanups.reverse()) {
      try {
        await undo();
      } catch (error) {
        console.error(`cleanup of ${what} failed: ${describeError(error)}`);
      }
    }
  })();
  return cleaning;
}

/** SIGTERM, then SIGKILL if it has not exited within STOP_GRACE_MS. */
async function stopNode(node: NodeProcess): Promise<void> {
  const stopped = await Promise.race([node.stop().then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
  if (!stopped) await node.kill();
}

/** Starts a node, registered for cleanup at once. */
async function startTracked(name: string, role: NodeProcess['role'], env: Record<string, string>): Promise<NodeProcess> {
  const node = await startNode(role, env);
  cleanups.push({ what: name, undo: () => stopNode(node) });
  return node;
}

/** Waits until the api node counts a connected worker (so the first queued shot does not wait for one). */
async function waitForWorker(api: NodeProcess): Promise<void> {
  const deadline = Date.now() + WORKER_WAIT_MS;
  while (Date.now() < deadline) {
    const status = await api.request('/status').catch(() => undefined);
    const workers = Number((status?.json?.cluster as Record<string, unknown> | undefined)?.workers ?? 0);
    if (workers >= 1) return;
    await sleep(200);
  }
  throw new Error(`the api node saw no worker within ${WORKER_WAIT_MS} ms`);
}

// ---------------------------------------------------------------------------------------
// Report

const HEADER =
  `${'mode'.padEnd(8)}${'ok'.padStart(4)}${'failed'.padStart(8)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'mean'.padStart(8)}${'min'.padStart(8)}` +
  `${'queue p50'.padStart(11)}${'render p50'.padStart(12)}${'rest p50'.padStart(10)}${'-render p50'.padStart(13)}${'p99'.padStart(7)}`;

function row(summary: ModeSummary): string {
  const { latency } = summary;
  return (
    `${summary.mode.padEnd(8)}${String(summary.ok).padStart(4)}${String(summary.failed).padStart(8)}` +
    `${fmt(latency.p50).padStart(8)}${fmt(latency.p99).padStart(8)}${fmt(latency.mean).padStart(8)}${fmt(latency.min).padStart(8)}` +
    `${fmt(summary.queue.p50).padStart(11)}${fmt(summary.render.p50).padStart(12)}${fmt(summary.rest.p50).padStart(10)}` +
    `${fmt(summary.outsideRender.p50).padStart(13)}${fmt(summary.outsideRender.p99).padStart(7)}`
  );
}

function loadAverage(): string {
  return os.loadavg().map((value) => value.toFixed(2)).join(' ');
}

// ---------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const settings = readSettings();
  if (noRedisServer) throw new Error(noRedisServer);
  const benchStarted = performance.now();
  console.log(
    `queue-overhead bench: ${settings.n} captures per mode in ${settings.rounds} rounds (direct, queued, async each round), ` +
      `warm-up ${settings.warmup} per mode, one request at a time, async polled every ${settings.pollMs} ms`,
  );
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}; load average at start: ${loadAverage()}`);
  console.log('direct = `pageshot serve --role all`, no Redis; queued/async = `--role api` + `--role worker` on a private redis-server');

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pageshot-bench-queue-'));
  cleanups.push({ what: tmp, undo: () => rmSync(tmp, { recursive: true, force: true }) });
  const dataDir = (name: string) => {
    const dir = path.join(tmp, name);
    mkdirSync(dir);
    return dir;
  };

  const site: FixtureSite = await startFixtureSite();
  cleanups.push({ what: 'fixture site', undo: () => site.close() });
  const redis = await startPrivateRedis();
  cleanups.push({ what: 'redis-server', undo: () => redis.kill() });

  // Whatever the caller's environment says, these hold for every node: the cache off (every
  // shot renders), its own data directory, loopback allowed (TEST_ENV has it too).
  const common = { PAGESHOT_CACHE_TTL: '0', PAGESHOT_DATABASE_URL: '', PAGESHOT_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8' };
  const queuedEnv = { ...common, PAGESHOT_REDIS_URL: redis.url };
  // Started side by side; all settled before going on, so none starts after a failure's cleanup.
  const started = await Promise.allSettled([
    startTracked('direct node', 'all', { ...common, PAGESHOT_REDIS_URL: '', PAGESHOT_DATA_DIR: dataDir('direct') }),
    startTracked('api node', 'api', { ...queuedEnv, PAGESHOT_DATA_DIR: dataDir('api') }),
    startTracked('worker node', 'worker', { ...queuedEnv, PAGESHOT_DATA_DIR: dataDir('worker') }),
  ]);
  const refused = started.find((result) => result.status === 'rejected');
  if (refused) throw refused.reason;
  // The worker node is only talked to through Redis.
  const [direct, api] = started.map((result) => (result as PromiseFulfilledResult<NodeProcess>).value) as [NodeProcess, NodeProcess];
  await waitForWorker(api);

  let shot = 0;
  const nextUrl = () => `${site.url}/?shot=${++shot}`;
  const shooters: Record<Mode, () => Promise<Outcome>> = {
    direct: () => shootSync(direct, nextUrl()),
    queued: () => shootSync(api, nextUrl()),
    async: () => shootAsync(api, nextUrl(), settings.pollMs),
  };

  // Warm-up: Chromium's first pages, tsx's lazy compiles, Redis connections and QueueEvents.
  const warmFailures: string[] = [];
  for (const mode of MODES) {
    for (let i = 0; i < settings.warmup; i++) {
      const outcome = await shooters[mode]();
      if (!outcome.ok) warmFailures.push(`${mode}: ${outcome.reason}`);
    }
  }
  if (warmFailures.length) console.log(`warm-up failures (not counted): ${warmFailures.join('; ')}`);

  const outcomes: Record<Mode, Outcome[]> = { direct: [], queued: [], async: [] };
  const perRound: Array<Record<Mode, number>> = [];
  console.log('\nper round, p50 ms (direct / queued / async):');
  for (let round = 0; round < settings.rounds; round++) {
    const count = Math.floor(settings.n / settings.rounds) + (round < settings.n % settings.rounds ? 1 : 0);
    const p50s = {} as Record<Mode, number>;
    for (const mode of MODES) {
      const these: Outcome[] = [];
      for (let i = 0; i < count; i++) these.push(await shooters[mode]());
      outcomes[mode].push(...these);
      p50s[mode] = round1(percentile(these.filter((o) => o.ok).map((o) => o.ms), 50));
    }
    perRound.push(p50s);
    console.log(`  round ${round + 1} (${count} each): ${MODES.map((mode) => fmt(p50s[mode])).join(' / ')}`);
  }

  const summaries = Object.fromEntries(MODES.map((mode) => [mode, summarise(mode, outcomes[mode])])) as Record<Mode, ModeSummary>;
  const d = summaries.direct;
  const q = summaries.queued;
  const a = summaries.async;

  console.log(`\nlatency in ms over successful shots (nearest-rank; with <= 100 shots p99 is the slowest); PNG ${d.bytesP50} bytes`);
  console.log('queue, render: Server-Timing (async: from the job view, render = the worker\'s whole run); rest = latency - queue - render;');
  console.log('-render = latency - render, per shot: everything but the capture itself, free of the page\'s own render-time noise\n');
  console.log(HEADER);
  for (const mode of MODES) console.log(row(summaries[mode]));
  for (const mode of MODES) {
    const { failures } = summaries[mode];
    if (Object.keys(failures).length) console.log(`  ${mode} failures: ${JSON.stringify(failures)}`);
  }
  console.log(
    `\nenqueue → worker start (queued, Server-Timing queue;dur): p50 ${fmt(q.queue.p50)}, p99 ${fmt(q.queue.p99)}, ` +
      `mean ${fmt(q.queue.mean)}, max ${fmt(q.queue.max)} ms`,
  );
  console.log(`enqueue → worker start (async, startedAt - createdAt): p50 ${fmt(a.queue.p50)}, p99 ${fmt(a.queue.p99)}, mean ${fmt(a.queue.mean)} ms`);
  if (a.pollsMean !== undefined) console.log(`async: ${fmt(a.pollsMean)} polls of GET /v1/jobs/:id per job on average`);

  const overhead = (mode: ModeSummary) => ({
    p50: round1(mode.latency.p50 - d.latency.p50),
    p99: round1(mode.latency.p99 - d.latency.p99),
    mean: round1(mode.latency.mean - d.latency.mean),
    ratioP50: Math.round((mode.latency.p50 / d.latency.p50) * 100) / 100,
    outsideRenderP50: round1(mode.outsideRender.p50 - d.outsideRender.p50),
    outsideRenderP99: round1(mode.outsideRender.p99 - d.outsideRender.p99),
  });
  const queuedOverhead = overhead(q);
  const asyncOverhead = overhead(a);
  const failed = d.failed + q.failed + a.failed;
  const swing = (mode: Mode) => {
    const p50s = perRound.map((round) => round[mode]).filter(Number.isFinite);
    return round1(Math.max(...p50s) - Math.min(...p50s));
  };

  console.log(`\nload average at end: ${loadAverage()}`);
  console.log('\nverdict (report only; no goal)');
  if (failed > 0) console.log(`  NOT VALID: ${failed} shot(s) failed (see above); the figures cover the successful ones only`);
  console.log(
    `  queued vs direct, end to end: ${signed(queuedOverhead.p50)} ms at p50, ${signed(queuedOverhead.p99)} ms at p99, ` +
      `${signed(queuedOverhead.mean)} ms mean (direct p50 ${fmt(d.latency.p50)} ms): ratio queued/direct p50 ${fmt(queuedOverhead.ratioP50, 2)}×`,
  );
  console.log(
    `    (the render itself varies: direct's p50 swung ${fmt(swing('direct'))} ms between rounds, queued's ${fmt(swing('queued'))} ms)`,
  );
  console.log(
    `  queued vs direct, latency - render per shot: ${signed(queuedOverhead.outsideRenderP50)} ms at p50, ${signed(queuedOverhead.outsideRenderP99)} ms at p99 — ` +
      `enqueue → worker start ${fmt(q.queue.p50)} ms, the way back (result through Redis, completion event, re-read) ${signed(round1(q.rest.p50 - d.rest.p50))} ms, at p50`,
  );
  console.log(
    `  async vs direct, submit to bytes: ${signed(asyncOverhead.p50)} ms at p50, ${signed(asyncOverhead.p99)} ms at p99, ratio p50 ${fmt(asyncOverhead.ratioP50, 2)}×; ` +
      `latency - worker run ${signed(asyncOverhead.outsideRenderP50)} ms at p50 (polling every ${settings.pollMs} ms costs ~${fmt(settings.pollMs / 2)} ms of it on average)`,
  );
  const totalSeconds = Math.round((performance.now() - benchStarted) / 100) / 10;
  console.log(`\nwhole run: ${totalSeconds} s`);
  const json = {
    cores: os.availableParallelism(),
    node: process.version,
    settings,
    summaries,
    perRound,
    overhead: { queued: queuedOverhead, async: asyncOverhead },
    failed,
    totalSeconds,
  };
  console.log(`BENCH_JSON ${JSON.stringify(json)}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the nodes and Redis`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
