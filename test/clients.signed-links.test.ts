import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PageShot } from '../clients/typescript/src/index.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey } from './helpers/keys.js';
import { PYTHON, pythonMissing, ROOT } from './helpers/python.js';

/** A link made by the Python client, from a child process. */
function pythonSignedUrl(baseUrl: string, secret: string, keyId: string, options: Record<string, unknown>, expiresIn = 600, now?: number): string {
  const script = [
    'import json, sys',
    'from pageshot import PageShot',
    'base, secret, key_id, options, expires_in, now = json.loads(sys.argv[1])',
    'print(PageShot(base_url=base, signing_secret=secret, key_id=key_id).signed_url(options, expires_in=expires_in, now=now))',
  ].join('\n');
  const args = JSON.stringify([baseUrl, secret, keyId, options, expiresIn, now ?? null]);
  const run = spawnSync(PYTHON, ['-c', script, args], {
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1', PAGESHOT_API_KEY: '' },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

/** The link with one query parameter changed; its signature stays what it was. */
function changed(url: string, name: string, value: string): string {
  const link = new URL(url);
  link.searchParams.set(name, value);
  return link.href;
}

describe('signed links made by both clients, loaded from a real PageShot without a key', () => {
  let site: FixtureSite;
  let server: TestServer;
  let secret: string;
  let keyId: string;
  let options: { url: string; width: number; height: number };

  before(async () => {
    site = await startFixtureSite();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_AUTH_FAILURES_PER_MINUTE: '1000' });
    const key = await createKey(server, { name: 'embeds', scopes: ['screenshot'] });
    const reply = await server.request('/v1/me/signing-secrets', { method: 'POST', headers: bearer(key.key) });
    assert.equal(reply.status, 201, reply.body.toString());
    ({ secret, keyId } = reply.json as { secret: string; keyId: string });
    options = { url: `${site.url}/`, width: 400, height: 300 };
  });
  after(async () => {
    await server.stop();
    await site.close();
  });

  /** Loads a link as an `<img>` would: a plain GET, no key. */
  async function load(url: string): Promise<{ status: number; type: string | null; body: Buffer }> {
    const answer = await fetch(url);
    return { status: answer.status, type: answer.headers.get('content-type'), body: Buffer.from(await answer.arrayBuffer()) };
  }

  async function assertLoads(url: string): Promise<void> {
    const answer = await load(url);
    assert.equal(answer.status, 200, answer.body.toString().slice(0, 200));
    assert.equal(answer.type, 'image/png');
    const image = await decodeImage(answer.body);
    assert.deepEqual([image.width, image.height], [400, 300]);
  }

  async function assertRefused(url: string, code: string): Promise<void> {
    const answer = await load(url);
    assert.equal(answer.status, 403, answer.body.toString().slice(0, 200));
    assert.equal((JSON.parse(answer.body.toString()) as { code: string }).code, code);
  }

  it('a TypeScript link loads (200, the image asked for); a changed or added parameter gets 403 SIGNATURE_INVALID', async () => {
    const url = new PageShot({ baseUrl: server.url, signingSecret: secret, keyId }).signedUrl(options, { expiresIn: 600 });
    assert.ok(url.startsWith(`${server.url}/screenshot?`));
    await assertLoads(url);
    await assertRefused(changed(url, 'width', '401'), 'SIGNATURE_INVALID');
    await assertRefused(changed(url, 'fullPage', 'true'), 'SIGNATURE_INVALID');
  });

  it('a Python link loads (200, the image asked for); a changed parameter gets 403 SIGNATURE_INVALID', { skip: pythonMissing() }, async () => {
    const url = pythonSignedUrl(server.url, secret, keyId, options);
    assert.ok(url.startsWith(`${server.url}/screenshot?`));
    await assertLoads(url);
    await assertRefused(changed(url, 'height', '299'), 'SIGNATURE_INVALID');
  });

  it('both clients make the same link for the same options and time, and an expired one gets 403 SIGNATURE_EXPIRED', { skip: pythonMissing() }, async () => {
    const now = Math.floor(Date.now() / 1000) - 120;
    const typescript = new PageShot({ baseUrl: server.url, signingSecret: secret, keyId }).signedUrl(options, { expiresIn: 60, now: new Date(now * 1000) });
    assert.equal(pythonSignedUrl(server.url, secret, keyId, options, 60, now), typescript);
    await assertRefused(typescript, 'SIGNATURE_EXPIRED');
  });
});
