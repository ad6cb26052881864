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
      ` id ${record.id}. Use it as "Authorization: Bearer <key>", e.g.`,
      `   export PAGESHOT_API_KEY=${key}`,
      ...exposureNote(config.host),
      '================================================================================',
      '',
    ].join('\n'),
  );
  return true;
}

/** Whether a listen address takes connections from other machines too. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** A word about who can reach the server, when it listens on every interface. */
function exposureNote(host: string): string[] {
  if (!isWildcardHost(host)) return [];
  return [
    '',
    ` The server listens on every network interface (HOST=${host}): anyone who can`,
    ' reach this port can call it (with a key). HOST=127.0.0.1 keeps it to this machine.',
  ];
}
