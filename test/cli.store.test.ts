/**
 * Which store `pageshot keys` and `pageshot usage` use, run from a directory that holds
 * none: they must say so (naming the path and the variables) instead of creating an
 * empty database there and reporting "no keys".
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli-process.js';

const ROOT = mkdtempSync(path.join(os.tmpdir(), 'pageshot-store-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));

/** A new, empty working directory. */
function workDir(name: string): string {
  const dir = path.join(ROOT, name);
  mkdirSync(dir);
  return dir;
}

/** No PAGESHOT_DATA_DIR (nor a database URL): the default ./data applies. */
const DEFAULT_STORE = { PAGESHOT_DATA_DIR: undefined, PAGESHOT_DATABASE_URL: undefined };

describe('pageshot keys and usage without a store', () => {
  it('list, show, revoke, rotate and usage from a directory without one refuse, naming the path, and create nothing', async () => {
    const cwd = workDir('elsewhere');
    const expected = path.join(cwd, 'data', 'pageshot.db');
    const commands = [['keys', 'list'], ['keys', 'list', '--json'], ['keys', 'show', 'key_x'], ['keys', 'revoke', 'key_x'], ['keys', 'rotate', 'key_x'], ['usage', '--key', 'root']];
    const runs = await Promise.all(commands.map((args) => runCli(args, { cwd, env: DEFAULT_STORE })));
    const wrong = runs.flatMap((run, index) => {
      const ok = run.code === 1 && run.stdout === '' && run.stderr.includes(expected) && run.stderr.includes('PAGESHOT_DATA_DIR') && run.stderr.includes('PAGESHOT_DATABASE_URL');
      return ok ? [] : [`${commands[index]!.join(' ')}: exit ${run.code}, stdout ${JSON.stringify(run.stdout)}, stderr ${JSON.stringify(run.stderr)}`];
    });
    assert.deepEqual(wrong, []);
    assert.deepEqual(readdirSync(cwd), [], 'no data directory, no database');
  });

  it('refuses likewise when PAGESHOT_DATA_DIR names a directory without a database, and leaves it as it was', async () => {
    const cwd = workDir('named');
    const empty = workDir('empty-data');
    const missing = path.join(ROOT, 'no-such-dir');
    for (const dir of [empty, missing]) {
      const run = await runCli(['keys', 'list'], { cwd, env: { ...DEFAULT_STORE, PAGESHOT_DATA_DIR: dir } });
      assert.equal(run.code, 1, run.stderr);
      assert.ok(run.stderr.includes(path.join(dir, 'pageshot.db')), run.stderr);
    }
    assert.deepEqual(readdirSync(empty), []);
    assert.equal(existsSync(missing), false);
  });

  it('create does not start a store in the default ./data; it does where PAGESHOT_DATA_DIR names one, and says so', async () => {
    const cwd = workDir('first-key');
    const implicit = await runCli(['keys', 'create', '--name', 'first'], { cwd, env: DEFAULT_STORE });
    assert.equal(implicit.code, 1);
    assert.ok(implicit.stderr.includes(path.join(cwd, 'data', 'pageshot.db')), implicit.stderr);
    assert.match(implicit.stderr, /PAGESHOT_DATA_DIR=data pageshot keys create/);
    assert.deepEqual(readdirSync(cwd), []);

    const explicit = await runCli(['keys', 'create', '--name', 'first', '--json'], { cwd, env: { ...DEFAULT_STORE, PAGESHOT_DATA_DIR: './data' } });
    assert.equal(explicit.code, 0, explicit.stderr);
    const created = JSON.parse(explicit.stdout) as { id: string };
    assert.ok(explicit.stderr.includes(path.join(cwd, 'data', 'pageshot.db')), 'the new store is named on standard error');

    // From then on the default finds it, from that directory.
    const listed = await runCli(['keys', 'list', '--json'], { cwd, env: DEFAULT_STORE });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal((JSON.parse(listed.stdout) as { id: string }).id, created.id);
    assert.equal(listed.stderr, '', 'nothing to say about an existing store');
  });
});
