import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createSigningSecret } from '../auth/signed-link.js';
import type { Database } from './schema.js';

/** What anyone may see of a signing secret: enough to tell two apart, never the secret. */
export interface SigningSecretInfo {
  /** `sks_…`. */
  id: string;
  /** `pss_…` and the secret's last four characters. */
  hint: string;
  createdAt: string;
  /** When a signed request last matched it (to the minute); null when never. */
  lastUsedAt: string | null;
}

/** A new secret, the one time its value is shown. */
export interface IssuedSigningSecret extends Omit<SigningSecretInfo, 'lastUsedAt'> {
  keyId: string;
  /** `pss_…`. */
  secret: string;
}

/** An active secret as verification needs it. */
export interface ActiveSigningSecret {
  id: string;
  secret: string;
  lastUsedAt: string | null;
}

/** Why a secret was not created. */
export type SigningSecretRefusal = 'limit-reached' | 'unknown-key';

/** A secret's last use is written at most this often: a signed request must not be a write. */
const TOUCH_INTERVAL_MS = 60_000;

function hintOf(secret: string): string {
  return `pss_…${secret.slice(-4)}`;
}

/**
 * Secrets that sign a key's embed links, several per key (so a new one can be rolled out
 * before the old one is revoked). The secret is stored as issued, since the server must
 * compute HMACs with it; the API shows it once, when it is created, and only its hint
 * afterwards. Revoking one wipes the secret and keeps the row (id, hint, times).
 */
export class SigningSecretStore {
  /** Last-used writes under way, by secret id: one at a time per secret. */
  private readonly touching = new Map<string, Promise<void>>();

  /**
   * @param options.onTouchError Told when recording a last use fails (the request that
   *   used the secret is not affected by it).
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { onTouchError?: (error: unknown) => void } = {},
  ) {}

  /**
   * Creates a secret for `keyId`, unless the key has `max` active ones already (or does
   * not exist). The count and the insert happen under a lock on the key's row (a no-op
   * UPDATE: it locks the row on PostgreSQL, and takes SQLite's write lock), so
   * concurrent calls cannot both see room for one more.
   */
  async create(keyId: string, max: number, now: Date = new Date()): Promise<IssuedSigningSecret | SigningSecretRefusal> {
    return this.db.transaction().execute(async (trx) => {
      const locked = await trx
        .updateTable('api_keys')
        .set((eb) => ({ hint: eb.ref('hint') }))
        .where('id', '=', keyId)
        .executeTakeFirst();
      if (Number(locked.numUpdatedRows) === 0) return 'unknown-key';
      const { count } = await trx
        .selectFrom('signing_secrets')
        .select((eb) => eb.fn.countAll().as('count'))
        .where('key_id', '=', keyId)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      // PostgreSQL's count() is a bigint, which pg returns as a string.
      if (Number(count) >= max) return 'limit-reached';
      const secret = createSigningSecret();
      const row = { id: `sks_${randomBytes(12).toString('hex')}`, key_id: keyId, secret, hint: hintOf(secret), created_at: now.toISOString() };
      await trx.insertInto('signing_secrets').values({ ...row, last_used_at: null, revoked_at: null }).execute();
      return { id: row.id, keyId, secret, hint: row.hint, createdAt: row.created_at };
    });
  }

  /** The key's active secrets as shown to it, newest first. */
  async list(keyId: string): Promise<SigningSecretInfo[]> {
    const rows = await this.db
      .selectFrom('signing_secrets')
      .select(['id', 'hint', 'created_at', 'last_used_at'])
      .where('key_id', '=', keyId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map((row) => ({ id: row.id, hint: row.hint, createdAt: row.created_at, lastUsedAt: row.last_used_at }));
  }

  /** The key's active secrets with their values, to verify a signature against. */
  async active(keyId: string): Promise<ActiveSigningSecret[]> {
    const rows = await this.db
      .selectFrom('signing_secrets')
      .select(['id', 'secret', 'last_used_at'])
      .where('key_id', '=', keyId)
      .where('revoked_at', 'is', null)
      .execute();
    return rows.map((row) => ({ id: row.id, secret: row.secret, lastUsedAt: row.last_used_at }));
  }

  /** The key's newest active secret, to sign with; undefined when it has none. */
  async newestActive(keyId: string): Promise<{ id: string; secret: string } | undefined> {
    return this.db
      .selectFrom('signing_secrets')
      .select(['id', 'secret'])
      .where('key_id', '=', keyId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * Revokes the key's secret `id`: links it signed stop working at once. False when the
   * key has no such active secret (unknown, another key's, or revoked already).
   */
  async revoke(keyId: string, id: string, now: Date = new Date()): Promise<boolean> {
    const result = await this.db
      .updateTable('signing_secrets')
      .set({ revoked_at: now.toISOString(), secret: '' })
      .where('id', '=', id)
      .where('key_id', '=', keyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Notes that a signed request matched `secret`, without making the request wait: the
   * write runs in the background, and only when the stored time is a minute old or more
   * (a busy embed link is not a write per request). Failures go to `onTouchError`.
   */
  touch(secret: ActiveSigningSecret, now: Date = new Date()): void {
    if (secret.lastUsedAt !== null && now.getTime() - Date.parse(secret.lastUsedAt) < TOUCH_INTERVAL_MS) return;
    if (this.touching.has(secret.id)) return;
    const at = now.toISOString();
    const write = this.db
      .updateTable('signing_secrets')
      .set({ last_used_at: at })
      .where('id', '=', secret.id)
      // Instances write in any order: an older time never replaces a newer one.
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
      .execute()
      .then(
        () => undefined,
        (error: unknown) => this.options.onTouchError?.(error),
      )
      .finally(() => this.touching.delete(secret.id));
    this.touching.set(secret.id, write);
  }

  /** Resolves once every last-use write started so far is done (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.touching.values());
  }
}
