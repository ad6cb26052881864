import type { Logger } from 'pino';
import type { AuthConfig } from '../config.js';
import { ApiError, type ErrorCode } from '../errors.js';
import type { AuditStore } from '../store/audit-store.js';
import type { KeyStore } from '../store/key-store.js';
import type { SigningSecretStore } from '../store/signing-secret-store.js';
import { ALL_SCOPES, callerOfKey, type ApiKeyRecord } from '../store/schema.js';
import { FailureLog, FailureThrottle, type FailureSummary } from './failure-throttle.js';
import { ipAllowed } from './ip-list.js';
import { KeyCache, type CachedKey } from './key-cache.js';
import { digestsEqual, hashKey, isWellFormedKey, keyHint } from './key-format.js';
import type { Principal } from './principal.js';
import { KEY_ID_SHAPE, matchingSecret, type SignedLink } from './signed-link.js';

/** How often last-used times and failure summaries are written (batched: no write per request). */
const FLUSH_MS = 10_000;

/** The principal of a stored key. */
export function principalOf(record: ApiKeyRecord): Principal {
  return {
    kind: 'key',
    keyId: record.id,
    name: record.name,
    hint: record.hint,
    scopes: record.scopes,
    limits: record.limits,
    allowedHosts: record.allowedHosts,
    expiresAt: record.expiresAt,
    caller: callerOfKey(record.id),
  };
}

const ROOT: Principal = {
  kind: 'root',
  keyId: 'root',
  name: 'root (API_KEY)',
  hint: null,
  scopes: ALL_SCOPES,
  limits: {},
  allowedHosts: [],
  expiresAt: null,
  caller: callerOfKey('root'),
};

function toCachedKey(record: ApiKeyRecord): CachedKey {
  return {
    record,
    principal: principalOf(record),
    revokedAtMs: record.revokedAt === null ? null : Date.parse(record.revokedAt),
    expiresAtMs: record.expiresAt === null ? null : Date.parse(record.expiresAt),
  };
}

/** Why a stored key is refused now, or undefined when it may be used. */
export function refusalOf(record: ApiKeyRecord, now: Date): ErrorCode | undefined {
  if (record.revokedAt !== null && Date.parse(record.revokedAt) <= now.getTime()) return 'KEY_REVOKED';
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now.getTime()) return 'KEY_EXPIRED';
  if (record.disabled) return 'KEY_DISABLED';
  return undefined;
}

const REFUSAL_MESSAGES: Partial<Record<ErrorCode, string>> = {
  INVALID_API_KEY: 'The API key is not valid.',
  KEY_REVOKED: 'The API key has been revoked.',
  KEY_EXPIRED: 'The API key has expired.',
  KEY_DISABLED: 'The API key is disabled.',
  IP_NOT_ALLOWED: 'This API key may not be used from this address.',
  // One message whatever failed (a bad signature, an unknown key, a revoked secret): never say which.
  SIGNATURE_INVALID: 'The signature does not match this link.',
};

/** Key ids remembered with their hash (signed links look keys up by id), at most. */
const MAX_IDS = 10_000;

/**
 * Turns a presented key into a Principal, cheaply: the root key is compared by hash in
 * constant time; a stored key is checked for shape and checksum first (no query for a
 * typo), then looked up by hash through a cache. Failures are counted per client IP
 * (429 TOO_MANY_AUTH_FAILURES past the limit) and summarised in the audit log per
 * reason and minute (see FailureLog): the first at once, the rest by `flush()`.
 */
export class Authenticator {
  private readonly cache = new KeyCache();
  private readonly throttle: FailureThrottle;
  /** Key id → when it was last used (ms), written in batches. */
  private readonly lastUsed = new Map<string, number>();
  private readonly failures = new FailureLog();
  /** Audit writes under way, so that `flush()` returns only once they are stored. */
  private readonly writing = new Set<Promise<void>>();
  private readonly flusher: NodeJS.Timeout;
  /** SHA-256 of API_KEY, hex (the form every presented key is hashed to), when one is set. */
  private readonly rootKeyHash: string | undefined;
  /** Key id → its hash, so that a signed link's key is found in the cache by hash. */
  private readonly hashById = new Map<string, string>();
  /** Lookups that reached the database (tests use it to prove the checksum short-cut). */
  databaseLookups = 0;

  /**
   * @param signingSecrets The keys' link-signing secrets; without them, every signed link
   *   is refused (SIGNATURE_INVALID).
   */
  constructor(
    private readonly config: AuthConfig,
    private readonly keys: KeyStore,
    private readonly audit: AuditStore,
    private readonly logger: Logger,
    private readonly signingSecrets?: SigningSecretStore,
  ) {
    this.throttle = new FailureThrottle(config.failuresPerMinute);
    this.rootKeyHash = config.rootKeyHash?.toString('hex');
    this.flusher = setInterval(() => void this.flush(), FLUSH_MS);
    this.flusher.unref();
  }

  /** Authenticates `presented` for a request from `clientIp`; throws an ApiError when refused. */
  async authenticate(presented: string, clientIp: string): Promise<Principal> {
    const wait = this.throttle.retryAfter(clientIp);
    if (wait > 0) {
      throw new ApiError('TOO_MANY_AUTH_FAILURES', 'Too many failed authentications from this address.', {
        retryAfter: wait,
      });
    }
    // One SHA-256 serves both the root-key comparison and the lookup by hash.
    const hash = hashKey(presented);
    if (this.isRootKey(hash)) return ROOT;
    const refusal = await this.check(presented, hash, clientIp);
    if (typeof refusal !== 'string') return refusal;
    this.throttle.record(clientIp);
    const hint = isWellFormedKey(presented) ? keyHint(presented) : null;
    const first = this.failures.add({ reason: refusal, clientIp, keyHint: hint, at: Date.now() });
    if (first) this.writeFailures([first]);
    throw new ApiError(refusal, REFUSAL_MESSAGES[refusal] ?? 'The API key is not valid.');
  }

  /**
   * Authenticates a signed link (its expiry already checked) as its key: the signature
   * must match one of the key's active secrets (SIGNATURE_INVALID otherwise, whatever the
   * reason); then the key itself must be usable from `clientIp`, exactly as when it is
   * presented in a header (KEY_REVOKED, KEY_DISABLED, KEY_EXPIRED, IP_NOT_ALLOWED).
   * Refusals are audited, but never count towards the client address's failure
   * throttle: any web page can make its visitors' browsers load a bad link (an `<img>`),
   * and must not lock them (and everyone behind their NAT) out of key authentication.
   * Nothing is lost by it: a 256-bit secret cannot be guessed, however many tries.
   */
  async authenticateSigned(link: SignedLink, clientIp: string): Promise<Principal> {
    // A key id of the wrong shape costs no query.
    const secrets = KEY_ID_SHAPE.test(link.keyId) ? ((await this.signingSecrets?.active(link.keyId)) ?? []) : [];
    const matched = secrets[matchingSecret(secrets.map((secret) => secret.secret), link.pairs, link.signature)];
    const key = matched && (await this.keyById(link.keyId));
    const verdict = key ? this.verdict(key, clientIp) : 'SIGNATURE_INVALID';
    if (typeof verdict !== 'string') {
      this.signingSecrets!.touch(matched!);
      return verdict;
    }
    const first = this.failures.add({ reason: verdict, clientIp, keyHint: key ? key.record.hint : null, at: Date.now() });
    if (first) this.writeFailures([first]);
    throw new ApiError(verdict, REFUSAL_MESSAGES[verdict] ?? 'The signature does not match this link.');
  }

  /** The key with id `id`, through the cache by hash once its hash is known. */
  private async keyById(id: string): Promise<CachedKey | undefined> {
    const hash = this.hashById.get(id);
    const cached = hash === undefined ? 'miss' : this.cache.get(hash);
    if (cached !== 'miss') return cached;
    this.databaseLookups++;
    const epoch = this.cache.epoch;
    const record = await this.keys.findById(id);
    if (!record) return undefined;
    // A key's hash never changes (a rotation makes a new key), so this mapping never goes stale.
    if (this.hashById.size >= MAX_IDS) this.hashById.clear();
    this.hashById.set(id, record.hash);
    const key = toCachedKey(record);
    this.cache.set(record.hash, key, epoch);
    return key;
  }

  /**
   * The fast path: the principal of a key that is valid and already cached (or the root
   * key), decided without a promise. Undefined whenever anything else must happen — a
   * lookup, a refusal to count and audit — and then `authenticate()` is the way.
   */
  authenticateCached(presented: string, clientIp: string): Principal | undefined {
    if (this.throttle.retryAfter(clientIp) > 0) return undefined;
    const hash = hashKey(presented);
    if (this.isRootKey(hash)) return ROOT;
    // No shape check here: only well-formed keys are ever cached as found (check()
    // refuses the others before its lookup), and a SHA-256 match means `presented` is
    // that key. Anything not found goes the slow way, which checks the shape first.
    const key = this.cache.get(hash);
    if (key === 'miss' || key === undefined) return undefined;
    const verdict = this.verdict(key, clientIp);
    return typeof verdict === 'string' ? undefined : verdict;
  }

  /** Whether `hash` (hex SHA-256 of a presented key) is API_KEY's, compared in constant time. */
  private isRootKey(hash: string): boolean {
    return this.rootKeyHash !== undefined && digestsEqual(hash, this.rootKeyHash);
  }

  /** Forgets a cached lookup after the key changed, so the change applies to the next request. */
  invalidate(hash: string): void {
    this.cache.invalidate(hash);
  }

  /** Forgets every cached lookup: changes to keys may have gone unheard (see key-changes.ts). */
  forgetAll(): void {
    this.cache.clear();
  }

  /**
   * Writes what is batched in memory: last-used times, and the summaries of failed
   * authentications counted since the last flush. Runs every 10 s by itself; resolves
   * once everything written so far is stored (tests call it before reading the log).
   */
  async flush(): Promise<void> {
    this.writeFailures(this.failures.drain(Date.now()));
    await Promise.all([this.flushLastUsed(), ...this.writing]);
  }

  /** Writes what is pending, and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.flusher);
    await this.flush();
    await this.signingSecrets?.flush();
  }

  /** Records failure summaries without making the request wait; errors are logged. */
  private writeFailures(events: FailureSummary[]): void {
    if (events.length === 0) return;
    const write = this.audit
      .recordMany(events)
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not write the audit log'))
      .finally(() => this.writing.delete(write));
    this.writing.add(write);
  }

  private async check(presented: string, hash: string, clientIp: string): Promise<Principal | ErrorCode> {
    if (!isWellFormedKey(presented)) return 'INVALID_API_KEY';
    let key = this.cache.get(hash);
    if (key === 'miss') {
      this.databaseLookups++;
      // Taken before the query: if the key changes while it runs, what it read is not cached.
      const epoch = this.cache.epoch;
      const record = await this.keys.findByHash(hash);
      key = record && toCachedKey(record);
      this.cache.set(hash, key, epoch);
    }
    if (!key) return 'INVALID_API_KEY';
    return this.verdict(key, clientIp);
  }

  /** Whether a known key may be used now from `clientIp`; notes its use when it may. */
  private verdict(key: CachedKey, clientIp: string): Principal | ErrorCode {
    const now = Date.now();
    if (key.revokedAtMs !== null && key.revokedAtMs <= now) return 'KEY_REVOKED';
    if (key.expiresAtMs !== null && key.expiresAtMs <= now) return 'KEY_EXPIRED';
    if (key.record.disabled) return 'KEY_DISABLED';
    const { allowedIps } = key.record;
    if (allowedIps.length > 0 && !ipAllowed(clientIp, allowedIps)) return 'IP_NOT_ALLOWED';
    this.lastUsed.set(key.record.id, now);
    return key.principal;
  }

  private async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = new Map([...this.lastUsed].map(([id, time]) => [id, new Date(time).toISOString()]));
    this.lastUsed.clear();
    await this.keys.touchLastUsed(batch).catch((error: unknown) => {
      this.logger.error({ err: error }, 'could not record when keys were last used');
    });
  }
}
