import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { HOST_PATTERN } from './auth/host-patterns.js';
import { KEY_PREFIX_SHAPE } from './auth/key-format.js';
import {
  availableMemoryBytes,
  DEFAULT_POOL_CONTEXT_MB,
  DEFAULT_POOL_MEMORY_SHARE,
  MAX_POOL_CONTEXTS,
  poolSizeForMemory,
} from './capture/pool-size.js';

/**
 * Where Debian's `webext-ublock-origin-chromium` installs EasyList and EasyPrivacy as
 * plain text: lists from a package, so PageShot downloads nothing at run time and an
 * operator refreshes them with the system's package updates.
 */
const DEFAULT_FILTER_LISTS_DIR = '/usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist';

/** Limits that bound what one capture may ask for (OWASP API4: resource consumption). */
export interface CaptureLimits {
  maxWidth: number;
  maxHeight: number;
  maxFullPageHeight: number;
  /** Image pixels (width × height × scale²) one capture may produce. */
  maxPixels: number;
  /** Bytes of `css` and of `js` each. */
  maxScriptBytes: number;
  /** Extra headers, and cookies, one capture may set. */
  maxHeaders: number;
  maxCookies: number;
  maxDelayMs: number;
  maxTimeoutMs: number;
  defaultTimeoutMs: number;
  maxHtmlBytes: number;
  /** Pages one PDF may have. */
  maxPdfPages: number;
  /** Bytes one PDF may have. */
  maxPdfBytes: number;
}

/** The whole configuration of a PageShot process, read once from the environment. */
export interface Config {
  host: string;
  port: number;
  logLevel: string;
  /** `json`: one pino JSON object per line (for log collectors); `pretty`: one human line per entry (for a terminal). */
  logFormat: LogFormat;
  /** Fastify's trustProxy: whose X-Forwarded-For to believe when telling clients apart. */
  trustProxy: boolean | number | string;
  chromiumPath: string | undefined;
  /** Chromium's own sandbox: `auto` (on where the machine allows, else off with a warning), `on`, `off`. */
  chromiumSandbox: 'auto' | 'on' | 'off';
  /** The unprivileged user Chromium runs as when PageShot runs as root. */
  chromiumUser: string;
  /** Whether Chromium, run as chromiumUser with its sandbox, keeps CAP_SYS_NICE to raise its threads' priority. */
  chromiumPriorities: boolean;
  /** CIDR ranges that may be reached although they are private (tests, intranets). */
  allowPrivateNetworks: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
  /** Host patterns never captured or loaded. */
  denyHosts: string[];
  /** When not empty, the only host patterns captured or loaded. */
  allowHosts: string[];
  /** When set, the only ports Chromium may connect to. */
  allowedPorts: number[] | undefined;
  /** Captures at once while the CPU has room (PAGESHOT_MAX_CONCURRENCY). */
  maxConcurrency: number;
  /** Captures at once however busy the CPU is (PAGESHOT_BASE_CONCURRENCY); see Admission. */
  baseConcurrency: number;
  maxQueue: number;
  queueTimeoutMs: number;
  cpuBusyPercent: number;
  shutdownTimeoutMs: number;
  pool: PoolConfig;
  browserMaxCaptures: number;
  limits: CaptureLimits;
  auth: AuthConfig;
  store: { dataDir: string; databaseUrl: string | undefined };
  /** Directory of easylist.txt (`blockAds`) and easyprivacy.txt (`blockTrackers`). */
  filterListsDir: string;
  /** Parse the filter lists at start-up (true), or when a capture first needs them. */
  filterListsPreload: boolean;
  tls: { certFile: string; keyFile: string } | undefined;
  /** Refuse requests that did not arrive over HTTPS (directly, or per a trusted proxy). */
  requireHttps: boolean;
  rateLimits: LimitsConfig;
  cache: CacheConfig;
  /** Bearer token that may read /metrics besides a `keys:manage` key. */
  metricsToken: string | undefined;
  /** How long the HTTP server waits for slow or idle clients. */
  http: HttpTimeouts;
  /** What this process does in a cluster: everything, the public API only, or captures only. */
  role: Role;
  jobs: JobsConfig;
}

/** How log lines are written (PAGESHOT_LOG_FORMAT, else LOG_FORMAT). */
export type LogFormat = 'json' | 'pretty';

/**
 * `all`: one process does everything (the default). `api`: authenticates, limits and
 * hands captures to workers through the queue; starts no browser. `worker`: takes
 * captures from the queue; serves only /status, /healthz and /metrics.
 */
export type Role = 'all' | 'api' | 'worker';

/** The job queue (BullMQ on Redis) behind async jobs and the api/worker split. */
export interface JobsConfig {
  /** Seconds a finished job, its result and its webhook record are kept. */
  resultTtlSeconds: number;
  /** A running job whose worker stops renewing its lock this long is taken back (worker crash). */
  lockMs: number;
  /** Async jobs that may wait at once, cluster-wide; one more is refused with QUEUE_FULL. */
  maxQueued: number;
  /** Bytes one async job's result may take; a larger one fails the job with RESULT_TOO_LARGE. */
  maxResultBytes: number;
  /** Bytes of results one key may keep stored at once (0: no cap); once reached, RESULT_STORAGE_FULL. */
  maxStoredBytesPerKey: number;
  /** Result downloads one key may have running at once on one node; one more is TOO_MANY_DOWNLOADS. */
  maxDownloadsPerKey: number;
}

/**
 * Deadlines for clients, enforced by Node's HTTP server so that connections that never
 * finish a request (slowloris) or sit idle are closed after seconds, not minutes.
 * https://nodejs.org/api/http.html#httpcreateserveroptions-requestlistener
 */
export interface HttpTimeouts {
  /** Time to receive the request line and every header. */
  headersTimeoutMs: number;
  /** Time to receive the whole request, body included (0 = none). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open between requests. */
  keepAliveTimeoutMs: number;
  /** How often Node looks for requests past those deadlines. */
  connectionsCheckingIntervalMs: number;
}

/** Per-key rate limits, quotas and where their state lives. */
export interface LimitsConfig {
  /** Defaults for keys without overrides (and, without authentication, per client IP). */
  defaults: { rate: number; burst: number; daily: number; concurrent: number };
  /** Redis shared by instances; undefined = state in this process. */
  redisUrl: string | undefined;
  /** What to do while Redis is unreachable. */
  onStoreFailure: 'local' | 'open' | 'closed';
  /** Which IETF rate-limit fields answers carry beside `X-RateLimit-*` (PAGESHOT_RATELIMIT_HEADERS). */
  headers: RateLimitHeaderForm;
}

/**
 * The IETF rate-limit fields sent beside the always-present `X-RateLimit-*` trio:
 * `draft-10` the structured `RateLimit` / `RateLimit-Policy` lists (one named item per
 * policy), `draft-7` the combined `RateLimit: limit=…, remaining=…, reset=…`, `draft-6`
 * the separate `RateLimit-Limit` / `-Remaining` / `-Reset`, `none` no IETF field.
 * draft-7 and draft-10 use the same field names with different syntaxes, so no mode
 * sends both. See src/limits/headers.ts.
 */
export type RateLimitHeaderForm = 'draft-10' | 'draft-7' | 'draft-6' | 'none';

/** The result cache: repeats of a capture answered from storage instead of the browser. */
export interface CacheConfig {
  /** Seconds a result is kept when the request does not say (`cacheTtl`); 0 = not cached. */
  defaultTtlSeconds: number;
  /** The most seconds any request may ask for; larger `cacheTtl` values are lowered to it. */
  maxTtlSeconds: number;
  /** Bytes the in-memory store holds at most; one result above a quarter of it is not stored. */
  maxBytes: number;
  /** Share results between every key (operator's choice); by default each key sees only its own. */
  shared: boolean;
  /** Redis the cache lives in, shared by instances (PAGESHOT_REDIS_URL); undefined = this process's memory. */
  redisUrl: string | undefined;
}

/** How callers prove who they are. */
export interface AuthConfig {
  /** False only with PAGESHOT_AUTH=off: callers are then told apart by IP. */
  enabled: boolean;
  /** SHA-256 of API_KEY, the root key with every scope; the value itself is not kept. */
  rootKeyHash: Buffer | undefined;
  /** Prefix of new keys, e.g. `ps_live`. */
  keyPrefix: string;
  /** Failed authentications per client IP per minute before it gets 429. */
  failuresPerMinute: number;
}

/** Raised when an environment variable holds a value PageShot cannot use. */
export class ConfigError extends Error {
  constructor(variable: string, accepts: string, value: string) {
    super(`${variable}=${JSON.stringify(value)} is not valid: ${variable} accepts ${accepts}.`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;
type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  }
  return value;
}

/**
 * `::ffff:127.0.0.0/104` means 127.0.0.0/8: addresses are checked after ipaddr.js turns
 * IPv4-mapped ones into plain IPv4, so the range must be in that form too to match.
 */
function toPlainIPv4Range([range, bits]: Cidr): Cidr {
  if (range.kind() === 'ipv6' && bits >= 96 && (range as ipaddr.IPv6).isIPv4MappedAddress()) {
    return [(range as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [range, bits];
}

function readCidrs(env: Env, name: string): Config['allowPrivateNetworks'] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const cidr = part.trim();
    try {
      return toPlainIPv4Range(ipaddr.parseCIDR(cidr));
    } catch {
      throw new ConfigError(name, 'a comma-separated list of CIDR ranges such as 127.0.0.0/8,::1/128', raw);
    }
  });
}

function readTrustProxy(env: Env): Config['trustProxy'] {
  const raw = env.PAGESHOT_TRUST_PROXY?.trim() ?? '';
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  for (const part of raw.split(',')) {
    const entry = part.trim();
    if (!ipaddr.isValid(entry) && !isCidr(entry)) {
      throw new ConfigError('PAGESHOT_TRUST_PROXY', 'true, false, a hop count, or a comma-separated list of proxy IPs/CIDRs', raw);
    }
  }
  return raw;
}

/**
 * Reads the client deadlines. Node checks the header and request deadlines every
 * `connectionsCheckingInterval`, so a slow client is closed within deadline + interval;
 * Node refuses a headers deadline longer than a non-zero request deadline.
 */
function readHttpTimeouts(env: Env): HttpTimeouts {
  const headersTimeoutMs = readInt(env, 'PAGESHOT_HEADERS_TIMEOUT_MS', 5_000, 1_000, 600_000);
  const requestTimeoutMs = readInt(env, 'PAGESHOT_REQUEST_TIMEOUT_MS', 30_000, 0, 3_600_000);
  if (requestTimeoutMs !== 0 && requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError('PAGESHOT_REQUEST_TIMEOUT_MS', `0 or at least PAGESHOT_HEADERS_TIMEOUT_MS (${headersTimeoutMs})`, env.PAGESHOT_REQUEST_TIMEOUT_MS!);
  }
  return {
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: readInt(env, 'PAGESHOT_KEEP_ALIVE_TIMEOUT_MS', 5_000, 1_000, 600_000),
    connectionsCheckingIntervalMs: Math.min(1_000, headersTimeoutMs),
  };
}

function isCidr(value: string): boolean {
  try {
    ipaddr.parseCIDR(value);
    return true;
  } catch {
    return false;
  }
}

function readSandboxMode(env: Env): Config['chromiumSandbox'] {
  const raw = env.PAGESHOT_CHROMIUM_SANDBOX?.trim().toLowerCase() || 'auto';
  if (raw !== 'auto' && raw !== 'on' && raw !== 'off') throw new ConfigError('PAGESHOT_CHROMIUM_SANDBOX', 'auto, on or off', raw);
  return raw;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, 'true or false', env[name]!);
}

/** Minimum length of API_KEY: shorter values are guessable. */
const MIN_ROOT_KEY_LENGTH = 16;

function readAuth(env: Env): AuthConfig {
  const rootKey = env.API_KEY;
  if (rootKey !== undefined && rootKey.length > 0 && rootKey.length < MIN_ROOT_KEY_LENGTH) {
    // Never echo the value of a secret, even a bad one.
    throw new ConfigError('API_KEY', `a secret of at least ${MIN_ROOT_KEY_LENGTH} characters`, '(hidden)');
  }
  const keyPrefix = env.PAGESHOT_KEY_PREFIX?.trim() || 'ps_live';
  if (!KEY_PREFIX_SHAPE.test(keyPrefix) || keyPrefix.length > 24) {
    throw new ConfigError('PAGESHOT_KEY_PREFIX', 'lower-case words joined by "_", such as ps_live or ps_test', keyPrefix);
  }
  const mode = env.PAGESHOT_AUTH?.trim().toLowerCase() || 'on';
  if (mode !== 'on' && mode !== 'off') throw new ConfigError('PAGESHOT_AUTH', 'on or off', env.PAGESHOT_AUTH!);
  return {
    enabled: mode === 'on',
    rootKeyHash: rootKey ? createHash('sha256').update(rootKey, 'utf8').digest() : undefined,
    keyPrefix,
    failuresPerMinute: readInt(env, 'PAGESHOT_AUTH_FAILURES_PER_MINUTE', 20, 1, 1_000_000),
  };
}

function readTls(env: Env): Config['tls'] {
  const certFile = env.PAGESHOT_TLS_CERT?.trim();
  const keyFile = env.PAGESHOT_TLS_KEY?.trim();
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    const missing = certFile ? 'PAGESHOT_TLS_KEY' : 'PAGESHOT_TLS_CERT';
    throw new ConfigError(missing, 'a PEM file path; PAGESHOT_TLS_CERT and PAGESHOT_TLS_KEY go together', '');
  }
  return { certFile, keyFile };
}

function readDatabaseUrl(env: Env): string | undefined {
  const raw = env.PAGESHOT_DATABASE_URL?.trim();
  if (!raw) return undefined;
  if (!/^postgres(ql)?:\/\//.test(raw)) {
    // The URL may hold a password: show only what kind of URL it was.
    throw new ConfigError('PAGESHOT_DATABASE_URL', 'a postgres:// or postgresql:// URL', `${raw.split(':')[0]}:…`);
  }
  return raw;
}

const RATE_LIMIT_HEADER_FORMS: readonly RateLimitHeaderForm[] = ['draft-10', 'draft-7', 'draft-6', 'none'];

/** PAGESHOT_RATELIMIT_HEADERS: one of RATE_LIMIT_HEADER_FORMS, any case; default draft-10. */
function readRateLimitHeaders(env: Env): RateLimitHeaderForm {
  const raw = env.PAGESHOT_RATELIMIT_HEADERS;
  const value = raw?.trim().toLowerCase() || 'draft-10';
  const form = RATE_LIMIT_HEADER_FORMS.find((candidate) => candidate === value);
  if (!form) throw new ConfigError('PAGESHOT_RATELIMIT_HEADERS', 'draft-10, draft-7, draft-6 or none', raw ?? '');
  return form;
}

function readLimits(env: Env): LimitsConfig {
  const redisUrl = env.PAGESHOT_REDIS_URL?.trim() || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('PAGESHOT_REDIS_URL', 'a redis:// or rediss:// URL', `${redisUrl.split(':')[0]}:…`);
  }
  const onStoreFailure = env.PAGESHOT_LIMITS_ON_STORE_FAILURE?.trim() || 'local';
  if (onStoreFailure !== 'local' && onStoreFailure !== 'open' && onStoreFailure !== 'closed') {
    throw new ConfigError('PAGESHOT_LIMITS_ON_STORE_FAILURE', 'local, open or closed', onStoreFailure);
  }
  const rate = readInt(env, 'PAGESHOT_DEFAULT_RATE', 200, 0, 1_000_000_000);
  return {
    defaults: {
      rate,
      burst: readInt(env, 'PAGESHOT_DEFAULT_BURST', 500, rate > 0 ? 1 : 0, 1_000_000_000),
      daily: readInt(env, 'PAGESHOT_DEFAULT_DAILY', 2000, 0, 1_000_000_000),
      concurrent: readInt(env, 'PAGESHOT_DEFAULT_CONCURRENT', 0, 0, 1_000_000),
    },
    redisUrl,
    onStoreFailure,
    headers: readRateLimitHeaders(env),
  };
}

const ROLES: readonly Role[] = ['all', 'api', 'worker'];

/** PAGESHOT_ROLE; the api/worker split goes through Redis, so those roles need it. */
function readRole(env: Env, redisUrl: string | undefined): Role {
  const role = (env.PAGESHOT_ROLE?.trim() || 'all') as Role;
  if (!ROLES.includes(role)) throw new ConfigError('PAGESHOT_ROLE', 'all, api or worker', role);
  if (role !== 'all' && redisUrl === undefined) {
    throw new ConfigError('PAGESHOT_ROLE', 'all, unless PAGESHOT_REDIS_URL names the Redis that api and worker nodes share', role);
  }
  return role;
}

/**
 * 16 MiB: Redis copies a result in one command that every node's limits wait behind, and
 * keeps it in memory for a day; an ordinary full page (1280 × 16 384 PNG) is a few MB,
 * while a page of noise that size is ~60 MB.
 */
const DEFAULT_JOB_MAX_RESULT_BYTES = 16 * 1024 * 1024;
/**
 * 256 MiB (a key may pass it by one result): ~850 results of 300 KB (a 1280 × 800 PNG)
 * kept for a day, or 16 of the largest; a client that deletes what it has fetched never
 * meets it.
 */
const DEFAULT_JOB_MAX_STORED_BYTES_PER_KEY = 256 * 1024 * 1024;
/** Redis's largest string. */
const MAX_REDIS_STRING_BYTES = 512 * 1024 * 1024;

function readJobs(env: Env): JobsConfig {
  const maxResultBytes = readInt(env, 'PAGESHOT_JOB_MAX_RESULT_BYTES', DEFAULT_JOB_MAX_RESULT_BYTES, 1_024, MAX_REDIS_STRING_BYTES);
  const maxStoredBytesPerKey = readInt(env, 'PAGESHOT_JOB_MAX_STORED_BYTES_PER_KEY', DEFAULT_JOB_MAX_STORED_BYTES_PER_KEY, 0, Number.MAX_SAFE_INTEGER);
  return {
    resultTtlSeconds: readInt(env, 'PAGESHOT_JOB_RESULT_TTL', 86_400, 60, 31_536_000),
    lockMs: readInt(env, 'PAGESHOT_JOB_LOCK_MS', 30_000, 1_000, 600_000),
    maxQueued: readInt(env, 'PAGESHOT_JOB_MAX_QUEUE', 10_000, 1, 10_000_000),
    maxResultBytes,
    maxStoredBytesPerKey,
    maxDownloadsPerKey: readInt(env, 'PAGESHOT_JOB_MAX_DOWNLOADS_PER_KEY', 4, 1, 1_000),
  };
}

function readCache(env: Env, redisUrl: string | undefined): CacheConfig {
  const maxTtlSeconds = readInt(env, 'PAGESHOT_CACHE_MAX_TTL', 86_400, 0, 31_536_000);
  return {
    defaultTtlSeconds: Math.min(maxTtlSeconds, readInt(env, 'PAGESHOT_CACHE_TTL', 0, 0, 31_536_000)),
    maxTtlSeconds,
    maxBytes: readInt(env, 'PAGESHOT_CACHE_MAX_BYTES', 268_435_456, 0, Number.MAX_SAFE_INTEGER),
    shared: readBoolean(env, 'PAGESHOT_CACHE_SHARED', false),
    redisUrl,
  };
}

function readHostPatterns(env: Env, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  return raw.split(',').map((part) => {
    const pattern = part.trim().toLowerCase();
    if (!HOST_PATTERN.test(pattern)) throw new ConfigError(name, 'comma-separated host names or *.domain patterns', raw);
    return pattern;
  });
}

function readPorts(env: Env): number[] | undefined {
  const raw = env.PAGESHOT_ALLOWED_PORTS?.trim();
  if (!raw) return undefined;
  return raw.split(',').map((part) => {
    const port = Number(part.trim());
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError('PAGESHOT_ALLOWED_PORTS', 'a comma-separated list of ports such as 80,443', raw);
    }
    return port;
  });
}

function readLogLevel(env: Env): string {
  const name = env.PAGESHOT_LOG_LEVEL?.trim() ? 'PAGESHOT_LOG_LEVEL' : env.LOG_LEVEL?.trim() ? 'LOG_LEVEL' : undefined;
  if (name === undefined) return 'info';
  const raw = env[name]!.trim();
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(raw)) throw new ConfigError(name, levels.join(', '), raw);
  return raw;
}

const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** PAGESHOT_LOG_FORMAT, falling back to LOG_FORMAT (as the level does); `json` when neither is set. */
function readLogFormat(env: Env): LogFormat {
  const name = env.PAGESHOT_LOG_FORMAT?.trim() ? 'PAGESHOT_LOG_FORMAT' : env.LOG_FORMAT?.trim() ? 'LOG_FORMAT' : undefined;
  if (name === undefined) return 'json';
  const raw = env[name]!.trim();
  const format = raw.toLowerCase() as LogFormat;
  if (!LOG_FORMATS.includes(format)) throw new ConfigError(name, LOG_FORMATS.join(' or '), raw);
  return format;
}

/** The warm pool: how many contexts it keeps and for how long. */
export interface PoolConfig {
  /** Contexts kept at most, busy and idle together (PAGESHOT_POOL_MAX_CONTEXTS, else sized by memory). */
  maxContexts: number;
  /** Where `maxContexts` came from: the variable, or the memory it was sized by. */
  sizedBy: 'PAGESHOT_POOL_MAX_CONTEXTS' | 'memory';
  /** Share of the available memory idle contexts may hold when sizing by memory. */
  memoryShare: number;
  /** What one idle warm context is taken to hold, in MB, when sizing by memory. */
  contextMb: number;
  /** Memory available to this process in MB (the machine's, or its cgroup's limit). */
  availableMb: number;
  maxUsesPerContext: number;
  idleTimeoutMs: number;
  maxHeapMb: number;
}

/** A number from `min` to `max` (decimals allowed), or `fallback` when unset. */
function readFraction(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = /^\s*\d*\.?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) throw new ConfigError(name, `a number from ${min} to ${max}`, raw);
  return value;
}

/**
 * The warm pool's settings. Its size defaults to what fits in PAGESHOT_POOL_MEMORY_SHARE
 * of the available memory at PAGESHOT_POOL_CONTEXT_MB per idle context (see
 * capture/pool-size.ts for the measured figures behind both defaults); an explicit
 * PAGESHOT_POOL_MAX_CONTEXTS wins.
 */
function readPool(env: Env, maxConcurrency: number): PoolConfig {
  const memoryShare = readFraction(env, 'PAGESHOT_POOL_MEMORY_SHARE', DEFAULT_POOL_MEMORY_SHARE, 0.01, 0.9);
  const contextMb = readInt(env, 'PAGESHOT_POOL_CONTEXT_MB', DEFAULT_POOL_CONTEXT_MB, 1, 16_384);
  const availableBytes = availableMemoryBytes();
  const bySize = poolSizeForMemory({ availableBytes, memoryShare, contextMb, maxConcurrency, ceiling: MAX_POOL_CONTEXTS });
  const explicit = env.PAGESHOT_POOL_MAX_CONTEXTS?.trim();
  return {
    maxContexts: readInt(env, 'PAGESHOT_POOL_MAX_CONTEXTS', bySize, 1, MAX_POOL_CONTEXTS),
    sizedBy: explicit ? 'PAGESHOT_POOL_MAX_CONTEXTS' : 'memory',
    memoryShare,
    contextMb,
    availableMb: Math.round(availableBytes / (1024 * 1024)),
    maxUsesPerContext: readInt(env, 'PAGESHOT_POOL_MAX_USES', 50, 1, 100_000),
    idleTimeoutMs: readInt(env, 'PAGESHOT_POOL_IDLE_TIMEOUT_MS', 60_000, 1_000, 3_600_000),
    maxHeapMb: readInt(env, 'PAGESHOT_POOL_MAX_HEAP_MB', 256, 16, 16_384),
  };
}

/**
 * The default cap on captures at once: two per core. Only one per core runs however busy
 * the CPU is (PAGESHOT_BASE_CONCURRENCY); the rest open while the CPU has room, which is
 * when pages wait on their network (see Admission: overlapped CPU-bound captures cost
 * more CPU each than queued ones).
 */
export function defaultConcurrency(): number {
  return Math.max(2, 2 * os.availableParallelism());
}

/**
 * Reads and validates the configuration. A bad value throws a ConfigError naming the
 * variable and what it accepts, so start-up fails fast with a clear message.
 */
export function loadConfig(env: Env = process.env): Config {
  const maxConcurrency = readInt(env, 'PAGESHOT_MAX_CONCURRENCY', defaultConcurrency(), 1, 256);
  const maxTimeoutMs = readInt(env, 'PAGESHOT_MAX_TIMEOUT_MS', 60_000, 1_000, 600_000);
  const rateLimits = readLimits(env);
  return {
    host: env.HOST?.trim() || '0.0.0.0',
    port: readInt(env, 'PORT', 3000, 0, 65535),
    logLevel: readLogLevel(env),
    logFormat: readLogFormat(env),
    trustProxy: readTrustProxy(env),
    chromiumPath: env.PAGESHOT_CHROMIUM_PATH?.trim() || undefined,
    chromiumSandbox: readSandboxMode(env),
    chromiumUser: env.PAGESHOT_CHROMIUM_USER?.trim() || 'nobody',
    chromiumPriorities: readBoolean(env, 'PAGESHOT_CHROMIUM_PRIORITIES', true),
    allowPrivateNetworks: readCidrs(env, 'PAGESHOT_ALLOW_PRIVATE_NETWORKS'),
    denyHosts: readHostPatterns(env, 'PAGESHOT_DENY_HOSTS'),
    allowHosts: readHostPatterns(env, 'PAGESHOT_ALLOW_HOSTS'),
    allowedPorts: readPorts(env),
    maxConcurrency,
    baseConcurrency: readInt(env, 'PAGESHOT_BASE_CONCURRENCY', Math.min(maxConcurrency, os.availableParallelism()), 1, maxConcurrency),
    maxQueue: readInt(env, 'PAGESHOT_MAX_QUEUE', 10, 0, 10_000),
    queueTimeoutMs: readInt(env, 'PAGESHOT_QUEUE_TIMEOUT_MS', 30_000, 1, 600_000),
    cpuBusyPercent: readInt(env, 'PAGESHOT_CPU_BUSY_PERCENT', 95, 1, 100),
    shutdownTimeoutMs: readInt(env, 'PAGESHOT_SHUTDOWN_TIMEOUT_MS', 30_000, 0, 600_000),
    pool: readPool(env, maxConcurrency),
    browserMaxCaptures: readInt(env, 'PAGESHOT_BROWSER_MAX_CAPTURES', 2_000, 1, 10_000_000),
    limits: {
      maxWidth: readInt(env, 'PAGESHOT_MAX_WIDTH', 3840, 100, 16_384),
      maxHeight: readInt(env, 'PAGESHOT_MAX_HEIGHT', 2160, 100, 16_384),
      maxFullPageHeight: readInt(env, 'PAGESHOT_MAX_FULLPAGE_HEIGHT', 16_384, 100, 65_536),
      // 3840 × 2160 at scale 2: a 4K "retina" viewport, ~130 MB of RGBA while encoding.
      maxPixels: readInt(env, 'PAGESHOT_MAX_PIXELS', 33_177_600, 10_000, 1_000_000_000),
      maxScriptBytes: readInt(env, 'PAGESHOT_MAX_SCRIPT_BYTES', 100_000, 100, 10_000_000),
      maxHeaders: readInt(env, 'PAGESHOT_MAX_HEADERS', 50, 0, 1_000),
      maxCookies: readInt(env, 'PAGESHOT_MAX_COOKIES', 50, 0, 1_000),
      maxDelayMs: readInt(env, 'PAGESHOT_MAX_DELAY_MS', 10_000, 0, 600_000),
      maxTimeoutMs,
      defaultTimeoutMs: Math.min(30_000, maxTimeoutMs),
      maxHtmlBytes: readInt(env, 'PAGESHOT_MAX_HTML_BYTES', 1_000_000, 1_000, 50_000_000),
      maxPdfPages: readInt(env, 'PAGESHOT_MAX_PDF_PAGES', 100, 1, 10_000),
      maxPdfBytes: readInt(env, 'PAGESHOT_MAX_PDF_BYTES', 52_428_800, 100_000, 2_000_000_000),
    },
    auth: readAuth(env),
    store: {
      dataDir: path.resolve(env.PAGESHOT_DATA_DIR?.trim() || './data'),
      databaseUrl: readDatabaseUrl(env),
    },
    filterListsDir: path.resolve(env.PAGESHOT_FILTER_LISTS_DIR?.trim() || DEFAULT_FILTER_LISTS_DIR),
    filterListsPreload: readBoolean(env, 'PAGESHOT_FILTER_LISTS_PRELOAD', true),
    tls: readTls(env),
    requireHttps: readBoolean(env, 'PAGESHOT_REQUIRE_HTTPS', false),
    rateLimits,
    cache: readCache(env, rateLimits.redisUrl),
    metricsToken: env.PAGESHOT_METRICS_TOKEN || undefined,
    http: readHttpTimeouts(env),
    role: readRole(env, rateLimits.redisUrl),
    jobs: readJobs(env),
  };
}

/**
 * The start-up warning for `PAGESHOT_TRUST_PROXY=true`, or undefined when the setting
 * names whom to trust. `true` believes X-Forwarded-For/-Proto from every client, so any
 * caller can pick its own IP (per-IP limits, allowedIps, auth-off callers) and claim
 * HTTPS. Kept for hosted platforms whose proxy addresses are unknown.
 */
export function trustProxyWarning(trustProxy: Config['trustProxy']): string | undefined {
  if (trustProxy !== true) return undefined;
  return (
    'PAGESHOT_TRUST_PROXY=true believes X-Forwarded-For and X-Forwarded-Proto from ANY client: callers can choose ' +
    'their own IP address (per-IP limits, allowedIps) and pretend to use HTTPS. Unless every request reaches PageShot ' +
    'through your proxy, set PAGESHOT_TRUST_PROXY to the proxy IPs/CIDRs (e.g. 10.0.0.0/8) or a hop count (e.g. 1) instead.'
  );
}
