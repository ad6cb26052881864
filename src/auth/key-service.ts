import { ApiError } from '../errors.js';
import { MAX_JSON_DEPTH, valueDepthExceeds } from '../json-depth.js';
import type { AuditStore } from '../store/audit-store.js';
import type { KeyStore, Retirement } from '../store/key-store.js';
import { ALL_SCOPES, type ApiKeyRecord, type AuditEventType, type KeyLimits, type Scope } from '../store/schema.js';
import { refusalOf } from './authenticator.js';
import { generateKey, hashKey, keyHint, newKeyId } from './key-format.js';
import { HOST_PATTERN } from './host-patterns.js';
import { parseIpOrCidr } from './ip-list.js';

/** Settings a key is created with (and, but `name`/`scopes` being required, updated with). */
export interface KeySettings {
  name: string;
  scopes: Scope[];
  expiresAt?: string | null;
  limits?: KeyLimits;
  allowedHosts?: string[];
  allowedIps?: string[];
  metadata?: Record<string, unknown>;
}

/** A change to a key's settings, or its disabling. */
export type KeyPatch = Partial<KeySettings> & { disabled?: boolean };

/** A new key: the plaintext (shown once, never stored) and its stored record. */
export interface IssuedKey {
  key: string;
  record: ApiKeyRecord;
}

/** The server's default rate and burst (config.rateLimits.defaults), used where a key sets none. */
export interface DefaultRate {
  rate: number;
  burst: number;
}

/** What a KeyService needs besides its stores. */
export interface KeyServiceOptions {
  /** Prefix of new keys (PAGESHOT_KEY_PREFIX), e.g. `ps_live`. */
  prefix: string;
  /** The server's defaults, so a key's limits are checked as they will apply. */
  defaultLimits: DefaultRate;
  /** Called after a key changed (committed), with its hash: the authenticator forgets its cached lookup. */
  onChange?: (hash: string) => void;
}

/** What callers see of a key: everything but its hash, plus its state now. */
export type KeyView = Omit<ApiKeyRecord, 'hash'> & { state: 'active' | 'disabled' | 'expired' | 'revoked' };

const MAX_METADATA_BYTES = 4096;
const MAX_GRACE_SECONDS = 30 * 24 * 3600;

/** The public view of a key record. */
export function keyView(record: ApiKeyRecord, now = new Date()): KeyView {
  const { hash: _hash, ...rest } = record;
  const refusal = refusalOf(record, now);
  const state = refusal === 'KEY_REVOKED' ? 'revoked' : refusal === 'KEY_EXPIRED' ? 'expired' : refusal === 'KEY_DISABLED' ? 'disabled' : 'active';
  return { ...rest, state };
}

function invalid(field: string, message: string): ApiError {
  return new ApiError('VALIDATION_ERROR', message, { extras: { field } });
}

const MAX_NAME_LENGTH = 100;
const MAX_LIMIT = 1_000_000_000;

/**
 * Checks every setting, so the CLI is held to the same rules as the HTTP API (whose
 * schema checks shapes first): name, scopes, limits, future expiry, host patterns, IPs,
 * metadata size.
 */
function checkSettings(settings: KeyPatch, now: Date, defaults: DefaultRate): void {
  if (settings.name !== undefined && (settings.name.trim() === '' || settings.name.length > MAX_NAME_LENGTH)) {
    throw invalid('name', `"name" must be 1 to ${MAX_NAME_LENGTH} characters.`);
  }
  if (settings.scopes !== undefined) {
    if (settings.scopes.length === 0) throw invalid('scopes', '"scopes" must name at least one scope.');
    settings.scopes.forEach((scope, index) => {
      if (!ALL_SCOPES.includes(scope)) throw invalid(`scopes/${index}`, `"${scope}" is not a scope: ${ALL_SCOPES.join(', ')}.`);
    });
  }
  checkLimits(settings.limits, defaults);
  if (settings.expiresAt !== undefined && settings.expiresAt !== null) {
    const time = Date.parse(settings.expiresAt);
    if (Number.isNaN(time)) throw invalid('expiresAt', '"expiresAt" must be an ISO 8601 date-time.');
    if (time <= now.getTime()) throw invalid('expiresAt', '"expiresAt" must be in the future.');
  }
  settings.allowedHosts?.forEach((pattern, index) => {
    if (!HOST_PATTERN.test(pattern.toLowerCase())) {
      throw invalid(`allowedHosts/${index}`, `"${pattern}" is not a host name or a *.domain pattern.`);
    }
  });
  settings.allowedIps?.forEach((entry, index) => {
    if (!parseIpOrCidr(entry)) throw invalid(`allowedIps/${index}`, `"${entry}" is not an IP address or CIDR range.`);
  });
  // Depth first: JSON.stringify recurses, and a library caller's (or the CLI's) metadata never
  // went through the HTTP parser's depth bound. One level less: in a body, metadata is level 2.
  if (settings.metadata && valueDepthExceeds(settings.metadata, MAX_JSON_DEPTH - 1)) {
    throw invalid('metadata', `"metadata" may nest at most ${MAX_JSON_DEPTH - 1} levels of objects and arrays.`);
  }
  if (settings.metadata && Buffer.byteLength(JSON.stringify(settings.metadata)) > MAX_METADATA_BYTES) {
    throw invalid('metadata', `"metadata" must be at most ${MAX_METADATA_BYTES} bytes of JSON.`);
  }
}

/**
 * Each limit is a whole number in range, and the burst is at least 1 wherever a rate
 * applies: a rate with a burst of 0 admits nothing (the GCRA has no tolerance at all),
 * so such a key would fail every request. The key's own value counts, else the server's.
 */
function checkLimits(limits: KeyLimits | undefined, defaults: DefaultRate): void {
  if (limits === undefined) return;
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_LIMIT) {
      throw invalid(`limits/${name}`, `"limits.${name}" must be an integer from 0 to ${MAX_LIMIT}.`);
    }
  }
  const rate = limits.rate ?? defaults.rate;
  const burst = limits.burst ?? defaults.burst;
  if (rate > 0 && burst < 1) {
    const whose = limits.burst === undefined ? ` (the server's default burst is ${burst})` : '';
    throw invalid('limits/burst', `"limits.burst" must be at least 1 when the rate is above 0${whose}.`);
  }
}

function checkGrace(graceSeconds: number): void {
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
    throw invalid('gracePeriodSeconds', `"gracePeriodSeconds" must be an integer from 0 to ${MAX_GRACE_SECONDS}.`);
  }
}

/** A new key record for the plaintext `key`; `from` carries what a rotation keeps. */
function newRecord(
  key: string,
  settings: KeySettings,
  now: Date,
  from: { disabled: boolean; rotatedFrom: string | null },
): ApiKeyRecord {
  return {
    id: newKeyId(),
    name: settings.name,
    hash: hashKey(key),
    hint: keyHint(key),
    scopes: [...new Set(settings.scopes)],
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    lastUsedAt: null,
    expiresAt: settings.expiresAt ? new Date(settings.expiresAt).toISOString() : null,
    revokedAt: null,
    disabled: from.disabled,
    limits: settings.limits ?? {},
    allowedHosts: settings.allowedHosts ?? [],
    allowedIps: settings.allowedIps ?? [],
    metadata: settings.metadata ?? {},
    rotatedFrom: from.rotatedFrom,
    replacedBy: null,
  };
}

/**
 * The settings a rotation copies from the old key to its successor (the disabled flag
 * travels separately, see rotate()). `Required`: a setting added to KeySettings does not
 * compile until it is carried over here too.
 */
function settingsOf(old: ApiKeyRecord): Required<KeySettings> {
  const { name, scopes, limits, allowedHosts, allowedIps, metadata, expiresAt } = old;
  return { name, scopes, limits, allowedHosts, allowedIps, metadata, expiresAt };
}

/** How the old key stops: at once without grace, else at the end of the grace period. */
function retirementOf(graceSeconds: number, now: Date): Retirement {
  if (graceSeconds === 0) return { revokedAt: now.toISOString() };
  return { expiresBy: new Date(now.getTime() + graceSeconds * 1000).toISOString() };
}

/** A patch as stored: scopes without duplicates, expiry in canonical form. */
function normalisePatch(patch: KeyPatch) {
  const { expiresAt, ...rest } = patch;
  return {
    ...rest,
    ...(rest.scopes ? { scopes: [...new Set(rest.scopes)] } : {}),
    ...(expiresAt !== undefined ? { expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() } : {}),
  };
}

/**
 * A key replaced by a rotation is retired: revoked, or expiring at the end of its grace
 * period. Moving that expiry, or enabling it again when it is disabled, would bring it back
 * next to its successor, so both are refused.
 */
function checkNotRevived(current: ApiKeyRecord, patch: KeyPatch): void {
  if (current.replacedBy === null) return;
  const reEnables = patch.disabled === false && current.disabled;
  if (patch.expiresAt !== undefined || reEnables) {
    throw new ApiError('KEY_ALREADY_ROTATED', 'This key was replaced by a rotation: its expiry cannot change and it cannot be enabled again.');
  }
}

/**
 * Key management: create, read, change, revoke and rotate keys, writing an audit event
 * for each change in the same transaction, and telling the authenticator (`onChange`)
 * which cached key changed once it is committed. The HTTP API and the CLI both go
 * through here.
 *
 * Every change is decided by one conditional statement on the key's row (not revoked,
 * not replaced…), never by a read followed by a write, so concurrent calls on SQLite and
 * PostgreSQL alike have one winner: one successor per rotation, one `key.revoked` event.
 */
export class KeyService {
  private readonly prefix: string;
  private readonly defaults: DefaultRate;
  private readonly onChange: (hash: string) => void;

  /** @param keys The key store; its transactions also carry the audit events. */
  constructor(
    private readonly keys: KeyStore,
    options: KeyServiceOptions,
  ) {
    this.prefix = options.prefix;
    this.defaults = options.defaultLimits;
    this.onChange = options.onChange ?? (() => undefined);
  }

  /** Issues a new key. `actor` is the id of the key that asked (null from the CLI). */
  async create(settings: KeySettings, actor: string | null): Promise<IssuedKey> {
    const now = new Date();
    checkSettings(settings, now, this.defaults);
    const key = generateKey(this.prefix);
    const record = newRecord(key, settings, now, { disabled: false, rotatedFrom: null });
    await this.keys.transaction(async ({ keys, audit }) => {
      await keys.insert(record);
      await event(audit, 'key.created', record, actor, { rotatedFrom: null });
    });
    // A lookup of this hash may have been cached as "unknown" a moment ago.
    this.onChange(record.hash);
    return { key, record };
  }

  /** One key; 404 KEY_NOT_FOUND when there is no such id. */
  async get(id: string): Promise<ApiKeyRecord> {
    return found(id, await this.keys.findById(id));
  }

  /** A page of keys, oldest first. */
  list(limit: number, cursor?: string): Promise<{ items: ApiKeyRecord[]; next: string | null }> {
    return this.keys.list({ limit, ...(cursor ? { after: cursor } : {}) });
  }

  /**
   * Changes settings or the disabled flag. A revoked key cannot change (409
   * KEY_ALREADY_REVOKED); a key replaced by a rotation cannot get a new expiry or be
   * enabled again (409 KEY_ALREADY_ROTATED).
   */
  async update(id: string, patch: KeyPatch, actor: string | null): Promise<ApiKeyRecord> {
    checkSettings(patch, new Date(), this.defaults);
    const changes = normalisePatch(patch);
    const updated = await this.keys.transaction(async ({ keys, audit }) => {
      // Claimed first: a revoke racing this change either waits for it or wins outright.
      const current = await keys.claim(id);
      if (!current) throw notRevoked(id, await keys.findById(id));
      checkNotRevived(current, patch);
      const after = (await keys.update(id, changes))!;
      await event(audit, 'key.updated', after, actor, { fields: Object.keys(changes) });
      if (patch.disabled !== undefined && patch.disabled !== current.disabled) {
        await event(audit, patch.disabled ? 'key.disabled' : 'key.enabled', after, actor, {});
      }
      return after;
    });
    this.onChange(updated.hash);
    return updated;
  }

  /**
   * Revokes a key for good, at once. Of concurrent revokes one writes `key.revoked`;
   * revoking a revoked key changes nothing and writes no event.
   */
  async revoke(id: string, actor: string | null): Promise<ApiKeyRecord> {
    const revoked = await this.keys.transaction(async ({ keys, audit }) => {
      const done = await keys.revokeIfNot(id, new Date().toISOString());
      if (done) await event(audit, 'key.revoked', done, actor, {});
      return done;
    });
    if (!revoked) return this.get(id);
    this.onChange(revoked.hash);
    return revoked;
  }

  /**
   * Issues a new key with the same settings (disabled stays disabled); the old one keeps
   * working for `graceSeconds` (never past its own expiry), or stops at once when 0.
   * A key can be rotated once: later attempts, concurrent ones included, get 409
   * KEY_ALREADY_ROTATED (KEY_ALREADY_REVOKED when it was revoked otherwise).
   */
  async rotate(id: string, graceSeconds: number, actor: string | null): Promise<IssuedKey> {
    checkGrace(graceSeconds);
    const now = new Date();
    const key = generateKey(this.prefix);
    const { successor, old } = await this.keys.transaction(async ({ keys, audit }) => {
      // The gate: of concurrent rotations only one claims the key; the others wait for its
      // commit on PostgreSQL, then find it replaced.
      const old = await keys.claim(id, { notReplaced: true, notExpiredAt: now });
      if (!old) throw rotationRefusal(id, await keys.findById(id));
      checkSettings(settingsOf(old), now, this.defaults);
      const successor = newRecord(key, settingsOf(old), now, { disabled: old.disabled, rotatedFrom: old.id });
      await keys.insert(successor);
      // Receivers keep verifying with the secret they have: the successor signs with it too.
      await keys.inheritWebhookSecret(old.id, successor.id);
      // Conditional too: never a second successor, even if the claim above were not a lock.
      const retired = await keys.retire(old.id, successor.id, retirementOf(graceSeconds, now));
      if (!retired) throw rotationRefusal(id, await keys.findById(id));
      await event(audit, 'key.created', successor, actor, { rotatedFrom: old.id });
      await event(audit, 'key.rotated', retired, actor, { newKeyId: successor.id, gracePeriodSeconds: graceSeconds });
      return { successor, old };
    });
    this.onChange(successor.hash);
    this.onChange(old.hash);
    return { key, record: successor };
  }
}

/** The record, or 404 KEY_NOT_FOUND. */
function found(id: string, record: ApiKeyRecord | undefined): ApiKeyRecord {
  if (!record) throw new ApiError('KEY_NOT_FOUND', `No key with id "${id.slice(0, 64)}".`);
  return record;
}

/** Why a key could not be claimed for a change: it is missing or revoked. */
function notRevoked(id: string, record: ApiKeyRecord | undefined): ApiError {
  found(id, record);
  return new ApiError('KEY_ALREADY_REVOKED', 'A revoked key cannot be changed.');
}

/** Why a key could not be claimed for a rotation: missing, replaced, revoked or expired. */
function rotationRefusal(id: string, record: ApiKeyRecord | undefined): ApiError {
  const old = found(id, record);
  // Replaced first: a rotation without grace also revokes, and "already rotated" is the cause.
  if (old.replacedBy !== null) return new ApiError('KEY_ALREADY_ROTATED', `This key was already rotated; its successor is ${old.replacedBy}.`);
  if (old.revokedAt !== null) return new ApiError('KEY_ALREADY_REVOKED', 'A revoked key cannot be rotated.');
  return invalid('id', 'An expired key cannot be rotated; create a new key instead.');
}

async function event(
  audit: AuditStore,
  type: AuditEventType,
  record: ApiKeyRecord,
  actor: string | null,
  details: Record<string, unknown>,
): Promise<void> {
  await audit.record({ type, keyId: record.id, keyHint: record.hint, actorKeyId: actor, clientIp: null, reason: null, details });
}
