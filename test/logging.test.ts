/**
 * LOG_FORMAT: `json` (pino's lines, the default) or `pretty` (one line per entry for
 * people), with the same redaction and serializers in both.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger, prettyDestination } from '../src/logger.js';
import { httpRequest, tempDataDir, TEST_ENV } from './helpers/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Asserts that loading `env` throws a ConfigError whose message starts with `variable=`. */
function assertRefused(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.ok(error.message.startsWith(`${variable}=`), `does not name ${variable} first: ${error.message}`);
      return true;
    },
  );
}

/** A pretty logger writing into memory; `text()` is what it wrote so far. */
function prettyLogger(colorize?: boolean) {
  const sink = new PassThrough();
  let written = '';
  sink.on('data', (chunk: Buffer) => (written += chunk.toString()));
  const logger = createLogger('info', prettyDestination({ destination: sink, ...(colorize === undefined ? {} : { colorize }) }));
  return { logger, text: () => written };
}

/** True when `line` parses as a JSON object. */
function isJsonObject(line: string): boolean {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}

describe('LOG_FORMAT in the configuration', () => {
  it('is json by default and reads json or pretty (any case)', () => {
    assert.equal(loadConfig({}).logFormat, 'json');
    assert.equal(loadConfig({ LOG_FORMAT: 'json' }).logFormat, 'json');
    assert.equal(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
    assert.equal(loadConfig({ LOG_FORMAT: ' Pretty ' }).logFormat, 'pretty');
  });

  it('takes PAGESHOT_LOG_FORMAT over LOG_FORMAT, and LOG_FORMAT when PAGESHOT_LOG_FORMAT is empty', () => {
    assert.equal(loadConfig({ PAGESHOT_LOG_FORMAT: 'pretty', LOG_FORMAT: 'json' }).logFormat, 'pretty');
    assert.equal(loadConfig({ PAGESHOT_LOG_FORMAT: 'json', LOG_FORMAT: 'pretty' }).logFormat, 'json');
    assert.equal(loadConfig({ PAGESHOT_LOG_FORMAT: '', LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
  });

  it('refuses anything else with a ConfigError naming the variable that held it', () => {
    assertRefused({ LOG_FORMAT: 'xml' }, 'LOG_FORMAT');
    assertRefused({ PAGESHOT_LOG_FORMAT: 'xml', LOG_FORMAT: 'json' }, 'PAGESHOT_LOG_FORMAT');
  });
});

describe('the pretty logger', () => {
  it('writes one line per entry: time, level, message, then the fields as key=value; not JSON, no colours by default here', () => {
    const { logger, text } = prettyLogger();
    logger.info({ requestId: 'r-1', durationMs: 12, note: 'two words' }, 'capture done');
    logger.warn('careful');
    const lines = text().trimEnd().split('\n');
    assert.equal(lines.length, 2, text());
    const [first = '', second = ''] = lines;
    assert.match(first, /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} [+-]\d{4}\] INFO: capture done requestId=r-1 durationMs=12 note="two words"$/);
    assert.match(second, /\] WARN: careful$/);
    assert.ok(!isJsonObject(first), 'not a JSON object');
    // The test runner's standard output is a pipe, not a terminal: no ANSI escapes.
    assert.ok(!text().includes('\u001b['), 'no colour codes');
  });

  it('colours the level when asked (as it is on a terminal)', () => {
    const { logger, text } = prettyLogger(true);
    logger.info('hello');
    assert.ok(text().includes('\u001b['), 'colour codes');
  });

  it('still redacts keys and applies the serializers: no authorization, x-api-key or query string is printed', () => {
    const { logger, text } = prettyLogger();
    const secret = 'ps_live_SECRET0123456789';
    logger.info({ headers: { authorization: `Bearer ${secret}`, 'x-api-key': secret } }, 'headers seen');
    logger.info({ req: { method: 'GET', url: `/screenshot?url=https://example.com&token=${secret}`, ip: '127.0.0.1', headers: { authorization: `Bearer ${secret}` } } }, 'request');
    const output = text();
    assert.ok(!output.includes(secret), output);
    assert.match(output, /headers seen headers\.authorization=\[redacted\] headers\.x-api-key=\[redacted\]/);
    assert.match(output, /request req\.method=GET req\.path=\/screenshot req\.remoteAddress=127\.0\.0\.1$/m);
  });
});

describe('pageshot serve with LOG_FORMAT=pretty', () => {
  it('prints human lines on standard output, "Server listening" included, and its last line before exiting', async () => {
    const dataDir = tempDataDir();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
      cwd: ROOT,
      env: { ...process.env, ...TEST_ENV, PAGESHOT_LOG_LEVEL: 'info', LOG_FORMAT: 'pretty', PAGESHOT_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.resume();
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "Server listening" line within 60 s: ${lines.join('\n')}`)), 60_000);
        createInterface({ input: child.stdout! }).on('line', (line) => {
          lines.push(line);
          // Found in either format, so that a JSON line fails the assertions below instead of a wait.
          const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
          if (!match) return;
          clearTimeout(timer);
          resolve(match[1]!);
        });
        child.on('exit', (code) => reject(new Error(`serve exited early with ${code}: ${lines.join('\n')}`)));
      });
      const listening = lines.find((line) => line.includes('Server listening'))!;
      assert.ok(!isJsonObject(listening), `a JSON line: ${listening}`);
      assert.match(listening, /^\[[^\]]+\] INFO: Server listening at http/);
      assert.equal((await httpRequest(url, '/readyz')).status, 200);
      // Which store it reads, so "no keys" is never a mystery of the working directory.
      assert.ok(lines.some((line) => line.includes('store opened') && line.includes(`${dataDir}/pageshot.db`)), `no store line: ${lines.join('\n')}`);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.ok(lines.some((line) => /INFO: stopped durationsMs\.http=\d+/.test(line)), `no "stopped" line: ${lines.join('\n')}`);
      assert.ok(lines.every((line) => !isJsonObject(line)), `a JSON line: ${lines.join('\n')}`);
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
