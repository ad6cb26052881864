/**
 * Authentication overhead benchmark: PageShot's authenticated, rate-limited `GET /v1/me`
 * against a bare Fastify server answering the same bytes, on this machine, in this run.
 *
 * What it measures
 *   pageshot  PageShot (the test harness's createApp, as `pageshot serve` builds it) in a
 *             child process of its own: auth on, logs silent, the in-process rate limiter,
 *             Chromium launched (it idles; Playwright is loaded, so on Node 20 its
 *             AsyncLocalStorage has promise hooks on for the whole process, as in
 *             production). One stored key made with app.keyService.create({name:'bench',
 *             scopes:['screenshot'], limits too high to ever refuse}), so each request pays
 *             for a whole rate-limit decision (burst + daily) and none is answered 429,
 *             sent as `Authorization: Bearer`. Each request goes through PageShot's whole
 *             hook chain — metrics, request id and shutdown check, HTTPS/HSTS check,
 *             key-in-query check, key hash and cached lookup, scope check, usage
 *             accounting, the rate-limit decision and its five headers — then /v1/me.
 *   bare      Fastify in a child process that never loads Playwright, logger off, no
 *             hooks, one `GET /v1/me` handler sending the same JSON object PageShot
 *             answered the bench key with (same body bytes). It gets the same Bearer
 *             header, and ignores it.
 *   Load: wrk (one thread) when installed, else autocannon in a third process
 *   (bench/lib/http-load.ts), 10 keep-alive connections (`npm run bench`: 32). Each server first gets a short unmeasured warm-up; measured runs then
 *   alternate bare, pageshot, bare, pageshot, so drift (CPU clock, other load) hits both.
 *
 * How to read it
 *   req/s       2xx answers per second of the run (the load generator's count / run time).
 *   p50 / p99   nearest-rank latency percentiles of the run's 2xx answers, in ms, from
 *               the load generator's timings (autocannon's in whole ms: little on this route).
 *   srv / load CPU  CPU of the server process / of the load generator over the run (from
 *               /proc), in % of one core. All three processes share the machine's cores:
 *               when the load generator is near 100 % while the bare server is not, the
 *               bare figure is capped by the client, and the ratio flatters PageShot.
 *   µs/req      the server's CPU per answer (srv CPU / req/s): what the route costs the
 *               server, less sensitive than req/s to what else the machine runs.
 *   non-2xx / errors  must be 0; a run with any is flagged and the goal is not judged.
 *   The summary gives the median over the runs of each figure, and the ratio
 *   pageshot/bare of the median req/s with the goal >= 0.8. Nothing is tuned to meet it:
 *   it is printed as measured. Absolute figures depend on the machine; compare ratios.
 *   The last line, `BENCH_JSON {…}`, holds every figure.
 *
 * Usage
 *   npm run bench:auth
 *   env BENCH_DURATION=seconds per measured run (default 10), BENCH_ROUNDS=measured runs
 *       per server (default 2), BENCH_CONNECTIONS (default 10), BENCH_WARMUP=seconds (default 3).
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { compareServers, type LoadRequest, loadAverage, reportComparison, runBenchProcess, startServerChild } from './lib/http-load.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const GOAL = 0.8;
const SELF = fileURLToPath(import.meta.url);

/** What the PageShot child says once it listens: where, the bench key, and its /v1/me answer. */
interface PageShotReady {
  url: string;
  key: string;
  body: string;
}

/** Child: PageShot with auth on, logs silent, one key whose limits never refuse. */
async function servePageShot(): Promise<void> {
  const { startPageShot } = await import('../test/helpers/harness.js');
  // No API_KEY: the first start issues an admin key, unused here and not printed.
  const pageshot = await startPageShot({ PAGESHOT_AUTH: 'on', PAGESHOT_LOG_LEVEL: 'silent' }, { print: () => undefined });
  // Limits high enough never to refuse: every request still pays for a full rate-limit
  // decision (burst + daily), which is what this measures, but none is answered 429.
  const limits = { rate: 1_000_000_000, burst: 1_000_000_000, daily: 1_000_000_000 };
  const { key } = await pageshot.app.keyService.create({ name: 'bench', scopes: ['screenshot'], limits }, null);
  const check = await pageshot.request('/v1/me', { headers: { authorization: `Bearer ${key}` } });
  if (check.status !== 200) throw new Error(`PageShot refused the bench key: ${check.status} ${check.body.toString()}`);
  process.once('SIGTERM', () => void pageshot.stop().then(() => process.exit(0)));
  const ready: PageShotReady = { url: pageshot.url, key, body: check.body.toString('utf8') };
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
}

/** Child: bare Fastify (no Playwright in this process) sending `body`'s object to `GET /v1/me`. */
async function serveBare(body: string): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const answer = JSON.parse(body) as Record<string, unknown>;
  const bare = Fastify({ logger: false });
  bare.get('/v1/me', (_request, reply) => reply.send(answer));
  const url = await bare.listen({ host: '127.0.0.1', port: 0 });
  process.once('SIGTERM', () => void bare.close().then(() => process.exit(0)));
  process.stdout.write(`READY ${JSON.stringify({ url })}\n`);
}

async function main(): Promise<void> {
  console.log(`auth benchmark: GET /v1/me, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} runs per server`);
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()} (shared by both servers' processes and the load generator)`);
  console.log(`load average at start: ${loadAverage()} (anything else running skews both servers' figures)`);
  console.log("pageshot = PageShot's process (Playwright loaded, Chromium idle) and hook chain (metrics, request id, shutdown, HTTPS, auth: key hash + cached lookup + scope, usage, rate-limit decision + headers) + /v1/me");
  console.log('bare     = Fastify in its own process without Playwright, logger off, no hooks, the same JSON answer\n');

  const pageshot = await startServerChild<PageShotReady>(SELF, ['--serve=pageshot']);
  const bare = await startServerChild<{ url: string }>(SELF, ['--serve=bare', pageshot.ready.body]);
  try {
    const { url, key, body } = pageshot.ready;
    const headers = { authorization: `Bearer ${key}` };
    const requests: Record<'bare' | 'pageshot', LoadRequest> = {
      bare: { url: `${bare.ready.url}/v1/me`, headers },
      pageshot: { url: `${url}/v1/me`, headers },
    };
    const pids = { bare: bare.process.pid!, pageshot: pageshot.process.pid! };
    console.log(`answer: ${Buffer.byteLength(body)} body bytes from both; PageShot adds x-request-id and five rate-limit headers`);
    const comparison = await compareServers({
      script: SELF,
      requests,
      pids,
      seconds: DURATION,
      rounds: ROUNDS,
      warmupSeconds: WARMUP,
      connections: CONNECTIONS,
    });
    const invalid = comparison.valid ? undefined : 'some answers were not 2xx';
    reportComparison(comparison, GOAL, invalid, { connections: CONNECTIONS, durationS: DURATION, rounds: ROUNDS });
  } finally {
    await bare.stop();
    await pageshot.stop();
  }
}

await runBenchProcess({ main, servePageShot, serveBare });
