import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { captureBodySchema, captureQuerySchema } from '../src/capture/options.js';
import { pdfOptionsSchema } from '../src/capture/outputs/pdf-options.js';
import { loadConfig } from '../src/config.js';
import { errorClassFor } from '../clients/typescript/src/errors.js';
import { ERROR_CODES, PageShot, PageShotError, ServerBusyError } from '../clients/typescript/src/index.js';
import { retryVerdict, type RetryPolicy } from '../clients/typescript/src/retry.js';
import { canonicalQuery, signature, SIGNED_URL_OPTIONS } from '../clients/typescript/src/signed-url.js';
import type { SignedUrlOptions } from '../clients/typescript/src/types.js';
import { PYTHON, pythonMissing, ROOT } from './helpers/python.js';

// The names a signed link may carry, as a type and as data, are the same list.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameSignedNames: Same<(typeof SIGNED_URL_OPTIONS)[number], keyof SignedUrlOptions> = true;

const limits = loadConfig({}).limits;
/** The parameters a signature adds to `GET /screenshot`: no option, so neither client takes them as one. */
const SIGNING_PARAMETERS = new Set(['keyId', 'expires', 'signature']);
/** The options of `GET /screenshot`: its query's parameters but a signature's own. */
const queryOptions = () => Object.keys(captureQuerySchema(limits).properties).filter((name) => !SIGNING_PARAMETERS.has(name)).sort();
const SECRET = 'pss_test_secret';
const VECTOR: Array<[string, string]> = [
  ['url', 'https://example.com/a b?x=1&y=ü'],
  ['width', '800'],
  ['fullPage', 'true'],
  ['keyId', 'key_abc'],
  ['expires', '1767225600'],
];
const CANONICAL = 'expires=1767225600&fullPage=true&keyId=key_abc&url=https%3A%2F%2Fexample.com%2Fa%20b%3Fx%3D1%26y%3D%C3%BC&width=800';
const SIGNATURE = '33c067e5597fd98188180556bba2e21a115f8619d4d14eb0801a2feb87aef1f4';
const signer = () => new PageShot({ baseUrl: 'https://shots.example.com/api/', signingSecret: SECRET, keyId: 'key_abc', apiKey: 'ps_unused' });

describe('TypeScript client: signed links', () => {
  it("makes the contract's test vector: canonical query and signature", () => {
    assert.equal(canonicalQuery(VECTOR), CANONICAL);
    assert.equal(signature(SECRET, CANONICAL), SIGNATURE);
    const url = signer().signedUrl({ url: 'https://example.com/a b?x=1&y=ü', width: 800, fullPage: true }, { now: new Date((1767225600 - 3600) * 1000) });
    assert.equal(url, `https://shots.example.com/api/screenshot?${CANONICAL}&signature=${SIGNATURE}`);
  });

  it('signs the expiry too, and writes booleans and numbers as the query carries them', () => {
    const now = new Date(0);
    const later = signer().signedUrl({ url: 'https://e.com' }, { now, expiresIn: 7200 });
    assert.match(later, /[?&]expires=7200&/);
    assert.notEqual(later.split('signature=')[1], signer().signedUrl({ url: 'https://e.com' }, { now }).split('signature=')[1]);
    const typed = signer().signedUrl({ url: 'https://e.com', deviceScaleFactor: 1.5, quality: 80, darkMode: false }, { now });
    assert.match(typed, /\?darkMode=false&deviceScaleFactor=1\.5&expires=3600&keyId=key_abc&quality=80&url=https%3A%2F%2Fe\.com&signature=[0-9a-f]{64}$/);
  });

  it('refuses what a signed link cannot carry, and signs nothing without a secret and key id', () => {
    const refused: unknown[] = [{ fulPage: true }, { cookies: [] }, { pdf: {} }, { keyId: 'other' }, { signature: 'x' }, { width: [800] }, { width: Number.NaN }, { html: 'a\ud800b' }, { url: 'https://e.com/\udc00' }];
    for (const extra of refused) {
      assert.throws(() => signer().signedUrl({ url: 'https://e.com', ...(extra as object) } as SignedUrlOptions), PageShotError, JSON.stringify(extra));
    }
    for (const expiresIn of [0, -1, 31_536_001, 1.5]) assert.throws(() => signer().signedUrl({ url: 'https://e.com' }, { expiresIn }), PageShotError);
    assert.throws(() => new PageShot({ apiKey: 'ps_x', baseUrl: 'http://localhost:1' }).signedUrl({ url: 'https://e.com' }), PageShotError);
    assert.throws(() => new PageShot({ apiKey: 'ps_x', signingSecret: SECRET }), PageShotError, 'a secret without its key id');
  });

  it('a client made only to sign links calls nothing, and never shows its secret', async () => {
    const saved = process.env.PAGESHOT_API_KEY;
    delete process.env.PAGESHOT_API_KEY;
    try {
      const onlySigns = new PageShot({ baseUrl: 'http://127.0.0.1:1', signingSecret: SECRET, keyId: 'key_abc' });
      await assert.rejects(onlySigns.me(), (error: unknown) => error instanceof PageShotError && /API key/.test(error.message));
      assert.equal(JSON.stringify(onlySigns).includes(SECRET), false);
      assert.equal((await import('node:util')).inspect(onlySigns, { showHidden: true, depth: Infinity }).includes(SECRET), false);
    } finally {
      if (saved !== undefined) process.env.PAGESHOT_API_KEY = saved;
    }
  });

  it("takes exactly the options of the server's GET /screenshot", () => {
    assert.deepEqual([...SIGNED_URL_OPTIONS].sort(), queryOptions());
  });
});

describe('TypeScript client: retries follow its copy of the error table', () => {
  const policy: RetryPolicy = { maxRetries: 3, maxRetryTimeMs: 1000, baseDelayMs: 1, maxDelayMs: 1, retryQuotaExceeded: false };
  const never = { onConnectionError: false, onTimeout: false };
  function verdict(status: number, code: string, bodyStatus?: string, quota = false): 'no' | 'yes' | 'unbounded' {
    const body = { error: 'x', code, ...(bodyStatus ? { status: bodyStatus } : {}) };
    const ErrorClass = errorClassFor(status);
    const error = new ErrorClass({ status, code, message: 'x', requestId: undefined, retryAfter: 1, body });
    const found = retryVerdict(error, never, { ...policy, retryQuotaExceeded: quota }, 1000);
    return found === undefined ? 'no' : found.unbounded ? 'unbounded' : 'yes';
  }

  it('retries every code exactly as the table says', () => {
    assert.ok(Object.keys(ERROR_CODES).length > 50);
    for (const [code, { status, retry }] of Object.entries(ERROR_CODES)) {
      assert.equal(verdict(status, code), retry === 'no' ? 'no' : 'yes', code);
      if (retry === 'at-reset') assert.equal(verdict(status, code, undefined, true), 'unbounded', code);
    }
  });

  it('judges a code the table lacks by the answer: a busy 503 and a 429 are retried, nothing else', () => {
    assert.equal(verdict(503, 'SOMETHING_NEW', 'busy'), 'yes');
    assert.equal(verdict(503, 'SOMETHING_NEW'), 'no');
    assert.equal(verdict(503, 'HTTP_503'), 'no');
    assert.equal(verdict(429, 'SOMETHING_NEW'), 'yes');
    assert.equal(verdict(500, 'SOMETHING_NEW', 'busy'), 'no');
    // The table wins over the body, and no code reaches Object's prototype.
    assert.equal(verdict(503, 'WORKER_LOST', 'busy'), 'no');
    assert.equal(verdict(503, 'constructor', 'busy'), 'yes');
    assert.ok(new (errorClassFor(503))({ status: 503, code: 'x', message: '', requestId: undefined, retryAfter: undefined, body: undefined }) instanceof ServerBusyError);
  });
});

describe('Python client: its typed options are the server’s', () => {
  it('names every option of POST /screenshot (as keyword arguments and in wire form), of pdf and of a cookie, and no other', { skip: pythonMissing() }, () => {
    const script = [
      'import json',
      'from pageshot.options import CAPTURE_OPTIONS, SCALAR_OPTIONS, ScreenshotOptions, _NESTED, camel',
      'names = lambda keys: sorted(camel(k) for k in keys)',
      'print(json.dumps({"capture": names(CAPTURE_OPTIONS), "scalar": names(SCALAR_OPTIONS), "pdf": names(_NESTED["pdf"]), "margin": names(_NESTED["margin"]), "cookie": names(_NESTED["cookies"]), "wire": sorted(ScreenshotOptions.__annotations__)}))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script], { cwd: ROOT, env: { ...process.env, PYTHONPATH: path.join(ROOT, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' }, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const python = JSON.parse(run.stdout) as Record<string, string[]>;
    const body = captureBodySchema(limits).properties;
    const keysOf = (schema: { properties: object }) => Object.keys(schema.properties).sort();
    assert.deepEqual(python.capture, Object.keys(body).sort());
    assert.deepEqual(python.wire, Object.keys(body).sort(), 'the wire-form TypedDict too');
    assert.deepEqual(python.scalar, queryOptions());
    assert.deepEqual(python.pdf, keysOf(pdfOptionsSchema()));
    assert.deepEqual(python.margin, keysOf(pdfOptionsSchema().properties.margin as unknown as { properties: object }));
    assert.deepEqual(python.cookie, keysOf(body.cookies.items as unknown as { properties: object }));
  });
});
