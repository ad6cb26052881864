/**
 * The shape of PageShot's database, and the records the rest of the code works with.
 *
 * Tables hold only types that SQLite and PostgreSQL both store the same way, so one set
 * of queries runs on either: text for ids, JSON and timestamps (ISO-8601 UTC, so that
 * ordering by the text is ordering by time) and integer 0/1 for booleans. The record
 * types below are what callers see; the row types are private to the store, which maps
 * one to the other in rows.ts.
 */

/** What an API key may do. */
export type Scope = 'screenshot' | 'usage:read' | 'keys:manage';

/** Every scope, in a stable order (the default set for a new key is up to the caller). */
export const ALL_SCOPES: readonly Scope[] = ['screenshot', 'usage:read', 'keys:manage'];

/**
 * The caller (fairness, isolation and ownership identity) of the stored key `id`: what
 * its jobs, webhook secret and cached results are filed under.
 */
export function callerOfKey(id: string): string {
  return `key:${id}`;
}

/** Per-key limit overrides; undefined = the server's default. */
export interface KeyLimits {
  /** Requests per second, sustained. */
  rate?: number;
  /** Requests allowed in a burst above the rate. */
  burst?: number;
  /** Captures per UTC day. */
  daily?: number;
  /** Captures running at once. */
  concurrent?: number;
}

/** One API key as PageShot knows it. The key itself is never stored, only its hash. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** SHA-256 hex of the key; the key itself is never stored. */
  hash: string;
  /** Display form, e.g. `ps_live_…a1b2`, so people can tell their keys apart. */
  hint: string;
  scopes: Scope[];
  /** ISO-8601 UTC timestamps, e.g. `2025-01-31T12:00:00.000Z`. */
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  /** A disabled key is refused until enabled again; revocation, unlike this, is final. */
  disabled: boolean;
  limits: KeyLimits;
  /** Host patterns the key may capture, like `*.example.com`; empty = any. */
  allowedHosts: string[];
  /** Client IPs / CIDRs the key may be used from; empty = any. */
  allowedIps: string[];
  /** Free-form data for the key's owner; stored as JSON. */
  metadata: Record<string, unknown>;
  /** Id of the key this one replaced by rotation. */
  rotatedFrom: string | null;
  /**
   * Id of the key that replaced this one by rotation; null until then. Once set, the key
   * cannot be rotated again, and its retirement (revocation or end of grace) cannot be undone.
   */
  replacedBy: string | null;
}

/** Every kind of audit event, in a stable order. */
export const AUDIT_EVENT_TYPES = [
  'key.created',
  'key.updated',
  'key.rotated',
  'key.revoked',
  'key.disabled',
  'key.enabled',
  'auth.failed',
  'signing_secret.created',
  'signing_secret.revoked',
] as const;

/** What happened, in an audit event. */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/**
 * A filter on audit event types: one exact type (`key.revoked`), or a family named by
 * its prefix up to and including the dot (`key.`, `auth.`).
 */
export type AuditTypeFilter = AuditEventType | `${string}.`;

/** One entry of the audit log: who did what to which key, and when. */
export interface AuditEvent {
  id: string;
  /** ISO-8601 UTC timestamp. */
  time: string;
  type: AuditEventType;
  /** The key acted on (or presented, for `auth.failed`); null when unknown. */
  keyId: string | null;
  keyHint: string | null;
  /** The key that made the change; null for the CLI or the server itself. */
  actorKeyId: string | null;
  clientIp: string | null;
  reason: string | null;
  details: Record<string, unknown>;
}

/** A row of `api_keys`. JSON columns hold text; `disabled` holds 0 or 1. */
export interface ApiKeysTable {
  id: string;
  name: string;
  hash: string;
  hint: string;
  /** JSON array of scopes. */
  scopes: string;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  disabled: number;
  /** JSON object (KeyLimits). */
  limits: string;
  /** JSON array of strings. */
  allowed_hosts: string;
  /** JSON array of strings. */
  allowed_ips: string;
  /** JSON object. */
  metadata: string;
  rotated_from: string | null;
  /** Added by migration 0004. */
  replaced_by: string | null;
}

/** A row of `audit_events`. */
export interface AuditEventsTable {
  id: string;
  time: string;
  type: string;
  key_id: string | null;
  key_hint: string | null;
  actor_key_id: string | null;
  client_ip: string | null;
  reason: string | null;
  /** JSON object. */
  details: string;
}

/**
 * The database as Kysely sees it. Kysely's own migration tables are not listed: the
 * Migrator manages them.
 */
export interface Database {
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  usage_daily: UsageDailyTable;
  usage_rejections: UsageRejectionsTable;
  webhook_secrets: WebhookSecretsTable;
  signing_secrets: SigningSecretsTable;
}

/** A row of `usage_daily`. bigint columns come back from pg as strings: convert with Number(). */
export interface UsageDailyTable {
  subject: string;
  day: string;
  requests: number | string;
  succeeded: number | string;
  failed: number | string;
  rejected: number | string;
  render_ms: number | string;
  bytes_sent: number | string;
  cache_hits: number | string;
}

/** A row of `usage_rejections`. */
export interface UsageRejectionsTable {
  subject: string;
  day: string;
  reason: string;
  count: number | string;
}

/** Usage counters, of one day or summed over many. */
export interface UsageCounts {
  requests: number;
  succeeded: number;
  failed: number;
  rejected: number;
  /** Rejections by error code, e.g. { RATE_LIMITED: 3 }. */
  rejectedBy: Record<string, number>;
  renderMs: number;
  bytesSent: number;
  /** Successes answered from the result cache or another request's render, without a render of their own. */
  cacheHits: number;
}

/** One subject's usage on one UTC day. */
export interface UsageDay extends UsageCounts {
  day: string;
}

/** Counters all at zero. */
export function emptyUsage(): UsageCounts {
  return { requests: 0, succeeded: 0, failed: 0, rejected: 0, rejectedBy: {}, renderMs: 0, bytesSent: 0, cacheHits: 0 };
}

/** Adds `from` into `into` (rejections by reason included). */
export function addUsage(into: UsageCounts, from: UsageCounts): void {
  into.requests += from.requests;
  into.succeeded += from.succeeded;
  into.failed += from.failed;
  into.rejected += from.rejected;
  into.renderMs += from.renderMs;
  into.bytesSent += from.bytesSent;
  into.cacheHits += from.cacheHits;
  for (const [reason, count] of Object.entries(from.rejectedBy)) into.rejectedBy[reason] = (into.rejectedBy[reason] ?? 0) + count;
}

/** A webhook signing secret: at most one per owner (a principal's `caller`). */
export interface WebhookSecretsTable {
  owner: string;
  /** `whsec_…`, as given to the owner once. */
  secret: string;
  /** `whsec_…` and its last four characters, to tell secrets apart. */
  hint: string;
  created_at: string;
}

/**
 * A secret that signs a key's embed links (migration 0008): at most 5 active per key.
 * Kept as issued, since the server computes HMACs with it; wiped when revoked.
 */
export interface SigningSecretsTable {
  /** `sks_…`. */
  id: string;
  /** The key whose links it signs (api_keys.id). */
  key_id: string;
  /** `pss_…` as given to the key's owner once; empty once revoked. */
  secret: string;
  /** `pss_…` and its last four characters. */
  hint: string;
  created_at: string;
  /** Updated at most once a minute per secret (see SigningSecretStore.touch). */
  last_used_at: string | null;
  revoked_at: string | null;
}
