/**
 * One error table (`ERRORS`, src/errors.ts) and everything that repeats it: the README's
 * table, both clients' copies (status and retry advice), the error classes the README
 * names. A code added, a status or a retry rule changed in one place and not the others
 * turns this suite red.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES as TS_CLIENT_CODES } from '../clients/typescript/src/error-codes.js';
import { ERRORS, REFUNDED_CODES } from '../src/errors.js';
import { errorTable, withErrorTable } from '../scripts/readme-errors.js';
import { PYTHON, pythonMissing, ROOT } from './helpers/python.js';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** Status and retry advice of every code, as the clients hold them. */
const serverView = () => Object.fromEntries(Object.entries(ERRORS).map(([code, { status, retry }]) => [code, { status, retry }]));

describe('the error table', () => {
  it('gives every code a status, a retry advice and a sentence', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      assert.match(code, /^[A-Z][A-Z_]+$/);
      assert.ok(spec.status >= 400 && spec.status < 600, code);
      assert.ok(['yes', 'no', 'at-reset'].includes(spec.retry), code);
      assert.ok(spec.description.length > 10, code);
    }
  });

  it('refunds only failures of ours: 5xx, never a refusal of the caller', () => {
    for (const code of REFUNDED_CODES) assert.ok(ERRORS[code].status >= 500, code);
    assert.ok(!REFUNDED_CODES.has('RATE_LIMITED'));
    assert.ok(REFUNDED_CODES.has('QUEUE_FULL'));
  });

  it('is the README table, row for row (npm run docs:errors writes it)', () => {
    assert.equal(withErrorTable(README), README, 'README.md differs from ERRORS: run npm run docs:errors');
    for (const code of Object.keys(ERRORS)) assert.ok(errorTable().includes(`\`${code}\``));
  });

  it('is the TypeScript client copy, code for code', () => {
    assert.deepEqual({ ...TS_CLIENT_CODES }, serverView());
  });

  it('is the Python client copy, code for code', { skip: pythonMissing() }, () => {
    const dump = spawnSync(
      PYTHON,
      ['-c', 'import json; from pageshot.error_codes import ERROR_CODES as c; print(json.dumps({k: {"status": v[0], "retry": v[1]} for k, v in c.items()}))'],
      { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.join(ROOT, 'clients/python') } },
    );
    assert.equal(dump.status, 0, dump.stderr);
    assert.deepEqual(JSON.parse(dump.stdout), serverView());
  });

  it('names in the README every error class the TypeScript client throws', () => {
    const source = readFileSync(path.join(ROOT, 'clients/typescript/src/errors.ts'), 'utf8');
    const classes = [...source.matchAll(/^export class (\w+)/gm)].map((match) => match[1]!);
    assert.ok(classes.includes('ConflictError'));
    const missing = classes.filter((name) => !README.includes(`\`${name}\``));
    assert.deepEqual(missing, []);
  });

});
