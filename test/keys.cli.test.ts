/**
 * `pageshot keys …` run from source as a child process against one data directory, and
 * servers started on that same directory: keys made, revoked and rotated by the CLI are
 * what the server accepts and refuses. Also the admin key printed on a first start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hashKey } from '../src/auth/key-format.js';
import { startPageShot, tempDataDir, TEST_ENV, type TestServer } from './helpers/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KEY_SHAPE = /^ps_live_[0-9A-Za-z]{27}_[0-9A-Za-z]{6}$/;
const ROOT_KEY = 'keys-cli-suite-root-key-0123456789';

const dataDirs: string[] = [];
function dataDir(): string {
  const dir = tempDataDir();
  dataDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `pageshot keys …` from source against `dir` and waits for it to exit. */
function keys(dir: string, args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'keys', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...TEST_ENV, PAGESHOT_DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a keys command that must succeed with --json; returns the parsed output. */
async function keysJson(dir: string, args: string[]): Promise<Record<string, unknown>> {
  const run = await keys(dir, [...args, '--json']);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** Starts a server with auth on over `dir`, checks `check` against it, and stops it. */
async function withServer(dir: string, check: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startPageShot({ PAGESHOT_AUTH: 'on', PAGESHOT_DATA_DIR: dir, API_KEY: ROOT_KEY });
  try {
    await check(server);
  } finally {
    await server.stop();
  }
}

function bearer(key: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${key}` } };
}

describe('pageshot keys: a key through its life, seen by the server', () => {
  const dir = dataDir();
  let ciId: string;
  let ciKey: string;
  let ciHint: string;

  it('create --json prints the new key once, with its settings and no hash', async () => {
    const created = await keysJson(dir, ['create', '--name', 'ci', '--scopes', 'screenshot']);
    assert.match(String(created.key), KEY_SHAPE);
    assert.equal('hash' in created, false);
    assert.equal(created.name, 'ci');
    assert.deepEqual(created.scopes, ['screenshot']);
    assert.equal(created.state, 'active');
    assert.match(String(created.id), /^key_/);
    ciId = String(created.id);
    ciKey = String(created.key);
    ciHint = String(created.hint);
    assert.equal(ciHint, `ps_live_…${ciKey.slice(-4)}`);
    assert.ok(!JSON.stringify(created).includes(hashKey(ciKey)), 'the stored hash is not printed');
  });

  it('create without --json prints the key with a warning, and the limits and expiry given', async () => {
    const run = await keys(dir, [
      'create', '--name', 'limited', '--scopes', 'screenshot,usage:read', '--expires', '30d',
      '--rate', '5', '--burst', '10', '--daily', '1000', '--concurrent', '2',
      '--allowed-hosts', 'example.com,*.example.org', '--allowed-ips', '10.0.0.0/8,127.0.0.1',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const [keyLine] = run.stdout.split('\n');
    assert.match(keyLine!, KEY_SHAPE);
    assert.match(run.stdout, /store it now/);
    assert.match(run.stdout, /scopes: screenshot, usage:read; limits: rate=5 burst=10 daily=1000 concurrent=2; expires: \d{4}-/);
  });

  it('list shows the hint and never the key or its hash', async () => {
    const run = await keys(dir, ['list']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(ciId));
    assert.ok(run.stdout.includes(ciHint));
    assert.ok(!run.stdout.includes(ciKey), 'the key is not listed');
    assert.ok(!run.stdout.includes(hashKey(ciKey)), 'the hash is not listed');
    assert.match(run.stdout, /"limited"/);

    const json = await keys(dir, ['list', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const rows = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(rows.map((row) => row.name), ['ci', 'limited']);
    for (const row of rows) {
      assert.equal('hash' in row, false);
      assert.equal('key' in row, false);
    }
  });

  it('show ID describes one key', async () => {
    const run = await keys(dir, ['show', ciId]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^${ciId}  ${ciHint}  active  "ci"\\n  scopes: screenshot; limits: defaults; expires: never; last used: never\\n$`));
    assert.ok(!run.stdout.includes(ciKey));
    const json = await keysJson(dir, ['show', ciId]);
    assert.equal(json.id, ciId);
    assert.equal('hash' in json, false);
    assert.equal('key' in json, false);
  });

  it('a server on the same data directory accepts the CLI-made key', async () => {
    await withServer(dir, async (server) => {
      const me = await server.request('/v1/me', bearer(ciKey));
      assert.equal(me.status, 200, JSON.stringify(me.json));
      assert.deepEqual(
        { id: me.json?.id, kind: me.json?.kind, name: me.json?.name, scopes: me.json?.scopes, hint: me.json?.hint },
        { id: ciId, kind: 'key', name: 'ci', scopes: ['screenshot'], hint: ciHint },
      );
      // Its scopes are enforced: screenshot only, so no key management.
      const list = await server.request('/v1/keys', bearer(ciKey));
      assert.equal(list.json?.code, 'INSUFFICIENT_SCOPE');
    });
  });

  it('revoke ID, then a new server refuses the key with KEY_REVOKED', async () => {
    const revoked = await keysJson(dir, ['revoke', ciId]);
    assert.equal(revoked.state, 'revoked');
    assert.equal(typeof revoked.revokedAt, 'string');
    await withServer(dir, async (server) => {
      const me = await server.request('/v1/me', bearer(ciKey));
      assert.equal(me.status, 403);
      assert.equal(me.json?.code, 'KEY_REVOKED');
    });
    // Revoking again changes nothing and succeeds; rotating a revoked key is refused.
    assert.equal((await keysJson(dir, ['revoke', ciId])).revokedAt, revoked.revokedAt);
    const rotate = await keys(dir, ['rotate', ciId]);
    assert.equal(rotate.code, 1);
    assert.match(rotate.stderr, /^pageshot: KEY_ALREADY_REVOKED: /);
  });

  it('rotate ID --grace 0 --json issues a new key with the same settings and retires the old one at once', async () => {
    const old = await keysJson(dir, ['create', '--name', 'deploy', '--scopes', 'screenshot,usage:read', '--rate', '7']);
    const rotated = await keysJson(dir, ['rotate', String(old.id), '--grace', '0']);
    assert.match(String(rotated.key), KEY_SHAPE);
    assert.notEqual(rotated.key, old.key);
    assert.notEqual(rotated.id, old.id);
    assert.equal(rotated.rotatedFrom, old.id);
    assert.equal(rotated.name, 'deploy');
    assert.deepEqual(rotated.scopes, ['screenshot', 'usage:read']);
    assert.deepEqual(rotated.limits, { rate: 7 });
    assert.equal('hash' in rotated, false);
    assert.equal((await keysJson(dir, ['show', String(old.id)])).state, 'revoked');
    await withServer(dir, async (server) => {
      const fresh = await server.request('/v1/me', bearer(String(rotated.key)));
      assert.equal(fresh.status, 200, JSON.stringify(fresh.json));
      assert.equal(fresh.json?.id, rotated.id);
      const retired = await server.request('/v1/me', bearer(String(old.key)));
      assert.equal(retired.json?.code, 'KEY_REVOKED');
    });
  });

  it('rotate of a key disabled through the API issues a disabled key with every setting, which servers refuse', async () => {
    const old = await keysJson(dir, [
      'create', '--name', 'paused', '--scopes', 'screenshot,usage:read', '--expires', '30d', '--rate', '3', '--burst', '4',
      '--daily', '50', '--concurrent', '1', '--allowed-hosts', 'example.com,*.example.org', '--allowed-ips', '127.0.0.1',
    ]);
    await withServer(dir, async (server) => {
      const patched = await server.request(`/v1/keys/${String(old.id)}`, { method: 'PATCH', body: { disabled: true }, ...bearer(ROOT_KEY) });
      assert.equal(patched.json?.state, 'disabled', JSON.stringify(patched.json));
    });
    const rotated = await keysJson(dir, ['rotate', String(old.id), '--grace', '60']);
    assert.equal(rotated.state, 'disabled');
    assert.equal(rotated.disabled, true);
    const fields = ['name', 'scopes', 'limits', 'allowedHosts', 'allowedIps', 'metadata', 'expiresAt'];
    assert.deepEqual(
      Object.fromEntries(fields.map((field) => [field, rotated[field]])),
      Object.fromEntries(fields.map((field) => [field, old[field]])),
    );
    assert.equal((await keysJson(dir, ['show', String(rotated.id)])).state, 'disabled', 'stored disabled');
    const text = await keys(dir, ['show', String(rotated.id)]);
    assert.match(text.stdout, new RegExp(`^${String(rotated.id)}  \\S+  disabled  "paused"`));
    await withServer(dir, async (server) => {
      const refused = await server.request('/v1/me', { headers: { ...bearer(String(rotated.key)).headers, 'x-forwarded-for': '127.0.0.1' } });
      assert.equal(refused.json?.code, 'KEY_DISABLED', JSON.stringify(refused.json));
    });
  });

  it('rotate --grace S keeps the old key working until then', async () => {
    const old = await keysJson(dir, ['create', '--name', 'graceful']);
    const before = Date.now();
    await keysJson(dir, ['rotate', String(old.id), '--grace', '3600']);
    const shown = await keysJson(dir, ['show', String(old.id)]);
    assert.equal(shown.state, 'active');
    const expires = Date.parse(String(shown.expiresAt));
    assert.ok(expires >= before + 3_590_000 && expires <= Date.now() + 3_600_000, `expiresAt ${String(shown.expiresAt)}`);
  });
});

describe('pageshot keys: refusals', () => {
  const dir = dataDir();

  it('an unknown verb exits non-zero with the usage', async () => {
    const run = await keys(dir, ['explode']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /Unknown keys command "explode"/);
    assert.match(run.stderr, /pageshot keys create --name NAME/);
    assert.equal(run.stdout, '');
  });

  it('create without --name exits 1 naming --name', async () => {
    const run = await keys(dir, ['create', '--scopes', 'screenshot']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^pageshot: VALIDATION_ERROR: .*--name/);
    assert.equal(run.stdout, '');
  });

  it('create with an unknown scope exits 1 naming it and the valid scopes', async () => {
    const run = await keys(dir, ['create', '--name', 'x', '--scopes', 'bogus']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^pageshot: VALIDATION_ERROR: Unknown scope "bogus"; scopes: screenshot, usage:read, keys:manage\./);
  });

  it('create refuses bad limits, expiry, hosts and IPs', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--rate', 'fast'], /--rate must be a whole number/],
      [['--expires', 'tomorrow'], /expiresAt/],
      [['--expires', '2001-01-01T00:00:00Z'], /must be in the future/],
      [['--allowed-hosts', 'https://example.com/'], /not a host name/],
      [['--allowed-ips', '300.1.2.3'], /not an IP address/],
    ];
    for (const [flags, message] of cases) {
      const run = await keys(dir, ['create', '--name', 'x', ...flags]);
      assert.equal(run.code, 1, `${flags.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /^pageshot: VALIDATION_ERROR: /);
      assert.match(run.stderr, message);
    }
    // None of the refused creates stored a key.
    assert.equal((await keys(dir, ['list'])).stdout, '');
  });

  it('show, revoke and rotate of an unknown id exit 1 with KEY_NOT_FOUND', async () => {
    for (const verb of ['show', 'revoke', 'rotate']) {
      const run = await keys(dir, [verb, 'nope']);
      assert.equal(run.code, 1, verb);
      assert.match(run.stderr, /^pageshot: KEY_NOT_FOUND: No key with id "nope"\./);
    }
  });

  it(
    'create enforces what POST /v1/keys enforces: at least one scope, a name of at most 100 characters, limits up to 1e9',
    async () => {
      const own = dataDir();
      const cases = [
        ['--scopes', ''],
        ['--scopes', ','],
        ['--name', 'n'.repeat(101)],
        ['--rate', '1000000001'],
      ];
      const accepted: string[] = [];
      for (const flags of cases) {
        const run = await keys(own, ['create', '--name', 'x', ...flags]);
        if (run.code === 0) accepted.push(`${flags[0]} ${JSON.stringify(flags[1]!.slice(0, 12))}`);
      }
      assert.deepEqual(accepted, [], 'the CLI accepted settings the HTTP API refuses');
    },
  );

  it('show without an id exits 1 naming the id', async () => {
    const run = await keys(dir, ['show']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /keys show needs a key id/);
  });
});

describe('the admin key printed on a first start', () => {
  it('is printed once, works with every scope, and is not printed again on the same data directory', async () => {
    const dir = dataDir();
    const printed: string[] = [];
    const print = (text: string) => printed.push(text);

    const first = await startPageShot({ PAGESHOT_AUTH: 'on', PAGESHOT_DATA_DIR: dir }, { print });
    let adminKey: string;
    try {
      assert.equal(printed.length, 1);
      // One key, shown on its own and again in an `export PAGESHOT_API_KEY=…` line.
      const keys = [...new Set(printed[0]!.match(/ps_live_[0-9A-Za-z]{27}_[0-9A-Za-z]{6}/g) ?? [])];
      assert.equal(keys.length, 1, printed[0]);
      adminKey = keys[0]!;
      const me = await first.request('/v1/me', bearer(adminKey));
      assert.equal(me.status, 200, JSON.stringify(me.json));
      assert.equal(me.json?.kind, 'key');
      assert.deepEqual([...(me.json?.scopes as string[])].sort(), ['keys:manage', 'screenshot', 'usage:read']);
      assert.ok(printed[0]!.includes(String(me.json?.id)), 'the printed text names the key id');
      // keys:manage really works.
      const created = await first.request('/v1/keys', { ...bearer(adminKey), body: { name: 'made by admin', scopes: ['screenshot'] } });
      assert.equal(created.status, 201, JSON.stringify(created.json));
    } finally {
      await first.stop();
    }

    const second = await startPageShot({ PAGESHOT_AUTH: 'on', PAGESHOT_DATA_DIR: dir }, { print });
    try {
      assert.equal(printed.length, 1, 'nothing printed on the second start');
      const me = await second.request('/v1/me', bearer(adminKey));
      assert.equal(me.status, 200, 'the first admin key still works');
    } finally {
      await second.stop();
    }
  });

  it('is not issued when API_KEY is set, nor when authentication is off', async () => {
    const printed: string[] = [];
    const print = (text: string) => printed.push(text);
    const envs: Array<Record<string, string>> = [{ PAGESHOT_AUTH: 'on', API_KEY: ROOT_KEY }, { PAGESHOT_AUTH: 'off' }];
    for (const env of envs) {
      const dir = dataDir();
      const server = await startPageShot({ ...env, PAGESHOT_DATA_DIR: dir }, { print });
      await server.stop();
      assert.equal((await keys(dir, ['list'])).stdout, '', `no key stored with ${JSON.stringify(env)}`);
    }
    assert.deepEqual(printed, []);
  });
});
