import type { ApiKeyRecord, ApiKeysTable, AuditEvent, AuditEventsTable, AuditEventType, KeyLimits, Scope } from './schema.js';

/*
 * The one place where records become rows and rows become records: JSON as text,
 * booleans as 0/1, timestamps as canonical ISO-8601 UTC text. Both databases hand
 * these column types back as the same JavaScript values (strings and numbers), so the
 * mapping does not depend on the dialect.
 */

/** The fields of a key that may change after it is created. */
export type KeyPatch = Partial<
  Pick<ApiKeyRecord, 'name' | 'scopes' | 'limits' | 'allowedHosts' | 'allowedIps' | 'disabled' | 'expiresAt' | 'metadata' | 'revokedAt'>
>;

// An explicit offset (or Z) is required: JavaScript reads `2025-01-01T00:00` as local time.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Rewrites a timestamp in the one form the database stores, `YYYY-MM-DDTHH:mm:ss.sssZ`.
 * Rows are ordered and compared by this text, which matches time order only when every
 * value has the same shape: `…00:00Z` sorts after `…00:00.500Z` although it is earlier.
 */
export function canonicalTime(value: string, field: string): string {
  const time = ISO_TIMESTAMP.test(value) ? new Date(value) : undefined;
  if (time === undefined || Number.isNaN(time.getTime())) {
    throw new RangeError(`${field} must be an ISO-8601 timestamp with a time zone, got ${JSON.stringify(value)}`);
  }
  return time.toISOString();
}

function canonicalTimeOrNull(value: string | null, field: string): string | null {
  return value === null ? null : canonicalTime(value, field);
}

/** A record of a key as a row of `api_keys`. */
export function toKeyRow(record: ApiKeyRecord): ApiKeysTable {
  return {
    id: record.id,
    name: record.name,
    hash: record.hash,
    hint: record.hint,
    scopes: JSON.stringify(record.scopes),
    created_at: canonicalTime(record.createdAt, 'createdAt'),
    updated_at: canonicalTime(record.updatedAt, 'updatedAt'),
    last_used_at: canonicalTimeOrNull(record.lastUsedAt, 'lastUsedAt'),
    expires_at: canonicalTimeOrNull(record.expiresAt, 'expiresAt'),
    revoked_at: canonicalTimeOrNull(record.revokedAt, 'revokedAt'),
    disabled: record.disabled ? 1 : 0,
    limits: JSON.stringify(record.limits),
    allowed_hosts: JSON.stringify(record.allowedHosts),
    allowed_ips: JSON.stringify(record.allowedIps),
    metadata: JSON.stringify(record.metadata),
    rotated_from: record.rotatedFrom,
    replaced_by: record.replacedBy,
  };
}

/** A row of `api_keys` as the record callers see. */
export function fromKeyRow(row: ApiKeysTable): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    hint: row.hint,
    scopes: JSON.parse(row.scopes) as Scope[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    // Number(): a driver configured to return integers as bigint or text still maps right.
    disabled: Number(row.disabled) !== 0,
    limits: JSON.parse(row.limits) as KeyLimits,
    allowedHosts: JSON.parse(row.allowed_hosts) as string[],
    allowedIps: JSON.parse(row.allowed_ips) as string[],
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    rotatedFrom: row.rotated_from,
    replacedBy: row.replaced_by,
  };
}

/** The columns a patch changes; a field that is absent or undefined is left as it is. */
export function toKeyPatchRow(patch: KeyPatch): Partial<ApiKeysTable> {
  const row: Partial<ApiKeysTable> = {};
  if (patch.name !== undefined) row.name = patch.name;
  if (patch.scopes !== undefined) row.scopes = JSON.stringify(patch.scopes);
  if (patch.limits !== undefined) row.limits = JSON.stringify(patch.limits);
  if (patch.allowedHosts !== undefined) row.allowed_hosts = JSON.stringify(patch.allowedHosts);
  if (patch.allowedIps !== undefined) row.allowed_ips = JSON.stringify(patch.allowedIps);
  if (patch.disabled !== undefined) row.disabled = patch.disabled ? 1 : 0;
  if (patch.expiresAt !== undefined) row.expires_at = canonicalTimeOrNull(patch.expiresAt, 'expiresAt');
  if (patch.metadata !== undefined) row.metadata = JSON.stringify(patch.metadata);
  if (patch.revokedAt !== undefined) row.revoked_at = canonicalTimeOrNull(patch.revokedAt, 'revokedAt');
  return row;
}

/** An audit event as a row of `audit_events`. */
export function toAuditRow(event: AuditEvent): AuditEventsTable {
  return {
    id: event.id,
    time: canonicalTime(event.time, 'time'),
    type: event.type,
    key_id: event.keyId,
    key_hint: event.keyHint,
    actor_key_id: event.actorKeyId,
    client_ip: event.clientIp,
    reason: event.reason,
    details: JSON.stringify(event.details),
  };
}

/** A row of `audit_events` as the event callers see. */
export function fromAuditRow(row: AuditEventsTable): AuditEvent {
  return {
    id: row.id,
    time: row.time,
    type: row.type as AuditEventType,
    keyId: row.key_id,
    keyHint: row.key_hint,
    actorKeyId: row.actor_key_id,
    clientIp: row.client_ip,
    reason: row.reason,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}
