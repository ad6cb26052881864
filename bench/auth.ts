/**
 * Authentication overhead benchmark: PageShot's authenticated `GET /v1/me` against a
 * bare Fastify server answering the same route, on this machine, in this run.
 *
 * What it measures
 *   pageshot  PageShot in this process (test harness: auth on, logs silent, Chromium
 *             launched and idle), one stored key (limits too high to ever refuse, so each
 *             request pays for a whole rate-limit decision) made with app.keyService.create
 *             ({name:'bench', scopes:['screenshot']}) and sent as `Authorization: Bearer`.
 *             Each request goes through PageShot's whole hook chain — request id and
 *             shutdown check, HTTPS/HSTS check, key-in-query check, key shape and
 *             checksum, cached lookup by hash, scope check, the in-process rate-limit
 *             decision and its headers, usage and metrics accounting — then /v1/me.
 *   bare      Fastify in this process, logger off, no hooks, one `GET /v1/me` handler
 *             returning a fixed small JSON object of the same shape. It gets the same
 *             Bearer header, and ignores it.
 *   Load: autocannon's programmatic API, 10 keep-alive connections, run in a child
 *   process (this file with `--load`), so the load generator never shares the servers'
 *   event loop. Each server first gets a short unmeasured warm-up; measured runs then
 *   alternate bare, pageshot, bare, pageshot, so drift (CPU clock, other load) hits both.
 *
 * How to read it
 *   req/s       2xx answers per second of the run (autocannon's count / run time).
 *   p50 / p99   nearest-rank latency percentiles of the run's 2xx answers, in ms, from
 *               autocannon's own per-response timings (its histogram rounds to whole
 *               ms, which says little on a sub-millisecond route).
 *   srv / load CPU  CPU time of the server process / of the load generator over the run,
 *               in % of one core. The machine's cores are shared by both: when the load
 *               generator is near 100% while the bare server is not, the bare figure is
 *               capped by the client, and the ratio flatters PageShot.
 *   non-2xx / errors  must be 0; a run with any is flagged and the goal is not judged.
 *   The summary gives the median over the runs of each figure, and the ratio
 *   pageshot/bare of the median req/s with the goal >= 0.8 (PageShot keeps at least 80%
 *   of a bare server's throughput on a cheap authenticated route). Nothing is tuned to
 *   meet it: it is printed as measured. Absolute figures depend on the machine; compare
 *   ratios. The last line, `BENCH_JSON {…}`, holds every figure.
 *
 * Usage
 *   npm run bench:auth
 *   env BENCH_DURATION=seconds per measured run (default 10), BENCH_ROUNDS=measured runs
 *       per server (default 2), BENCH_CONNECTIONS (default 10), BENCH_WARMUP=seconds (default 3).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { startPageShot } from '../test/helpers/harness.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const GOAL = 0.8;

/** What one run of the load generator reports. */
interface LoadResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU of the load generator over the run, % of one core. */
  loadCpu: number;
}

interface RunFigures extends LoadResult {
  /** CPU of this process (the server under test) over the run, % of one core. */
  serverCpu: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The child side: one autocannon run against `url`, its figures as JSON on stdout. */
function loadGenerator(url: string, key: string, seconds: number, connections: number): void {
  const latencies: number[] = [];
  const cpuStart = process.cpuUsage();
  const instance = autocannon(
    { url, connections, duration: seconds, headers: { authorization: `Bearer ${key}` } },
    (error, result) => {
      if (error) throw error;
      const cpu = process.cpuUsage(cpuStart);
      latencies.sort((a, b) => a - b);
      const figures: LoadResult = {
        reqPerSec: result['2xx'] / result.duration,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        non2xx: result.non2xx,
        errors: result.errors,
        loadCpu: (cpu.user + cpu.system) / 1e4 / result.duration,
      };
      process.stdout.write(JSON.stringify(figures));
    },
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
}

/** The parent side: runs the load generator in a child process, measuring this process's CPU meanwhile. */
function load(url: string, key: string, seconds: number): Promise<RunFigures> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--load', `${url}/v1/me`, key, String(seconds), String(CONNECTIONS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  // Server CPU is counted while the child's connections are open: its start-up (tsx) and
  // exit are not part of the run.
  let cpuStart: NodeJS.CpuUsage | undefined;
  let cpuUsed: NodeJS.CpuUsage | undefined;
  let startedAt = 0;
  let elapsed = 0;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (!cpuStart && serverConnections() > 0) {
        cpuStart = process.cpuUsage();
        startedAt = performance.now();
      } else if (cpuStart && !cpuUsed && serverConnections() === 0) {
        cpuUsed = process.cpuUsage(cpuStart);
        elapsed = (performance.now() - startedAt) / 1000;
      }
    }, 5);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      if (!cpuUsed) {
        cpuUsed = process.cpuUsage(cpuStart);
        elapsed = (performance.now() - startedAt) / 1000;
      }
      const result = JSON.parse(stdout) as LoadResult;
      resolve({ ...result, serverCpu: (cpuUsed.user + cpuUsed.system) / 1e4 / elapsed });
    });
  });
}

/** Open connections to either server (how load() sees that the child started sending). */
let serverConnections: () => number = () => 0;

function loadAverage(): string {
  return os.loadavg().map((value) => value.toFixed(2)).join(' ');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const HEADER =
  `${'run'.padEnd(14)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}` +
  `${'srv CPU'.padStart(9)}${'load CPU'.padStart(10)}${'non-2xx'.padStart(9)}${'errors'.padStart(8)}`;

function row(label: string, f: RunFigures): string {
  const flag = f.non2xx > 0 || f.errors > 0 ? '  << not all 2xx: not valid' : '';
  return (
    `${label.padEnd(14)}${f.reqPerSec.toFixed(0).padStart(9)}${f.p50.toFixed(2).padStart(9)}${f.p99.toFixed(2).padStart(9)}` +
    `${`${f.serverCpu.toFixed(0)}%`.padStart(9)}${`${f.loadCpu.toFixed(0)}%`.padStart(10)}` +
    `${String(f.non2xx).padStart(9)}${String(f.errors).padStart(8)}${flag}`
  );
}

async function main(): Promise<void> {
  console.log(`auth benchmark: GET /v1/me, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} runs per server`);
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()} (shared by servers and load generator)`);
  console.log(`load average at start: ${loadAverage()} (anything else running skews both servers' figures)`);
  console.log("pageshot = PageShot's hook chain (request id, shutdown, HTTPS, auth: key checksum + cached lookup + scope, rate-limit decision + headers, usage + metrics) + /v1/me");
  console.log('bare     = Fastify, logger off, no hooks, the same route returning a fixed small JSON object\n');

  // No API_KEY: the first start issues an admin key, unused here and not printed.
  const pageshot = await startPageShot({ PAGESHOT_AUTH: 'on', PAGESHOT_LOG_LEVEL: 'silent' }, { print: () => undefined });
  const bare = Fastify({ logger: false });
  bare.get('/v1/me', async () => ({
    id: 'key_bench0000000000000000',
    kind: 'key',
    name: 'bench',
    hint: 'ps_live_…abcd',
    scopes: ['screenshot'],
    limits: {},
    allowedHosts: [],
    expiresAt: null,
  }));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  let open = 0;
  for (const server of [bare.server, pageshot.app.server.server]) {
    server.on('connection', (socket) => {
      open++;
      socket.on('close', () => open--);
    });
  }
  serverConnections = () => open;

  try {
    // Limits high enough never to refuse: every request still pays for a full rate-limit
    // decision (burst + daily), which is what this measures, but none is answered 429.
    const limits = { rate: 1_000_000_000, burst: 1_000_000_000, daily: 1_000_000_000 };
    const { key } = await pageshot.app.keyService.create({ name: 'bench', scopes: ['screenshot'], limits }, null);
    const check = await pageshot.request('/v1/me', { headers: { authorization: `Bearer ${key}` } });
    if (check.status !== 200) throw new Error(`PageShot refused the bench key: ${check.status} ${check.body.toString()}`);

    console.log(`warm-up: ${WARMUP} s each, not measured`);
    await load(bareUrl, key, WARMUP);
    await load(pageshot.url, key, WARMUP);

    console.log(`\n${HEADER}`);
    const runs: Record<'bare' | 'pageshot', RunFigures[]> = { bare: [], pageshot: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, url] of [['bare', bareUrl], ['pageshot', pageshot.url]] as const) {
        const figures = await load(url, key, DURATION);
        runs[name].push(figures);
        console.log(row(`${name} #${round}`, figures));
      }
    }

    const summary = (name: 'bare' | 'pageshot'): RunFigures => {
      const of = (pick: (run: RunFigures) => number) => median(runs[name].map(pick));
      const total = (pick: (run: RunFigures) => number) => runs[name].reduce((sum, run) => sum + pick(run), 0);
      return {
        reqPerSec: of((r) => r.reqPerSec),
        p50: of((r) => r.p50),
        p99: of((r) => r.p99),
        serverCpu: of((r) => r.serverCpu),
        loadCpu: of((r) => r.loadCpu),
        non2xx: total((r) => r.non2xx),
        errors: total((r) => r.errors),
      };
    };
    const medians = { bare: summary('bare'), pageshot: summary('pageshot') };
    console.log(`\nmedian of ${ROUNDS} runs (non-2xx, errors: totals)`);
    console.log(row('bare', medians.bare));
    console.log(row('pageshot', medians.pageshot));

    const ratio = medians.pageshot.reqPerSec / medians.bare.reqPerSec;
    const valid = [medians.bare, medians.pageshot].every((m) => m.non2xx === 0 && m.errors === 0);
    const verdict = !valid ? 'NOT JUDGED (some answers were not 2xx)' : ratio >= GOAL ? 'MET' : 'NOT MET';
    console.log(`load average at end: ${loadAverage()}`);
    console.log(`\nratio pageshot/bare req/s: ${ratio.toFixed(2)} (goal >= ${GOAL}): ${verdict}`);
    console.log(`BENCH_JSON ${JSON.stringify({ connections: CONNECTIONS, durationS: DURATION, rounds: ROUNDS, runs, medians, ratio, goal: GOAL })}`);
  } finally {
    await bare.close();
    await pageshot.stop();
  }
}

if (process.argv[2] === '--load') {
  const [, , , url, key, seconds, connections] = process.argv;
  loadGenerator(url!, key!, Number(seconds), Number(connections));
} else {
  await main();
}
