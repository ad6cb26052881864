/**
 * The CLI writing into a pipe whose reader has gone (`pageshot keys list --json | head -1`):
 * it ends quietly with status 141 (128 + SIGPIPE, what a shell reports for any program
 * cut off that way), never with a stack trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeyService } from '../src/auth/key-service.js';
import { EXIT_PIPE_CLOSED } from '../src/cli-output.js';
import { openDatabase } from '../src/store/database.js';
import { KeyStore } from '../src/store/key-store.js';
import { finished, REPO, startCli } from './helpers/cli-process.js';

const DATA_DIR = mkdtempSync(path.join(os.tmpdir(), 'pageshot-pipes-'));
const ENV = { PAGESHOT_DATA_DIR: DATA_DIR };
/** Keys of ~3 KB each: `list` prints about 1 MB, far more than a pipe buffers (64 KB). */
const KEYS = 300;

before(async () => {
  const database = await openDatabase({ dataDir: DATA_DIR });
  try {
    const service = new KeyService(new KeyStore(database.db), { prefix: 'ps_live', defaultLimits: { rate: 200, burst: 500 } });
    for (let i = 0; i < KEYS; i++) await service.create({ name: `pipe-${i}`, scopes: ['screenshot'], metadata: { pad: 'x'.repeat(3000) } }, null);
  } finally {
    await database.close();
  }
});
after(() => rmSync(DATA_DIR, { recursive: true, force: true }));

describe('pageshot writing into a closed pipe', () => {
  for (const args of [['keys', 'list', '--json'], ['keys', 'list']]) {
    it(`${args.join(' ')} ends quietly when its reader stops after the first line`, async () => {
      const child = startCli(args, { env: ENV });
      const firstLine = new Promise<string>((resolve) => {
        let seen = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (!seen.includes('\n')) return;
          // Like `head -1`: take the line, close the pipe, read nothing more.
          child.stdout!.destroy();
          resolve(seen.slice(0, seen.indexOf('\n')));
        });
      });
      const run = await finished(child);
      assert.match(await firstLine, args.includes('--json') ? /^\{"id":"key_/ : /^key_\w+ {2}ps_live_…/);
      assert.equal(run.stderr, '', 'nothing on standard error: no stack trace');
      assert.equal(run.code, EXIT_PIPE_CLOSED);
    });
  }

  it('every command ends quietly when standard output is closed before it writes', async () => {
    const cases = [['--help'], ['--version'], ['keys', '--help'], ['keys', 'rotate', '--help'], ['shoot', '--help'], ['usage', '--help'], ['keys', 'list', '--json']];
    const runs = await Promise.all(
      cases.map((args) => {
        const child = startCli(args, { env: ENV });
        child.stdout!.destroy(); // before the command has even started
        return finished(child);
      }),
    );
    const loud = runs.flatMap((run, index) => (run.code === EXIT_PIPE_CLOSED && run.stderr === '' ? [] : [`${cases[index]!.join(' ')}: exit ${run.code}, stderr ${run.stderr.slice(0, 300)}`]));
    assert.deepEqual(loud, []);
  });

  it('in a shell pipeline into head -1, one line comes out and the pipeline reports 141 under pipefail', async () => {
    const cli = `"${process.execPath}" --import tsx src/cli.ts keys list --json`;
    const shell = spawn('bash', ['-c', `set -o pipefail; ${cli} | head -n 1; echo "status=$?" >&2`], {
      cwd: REPO,
      env: { ...process.env, PAGESHOT_LOG_LEVEL: 'silent', ...ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run = await finished(shell);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0]!) as { name: string }).name, 'pipe-0');
    assert.equal(run.stderr, `status=${EXIT_PIPE_CLOSED}\n`, 'no stack trace, and the cut is visible to pipefail');
  });
});
