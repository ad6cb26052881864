import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPageShot, tempDataDir, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY, whoAmI } from './helpers/keys.js';

const KEY_SHAPE = /^ps_live_[0-9A-Za-z]{27}_[0-9A-Za-z]{6}$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('key management API', () => {
  let server: TestServer;
  let dataDir: string;

  before(async () => {
    dataDir = tempDataDir();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_DATA_DIR: dataDir });
  });
  after(async () => {
    await server.stop();
  });

  it('creates a key, shows it once, and the key works', async () => {
    const created = await createKey(server, { name: 'first', scopes: ['screenshot'], metadata: { team: 'web' } });
    assert.match(created.key, KEY_SHAPE);
    assert.equal(created.hint, `ps_live_…${created.key.slice(-4)}`);
    assert.equal(created.state, 'active');
    assert.equal(created.hash, undefined, 'the hash is never shown');
    assert.deepEqual(created.metadata, { team: 'web' });
    const me = await whoAmI(server, created.key);
    assert.equal(me.status, 200);
    assert.equal(me.json?.id, created.id);
    assert.deepEqual(me.json?.scopes, ['screenshot']);

    const read = await server.request(`/v1/keys/${created.id}`, { headers: bearer(ROOT_KEY) });
    assert.equal(read.status, 200);
    assert.equal(read.json?.name, 'first');
    assert.doesNotMatch(read.body.toString(), new RegExp(created.key), 'reading a key never shows the secret');
  });

  it('stores no key in any form but its hash, anywhere in the data directory', async () => {
    const created = await createKey(server, { name: 'stored', scopes: ['screenshot'] });
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(created.key).digest('hex');
    const secretPart = created.key.split('_')[2]!;
    const files = readdirSync(dataDir).map((file) => readFileSync(path.join(dataDir, file)));
    const all = Buffer.concat(files).toString('latin1');
    assert.ok(all.includes(hash), 'the hash is stored');
    assert.equal(all.includes(created.key), false, 'the key is not stored');
    assert.equal(all.includes(secretPart), false, 'not even its random part');
  });

  it('lists keys page by page without secrets', async () => {
    for (let i = 0; i < 4; i++) await createKey(server, { name: `page-${i}`, scopes: ['screenshot'] });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const reply = await server.request(`/v1/keys${query}`, { headers: bearer(ROOT_KEY) });
      assert.equal(reply.status, 200);
      const body = reply.json as { data: Array<{ id: string; key?: string; hash?: string }>; next: string | null };
      assert.ok(body.data.length <= 2);
      for (const item of body.data) {
        assert.equal(item.key, undefined);
        assert.equal(item.hash, undefined);
        seen.push(item.id);
      }
      cursor = body.next;
      pages++;
    } while (cursor && pages < 20);
    assert.ok(seen.length >= 6, `saw ${seen.length} keys`);
    assert.equal(new Set(seen).size, seen.length, 'no key twice');
  });

  it('answers 404 KEY_NOT_FOUND for an unknown id and 400 for a bad cursor', async () => {
    const missing = await server.request('/v1/keys/key_doesnotexist', { headers: bearer(ROOT_KEY) });
    assert.equal(missing.status, 404);
    assert.equal(missing.json?.code, 'KEY_NOT_FOUND');
    const badCursor = await server.request('/v1/keys?cursor=garbage', { headers: bearer(ROOT_KEY) });
    assert.equal(badCursor.status, 400);
    assert.equal(badCursor.json?.field, 'cursor');
  });

  it('refuses invalid settings, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ scopes: ['screenshot'] }, 'name'],
      [{ name: 'x', scopes: [] }, 'scopes'],
      [{ name: 'x', scopes: ['root'] }, 'scopes/0'],
      [{ name: 'x', scopes: ['screenshot'], expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
      [{ name: 'x', scopes: ['screenshot'], allowedIps: ['not-an-ip'] }, 'allowedIps/0'],
      [{ name: 'x', scopes: ['screenshot'], allowedHosts: ['bad host!'] }, 'allowedHosts/0'],
      [{ name: 'x', scopes: ['screenshot'], limits: { rate: -1 } }, 'limits/rate'],
      // A rate with no burst admits nothing: refused, not stored to fail every request.
      [{ name: 'x', scopes: ['screenshot'], limits: { rate: 5, burst: 0 } }, 'limits/burst'],
      [{ name: 'x', scopes: ['screenshot'], limits: { burst: 0 } }, 'limits/burst'], // the default rate applies
    ];
    for (const [body, field] of cases) {
      const reply = await server.request('/v1/keys', { body, headers: bearer(ROOT_KEY) });
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.json?.field, field, JSON.stringify(reply.json));
    }
  });

  it('refuses a burst of 0 in PATCH while a rate applies, and accepts it with a rate of 0', async () => {
    const created = await createKey(server, { name: 'bursty', scopes: ['screenshot'] });
    const refused = await server.request(`/v1/keys/${created.id}`, { method: 'PATCH', body: { limits: { burst: 0 } }, headers: bearer(ROOT_KEY) });
    assert.equal(refused.status, 400);
    assert.equal(refused.json?.code, 'VALIDATION_ERROR');
    assert.equal(refused.json?.field, 'limits/burst');
    assert.equal((await whoAmI(server, created.key)).status, 200, 'the refused limits were not stored');
    const unlimited = await server.request(`/v1/keys/${created.id}`, { method: 'PATCH', body: { limits: { rate: 0, burst: 0 } }, headers: bearer(ROOT_KEY) });
    assert.equal(unlimited.status, 200, JSON.stringify(unlimited.json));
    assert.equal((await whoAmI(server, created.key)).status, 200, 'a key without a rate limit works');
  });

  it('disables and re-enables a key, effective on the very next request', async () => {
    const created = await createKey(server, { name: 'toggle', scopes: ['screenshot'] });
    assert.equal((await whoAmI(server, created.key)).status, 200);
    const disabled = await server.request(`/v1/keys/${created.id}`, { method: 'PATCH', body: { disabled: true }, headers: bearer(ROOT_KEY) });
    assert.equal(disabled.status, 200);
    assert.equal(disabled.json?.state, 'disabled');
    const refused = await whoAmI(server, created.key);
    assert.equal(refused.status, 403);
    assert.equal(refused.json?.code, 'KEY_DISABLED');
    await server.request(`/v1/keys/${created.id}`, { method: 'PATCH', body: { disabled: false }, headers: bearer(ROOT_KEY) });
    assert.equal((await whoAmI(server, created.key)).status, 200);
  });

  it('changes a key’s name and scopes with PATCH', async () => {
    const created = await createKey(server, { name: 'before', scopes: ['screenshot'] });
    const reply = await server.request(`/v1/keys/${created.id}`, {
      method: 'PATCH',
      body: { name: 'after', scopes: ['screenshot', 'usage:read'] },
      headers: bearer(ROOT_KEY),
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.json?.name, 'after');
    assert.deepEqual((await whoAmI(server, created.key)).json?.scopes, ['screenshot', 'usage:read']);
  });

  it('revokes a key for good: refused at once, and it cannot be changed back', async () => {
    const created = await createKey(server, { name: 'doomed', scopes: ['screenshot'] });
    assert.equal((await whoAmI(server, created.key)).status, 200, 'cached as valid first');
    const revoked = await server.request(`/v1/keys/${created.id}`, { method: 'DELETE', headers: bearer(ROOT_KEY) });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json?.state, 'revoked');
    const refused = await whoAmI(server, created.key);
    assert.equal(refused.status, 403);
    assert.equal(refused.json?.code, 'KEY_REVOKED');
    const undo = await server.request(`/v1/keys/${created.id}`, { method: 'PATCH', body: { disabled: false }, headers: bearer(ROOT_KEY) });
    assert.equal(undo.status, 409);
    assert.equal(undo.json?.code, 'KEY_ALREADY_REVOKED');
  });

  it('rotates with a grace period: both keys work, then only the new one', async () => {
    const created = await createKey(server, { name: 'rotating', scopes: ['screenshot'], limits: { daily: 99 } });
    const rotated = await server.request(`/v1/keys/${created.id}/rotate`, { body: { gracePeriodSeconds: 2 }, headers: bearer(ROOT_KEY) });
    assert.equal(rotated.status, 201);
    const next = rotated.json as { id: string; key: string; limits: unknown; rotatedFrom: string };
    assert.match(next.key, KEY_SHAPE);
    assert.notEqual(next.key, created.key);
    assert.deepEqual(next.limits, { daily: 99 }, 'same settings');
    assert.equal(next.rotatedFrom, created.id);
    const old = await server.request(`/v1/keys/${created.id}`, { headers: bearer(ROOT_KEY) });
    assert.equal(old.json?.replacedBy, next.id, 'the old key names its successor');
    assert.equal((await whoAmI(server, next.key)).status, 200, 'the new key works');
    assert.equal((await whoAmI(server, created.key)).status, 200, 'the old key still works during the grace period');
    await sleep(2300);
    const expired = await whoAmI(server, created.key);
    assert.equal(expired.status, 403);
    assert.equal(expired.json?.code, 'KEY_EXPIRED');
    assert.equal((await whoAmI(server, next.key)).status, 200);
  });

  it('refuses to bring back a key retired by rotation, and to rotate it twice', async () => {
    const created = await createKey(server, { name: 'retired', scopes: ['screenshot'] });
    const rotated = await server.request(`/v1/keys/${created.id}/rotate`, { body: { gracePeriodSeconds: 60 }, headers: bearer(ROOT_KEY) });
    assert.equal(rotated.status, 201);
    const revive = await server.request(`/v1/keys/${created.id}`, { method: 'PATCH', body: { expiresAt: null }, headers: bearer(ROOT_KEY) });
    assert.equal(revive.status, 409);
    assert.equal(revive.json?.code, 'KEY_ALREADY_ROTATED');
    const old = await server.request(`/v1/keys/${created.id}`, { headers: bearer(ROOT_KEY) });
    assert.ok(typeof old.json?.expiresAt === 'string', 'the grace period still ends');
    const again = await server.request(`/v1/keys/${created.id}/rotate`, { body: { gracePeriodSeconds: 60 }, headers: bearer(ROOT_KEY) });
    assert.equal(again.status, 409);
    assert.equal(again.json?.code, 'KEY_ALREADY_ROTATED');
  });

  it('rotates without grace (no body): the old key stops at once', async () => {
    const created = await createKey(server, { name: 'now', scopes: ['screenshot'] });
    assert.equal((await whoAmI(server, created.key)).status, 200);
    const rotated = await server.request(`/v1/keys/${created.id}/rotate`, { method: 'POST', headers: bearer(ROOT_KEY) });
    assert.equal(rotated.status, 201);
    const refused = await whoAmI(server, created.key);
    assert.equal(refused.json?.code, 'KEY_REVOKED');
  });

  it('rotating a disabled key gives a disabled successor with every setting of the old key', async () => {
    const expiresAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const settings = {
      name: 'disabled-rotating',
      scopes: ['screenshot', 'usage:read'],
      limits: { rate: 5, burst: 7, daily: 99, concurrent: 2 },
      allowedHosts: ['example.com', '*.example.org'],
      allowedIps: ['127.0.0.0/8', '::1'],
      metadata: { team: 'web', tier: 2 },
      expiresAt,
    };
    for (const grace of [0, 60]) {
      const created = await createKey(server, settings);
      const disabled = await server.request(`/v1/keys/${created.id}`, { method: 'PATCH', body: { disabled: true }, headers: bearer(ROOT_KEY) });
      assert.equal(disabled.json?.state, 'disabled');
      const rotated = await server.request(`/v1/keys/${created.id}/rotate`, { body: { gracePeriodSeconds: grace }, headers: bearer(ROOT_KEY) });
      assert.equal(rotated.status, 201, JSON.stringify(rotated.json));
      const next = rotated.json as Record<string, unknown> & { id: string; key: string };
      const kept = Object.fromEntries(Object.keys(settings).map((field) => [field, next[field]]));
      assert.deepEqual(kept, settings, `grace ${grace}: every setting carried over`);
      assert.equal(next.disabled, true, `grace ${grace}: still disabled`);
      assert.equal(next.state, 'disabled');
      // The successor is refused as disabled, by the server itself, not just labelled so.
      assert.equal((await whoAmI(server, next.key)).json?.code, 'KEY_DISABLED');
      const stored = await server.request(`/v1/keys/${next.id}`, { headers: bearer(ROOT_KEY) });
      assert.equal(stored.json?.state, 'disabled', 'the stored successor is disabled too');
      // Enabling it then gives a working key with the old key's scopes.
      await server.request(`/v1/keys/${next.id}`, { method: 'PATCH', body: { disabled: false }, headers: bearer(ROOT_KEY) });
      const me = await whoAmI(server, next.key);
      assert.equal(me.status, 200, JSON.stringify(me.json));
      assert.deepEqual(me.json?.scopes, settings.scopes);
    }
  });

  it('never lets a grace period outlast the old key’s own expiry', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const created = await createKey(server, { name: 'short', scopes: ['screenshot'], expiresAt });
    const rotated = await server.request(`/v1/keys/${created.id}/rotate`, { body: { gracePeriodSeconds: 3600 }, headers: bearer(ROOT_KEY) });
    assert.equal(rotated.status, 201);
    const old = await server.request(`/v1/keys/${created.id}`, { headers: bearer(ROOT_KEY) });
    assert.equal(old.json?.expiresAt, expiresAt);
    await sleep(1700);
    assert.equal((await whoAmI(server, created.key)).json?.code, 'KEY_EXPIRED');
  });

  it('keeps an audit log of key events and failed authentications, without secrets', async () => {
    const created = await createKey(server, { name: 'audited', scopes: ['screenshot'] });
    await server.request(`/v1/keys/${created.id}`, { method: 'DELETE', headers: bearer(ROOT_KEY) });
    await whoAmI(server, created.key, '127.0.0.9');
    // Failed authentications are summarised per reason and minute, written by a flush.
    await server.app.authenticator.flush();
    const reply = await server.request('/v1/audit?limit=50', { headers: bearer(ROOT_KEY) });
    assert.equal(reply.status, 200);
    const events = (reply.json as { data: Array<Record<string, unknown>> }).data;
    const mine = events.filter((event) => event.keyId === created.id).map((event) => event.type);
    assert.ok(mine.includes('key.created') && mine.includes('key.revoked'), JSON.stringify(mine));
    const failure = events.find((event) => {
      const details = event.details as { clientIps?: string[] } | undefined;
      return event.type === 'auth.failed' && event.reason === 'KEY_REVOKED' && details?.clientIps?.includes('127.0.0.9');
    });
    assert.ok(failure, JSON.stringify(events.filter((event) => event.type === 'auth.failed')));
    assert.ok((failure.details as { keyHints: string[] }).keyHints.includes(created.hint as string));
    assert.equal(reply.body.toString().includes(created.key), false);
  });

  it('answers GET /v1/me for the root key', async () => {
    const reply = await whoAmI(server, ROOT_KEY);
    assert.equal(reply.status, 200);
    assert.equal(reply.json?.kind, 'root');
    assert.deepEqual(reply.json?.scopes, ['screenshot', 'usage:read', 'keys:manage']);
  });
});
