import type { Kysely } from 'kysely';
import { createWebhookSecret } from '../jobs/webhook-signature.js';
import type { Database } from './schema.js';

/** What anyone may see of a signing secret: enough to tell two apart, never the secret. */
export interface WebhookSecretInfo {
  hint: string;
  createdAt: string;
}

/** `whsec_…` and the secret's last four characters. */
function hintOf(secret: string): string {
  return `whsec_…${secret.slice(-4)}`;
}

/**
 * Webhook signing secrets, one per owner (a principal's `caller`: a key keeps its secret
 * through rotations, as its id does). The secret is stored as issued, since signing needs
 * it; the API shows it once, when it is created, and only its hint afterwards.
 */
export class WebhookSecretStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates the owner's secret, replacing the one it had (which stops signing at once). */
  async create(owner: string, now: Date = new Date()): Promise<WebhookSecretInfo & { secret: string }> {
    const secret = createWebhookSecret();
    const row = { owner, secret, hint: hintOf(secret), created_at: now.toISOString() };
    await this.db
      .insertInto('webhook_secrets')
      .values(row)
      .onConflict((conflict) => conflict.column('owner').doUpdateSet({ secret: row.secret, hint: row.hint, created_at: row.created_at }))
      .execute();
    return { secret, hint: row.hint, createdAt: row.created_at };
  }

  /** The owner's secret, to sign with; undefined when it has none. */
  async secretOf(owner: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('webhook_secrets').select('secret').where('owner', '=', owner).executeTakeFirst();
    return row?.secret;
  }

  /** The owner's secret as shown to it (hint and time), or null. */
  async infoOf(owner: string): Promise<WebhookSecretInfo | null> {
    const row = await this.db.selectFrom('webhook_secrets').select(['hint', 'created_at']).where('owner', '=', owner).executeTakeFirst();
    return row ? { hint: row.hint, createdAt: row.created_at } : null;
  }

  /** Deletes the owner's secret; true when there was one. */
  async delete(owner: string): Promise<boolean> {
    const result = await this.db.deleteFrom('webhook_secrets').where('owner', '=', owner).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
