/**
 * One webhook worker node as a process of its own, for tests that kill it (SIGKILL) in
 * the middle of an attempt. Environment: REDIS_URL, WEBHOOK_SECRET (every owner's, here),
 * LOCK_MS. Writes "ready" on stdout once its worker runs.
 */
import ipaddr from 'ipaddr.js';
import { pino } from 'pino';
import type { KeyStanding } from '../../src/auth/key-standing.js';
import { CaptureQueue } from '../../src/jobs/queue.js';
import { WebhookDispatcher } from '../../src/jobs/webhook-dispatch.js';
import { NetworkPolicy } from '../../src/netguard/network-policy.js';
import type { WebhookSecretStore } from '../../src/store/webhook-secret-store.js';

const logger = pino({ level: 'silent' });
const queue = new CaptureQueue(process.env.REDIS_URL!, { resultTtlSeconds: 3600, lockMs: Number(process.env.LOCK_MS), maxQueued: 10_000 }, logger);
await queue.ready();
const secret = process.env.WEBHOOK_SECRET!;
const dispatcher = new WebhookDispatcher({
  captureQueue: queue,
  secrets: { secretOf: async () => secret } as unknown as WebhookSecretStore,
  standing: { of: async () => ({ ok: true, allowedHosts: [] }) } as unknown as KeyStanding,
  policy: new NetworkPolicy({ allowPrivateNetworks: [ipaddr.parseCIDR('127.0.0.0/8')], denyHosts: [], allowHosts: [], allowedPorts: undefined }),
  logger,
});
dispatcher.start();
process.stdout.write('ready\n');
