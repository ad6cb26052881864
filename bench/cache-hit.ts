/**
 * Cache-hit benchmark: PageShot answering a repeated capture from its result cache,
 * against a bare Fastify route answering the same bytes from memory, on this machine,
 * in this run.
 *
 * What it measures
 *   pageshot  PageShot (createApp, as `pageshot serve` runs it) in a child process of its own: auth on,
 *             logs silent, Chromium launched (it idles), the in-memory result cache, one
 *             stored key with limits too high to refuse (each request still pays for a
 *             whole rate-limit decision). The capture is made once before the runs
 *             (X-Cache: MISS); every measured request is then `POST /screenshot` with the
 *             same body and `Authorization: Bearer`, answered from the cache (HIT): key
 *             check, limits, validation, the target's host rules (no DNS), the cache
 *             lookup, usage and metrics, and the PNG.
 *   bare      Fastify in a child process that never loads Playwright (on Node 20
 *             Playwright's AsyncLocalStorage turns on promise hooks for its whole
 *             process), logger off, no hooks, one `POST /screenshot` route that parses the
 *             same JSON body and answers the same PNG bytes from memory. It gets the same
 *             headers, and ignores them.
 *   Load: wrk (one thread) when installed, else autocannon in a third process
 *   (bench/lib/http-load.ts), keep-alive connections; `npm run bench` uses 32.
 *   Each server first gets a short unmeasured warm-up; measured runs then alternate bare,
 *   pageshot, bare, pageshot, so drift hits both.
 *
 * How to read it
 *   req/s, p50/p99 (ms; autocannon's are whole ms), srv CPU (the server process,
 *   from /proc, % of one core), load CPU (the load generator), non-2xx and errors (must be
 *   0), µs/req (the server's CPU per answer). All processes share the machine's cores:
 *   when the load generator is near 100 % and the bare server is not, the bare figure is
 *   capped by the client and the req/s ratio flatters PageShot; the ratio of CPU per
 *   answer, printed below it, does not depend on the client.
 *   After the runs PageShot's own counter must show that every answer was a HIT and the
 *   capture was rendered once; otherwise the run is not valid.
 *   The ratio is pageshot/bare of the median req/s; goal >= 0.7. Nothing is tuned to meet
 *   it. The last line, `BENCH_JSON {…}`, holds every figure.
 *
 * Usage
 *   npm run bench:cache
 *   env BENCH_DURATION=seconds per run (default 10), BENCH_ROUNDS=runs per server
 *       (default 3), BENCH_CONNECTIONS (default 10), BENCH_WARMUP=seconds (default 3).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareServers, type LoadRequest, loadAverage, reportComparison, runBenchProcess, startServerChild } from './lib/http-load.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const GOAL = 0.7;
const SELF = fileURLToPath(import.meta.url);
const METRICS_TOKEN = 'bench-metrics-token-0123456789';

/** What the PageShot child says once its cache holds the capture. */
interface PageShotReady {
  url: string;
  key: string;
  body: string;
  pngFile: string;
}

/** Child: PageShot with a fixture site, one key, and the capture made once (a MISS). */
async function servePageShot(): Promise<void> {
  const { startFixtureSite } = await import('../test/helpers/fixture-site.js');
  const { startPageShot } = await import('../test/helpers/harness.js');
  const site = await startFixtureSite();
  const pageshot = await startPageShot(
    { PAGESHOT_AUTH: 'on', PAGESHOT_CACHE_TTL: '3600', PAGESHOT_METRICS_TOKEN: METRICS_TOKEN },
    { print: () => undefined },
  );
  const limits = { rate: 1_000_000_000, burst: 1_000_000_000, daily: 1_000_000_000 };
  const { key } = await pageshot.app.keyService.create({ name: 'bench', scopes: ['screenshot'], limits }, null);
  const body = JSON.stringify({ url: `${site.url}/` });
  const headers = { authorization: `Bearer ${key}` };
  const miss = await pageshot.request('/screenshot', { rawBody: { data: body, contentType: 'application/json' }, headers });
  const hit = await pageshot.request('/screenshot', { rawBody: { data: body, contentType: 'application/json' }, headers });
  if (miss.headers['x-cache'] !== 'MISS' || hit.headers['x-cache'] !== 'HIT' || !hit.body.equals(miss.body)) {
    throw new Error(`the cache did not answer the repeat: ${miss.status} ${miss.headers['x-cache']}, ${hit.status} ${hit.headers['x-cache']}`);
  }
  const pngFile = path.join(os.tmpdir(), `pageshot-bench-${process.pid}.png`);
  writeFileSync(pngFile, hit.body);
  const stop = async () => {
    await pageshot.stop();
    await site.close();
    rmSync(pngFile, { force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  const ready: PageShotReady = { url: pageshot.url, key, body, pngFile };
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
}

/** Child: bare Fastify answering `pngFile`'s bytes to `POST /screenshot`. */
async function serveBare(pngFile: string): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const png = readFileSync(pngFile);
  const bare = Fastify({ logger: false });
  bare.post('/screenshot', async (_request, reply) => reply.header('content-type', 'image/png').send(png));
  const url = await bare.listen({ host: '127.0.0.1', port: 0 });
  process.once('SIGTERM', () => void bare.close().then(() => process.exit(0)));
  process.stdout.write(`READY ${JSON.stringify({ url })}\n`);
}

/** PageShot's count of capture answers by cache result, from /metrics. */
async function cacheAnswers(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^pageshot_cache_answers_total\{result="(\w+)"\} (\d+)/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

async function main(): Promise<void> {
  console.log(`cache-hit benchmark: POST /screenshot answered from the cache, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} runs per server`);
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()} (shared by both servers' processes and the load generator)`);
  console.log(`load average at start: ${loadAverage()} (anything else running skews both servers' figures)`);
  console.log('pageshot = the whole request path (auth, limits, validation, host rules, cache lookup, usage, metrics) answering a HIT');
  console.log('bare     = Fastify in its own process, no hooks, the same JSON body parsed and the same PNG bytes sent from memory\n');

  const pageshot = await startServerChild<PageShotReady>(SELF, ['--serve=pageshot']);
  const bare = await startServerChild<{ url: string }>(SELF, ['--serve=bare', pageshot.ready.pngFile]);
  try {
    const { url, key, body } = pageshot.ready;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const requests: Record<'bare' | 'pageshot', LoadRequest> = {
      bare: { url: `${bare.ready.url}/screenshot`, method: 'POST', headers, body },
      pageshot: { url: `${url}/screenshot`, method: 'POST', headers, body },
    };
    const pids = { bare: bare.process.pid!, pageshot: pageshot.process.pid! };
    const pngBytes = readFileSync(pageshot.ready.pngFile).length;
    console.log(`answer: a ${pngBytes}-byte PNG`);
    const comparison = await compareServers({
      script: SELF,
      requests,
      pids,
      seconds: DURATION,
      rounds: ROUNDS,
      warmupSeconds: WARMUP,
      connections: CONNECTIONS,
    });

    const answers = await cacheAnswers(url);
    const allHits = (answers.MISS ?? 0) === 1 && (answers.BYPASS ?? 0) === 0;
    console.log(`PageShot's capture answers: ${JSON.stringify(answers)} (one MISS, the capture before the runs, is expected)`);
    const invalid = !comparison.valid ? 'some answers were not 2xx' : !allHits ? 'some answers were not cache hits' : undefined;
    reportComparison(comparison, GOAL, invalid, { connections: CONNECTIONS, durationS: DURATION, rounds: ROUNDS, pngBytes, answers });
  } finally {
    await bare.stop();
    await pageshot.stop();
  }
}

await runBenchProcess({ main, servePageShot, serveBare });
