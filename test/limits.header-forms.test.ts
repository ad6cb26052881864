/**
 * The rate-limit headers of real PageShot answers, in each form PAGESHOT_RATELIMIT_HEADERS
 * offers, read by the parsers people use: `ratelimit-header-parser` from npm, and our
 * own TypeScript and Python clients. Every parsed figure is checked against the truth
 * worked out from the key's policy and the time of each request, not against the
 * headers themselves. Also: X-RateLimit-Reset is the true second, on the in-process and
 * the Redis backends.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseRateLimit as stockParse } from 'ratelimit-header-parser';
import { parseRateLimit as clientParse } from '../clients/typescript/src/rate-limit.js';
import type { RateLimitHeaderForm } from '../src/config.js';
import { startPageShot, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, createKey, whoAmI } from './helpers/keys.js';
import { PYTHON, pythonMissing, ROOT } from './helpers/python.js';
import { noRedisServer, startPrivateRedis } from './helpers/redis-server.js';

/** One answer and the client-clock window it was made in. */
interface Observed {
  reply: Reply;
  before: number;
  after: number;
}

/** What an answer must say: exact limit and remaining; the true reset instant lies in [resetFrom, resetTo] ms. */
interface Truth {
  limit: number;
  remaining: number;
  resetFrom: number;
  resetTo: number;
}

/** What a parser made of an answer (reset in ms since 1970). */
interface Parsed {
  limit: number;
  remaining: number;
  reset: number | undefined;
}

async function observe(server: TestServer, key: string): Promise<Observed> {
  const before = Date.now();
  const reply = await whoAmI(server, key);
  return { reply, before, after: Date.now() };
}

/** The next 00:00 UTC after `ms`. */
const nextMidnight = (ms: number): number => (Math.floor(ms / 86_400_000) + 1) * 86_400_000;

/**
 * Holds a parsed answer to the truth. Limit and remaining exactly; the reset no earlier
 * than the true instant (a client waiting for it is never early) and at most one second
 * of rounding after it, plus the time between the request and the parse (delta forms
 * count from the parse).
 */
function assertTruthful(parsed: Parsed | undefined, truth: Truth, seen: Observed, parsedAt: number, label: string): void {
  assert.ok(parsed, `${label}: nothing parsed`);
  assert.equal(parsed.limit, truth.limit, `${label}: limit`);
  assert.equal(parsed.remaining, truth.remaining, `${label}: remaining`);
  assert.ok(parsed.reset !== undefined && Number.isFinite(parsed.reset), `${label}: reset ${parsed.reset}`);
  const latest = truth.resetTo + 1_000 + (parsedAt - seen.before);
  assert.ok(parsed.reset >= truth.resetFrom && parsed.reset <= latest, `${label}: reset ${parsed.reset - truth.resetFrom} ms after the earliest true reset (at most ${latest - truth.resetFrom})`);
}

/** Node's headers as a fetch Headers, as a browser or undici user has them. */
function fetchHeaders(headers: http.IncomingHttpHeaders, drop?: RegExp): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string' && !drop?.test(name)) out.set(name, value);
  }
  return out;
}

/** The Python client's parse_rate_limit over each header set, with `now` given in ms. */
function pythonParse(sets: Array<{ headers: Record<string, string>; now: number }>): Array<Parsed | null> {
  const script = `
import http.client, json, sys
from datetime import datetime, timezone
from pageshot.rate_limit import parse_rate_limit
out = []
for item in json.load(sys.stdin):
    headers = http.client.HTTPMessage()
    for name, value in item["headers"].items():
        headers[name] = value
    state = parse_rate_limit(headers, datetime.fromtimestamp(item["now"] / 1000, timezone.utc))
    out.append(None if state is None else {"limit": state.limit, "remaining": state.remaining, "reset": state.reset.timestamp() * 1000,
        "policies": sorted(state.policies)})
print(json.dumps(out))
`;
  const run = spawnSync(PYTHON, ['-c', script], {
    cwd: ROOT,
    input: JSON.stringify(sets),
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1' },
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Array<Parsed | null>;
}

const stringHeaders = (headers: http.IncomingHttpHeaders, drop?: RegExp): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !drop?.test(entry[0])));

const X_RATELIMIT = /^x-ratelimit-/;
const FORMS: readonly RateLimitHeaderForm[] = ['draft-10', 'draft-7', 'draft-6', 'none'];

for (const form of FORMS) {
  describe(`PAGESHOT_RATELIMIT_HEADERS=${form}`, () => {
    let server: TestServer;
    /** Each answer with the truth it must tell, gathered by the first test. */
    const answers: Array<{ seen: Observed; truth: Truth; parsedAt: number }> = [];

    before(async () => {
      server = await startPageShot({ ...AUTH_ENV, PAGESHOT_RATELIMIT_HEADERS: form });
      // A bucket of five at one request per second (key rates are whole numbers): sent
      // back to back, its answers say 4, 3, 2, 1, 0 left, then 429, and all of them reset
      // when the first request's token is back, 1 s after it. That holds only if the six
      // answers came within that second: on a machine too loaded for it, a new key tries again.
      for (let attempt = 0; attempt < 3 && answers.length === 0; attempt++) {
        const burst = await createKey(server, { name: `burst-${attempt}`, scopes: ['screenshot'], limits: { rate: 1, burst: 5, daily: 1000 } });
        const seen: Observed[] = [];
        for (let i = 0; i < 6; i++) seen.push(await observe(server, burst.key));
        if (seen[5]!.after - seen[0]!.before >= 900) continue;
        const window = { resetFrom: seen[0]!.before + 1_000, resetTo: seen[0]!.after + 1_000 };
        for (const [i, one] of seen.entries()) {
          assert.equal(one.reply.status, i < 5 ? 200 : 429);
          answers.push({ seen: one, truth: { limit: 5, remaining: Math.max(0, 4 - i), ...window }, parsedAt: one.after });
        }
      }
      assert.equal(answers.length, 6, 'six answers within one second, in three tries');
      // A small daily quota, closest to refusing: 2, 1, 0 left; it resets at 00:00 UTC.
      const daily = await createKey(server, { name: 'daily', scopes: ['screenshot'], limits: { rate: 200, burst: 500, daily: 3 } });
      for (let left = 2; left >= 0; left--) {
        const seen = await observe(server, daily.key);
        const midnight = nextMidnight(seen.after);
        answers.push({ seen, truth: { limit: 3, remaining: left, resetFrom: midnight, resetTo: midnight }, parsedAt: seen.after });
      }
      assert.equal(answers.length, 9);
    });
    after(async () => {
      await server.stop();
    });

    if (form === 'draft-10') {
      it('is the one form ratelimit-header-parser 0.1.0 cannot read: it finds RateLimit and reads NaN (express-rate-limit/ratelimit-header-parser#3)', () => {
        for (const { seen } of answers) {
          const parsed = stockParse(seen.reply.headers);
          assert.ok(parsed && Number.isNaN(parsed.limit) && Number.isNaN(parsed.remaining), JSON.stringify(parsed));
        }
      });
    } else {
      it('is read by ratelimit-header-parser as the true limit, remaining and reset of every answer', () => {
        for (const [i, { seen, truth }] of answers.entries()) {
          const parsedAt = Date.now();
          const parsed = stockParse(seen.reply.headers);
          assertTruthful(parsed && { ...parsed, reset: parsed.reset?.getTime() }, truth, seen, parsedAt, `answer ${i}`);
        }
      });
    }

    it('is read by the TypeScript client as the true figures, from X-RateLimit-* and, with those stripped, from the IETF fields alone', () => {
      for (const [i, { seen, truth, parsedAt }] of answers.entries()) {
        const state = clientParse(fetchHeaders(seen.reply.headers), new Date(parsedAt));
        assertTruthful(state && { ...state, reset: state.reset.getTime() }, truth, seen, parsedAt, `answer ${i}`);
        assert.deepEqual(Object.keys(state!.policies).sort(), form === 'draft-10' ? ['burst', 'daily'] : [], `answer ${i}: named policies`);
        const stripped = clientParse(fetchHeaders(seen.reply.headers, X_RATELIMIT), new Date(parsedAt));
        if (form === 'none') assert.equal(stripped, undefined, 'nothing left to read');
        else assertTruthful(stripped && { ...stripped, reset: stripped.reset.getTime() }, truth, seen, parsedAt, `answer ${i} without X-RateLimit-*`);
      }
    });

    it('is read by the Python client as the true figures, from X-RateLimit-* and, with those stripped, from the IETF fields alone', { skip: pythonMissing() }, () => {
      const whole = pythonParse(answers.map(({ seen, parsedAt }) => ({ headers: stringHeaders(seen.reply.headers), now: parsedAt })));
      const stripped = pythonParse(answers.map(({ seen, parsedAt }) => ({ headers: stringHeaders(seen.reply.headers, X_RATELIMIT), now: parsedAt })));
      for (const [i, { seen, truth, parsedAt }] of answers.entries()) {
        assertTruthful(whole[i] ?? undefined, truth, seen, parsedAt, `answer ${i}`);
        assert.deepEqual((whole[i] as unknown as { policies: string[] }).policies, form === 'draft-10' ? ['burst', 'daily'] : []);
        if (form === 'none') assert.equal(stripped[i], null, 'nothing left to read');
        else assertTruthful(stripped[i] ?? undefined, truth, seen, parsedAt, `answer ${i} without X-RateLimit-*`);
      }
    });

    it('sends exactly the fields of its form, and always the X-RateLimit-* trio', () => {
      const names = Object.keys(answers[0]!.seen.reply.headers).filter((name) => /ratelimit/.test(name)).sort();
      const ietf = { 'draft-10': ['ratelimit', 'ratelimit-policy'], 'draft-7': ['ratelimit', 'ratelimit-policy'], 'draft-6': ['ratelimit-limit', 'ratelimit-policy', 'ratelimit-remaining', 'ratelimit-reset'], none: [] }[form];
      assert.deepEqual(names, [...ietf, 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'].sort());
    });
  });
}

describe('X-RateLimit-Reset over HTTP', () => {
  it('is the first whole second after a fast key\'s next token, not one or two seconds on', async () => {
    const server = await startPageShot(AUTH_ENV);
    try {
      // 200/s: one token back every 5 ms. Spaced answers land at different fractions of a second.
      const { key } = await createKey(server, { name: 'fast', scopes: ['screenshot'], limits: { rate: 200, burst: 10, daily: 1000 } });
      for (let sample = 0; sample < 8; sample++) {
        const seen = await observe(server, key);
        const reset = Number(seen.reply.headers['x-ratelimit-reset']) * 1000;
        assert.equal(seen.reply.headers['x-ratelimit-remaining'], '9', 'the bucket was full again');
        const earliest = Math.ceil((seen.before + 5) / 1000) * 1000;
        const latest = Math.ceil((seen.after + 5) / 1000) * 1000;
        assert.ok(reset >= earliest && reset <= latest, `reset ${reset - seen.after} ms after the answer; the token was back 5 ms after the request`);
        await new Promise((resolve) => setTimeout(resolve, 130));
      }
    } finally {
      await server.stop();
    }
  });

  it('is exactly 00:00 UTC when the daily quota is closest, in process and on Redis\'s clock', { skip: noRedisServer }, async () => {
    const redis = await startPrivateRedis();
    const servers = [await startPageShot(AUTH_ENV), await startPageShot({ ...AUTH_ENV, PAGESHOT_REDIS_URL: redis.url })];
    try {
      for (const [i, server] of servers.entries()) {
        const { key } = await createKey(server, { name: `day-${i}`, scopes: ['screenshot'], limits: { rate: 200, burst: 500, daily: 5 } });
        for (let sample = 0; sample < 5; sample++) {
          const seen = await observe(server, key);
          assert.equal(seen.reply.headers['x-ratelimit-limit'], '5', 'the daily quota is closest');
          if (nextMidnight(seen.before) !== nextMidnight(seen.after)) continue; // straddled midnight
          assert.equal(seen.reply.headers['x-ratelimit-reset'], String(nextMidnight(seen.after) / 1000), `${i ? 'Redis' : 'in process'}, answer ${sample}`);
        }
      }
    } finally {
      for (const server of servers) await server.stop();
      await redis.kill();
    }
  });
});
