import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import os from 'node:os';
import { ConfigError, loadConfig } from '../src/config.js';

/** Asserts that loading `env` throws a ConfigError whose message names `variable`. */
function assertRejected(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.equal(error.name, 'ConfigError');
      assert.ok(error.message.includes(variable), `message does not name ${variable}: ${error.message}`);
      return true;
    },
  );
}

describe('loadConfig defaults', () => {
  const config = loadConfig({});

  it('listens on 0.0.0.0:3000 when HOST and PORT are unset', () => {
    assert.equal(config.port, 3000);
    assert.equal(config.host, '0.0.0.0');
  });

  it('queues at most 10 requests and sheds load above 95% CPU by default', () => {
    assert.equal(config.maxQueue, 10);
    assert.equal(config.cpuBusyPercent, 95);
  });

  it('caps full-page captures at 16384 px tall by default', () => {
    assert.equal(config.limits.maxFullPageHeight, 16384);
  });

  it('runs two captures per core at once by default', () => {
    assert.ok(config.maxConcurrency >= 2, `maxConcurrency is ${config.maxConcurrency}`);
    assert.equal(config.maxConcurrency, Math.max(2, 2 * os.availableParallelism()));
  });

  it('logs at info, trusts no proxy, allows no private network and has no Chromium path by default', () => {
    assert.equal(config.logLevel, 'info');
    assert.equal(config.trustProxy, false);
    assert.deepEqual(config.allowPrivateNetworks, []);
    assert.equal(config.chromiumPath, undefined);
  });

  it('keeps the default request timeout within the maximum timeout', () => {
    assert.equal(config.limits.defaultTimeoutMs, 30_000);
    const short = loadConfig({ PAGESHOT_MAX_TIMEOUT_MS: '5000' });
    assert.equal(short.limits.maxTimeoutMs, 5000);
    assert.equal(short.limits.defaultTimeoutMs, 5000);
  });

  it('treats an empty or blank numeric variable as unset', () => {
    assert.equal(loadConfig({ PORT: '' }).port, 3000);
    assert.equal(loadConfig({ PAGESHOT_MAX_QUEUE: '   ' }).maxQueue, 10);
  });
});

describe('loadConfig reads valid values', () => {
  it('reads PORT, HOST, PAGESHOT_MAX_QUEUE and PAGESHOT_CPU_BUSY_PERCENT', () => {
    const config = loadConfig({ PORT: '8080', HOST: '127.0.0.1', PAGESHOT_MAX_QUEUE: '0', PAGESHOT_CPU_BUSY_PERCENT: '100' });
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.maxQueue, 0);
    assert.equal(config.cpuBusyPercent, 100);
  });

  it('reads PAGESHOT_LOG_LEVEL, falling back to LOG_LEVEL', () => {
    assert.equal(loadConfig({ PAGESHOT_LOG_LEVEL: 'silent' }).logLevel, 'silent');
    assert.equal(loadConfig({ LOG_LEVEL: 'debug' }).logLevel, 'debug');
    assert.equal(loadConfig({ PAGESHOT_LOG_LEVEL: 'warn', LOG_LEVEL: 'debug' }).logLevel, 'warn');
  });

  it('parses PAGESHOT_ALLOW_PRIVATE_NETWORKS as a comma-separated list of CIDR ranges', () => {
    const { allowPrivateNetworks } = loadConfig({ PAGESHOT_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8, ::1/128,10.0.0.0/8' });
    assert.equal(allowPrivateNetworks.length, 3);
    const described = allowPrivateNetworks.map(([address, bits]) => `${address.kind()} ${address.toString()}/${bits}`);
    assert.deepEqual(described, ['ipv4 127.0.0.0/8', 'ipv6 ::1/128', 'ipv4 10.0.0.0/8']);
  });

  it('reads PAGESHOT_TRUST_PROXY=true as trusting every proxy', () => {
    assert.equal(loadConfig({ PAGESHOT_TRUST_PROXY: 'true' }).trustProxy, true);
  });

  it('reads PAGESHOT_TRUST_PROXY=false as trusting none', () => {
    assert.equal(loadConfig({ PAGESHOT_TRUST_PROXY: 'false' }).trustProxy, false);
  });

  it('reads a numeric PAGESHOT_TRUST_PROXY as a hop count', () => {
    const { trustProxy } = loadConfig({ PAGESHOT_TRUST_PROXY: '2' });
    assert.equal(trustProxy, 2);
    assert.equal(typeof trustProxy, 'number');
  });

  it('passes a PAGESHOT_TRUST_PROXY list of IPs and CIDRs through as a string', () => {
    assert.equal(loadConfig({ PAGESHOT_TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).trustProxy, '10.0.0.0/8,127.0.0.1');
    assert.equal(loadConfig({ PAGESHOT_TRUST_PROXY: '::1/128' }).trustProxy, '::1/128');
  });

  it('reads PAGESHOT_CHROMIUM_PATH, treating an empty value as unset', () => {
    assert.equal(loadConfig({ PAGESHOT_CHROMIUM_PATH: '/opt/chrome' }).chromiumPath, '/opt/chrome');
    assert.equal(loadConfig({ PAGESHOT_CHROMIUM_PATH: '' }).chromiumPath, undefined);
  });
});

describe('loadConfig normalises what it reads', () => {
  it('reads an IPv4-mapped range in PAGESHOT_ALLOW_PRIVATE_NETWORKS as the plain IPv4 range it means', () => {
    const ranges = loadConfig({ PAGESHOT_ALLOW_PRIVATE_NETWORKS: '::ffff:127.0.0.0/104' }).allowPrivateNetworks;
    assert.deepEqual(
      ranges.map(([range, bits]) => [range.kind(), range.toString(), bits]),
      [['ipv4', '127.0.0.0', 8]],
    );
  });

  it('falls back to LOG_LEVEL when PAGESHOT_LOG_LEVEL is empty', () => {
    assert.equal(loadConfig({ PAGESHOT_LOG_LEVEL: '', LOG_LEVEL: 'debug' }).logLevel, 'debug');
  });

  it('refuses hexadecimal and exponent spellings of integers', () => {
    assert.throws(() => loadConfig({ PORT: '0x10' }), ConfigError);
    assert.throws(() => loadConfig({ PORT: '1e3' }), ConfigError);
  });
});

describe('loadConfig refuses bad values with a ConfigError naming the variable', () => {
  const cases: Array<[variable: string, value: string]> = [
    ['PORT', 'abc'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PAGESHOT_MAX_QUEUE', '-1'],
    ['PAGESHOT_MAX_CONCURRENCY', '0'],
    ['PAGESHOT_ALLOW_PRIVATE_NETWORKS', 'not-a-cidr'],
    ['PAGESHOT_ALLOW_PRIVATE_NETWORKS', '127.0.0.0/8,nope'],
    ['PAGESHOT_ALLOW_PRIVATE_NETWORKS', '127.0.0.1'],
    ['PAGESHOT_LOG_LEVEL', 'loud'],
    ['PAGESHOT_TRUST_PROXY', 'garbage'],
    ['PAGESHOT_TRUST_PROXY', '10.0.0.0/8,garbage'],
    ['PAGESHOT_CPU_BUSY_PERCENT', '101'],
    ['PAGESHOT_CPU_BUSY_PERCENT', '0'],
  ];
  for (const [variable, value] of cases) {
    it(`refuses ${variable}=${JSON.stringify(value)} and names ${variable}`, () => {
      assertRejected({ [variable]: value }, variable);
    });
  }

  it('puts the refused value in the message', () => {
    assert.throws(() => loadConfig({ PORT: 'abc' }), (error: unknown) => error instanceof ConfigError && error.message.includes('"abc"'));
  });

  it('names LOG_LEVEL when the bad level came from LOG_LEVEL', () => {
      assert.throws(
        () => loadConfig({ LOG_LEVEL: 'loud' }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /^LOG_LEVEL=/);
          assert.ok(!error.message.includes('PAGESHOT_LOG_LEVEL'), `names a variable that was not set: ${error.message}`);
          return true;
        },
      );
    },
  );
});

describe('result cache settings', () => {
  it('caches nothing by default, keeps 256 MiB in memory, lets requests ask for up to a day, and keeps keys apart', () => {
    const { cache } = loadConfig({});
    assert.deepEqual(cache, { defaultTtlSeconds: 0, maxTtlSeconds: 86_400, maxBytes: 268_435_456, shared: false, redisUrl: undefined });
  });

  it('reads the TTLs, the byte budget, sharing and the Redis URL, and lowers the default TTL to the maximum', () => {
    const { cache } = loadConfig({
      PAGESHOT_CACHE_TTL: '600',
      PAGESHOT_CACHE_MAX_TTL: '300',
      PAGESHOT_CACHE_MAX_BYTES: '1048576',
      PAGESHOT_CACHE_SHARED: 'true',
      PAGESHOT_REDIS_URL: 'redis://127.0.0.1:6379',
    });
    assert.deepEqual(cache, { defaultTtlSeconds: 300, maxTtlSeconds: 300, maxBytes: 1_048_576, shared: true, redisUrl: 'redis://127.0.0.1:6379' });
  });

  for (const [variable, value] of [
    ['PAGESHOT_CACHE_TTL', '-1'],
    ['PAGESHOT_CACHE_TTL', '1.5'],
    ['PAGESHOT_CACHE_TTL', '31536001'],
    ['PAGESHOT_CACHE_MAX_TTL', 'day'],
    ['PAGESHOT_CACHE_MAX_BYTES', '-5'],
    ['PAGESHOT_CACHE_SHARED', 'maybe'],
  ] as const) {
    it(`refuses ${variable}=${value}`, () => assertRejected({ [variable]: value }, variable));
  }
});

describe('rate-limit header form (PAGESHOT_RATELIMIT_HEADERS)', () => {
  it('sends the draft-10 fields by default, an empty value included', () => {
    assert.equal(loadConfig({}).rateLimits.headers, 'draft-10');
    assert.equal(loadConfig({ PAGESHOT_RATELIMIT_HEADERS: ' ' }).rateLimits.headers, 'draft-10');
  });

  it('reads draft-10, draft-7, draft-6 and none, in any case and with spaces around', () => {
    for (const form of ['draft-10', 'draft-7', 'draft-6', 'none'] as const) {
      assert.equal(loadConfig({ PAGESHOT_RATELIMIT_HEADERS: form }).rateLimits.headers, form);
    }
    assert.equal(loadConfig({ PAGESHOT_RATELIMIT_HEADERS: ' Draft-7 ' }).rateLimits.headers, 'draft-7');
  });

  // `both` cannot exist: draft-7 and draft-10 share the field names RateLimit and RateLimit-Policy.
  for (const value of ['both', 'draft-8', 'draft7', 'x', 'draft-10,draft-7']) {
    it(`refuses PAGESHOT_RATELIMIT_HEADERS=${value}`, () => assertRejected({ PAGESHOT_RATELIMIT_HEADERS: value }, 'PAGESHOT_RATELIMIT_HEADERS'));
  }
});

describe('admission and Chromium priority settings', () => {
  it('runs one capture per core however busy the CPU is, never more than the cap', () => {
    const cores = os.availableParallelism();
    assert.equal(loadConfig({}).baseConcurrency, Math.min(cores, loadConfig({}).maxConcurrency));
    assert.equal(loadConfig({ PAGESHOT_MAX_CONCURRENCY: '1' }).baseConcurrency, 1);
    assert.equal(loadConfig({ PAGESHOT_MAX_CONCURRENCY: '8', PAGESHOT_BASE_CONCURRENCY: '3' }).baseConcurrency, 3);
  });

  it('refuses a base above the cap, or below one', () => {
    assertRejected({ PAGESHOT_MAX_CONCURRENCY: '2', PAGESHOT_BASE_CONCURRENCY: '3' }, 'PAGESHOT_BASE_CONCURRENCY');
    assertRejected({ PAGESHOT_BASE_CONCURRENCY: '0' }, 'PAGESHOT_BASE_CONCURRENCY');
  });

  it('lets Chromium raise its threads\' priority unless PAGESHOT_CHROMIUM_PRIORITIES=false', () => {
    assert.equal(loadConfig({}).chromiumPriorities, true);
    assert.equal(loadConfig({ PAGESHOT_CHROMIUM_PRIORITIES: 'false' }).chromiumPriorities, false);
    assertRejected({ PAGESHOT_CHROMIUM_PRIORITIES: 'sometimes' }, 'PAGESHOT_CHROMIUM_PRIORITIES');
  });
});
