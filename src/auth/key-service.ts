import { ApiError } from '../errors.js';
import type { AuditStore } from '../store/audit-store.js';
import type { KeyStore } from '../store/key-store.js';
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
function checkSettings(settings: KeyPatch, now: Date): void {
  if (settings.name !== undefined && (settings.name.trim() === '' || settings.name.length > MAX_NAME_LENGTH)) {
    throw invalid('name', `"name" must be 1 to ${MAX_NAME_LENGTH} characters.`);
  }
  if (settings.scopes !== undefined) {
    if (settings.scopes.length === 0) throw invalid('scopes', '"scopes" must name at least one scope.');
    settings.scopes.forEach((scope, index) => {
      if (!ALL_SCOPES.includes(scope)) throw invalid(`scopes/${index}`, `"${scope}" is not a scope: ${ALL_SCOPES.join(', ')}.`);
    });
  }
  for (const [name, value] of Object.entries(settings.limits ?? {})) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_LIMIT) {
      throw invalid(`limits/${name}`, `"limits.${name}" must be an integer from 0 to ${MAX_LIMIT}.`);
    }
  }
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
  if (settings.metadata && Buffer.byteLength(JSON.stringify(settings.metadata)) > MAX_METADATA_BYTES) {
    throw invalid('metadata', `"metadata" must be at most ${MAX_METADATA_BYTES} bytes of JSON.`);
  }
}

/**
 * Key management: create, read, change, revoke and rotate keys, writing an audit event
 * for each change and telling the authenticator (`onChange`) which cached key changed.
 * The HTTP API and the CLI both go through here.
 */
export class KeyService {
  constructor(
    private readonly keys: KeyStore,
    private readonly audit: AuditStore,
    private readonly prefix: string,
    private readonly onChange: (hash: string) => void = () => undefined,
  ) {}

  /** Issues a new key. `actor` is the id of the key that asked (null from the CLI). */
  async create(settings: KeySettings, actor: string | null, rotatedFrom: string | null = null): Promise<IssuedKey> {
    const now = new Date();
    checkSettings(settings, now);
    const key = generateKey(this.prefix);
    const record: ApiKeyRecord = {
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
      disabled: false,
      limits: settings.limits ?? {},
      allowedHosts: settings.allowedHosts ?? [],
      allowedIps: settings.allowedIps ?? [],
      metadata: settings.metadata ?? {},
      rotatedFrom,
    };
    await this.keys.insert(record);
    // A lookup of this hash may have been cached as "unknown" a moment ago.
    this.onChange(record.hash);
    await this.event('key.created', record, actor, { rotatedFrom });
    return { key, record };
  }

  /** One key; 404 KEY_NOT_FOUND when there is no such id. */
  async get(id: string): Promise<ApiKeyRecord> {
    const record = await this.keys.findById(id);
    if (!record) throw new ApiError('KEY_NOT_FOUND', `No key with id "${id.slice(0, 64)}".`);
    return record;
  }

  /** A page of keys, oldest first. */
  list(limit: number, cursor?: string): Promise<{ items: ApiKeyRecord[]; next: string | null }> {
    return this.keys.list({ limit, ...(cursor ? { after: cursor } : {}) });
  }

  /** Changes settings or the disabled flag. A revoked key cannot change (409). */
  async update(id: string, patch: KeyPatch, actor: string | null): Promise<ApiKeyRecord> {
    const current = await this.get(id);
    if (current.revokedAt !== null) throw new ApiError('KEY_ALREADY_REVOKED', 'A revoked key cannot be changed.');
    checkSettings(patch, new Date());
    const { expiresAt, ...rest } = patch;
    const changes = {
      ...rest,
      ...(rest.scopes ? { scopes: [...new Set(rest.scopes)] } : {}),
      ...(expiresAt !== undefined ? { expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() } : {}),
    };
    const updated = (await this.keys.update(id, changes))!;
    this.onChange(updated.hash);
    const fields = Object.keys(changes);
    await this.event('key.updated', updated, actor, { fields });
    if (patch.disabled !== undefined && patch.disabled !== current.disabled) {
      await this.event(patch.disabled ? 'key.disabled' : 'key.enabled', updated, actor, {});
    }
    return updated;
  }

  /** Revokes a key for good, at once. Revoking a revoked key changes nothing. */
  async revoke(id: string, actor: string | null): Promise<ApiKeyRecord> {
    const current = await this.get(id);
    if (current.revokedAt !== null) return current;
    const revoked = (await this.keys.update(id, { revokedAt: new Date().toISOString() }))!;
    this.onChange(revoked.hash);
    await this.event('key.revoked', revoked, actor, {});
    return revoked;
  }

  /**
   * Issues a new key with the same settings; the old one keeps working for
   * `graceSeconds` (never past its own expiry), or stops at once when 0.
   */
  async rotate(id: string, graceSeconds: number, actor: string | null): Promise<IssuedKey> {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
      throw invalid('gracePeriodSeconds', `"gracePeriodSeconds" must be an integer from 0 to ${MAX_GRACE_SECONDS}.`);
    }
    const old = await this.get(id);
    if (old.revokedAt !== null) throw new ApiError('KEY_ALREADY_REVOKED', 'A revoked key cannot be rotated.');
    if (refusalOf(old, new Date()) === 'KEY_EXPIRED') {
      throw invalid('id', 'An expired key cannot be rotated; create a new key instead.');
    }
    const { name, scopes, limits, allowedHosts, allowedIps, metadata, expiresAt } = old;
    const issued = await this.create({ name, scopes, limits, allowedHosts, allowedIps, metadata, expiresAt }, actor, old.id);
    const now = Date.now();
    const graceEnd = now + graceSeconds * 1000;
    const ownEnd = old.expiresAt === null ? Infinity : Date.parse(old.expiresAt);
    const retired =
      graceSeconds === 0
        ? await this.keys.update(id, { revokedAt: new Date(now).toISOString() })
        : await this.keys.update(id, { expiresAt: new Date(Math.min(graceEnd, ownEnd)).toISOString() });
    this.onChange(old.hash);
    await this.event('key.rotated', retired!, actor, { newKeyId: issued.record.id, gracePeriodSeconds: graceSeconds });
    return issued;
  }

  private async event(type: AuditEventType, record: ApiKeyRecord, actor: string | null, details: Record<string, unknown>) {
    await this.audit.record({ type, keyId: record.id, keyHint: record.hint, actorKeyId: actor, clientIp: null, reason: null, details });
  }
}
