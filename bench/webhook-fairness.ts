/**
 * How long one owner's webhook waits behind another owner's failing ones (issue 22).
 *
 * Owner A queues N deliveries to a receiver that answers 500 (or one that never answers,
 * so each attempt lasts the 10 s timeout); a moment later owner B queues one delivery to a
 * receiver that answers 200. Printed: B's first-attempt delay (from its `send` to its
 * arrival), capped at CAP_MS, with the real retry schedule (5 s, 30 s, 2 min, 10 min) and
 * the real timeout. One worker node (16 slots), a private redis-server, fake key and
 * secret stores (no database: the figure is the queue's).
 *
 * A second figure, the cost: A's 200 deliveries to a 500 receiver with a 20 ms schedule
 * (five attempts each, 1,000 attempts): wall time, and CPU per attempt of this process
 * and of redis-server (from /proc), since one attempt per queue job costs Redis round trips.
 *
 *   node --import tsx bench/webhook-fairness.ts [--baseline /tmp/pageshot-base] [--cap-ms 60000]
 *
 * With --baseline, the same script is copied into that tree's bench/ and run there first
 * (its own code, same machine), and both columns are printed.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import { pino } from 'pino';
import { CaptureQueue } from '../src/jobs/queue.js';
import { WebhookDispatcher } from '../src/jobs/webhook-dispatch.js';
import { createWebhookSecret } from '../src/jobs/webhook-signature.js';
import { NetworkPolicy } from '../src/netguard/network-policy.js';
import { startPrivateRedis } from '../test/helpers/redis-server.js';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const CAP_MS = Number(option('--cap-ms') ?? 60_000);
const here = fileURLToPath(import.meta.url);

interface Figures {
  tree: string;
  delays: Record<string, number | null>;
  cost: { attempts: number; wallMs: number; nodeCpuUsPerAttempt: number; redisCpuUsPerAttempt: number };
}

async function receiver(answer: 'fail' | 'hang' | 'ok') {
  let count = 0;
  const waiters: Array<() => void> = [];
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      count++;
      for (const wake of waiters.splice(0)) wake();
      if (answer === 'hang') return;
      response.writeHead(answer === 'fail' ? 500 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook`,
    get count() {
      return count;
    },
    /** Resolves true at the next request, false after `ms`. */
    next: (ms: number) => new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      waiters.push(() => (clearTimeout(timer), resolve(true)));
    }),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** utime + stime of `pid`, in µs. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())) * 1e6;
}

let jobCounter = 0;
function view(url: string) {
  jobCounter++;
  const id = `job_bench${String(jobCounter).padStart(13, '0')}`;
  return { id, status: 'succeeded', createdAt: new Date().toISOString(), startedAt: null, finishedAt: null, attempts: 1, metadata: null, result: null, error: null, webhook: { url, status: 'pending', attempts: 0 } } as const;
}

async function rig(retryDelaysMs?: number[]) {
  const redis = await startPrivateRedis();
  const logger = pino({ level: 'silent' });
  const queue = new CaptureQueue(redis.url, { resultTtlSeconds: 3600, lockMs: 30_000, maxQueued: 100_000 }, logger);
  await queue.ready();
  const secret = createWebhookSecret();
  const dispatcher = new WebhookDispatcher({
    captureQueue: queue,
    secrets: { secretOf: async () => secret },
    standing: { of: async () => ({ ok: true, allowedHosts: [] }) },
    policy: new NetworkPolicy({ allowPrivateNetworks: [ipaddr.parseCIDR('127.0.0.0/8')], denyHosts: [], allowHosts: [], allowedPorts: undefined }),
    logger,
    ...(retryDelaysMs ? { retryDelaysMs } : {}),
  } as never);
  dispatcher.start();
  return {
    redis,
    dispatcher,
    async stop() {
      await dispatcher.close();
      await queue.close();
      await redis.kill();
    },
  };
}

/** B's first-attempt delay behind A's `n` deliveries to a receiver that fails or hangs; null past CAP_MS. */
async function victimDelay(n: number, how: 'fail' | 'hang'): Promise<number | null> {
  const { dispatcher, stop } = await rig();
  const [bad, good] = [await receiver(how), await receiver('ok')];
  try {
    for (let i = 0; i < n; i++) await dispatcher.send('key:attacker', bad.url, view(bad.url) as never);
    // B comes once A's deliveries are under way: four attempts arrived, and half a second to fill the slots.
    while (bad.count < 4) await bad.next(1_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sentAt = performance.now();
    const arrived = good.next(CAP_MS);
    await dispatcher.send('key:victim', good.url, view(good.url) as never);
    return (await arrived) ? Math.round(performance.now() - sentAt) : null;
  } finally {
    await bad.close();
    await good.close();
    await stop();
  }
}

/** Wall time and CPU of 1,000 attempts: 200 deliveries × 5 attempts to a 500 receiver, 20 ms waits. */
async function cost(): Promise<Figures['cost']> {
  const { dispatcher, redis, stop } = await rig([20, 20, 20, 20]);
  const bad = await receiver('fail');
  try {
    const total = 200 * 5;
    const [cpu0, redis0, t0] = [process.cpuUsage(), cpuOf(redis.process.pid!), performance.now()];
    for (let i = 0; i < 200; i++) await dispatcher.send(`key:owner${i % 4}`, bad.url, view(bad.url) as never);
    while (bad.count < total) await bad.next(5_000);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      attempts: bad.count,
      wallMs: Math.round(wallMs),
      nodeCpuUsPerAttempt: Math.round((cpu.user + cpu.system) / bad.count),
      redisCpuUsPerAttempt: Math.round((cpuOf(redis.process.pid!) - redis0) / bad.count),
    };
  } finally {
    await bad.close();
    await stop();
  }
}

async function measure(): Promise<Figures> {
  const delays: Figures['delays'] = {};
  for (const [n, how] of [[16, 'fail'], [200, 'fail'], [16, 'hang'], [200, 'hang']] as const) {
    delays[`A: ${n} × ${how === 'fail' ? '500' : 'hang (10 s timeout)'}`] = await victimDelay(n, how);
  }
  return { tree: path.resolve(path.dirname(here), '..'), delays, cost: await cost() };
}

function column(value: number | null): string {
  return value === null ? `> ${CAP_MS / 1000} s` : `${value} ms`;
}

if (args.includes('--json')) {
  process.stdout.write(`${JSON.stringify(await measure())}\n`);
  process.exit(0);
}
const baselineDir = option('--baseline');
let baseline: Figures | undefined;
if (baselineDir) {
  mkdirSync(path.join(baselineDir, 'bench'), { recursive: true });
  const copy = path.join(baselineDir, 'bench', path.basename(here));
  copyFileSync(here, copy);
  console.error(`baseline: running ${copy} …`);
  const out = execFileSync(process.execPath, ['--import', 'tsx', copy, '--json', '--cap-ms', String(CAP_MS)], { cwd: baselineDir, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  baseline = JSON.parse(out.toString().trim().split('\n').pop()!) as Figures;
}
console.error('this tree: running …');
const current = await measure();
console.log(`B's first-attempt delay behind owner A (one node, 16 slots, real schedule and timeout; cap ${CAP_MS / 1000} s)`);
console.log(`${'scenario'.padEnd(34)}${baseline ? 'baseline'.padStart(14) : ''}${'this tree'.padStart(14)}`);
for (const [name, value] of Object.entries(current.delays)) {
  console.log(`${name.padEnd(34)}${baseline ? column(baseline.delays[name] ?? null).padStart(14) : ''}${column(value).padStart(14)}`);
}
console.log('\ncost: 200 deliveries × 5 attempts to a 500 receiver, 20 ms waits');
for (const [label, key] of [['attempts', 'attempts'], ['wall ms', 'wallMs'], ['node CPU µs / attempt', 'nodeCpuUsPerAttempt'], ['redis CPU µs / attempt', 'redisCpuUsPerAttempt']] as const) {
  console.log(`${label.padEnd(34)}${baseline ? String(baseline.cost[key]).padStart(14) : ''}${String(current.cost[key]).padStart(14)}`);
}
process.exit(0);
