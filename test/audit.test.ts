import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FailureLog, type FailureSummary } from '../src/auth/failure-throttle.js';
import { generateKey } from '../src/auth/key-format.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY, whoAmI } from './helpers/keys.js';

type Event = { type: string; keyId: string | null; clientIp: string | null; reason: string | null; details: Record<string, unknown> };

const countOf = (event: { details: Record<string, unknown> }) => event.details.count as number;

describe('FailureLog: failed authentications summarised per reason and minute', () => {
  const minute = Date.parse('2025-05-01T10:00:00.000Z');

  it('returns the first failure of each reason and minute at once, and the rest as one summary per drain', () => {
    const log = new FailureLog();
    const immediate: FailureSummary[] = [];
    const add = (reason: string, at: number, ip: string) => {
      const first = log.add({ reason, clientIp: ip, keyHint: `ps_live_…${ip.slice(-4)}`, at });
      if (first) immediate.push(first);
    };
    for (let i = 0; i < 100; i++) add('INVALID_API_KEY', minute + i * 100, `198.51.100.${i}`);
    for (let i = 0; i < 5; i++) add('KEY_REVOKED', minute + 1000, '203.0.113.9');
    for (let i = 0; i < 50; i++) add('INVALID_API_KEY', minute + 60_000 + i, `192.0.2.${i}`);
    assert.deepEqual(immediate.map((event) => [event.reason, countOf(event)]), [
      ['INVALID_API_KEY', 1],
      ['KEY_REVOKED', 1],
      ['INVALID_API_KEY', 1],
    ]);
    const drained = log.drain(minute + 61_000);
    assert.deepEqual(drained.map((event) => [event.reason, event.details.minute, countOf(event)]), [
      ['INVALID_API_KEY', '2025-05-01T10:00:00.000Z', 99],
      ['KEY_REVOKED', '2025-05-01T10:00:00.000Z', 4],
      ['INVALID_API_KEY', '2025-05-01T10:01:00.000Z', 49],
    ]);
    const [flood, revoked] = drained;
    assert.equal(flood!.details.distinctIps, 99);
    assert.equal((flood!.details.clientIps as string[]).length, 10, 'a sample of IPs, not all of them');
    assert.equal(flood!.clientIp, null, 'many IPs: the column names none');
    assert.equal(revoked!.clientIp, '203.0.113.9', 'one IP: the column names it');
    assert.equal(revoked!.keyHint, 'ps_live_…13.9');
    assert.deepEqual(log.drain(minute + 61_000), [], 'nothing is written twice');
    // The current minute's first failure was written: the next one waits for a drain.
    assert.equal(log.add({ reason: 'INVALID_API_KEY', clientIp: '192.0.2.99', keyHint: null, at: minute + 61_500 }), undefined);
  });
});

describe('the audit log under a flood of failed authentications', () => {
  let server: TestServer;
  let victim: { id: string; key: string };

  before(async () => {
    server = await startPageShot(AUTH_ENV);
    victim = await createKey(server, { name: 'leaked', scopes: ['screenshot'] });
    await server.request(`/v1/keys/${victim.id}`, { method: 'DELETE', headers: bearer(ROOT_KEY) });
  });
  after(() => server?.stop());

  const audit = async (query: string) => {
    const reply = await server.request(`/v1/audit${query}`, { headers: bearer(ROOT_KEY) });
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    return reply.json as { data: Event[]; next: string | null };
  };

  it('writes a handful of summary rows for 300 failures from 300 IPs, and key events stay on the first page', async () => {
    const ips = Array.from({ length: 300 }, (_, i) => `127.0.${1 + Math.floor(i / 200)}.${1 + (i % 200)}`);
    for (let start = 0; start < ips.length; start += 30) {
      const replies = await Promise.all(ips.slice(start, start + 30).map((ip) => whoAmI(server, generateKey('ps_live'), ip)));
      for (const reply of replies) assert.equal(reply.json?.code, 'INVALID_API_KEY');
    }
    await server.app.authenticator.flush();

    const failures = (await audit('?type=auth.failed&limit=100')).data.filter((event) => event.reason === 'INVALID_API_KEY');
    // One row at once per minute, one per flush: at most 3 per minute, 2 minutes if the run straddles one.
    assert.ok(failures.length >= 1 && failures.length <= 6, `${failures.length} rows`);
    assert.equal(failures.reduce((sum, event) => sum + countOf(event), 0), 300, 'the counts add up');
    const sampled = new Set(failures.flatMap((event) => event.details.clientIps as string[]));
    assert.ok([...sampled].every((ip) => ips.includes(ip)), 'samples are real client IPs');
    assert.equal(failures.reduce((sum, event) => sum + (event.details.distinctIps as number), 0), 300);

    const firstPage = await audit(''); // the default page of 20
    const types = firstPage.data.filter((event) => event.keyId === victim.id).map((event) => event.type);
    assert.ok(types.includes('key.revoked') && types.includes('key.created'), JSON.stringify(types));
  });

  it('filters by exact type or by family, page by page', async () => {
    const keyEvents = await audit('?type=key.');
    assert.ok(keyEvents.data.length >= 2);
    assert.ok(keyEvents.data.every((event) => event.type.startsWith('key.')), JSON.stringify(keyEvents.data.map((e) => e.type)));
    const revoked = await audit('?type=key.revoked');
    assert.deepEqual(revoked.data.map((event) => [event.type, event.keyId]), [['key.revoked', victim.id]]);

    const first = await audit('?type=key.&limit=1');
    assert.ok(first.next);
    const second = await audit(`?type=key.&limit=1&cursor=${encodeURIComponent(first.next)}`);
    assert.equal(second.data.length, 1);
    assert.ok(second.data[0]!.type.startsWith('key.'));
  });

  it('refuses a type filter that is neither a type nor a family, naming the field', async () => {
    for (const type of ['key', 'bogus', 'key.%', 'auth.failed.']) {
      const reply = await server.request(`/v1/audit?type=${encodeURIComponent(type)}`, { headers: bearer(ROOT_KEY) });
      assert.equal(reply.status, 400, type);
      assert.equal(reply.json?.code, 'VALIDATION_ERROR', type);
      assert.equal(reply.json?.field, 'type', type);
    }
  });
});
