/**
 * `--help`, `-h` and `help` on every command and sub-command of the real CLI, and how
 * it refuses options it does not know. Help goes to standard output with status 0;
 * mistakes go to standard error with status 2 and a pointer at the right `--help`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { KEY_VERB_FLAGS } from '../src/cli-keys.js';
import { REMOTE_FLAGS } from '../src/cli-remote.js';
import { runCli } from './helpers/cli-process.js';

/** A data directory that must stay empty: no help or refused command may create a store. */
const EMPTY = mkdtempSync(path.join(os.tmpdir(), 'pageshot-help-'));
const ENV = { PAGESHOT_DATA_DIR: path.join(EMPTY, 'data') };
/** Loopback addresses only, and a file in the temporary directory, even if a command did run. */
const TARGET = 'http://127.0.0.1:9/';
const OUTPUT = path.join(EMPTY, 'shot.png');
after(() => rmSync(EMPTY, { recursive: true, force: true }));

/** Each way of asking for help, and a line its answer must hold. */
const HELP_CASES: Array<[args: string[], shows: RegExp]> = [
  [[], /pageshot keys <command>/],
  [['--help'], /pageshot keys <command>/],
  [['-h'], /pageshot serve \[--role/],
  [['help'], /pageshot shoot <url> -o FILE/],
  [['help', 'keys'], /pageshot keys rotate ID/],
  [['serve', '--help'], /--role all\|api\|worker/],
  [['serve', '-h'], /PAGESHOT_DATA_DIR/],
  [['shoot', '--help'], /-o, --output FILE/],
  [['shoot', '-h'], /--cache-ttl SECONDS/],
  [['shoot', TARGET, '--remote', 'http://127.0.0.1:9', '--help'], /--remote URL/],
  [['keys'], /pageshot keys create --name NAME/],
  [['keys', '--help'], /pageshot keys create --name NAME/],
  [['keys', '-h'], /pageshot keys list/],
  [['keys', 'help'], /pageshot keys show ID/],
  [['keys', 'create', '--help'], /--scopes LIST .*\(default: screenshot\)/],
  [['keys', 'create', '-h'], /--name NAME/],
  [['keys', 'list', '--help'], /pageshot keys list \[--json\]/],
  [['keys', 'show', '-h'], /pageshot keys show ID/],
  [['keys', 'revoke', '--help'], /pageshot keys revoke ID/],
  [['keys', 'rotate', '--help'], /--grace SECONDS[^\n]*\n[^\n]*\(default: 0/],
  [['keys', 'help', 'rotate'], /--grace SECONDS/],
  // Help wins over any other mistake on the same line.
  [['keys', 'create', '--bogus', '--help'], /--name NAME/],
  [['usage', '--help'], /--key ID/],
  [['usage', '-h'], /--from YYYY-MM-DD/],
];

describe('pageshot --help', () => {
  it('prints usage for every command and sub-command to standard output and exits 0', async () => {
    const runs = await Promise.all(HELP_CASES.map(([args]) => runCli(args, { env: ENV })));
    const wrong = HELP_CASES.flatMap(([args, shows], index) => {
      const run = runs[index]!;
      const ok = run.code === 0 && run.stderr === '' && /Usage:/.test(run.stdout) && shows.test(run.stdout);
      return ok ? [] : [`${args.join(' ') || '(nothing)'}: exit ${run.code}, stdout ${JSON.stringify(run.stdout.slice(0, 200))}, stderr ${JSON.stringify(run.stderr.slice(0, 200))}`];
    });
    assert.deepEqual(wrong, []);
    assert.equal(existsSync(ENV.PAGESHOT_DATA_DIR), false, 'help created no data directory');
  });

  it('lists every option each keys sub-command accepts', async () => {
    for (const [verb, flags] of Object.entries(KEY_VERB_FLAGS)) {
      const run = await runCli(['keys', verb, '--help'], { env: ENV });
      assert.equal(run.code, 0, run.stderr);
      const missing = Object.keys(flags).filter((flag) => !run.stdout.includes(`--${flag}`));
      assert.deepEqual(missing, [], `keys ${verb} --help`);
    }
  });

  it('lists every option of shoot with the ranges and defaults the environment sets', async () => {
    const run = await runCli(['shoot', '--help'], { env: { ...ENV, PAGESHOT_MAX_WIDTH: '2000' } });
    assert.equal(run.code, 0, run.stderr);
    const missing = Object.keys(REMOTE_FLAGS).filter((flag) => !run.stdout.includes(`--${flag}`));
    assert.deepEqual(missing, []);
    assert.match(run.stdout, /--width N \(100-2000\) +viewport width in CSS pixels \(default: 1280\)/);
    assert.match(run.stdout, /--format png\|jpeg\|webp\|pdf +.*\(default: png\)/);
  });

  it('still answers --help while a setting is invalid, showing the built-in defaults', async () => {
    const env = { ...ENV, PAGESHOT_DEFAULT_RATE: 'lots', PAGESHOT_MAX_WIDTH: 'wide' };
    const create = await runCli(['keys', 'create', '--help'], { env });
    assert.equal(create.code, 0, create.stderr);
    assert.match(create.stdout, /PAGESHOT_DEFAULT_RATE, here 200\)/);
    const shoot = await runCli(['shoot', '--help'], { env });
    assert.equal(shoot.code, 0, shoot.stderr);
    assert.match(shoot.stdout, /--width N \(100-3840\)/);
    // The command itself still refuses the bad setting, naming it.
    const list = await runCli(['keys', 'list'], { env });
    assert.equal(list.code, 1);
    assert.match(list.stderr, /PAGESHOT_DEFAULT_RATE/);
  });
});

describe('pageshot with an option it does not know', () => {
  const CASES: Array<[args: string[], option: string, help: string]> = [
    [['keys', 'list', '--bogus'], '--bogus', 'pageshot keys list --help'],
    [['keys', 'rotate', 'key_x', '--force'], '--force', 'pageshot keys rotate --help'],
    // An option of another sub-command is refused, not silently ignored.
    [['keys', 'create', '--name', 'x', '--grace', '5'], '--grace', 'pageshot keys create --help'],
    // "-h" right after --name is its (ambiguous, so refused) value, not a request for help.
    [['keys', 'create', '--name', '-h'], '--name', 'pageshot keys create --help'],
    [['shoot', TARGET, '-o', OUTPUT, '--bogus'], '--bogus', 'pageshot shoot --help'],
    [['shoot', TARGET, '-o', OUTPUT, '--remote', 'http://127.0.0.1:9', '--bogus'], '--bogus', 'pageshot shoot --help'],
    [['serve', '--bogus'], '--bogus', 'pageshot serve --help'],
    [['usage', '--key', 'root', '-x'], '-x', 'pageshot usage --help'],
  ];

  it('exits 2, names the option and points at the command’s --help, writing nothing to standard output', async () => {
    const runs = await Promise.all(CASES.map(([args]) => runCli(args, { env: { ...ENV, PAGESHOT_API_KEY: 'unused-key-0123456789' } })));
    const wrong = CASES.flatMap(([args, option, help], index) => {
      const run = runs[index]!;
      const ok = run.code === 2 && run.stdout === '' && run.stderr.includes(`'${option}'`) && run.stderr.includes(help);
      return ok ? [] : [`${args.join(' ')}: exit ${run.code}, stderr ${JSON.stringify(run.stderr.slice(0, 300))}`];
    });
    assert.deepEqual(wrong, []);
    assert.equal(existsSync(ENV.PAGESHOT_DATA_DIR), false, 'a refused command created no data directory');
  });

  it('refuses an unknown command and an unknown keys command with the usage, exit 2', async () => {
    const top = await runCli(['explode'], { env: ENV });
    assert.equal(top.code, 2);
    assert.match(top.stderr, /"explode"[\s\S]*Usage:/);
    const keys = await runCli(['keys', 'explode'], { env: ENV });
    assert.equal(keys.code, 2);
    assert.match(keys.stderr, /"explode"[\s\S]*pageshot keys create --name NAME/);
    assert.equal(keys.stdout, '');
  });
});
