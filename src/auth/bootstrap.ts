import type { Config } from '../config.js';
import type { KeyStore } from '../store/key-store.js';
import { ALL_SCOPES } from '../store/schema.js';
import type { KeyService } from './key-service.js';

/**
 * On the very first start (authentication on, no API_KEY, no key ever stored), issues
 * an admin key and prints it once with a plain warning: without it nobody could call
 * the API. Only its hash is stored. The key is printed, never logged.
 */
export async function issueFirstAdminKey(
  config: Config,
  keys: KeyStore,
  service: KeyService,
  print: (text: string) => void,
): Promise<boolean> {
  if (!config.auth.enabled || config.auth.rootKeyHash) return false;
  const { items } = await keys.list({ limit: 1 });
  if (items.length > 0) return false;
  const { key, record } = await service.create({ name: 'admin (first start)', scopes: [...ALL_SCOPES] }, null);
  print(
    [
      '',
      '================================================================================',
      ' PageShot created an admin API key (all scopes). Store this now: it is shown',
      ' only this once and cannot be recovered, only replaced.',
      '',
      `   ${key}`,
      '',
      ` id ${record.id}. Use it as "Authorization: Bearer <key>".`,
      '================================================================================',
      '',
    ].join('\n'),
  );
  return true;
}
