import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { PageShotError, verifyWebhook, WebhookVerificationError, type WebhookHeaders } from '../clients/typescript/src/index.js';
import { PYTHON, pythonMissing, ROOT } from './helpers/python.js';

// A Node receiver passes `request.headers` as it is: this stops compiling if the type no longer takes it.
const _nodeHeadersFit = (headers: http.IncomingHttpHeaders): WebhookHeaders => headers;

/**
 * Both clients' webhook verifiers against deliveries signed by the npm `standardwebhooks`
 * package (the reference implementation, which nobody here wrote), case by case: each
 * verifier must accept what it signed and refuse every tampering, stale or future
 * timestamp and missing header.
 */

/** Runs `python3 args` with the Python client importable, `input` on stdin. */
function runPython(args: string[], input = ''): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, {
      cwd: ROOT,
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => ((stdout += chunk.toString()), (output += chunk.toString())));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output, stdout }));
    child.stdin.end(input);
  });
}

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const unixNow = () => Math.floor(Date.now() / 1000);

interface SignedHeaders extends Record<string, string> {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** Headers of a delivery signed by the reference library. */
function signed(secret: string, id: string, timestamp: number, body: string): SignedHeaders {
  const signature = new Webhook(secret).sign(id, new Date(timestamp * 1000), body);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

/** One delivery and what a verifier must make of it: its payload, or a refusal whose message matches. */
interface Case {
  name: string;
  secret: string;
  headers: Record<string, string>;
  body: string;
  expect: { payload: unknown } | { refused: RegExp };
}

const SECRET = newSecret();
const ID = 'msg_2fJk3Q0aZ9';
const BODY = JSON.stringify({
  type: 'job.succeeded',
  timestamp: '2026-12-01T04:00:03.000Z',
  data: { id: 'job_abc', status: 'succeeded', metadata: { order: 'ünïcode ✓ 42' }, error: null },
});
const PAYLOAD = JSON.parse(BODY) as unknown;
const MINUTE = 60;

/**
 * The shared cases. Timestamps are relative to the real clock, as a receiver sees them
 * (no `now`): 6 minutes is a minute past the 5-minute tolerance, 4 minutes a minute inside.
 */
function cases(): Case[] {
  const now = unixNow();
  const good = signed(SECRET, ID, now, BODY);
  const valid = good['webhook-signature'];
  const other = signed(newSecret(), ID, now, BODY)['webhook-signature'];
  const without = (name: string) => Object.fromEntries(Object.entries(good).filter(([key]) => key !== name));
  return [
    { name: 'a delivery as signed is accepted, payload parsed', secret: SECRET, headers: good, body: BODY, expect: { payload: PAYLOAD } },
    {
      name: 'header names in any case',
      secret: SECRET,
      headers: { 'Webhook-Id': ID, 'WEBHOOK-TIMESTAMP': String(now), 'Webhook-Signature': valid },
      body: BODY,
      expect: { payload: PAYLOAD },
    },
    {
      name: 'a secret without its whsec_ prefix (as the reference library allows)',
      secret: SECRET.slice('whsec_'.length),
      headers: good,
      body: BODY,
      expect: { payload: PAYLOAD },
    },
    { name: 'a tampered body is refused', secret: SECRET, headers: good, body: BODY.replace('job_abc', 'job_abd'), expect: { refused: /signature/ } },
    { name: 'a tampered webhook-id is refused', secret: SECRET, headers: { ...good, 'webhook-id': 'msg_other' }, body: BODY, expect: { refused: /signature/ } },
    {
      name: 'a tampered webhook-timestamp (1 s later, inside the tolerance) is refused',
      secret: SECRET,
      headers: { ...good, 'webhook-timestamp': String(now + 1) },
      body: BODY,
      expect: { refused: /signature/ },
    },
    { name: 'another secret is refused', secret: newSecret(), headers: good, body: BODY, expect: { refused: /signature/ } },
    {
      name: 'a correctly signed delivery 6 minutes old is refused',
      secret: SECRET,
      headers: signed(SECRET, ID, now - 6 * MINUTE, BODY),
      body: BODY,
      expect: { refused: /old/ },
    },
    {
      name: 'a correctly signed delivery 6 minutes in the future is refused',
      secret: SECRET,
      headers: signed(SECRET, ID, now + 6 * MINUTE, BODY),
      body: BODY,
      expect: { refused: /ahead/ },
    },
    { name: 'a delivery 4 minutes old is accepted', secret: SECRET, headers: signed(SECRET, ID, now - 4 * MINUTE, BODY), body: BODY, expect: { payload: PAYLOAD } },
    { name: 'a delivery 4 minutes ahead is accepted', secret: SECRET, headers: signed(SECRET, ID, now + 4 * MINUTE, BODY), body: BODY, expect: { payload: PAYLOAD } },
    { name: 'no webhook-id is refused', secret: SECRET, headers: without('webhook-id'), body: BODY, expect: { refused: /webhook-id/ } },
    { name: 'no webhook-timestamp is refused', secret: SECRET, headers: without('webhook-timestamp'), body: BODY, expect: { refused: /webhook-timestamp/ } },
    { name: 'no webhook-signature is refused', secret: SECRET, headers: without('webhook-signature'), body: BODY, expect: { refused: /webhook-signature/ } },
    { name: 'an empty webhook-signature is refused', secret: SECRET, headers: { ...good, 'webhook-signature': '' }, body: BODY, expect: { refused: /webhook-signature/ } },
    {
      name: 'a timestamp that is not Unix seconds is refused',
      secret: SECRET,
      headers: { ...good, 'webhook-timestamp': `${now}.5` },
      body: BODY,
      expect: { refused: /Unix seconds/ },
    },
    {
      name: 'several signatures, the valid one last, is accepted',
      secret: SECRET,
      headers: { ...good, 'webhook-signature': `${other} v1,${Buffer.alloc(32).toString('base64')} ${valid}` },
      body: BODY,
      expect: { payload: PAYLOAD },
    },
    {
      name: 'several signatures, the valid one first, is accepted',
      secret: SECRET,
      headers: { ...good, 'webhook-signature': `${valid} ${other}` },
      body: BODY,
      expect: { payload: PAYLOAD },
    },
    { name: 'several signatures, none valid, is refused', secret: SECRET, headers: { ...good, 'webhook-signature': `${other} ${other}` }, body: BODY, expect: { refused: /signature/ } },
    {
      name: 'the right signature under another version than v1 is refused',
      secret: SECRET,
      headers: { ...good, 'webhook-signature': valid.replace(/^v1,/, 'v1a,') },
      body: BODY,
      expect: { refused: /signature/ },
    },
    // Same length, one character off, at each end: the comparison must cover every character.
    ...[3, valid.length - 2, valid.length - 1].map((at) => ({
      name: `a signature with character ${at} changed is refused`,
      secret: SECRET,
      headers: { ...good, 'webhook-signature': valid.slice(0, at) + (valid[at] === 'B' ? 'C' : 'B') + valid.slice(at + 1) },
      body: BODY,
      expect: { refused: /signature/ },
    })),
    {
      name: 'a signature with a character more is refused',
      secret: SECRET,
      headers: { ...good, 'webhook-signature': `${valid}A` },
      body: BODY,
      expect: { refused: /signature/ },
    },
    {
      name: 'the same JSON re-serialized (not the bytes received) is refused',
      secret: SECRET,
      headers: good,
      body: JSON.stringify(PAYLOAD, null, 2),
      expect: { refused: /signature/ },
    },
    { name: 'a correctly signed body that is not JSON is refused', secret: SECRET, headers: signed(SECRET, ID, now, 'not json'), body: 'not json', expect: { refused: /not JSON/ } },
  ];
}

/** What a verifier made of one case: the payload, or the refusal's class and message. */
type Outcome = { payload: unknown } | { error: string; message: string };

function check(outcome: Outcome, expected: Case['expect'], secret: string, refusalClass: string): void {
  if ('payload' in expected) {
    assert.deepEqual(outcome, { payload: expected.payload });
    return;
  }
  assert.ok('error' in outcome, `expected a refusal, got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.error, refusalClass, outcome.message);
  assert.match(outcome.message, expected.refused);
  assert.ok(!outcome.message.includes(secret.replace(/^whsec_/, '')), 'the message does not show the secret');
}

async function verifyInTypeScript(c: Case): Promise<Outcome> {
  try {
    return { payload: await verifyWebhook(c.secret, c.headers, c.body) };
  } catch (error) {
    assert.ok(error instanceof PageShotError, String(error));
    return { error: error.constructor.name, message: error.message };
  }
}

/** Runs every case through the Python verifier in one process; outcomes in the same order. */
const PYTHON_VERIFIER = `
import json, sys
from pageshot import PageShotError, verify_webhook
out = []
for case in json.load(sys.stdin):
    try:
        out.append({"payload": verify_webhook(case["secret"], case["headers"], case["body"].encode("utf-8"))})
    except PageShotError as error:
        out.append({"error": type(error).__name__, "message": str(error)})
print(json.dumps(out))
`;

describe('webhook verifiers against deliveries signed by the standardwebhooks package', () => {
  const table = cases();

  describe('TypeScript verifyWebhook()', () => {
    for (const c of table) {
      it(c.name, async () => check(await verifyInTypeScript(c), c.expect, c.secret, 'WebhookVerificationError'));
    }

    it('takes a fetch Headers and a Buffer body; rejects with a WebhookVerificationError that is a PageShotError', async () => {
      const headers = new Headers(signed(SECRET, ID, unixNow(), BODY));
      assert.deepEqual(await verifyWebhook(SECRET, headers, Buffer.from(BODY)), PAYLOAD);
      const error = await verifyWebhook(SECRET, headers, Buffer.from(`${BODY} `)).catch((caught: unknown) => caught);
      assert.ok(error instanceof WebhookVerificationError);
      assert.ok(error instanceof PageShotError);
    });

    it("takes Node's request.headers shape: a one-element array is the value, two are refused", async () => {
      const good = signed(SECRET, ID, unixNow(), BODY);
      const asArrays = { ...good, 'webhook-signature': [good['webhook-signature']] };
      assert.deepEqual(await verifyWebhook(SECRET, asArrays, BODY), PAYLOAD);
      const twice = { ...good, 'webhook-id': [ID, 'msg_other'] };
      await assert.rejects(verifyWebhook(SECRET, twice, BODY), (error) => error instanceof WebhookVerificationError && /webhook-id/.test(error.message));
      const twoSpellings = { ...good, 'Webhook-Id': 'msg_other' };
      await assert.rejects(verifyWebhook(SECRET, twoSpellings, BODY), (error) => error instanceof WebhookVerificationError && /webhook-id/.test(error.message));
    });

    it('honours toleranceSeconds and now', async () => {
      const hourAgo = unixNow() - 3600;
      const old = signed(SECRET, ID, hourAgo, BODY);
      await assert.rejects(verifyWebhook(SECRET, old, BODY), /old/);
      assert.deepEqual(await verifyWebhook(SECRET, old, BODY, { now: new Date((hourAgo + 300) * 1000) }), PAYLOAD, 'exactly at the tolerance');
      await assert.rejects(verifyWebhook(SECRET, old, BODY, { now: new Date((hourAgo + 301) * 1000) }), /301 s old/);
      await assert.rejects(verifyWebhook(SECRET, old, BODY, { now: new Date((hourAgo - 301) * 1000) }), /301 s ahead/);
      const minuteAgo = signed(SECRET, ID, unixNow() - 60, BODY);
      await assert.rejects(verifyWebhook(SECRET, minuteAgo, BODY, { toleranceSeconds: 10 }), WebhookVerificationError);
      assert.deepEqual(await verifyWebhook(SECRET, minuteAgo, BODY, { toleranceSeconds: 120 }), PAYLOAD);
    });

    it('a malformed secret or a parsed body is a PageShotError, not a WebhookVerificationError, and never shows the secret', async () => {
      const headers = signed(SECRET, ID, unixNow(), BODY);
      // Almost right, so a careless message would quote it: a space, a stray character, bad padding.
      const leaky = newSecret();
      for (const secret of ['whsec_', 'whsec_A', `${leaky.slice(0, 20)} ${leaky.slice(20)}`, `${leaky}!`, `${leaky}===`]) {
        const error = await verifyWebhook(secret, headers, BODY).catch((caught: unknown) => caught);
        assert.ok(error instanceof PageShotError && !(error instanceof WebhookVerificationError), String(error));
        if (secret.length > 30) assert.ok(!error.message.includes(secret.slice(10, 30)), error.message);
      }
      const parsed = PAYLOAD as unknown as string;
      const error = await verifyWebhook(SECRET, headers, parsed).catch((caught: unknown) => caught);
      assert.ok(error instanceof PageShotError && !(error instanceof WebhookVerificationError) && /exactly as received/.test(error.message));
    });
  });

  describe('Python verify_webhook()', { skip: pythonMissing() }, () => {
    let outcomes: Outcome[] = [];
    before(async () => {
      const wire = table.map(({ secret, headers, body }) => ({ secret, headers, body }));
      const { code, output, stdout } = await runPython(['-c', PYTHON_VERIFIER], JSON.stringify(wire));
      assert.equal(code, 0, output);
      outcomes = JSON.parse(stdout) as Outcome[];
      assert.equal(outcomes.length, table.length);
    });

    table.forEach((c, index) => {
      it(c.name, () => check(outcomes[index]!, c.expect, c.secret, 'WebhookVerificationError'));
    });

    it('passes its unit tests (clients/python/tests/test_webhooks.py)', async (t) => {
      const { code, output } = await runPython(['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-p', 'test_webhooks.py', '-v']);
      assert.equal(code, 0, output);
      assert.match(output, /^Ran [1-9]\d* tests? in/m, output);
      assert.match(output, /^OK$/m, output);
      t.diagnostic(output.match(/^Ran .*$/m)![0]);
    });
  });
});
