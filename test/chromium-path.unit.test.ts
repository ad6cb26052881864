import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findChromium } from '../src/capture/chromium-path.js';

/** Asserts that `fn` throws an Error whose message names PAGESHOT_CHROMIUM_PATH. */
function assertNamesVariable(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.ok(error.message.includes('PAGESHOT_CHROMIUM_PATH'), `message does not name the variable: ${error.message}`);
    return true;
  });
}

describe('findChromium', () => {
  let dir: string;
  let executable: string;
  let plainFile: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-chromium-'));
    executable = path.join(dir, 'my-chrome');
    writeFileSync(executable, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    plainFile = path.join(dir, 'not-executable');
    writeFileSync(plainFile, 'just text\n', { mode: 0o644 });
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a configured path that is not executable, naming PAGESHOT_CHROMIUM_PATH', () => {
    assertNamesVariable(() => findChromium(plainFile, ''));
  });

  it('refuses a configured path that does not exist, naming PAGESHOT_CHROMIUM_PATH', () => {
    assertNamesVariable(() => findChromium(path.join(dir, 'missing'), ''));
  });

  it('does not fall back to /usr/bin/chromium when the configured path is unusable', () => {
    assertNamesVariable(() => findChromium(plainFile, '/usr/bin'));
  });

  it('returns a configured executable path as is', () => {
    assert.equal(findChromium(executable, ''), executable);
  });

  it('prefers the configured path over /usr/bin/chromium', () => {
    assert.equal(findChromium(executable, '/usr/bin'), executable);
  });

  it('finds /usr/bin/chromium when nothing is configured', () => {
    assert.equal(findChromium(undefined, ''), '/usr/bin/chromium');
  });

  it('refuses a configured directory as not an executable file', () => {
      assertNamesVariable(() => findChromium(dir, ''));
    },
  );
});
