/**
 * What the webhook dispatcher tests share: receivers on loopback that answer as told (a
 * status list, headers, or never), and a rig of real parts — a private Redis, the job
 * queue, a SQLite key store with real keys and webhook secrets, KeyStanding — around one
 * or more dispatchers (each one "node").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import ipaddr from 'ipaddr.js';
import { pino } from 'pino';
import { KeyStanding } from '../../src/auth/key-standing.js';
import type { JobView, WebhookRecord } from '../../src/jobs/job-model.js';
import { CaptureQueue, QUEUE_PREFIX, WEBHOOK_QUEUE } from '../../src/jobs/queue.js';
import { WebhookDispatcher, type WebhookDispatchDeps } from '../../src/jobs/webhook-dispatch.js';
import { NetworkPolicy } from '../../src/netguard/network-policy.js';
import { openDatabase, type StoreDatabase } from '../../src/store/database.js';
import { KeyStore } from '../../src/store/key-store.js';
import { callerOfKey } from '../../src/store/schema.js';
import { WebhookSecretStore } from '../../src/store/webhook-secret-store.js';
import { startPrivateRedis, type PrivateRedis } from './redis-server.js';
import { makeKey } from './store-records.js';

/** One request a receiver got. */
export interface Arrival {
  at: number;
  id: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What a receiver answers to its n-th request (0-based): a status and headers (after `afterMs`), or `hang` (never answers). */
export type Answer = { status: number; headers?: Record<string, string | string[]>; afterMs?: number } | 'hang';

/** A receiver on 127.0.0.1; `open` counts requests not answered yet, `maxOpen` the most at once. */
export interface Receiver {
  url: string;
  arrivals: Arrival[];
  readonly open: number;
  readonly maxOpen: number;
  close(): Promise<void>;
}

export async function startReceiver(answer: (n: number) => Answer): Promise<Receiver> {
  const arrivals: Arrival[] = [];
  const state = { open: 0, maxOpen: 0 };
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const n = arrivals.length;
      arrivals.push({ at: Date.now(), id: String(request.headers['webhook-id']), headers: request.headers, body });
      const reply = answer(n);
      state.open++;
      state.maxOpen = Math.max(state.maxOpen, state.open);
      response.on('close', () => state.open--);
      if (reply === 'hang') return;
      const write = () => response.writeHead(reply.status, reply.headers).end('ok');
      if (reply.afterMs) setTimeout(write, reply.afterMs);
      else write();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook`,
    arrivals,
    get open() {
      return state.open;
    },
    get maxOpen() {
      return state.maxOpen;
    },
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** An owner: a stored key with a webhook secret. */
export interface Owner {
  keyId: string;
  owner: string;
  secret: string;
}

let sent = 0;

/** A finished job's view, as the capture worker hands it to `send`. */
export function jobViewFor(url: string): JobView {
  sent++;
  return {
    id: `job_${String(sent).padStart(6, '0')}_${Math.random().toString(36).slice(2, 10)}`,
    status: 'succeeded',
    createdAt: new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
    attempts: 1,
    metadata: null,
    result: null,
    error: null,
    webhook: { url, status: 'pending', attempts: 0 },
  };
}

/** The real parts around dispatchers; `stop` closes them all. */
export class WebhookRig {
  readonly dispatchers: WebhookDispatcher[] = [];
  /** The deliveries' queue, to read their states. */
  readonly deliveries: Queue;

  private constructor(
    readonly redis: PrivateRedis,
    readonly queue: CaptureQueue,
    readonly database: StoreDatabase,
    readonly keys: KeyStore,
    readonly secrets: WebhookSecretStore,
    private readonly dataDir: string,
  ) {
    this.deliveries = new Queue(WEBHOOK_QUEUE, { connection: queue.redis, prefix: QUEUE_PREFIX });
  }

  static async start(lockMs = 30_000): Promise<WebhookRig> {
    const redis = await startPrivateRedis();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-webhooks-'));
    const database = await openDatabase({ dataDir });
    const queue = new CaptureQueue(redis.url, { resultTtlSeconds: 3600, lockMs, maxQueued: 10_000 }, pino({ level: 'silent' }));
    await queue.ready();
    return new WebhookRig(redis, queue, database, new KeyStore(database.db), new WebhookSecretStore(database.db), dataDir);
  }

  /** A new key with the screenshot scope and a webhook secret. */
  async owner(): Promise<Owner> {
    const key = makeKey();
    await this.keys.insert(key);
    const owner = callerOfKey(key.id);
    const { secret } = await this.secrets.create(owner);
    return { keyId: key.id, owner, secret };
  }

  /** A dispatcher (a "node", started unless `start` is false: then it only queues) with loopback allowed and `options`. */
  dispatcher(options: Partial<Pick<WebhookDispatchDeps, 'retryDelaysMs' | 'timeoutMs' | 'concurrency'>> = {}, start = true): WebhookDispatcher {
    const dispatcher = new WebhookDispatcher({
      captureQueue: this.queue,
      secrets: this.secrets,
      policy: new NetworkPolicy({ allowPrivateNetworks: [ipaddr.parseCIDR('127.0.0.0/8')], denyHosts: [], allowHosts: [], allowedPorts: undefined }),
      standing: new KeyStanding(this.keys),
      logger: pino({ level: 'silent' }),
      ...options,
    });
    if (start) dispatcher.start();
    this.dispatchers.push(dispatcher);
    return dispatcher;
  }

  /** Queues a webhook of a new finished job of `owner` to `url`; answers the job's id and when it was sent. */
  async send(owner: Owner, url: string, through = this.dispatchers[0]!): Promise<{ jobId: string; sentAt: number }> {
    const view = jobViewFor(url);
    const sentAt = Date.now();
    await through.send(owner.owner, url, view);
    return { jobId: view.id, sentAt };
  }

  /** How delivery of `jobId` stands, as `GET /v1/jobs/:id` would show it. */
  record(jobId: string): Promise<WebhookRecord | undefined> {
    return this.queue.webhookRecord(jobId);
  }

  /** BullMQ's state of `jobId`'s delivery job (waiting, prioritized, delayed, active, completed…). */
  deliveryState(jobId: string): Promise<string> {
    return this.deliveries.getJobState(`webhook-${jobId}`);
  }

  async stop(): Promise<void> {
    for (const dispatcher of this.dispatchers) await dispatcher.close();
    await this.deliveries.close();
    await this.queue.close();
    await this.database.close();
    await this.redis.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Polls `check` every 25 ms until it holds; throws after `withinMs` (generous: the machine may be busy). */
export async function until(check: () => boolean | Promise<boolean>, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
