/**
 * Job-result download benchmark: what 25 slow clients downloading one large job result
 * cost the api node's memory and Redis's, the attack of issue 22 (item 2).
 *
 * What it does
 *   A private redis-server (test/helpers/redis-server.ts), an api node and a worker node
 *   (`pageshot serve --role api|worker`, test/helpers/node-process.ts, each with its own
 *   data directory; authentication off, loopback allowed). One async job captures a page
 *   of noise (test/helpers/noise-page.ts), 1280 × 16 000 full page by default: a ~61 MB
 *   PNG. The job's result caps are raised so that it is kept (PAGESHOT_JOB_MAX_RESULT_BYTES
 *   and PAGESHOT_JOB_MAX_STORED_BYTES_PER_KEY, which a server without them ignores): the
 *   same result is measured on the old and the new code. Then --clients clients at once
 *   `GET /v1/jobs/:id/result`, each reading --rate KB/s (it pauses its response between
 *   reads, so TCP backpressure reaches the server), for --seconds seconds, then hang up.
 *
 * What it prints
 *   result       the result's size.
 *   api RSS      the api node's resident memory (/proc/<pid>/status VmRSS, sampled every
 *                100 ms) before the downloads and at its peak during them.
 *   redis used   Redis INFO `used_memory` (sampled alike) before and at peak.
 *   read         bytes the clients served had received when they hung up, and the answers'
 *                statuses (all 200 unless --downloads is below --clients).
 *   The last line, `BENCH_JSON {…}`, holds every figure. Run it in two checkouts (the same
 *   script) to compare; nothing is asserted.
 *
 * Usage
 *   node --import tsx bench/job-results.ts [--clients=25] [--rate=512] [--seconds=20]
 *     [--width=1280] [--height=16000] [--downloads=N (PAGESHOT_JOB_MAX_DOWNLOADS_PER_KEY; default --clients)]
 *   Needs redis-server on PATH and Chromium.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { noiseCapture } from '../test/helpers/noise-page.js';
import { startNode, type NodeProcess } from '../test/helpers/node-process.js';
import { startPrivateRedis } from '../test/helpers/redis-server.js';
import { argValue } from './lib/args.js';

const CLIENTS = Number(argValue('clients') ?? 25);
const RATE_KB = Number(argValue('rate') ?? 512);
const SECONDS = Number(argValue('seconds') ?? 20);
const WIDTH = Number(argValue('width') ?? 1280);
const HEIGHT = Number(argValue('height') ?? 16_000);
const MB = 1024 * 1024;

function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** A client that reads `RATE_KB` KB a second of the answer, for `ms`, then hangs up; resolves with its status and the bytes it got. */
function slowClient(url: string, ms: number): Promise<{ status: number; received: number }> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let status = 0;
    const request = http.get(url, { agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.pause();
      const perTick = (RATE_KB * 1024) / 10;
      let allowance = 0;
      const tick = setInterval(() => {
        allowance += perTick;
        res.resume();
      }, 100);
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        allowance -= chunk.length;
        if (allowance <= 0) res.pause();
      });
      const stop = () => {
        clearInterval(tick);
        request.destroy();
        resolve({ status, received });
      };
      res.on('end', stop);
      setTimeout(stop, ms);
    });
    request.on('error', (error) => (received > 0 ? resolve({ status, received }) : reject(error)));
  });
}

async function main(): Promise<void> {
  const redis = await startPrivateRedis();
  const client = new Redis(redis.url);
  const dirs = [0, 1].map(() => mkdtempSync(path.join(os.tmpdir(), 'pageshot-bench-results-')));
  const shared = {
    PAGESHOT_REDIS_URL: redis.url,
    PAGESHOT_LOG_LEVEL: 'warn',
    PAGESHOT_JOB_MAX_RESULT_BYTES: String(256 * MB),
    PAGESHOT_JOB_MAX_STORED_BYTES_PER_KEY: String(1024 * MB),
    // Every client is one caller here (authentication off): let all of them download at
    // once, to measure what each stream holds rather than the bound (--downloads to change).
    PAGESHOT_JOB_MAX_DOWNLOADS_PER_KEY: argValue('downloads') ?? String(CLIENTS),
  };
  let api: NodeProcess | undefined;
  let worker: NodeProcess | undefined;
  try {
    [api, worker] = await Promise.all([
      startNode('api', { ...shared, PAGESHOT_DATA_DIR: dirs[0]! }),
      startNode('worker', { ...shared, PAGESHOT_DATA_DIR: dirs[1]!, PAGESHOT_MAX_CONCURRENCY: '1' }),
    ]);
    const submitted = await api.request('/v1/jobs', { body: { ...noiseCapture(WIDTH, HEIGHT), timeout: 60_000 } });
    if (submitted.status !== 202) throw new Error(`submit: ${submitted.status} ${submitted.body.toString()}`);
    const id = String(submitted.json!.id);
    let job: Record<string, any> = {};
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(200)) {
      job = (await api.request(`/v1/jobs/${id}`)).json!;
      if (job.status === 'succeeded' || job.status === 'failed') break;
    }
    if (job.status !== 'succeeded') throw new Error(`the job did not succeed: ${JSON.stringify(job)}`);
    const bytes = Number(job.result.bytes);
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? 0);
    const pid = api.child.pid!;
    await sleep(1000);
    const before = { apiRss: rssOf(pid), redisUsed: await usedMemory() };
    const peak = { ...before };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak.apiRss = Math.max(peak.apiRss, rssOf(pid));
        peak.redisUsed = Math.max(peak.redisUsed, await usedMemory());
        await sleep(100);
      }
    })();
    const started = Date.now();
    const downloads = await Promise.all(Array.from({ length: CLIENTS }, () => slowClient(`${api!.url}/v1/jobs/${id}/result`, SECONDS * 1000)));
    sampling = false;
    await sampler;
    const figures = {
      resultBytes: bytes,
      clients: CLIENTS,
      rateKBps: RATE_KB,
      seconds: Math.round((Date.now() - started) / 1000),
      apiRssBeforeMB: +(before.apiRss / MB).toFixed(1),
      apiRssPeakMB: +(peak.apiRss / MB).toFixed(1),
      redisUsedBeforeMB: +(before.redisUsed / MB).toFixed(1),
      redisUsedPeakMB: +(peak.redisUsed / MB).toFixed(1),
      statuses: Object.fromEntries([...new Set(downloads.map((d) => d.status))].map((status) => [status, downloads.filter((d) => d.status === status).length])),
      receivedMB: +(downloads.filter((d) => d.status === 200).reduce((sum, d) => sum + d.received, 0) / MB).toFixed(1),
    };
    console.log(`result      ${(bytes / MB).toFixed(1)} MB; ${CLIENTS} clients at ${RATE_KB} KB/s for ${SECONDS} s`);
    console.log(`api RSS     ${figures.apiRssBeforeMB} MB before → peak ${figures.apiRssPeakMB} MB`);
    console.log(`redis used  ${figures.redisUsedBeforeMB} MB before → peak ${figures.redisUsedPeakMB} MB`);
    console.log(`read        ${figures.receivedMB} MB by the clients served; answers ${JSON.stringify(figures.statuses)}`);
    console.log(`BENCH_JSON ${JSON.stringify(figures)}`);
  } finally {
    await Promise.all([api?.kill(), worker?.kill()]);
    client.disconnect();
    await redis.kill();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
