import { parseArgs } from 'node:util';
import pino from 'pino';
import { createKeyChanges } from './auth/key-changes.js';
import { keyView, KeyService, type KeySettings, type KeyView } from './auth/key-service.js';
import type { Config } from './config.js';
import { ApiError } from './errors.js';
import { openDatabase } from './store/database.js';
import { KeyStore } from './store/key-store.js';
import { ALL_SCOPES, type Scope } from './store/schema.js';

/** Usage of `pageshot keys`. */
export const KEYS_USAGE = `pageshot keys: manage API keys in the server's own store

  pageshot keys create --name NAME [--scopes screenshot,usage:read,keys:manage]
                       [--expires ISO-DATE|30d] [--rate R] [--burst B] [--daily D] [--concurrent C]
                       [--allowed-hosts a.com,*.b.com] [--allowed-ips 10.0.0.0/8,…]
  pageshot keys list
  pageshot keys show ID
  pageshot keys revoke ID
  pageshot keys rotate ID [--grace SECONDS]
  add --json for machine-readable output
`;

const FLAGS = {
  name: { type: 'string' },
  scopes: { type: 'string' },
  expires: { type: 'string' },
  rate: { type: 'string' },
  burst: { type: 'string' },
  daily: { type: 'string' },
  concurrent: { type: 'string' },
  'allowed-hosts': { type: 'string' },
  'allowed-ips': { type: 'string' },
  grace: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true }>>['values'];

function fail(field: string, message: string): never {
  throw new ApiError('VALIDATION_ERROR', message, { extras: { field } });
}

function count(flags: Flags, name: 'rate' | 'burst' | 'daily' | 'concurrent' | 'grace'): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) fail(name, `--${name} must be a whole number.`);
  return Number(raw);
}

/** `--expires 30d` (days from now) or an ISO date-time. */
function expiry(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const days = /^(\d+)d$/.exec(raw);
  return days ? new Date(Date.now() + Number(days[1]) * 86_400_000).toISOString() : raw;
}

function list(raw: string | undefined): string[] | undefined {
  return raw?.split(',').map((item) => item.trim()).filter(Boolean);
}

function settingsFrom(flags: Flags): KeySettings {
  if (!flags.name) fail('name', 'keys create needs --name.');
  const scopes = (list(flags.scopes) ?? ['screenshot']) as Scope[];
  for (const scope of scopes) if (!ALL_SCOPES.includes(scope)) fail('scopes', `Unknown scope "${scope}"; scopes: ${ALL_SCOPES.join(', ')}.`);
  const limits = { rate: count(flags, 'rate'), burst: count(flags, 'burst'), daily: count(flags, 'daily'), concurrent: count(flags, 'concurrent') };
  const expiresAt = expiry(flags.expires);
  const allowedHosts = list(flags['allowed-hosts']);
  const allowedIps = list(flags['allowed-ips']);
  return {
    name: flags.name,
    scopes,
    limits: Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined)),
    ...(expiresAt ? { expiresAt } : {}),
    ...(allowedHosts ? { allowedHosts } : {}),
    ...(allowedIps ? { allowedIps } : {}),
  };
}

function describe(view: KeyView): string {
  const limits = Object.entries(view.limits).map(([name, value]) => `${name}=${value}`).join(' ') || 'defaults';
  return [
    `${view.id}  ${view.hint}  ${view.state}  "${view.name}"`,
    `  scopes: ${view.scopes.join(', ')}; limits: ${limits}; expires: ${view.expiresAt ?? 'never'}; last used: ${view.lastUsedAt ?? 'never'}`,
  ].join('\n');
}

/**
 * Runs `pageshot keys …` against the configured store (PAGESHOT_DATA_DIR or
 * PAGESHOT_DATABASE_URL), writing to `out`. With PAGESHOT_REDIS_URL, running servers hear
 * of a change at once; otherwise they see it within their key cache lifetime (30 s).
 */
export async function runKeys(config: Config, args: string[], out: (text: string) => void): Promise<void> {
  const { values: flags, positionals } = parseArgs({ args, options: FLAGS, allowPositionals: true });
  const [verb, id] = positionals;
  const database = await openDatabase(config.store);
  // Warnings (Redis unreachable) go to standard error: standard output may be --json.
  const changes = createKeyChanges(config.rateLimits.redisUrl, undefined, pino({ level: 'warn' }, pino.destination(2)));
  const announced: Array<Promise<void>> = [];
  const service = new KeyService(new KeyStore(database.db), {
    prefix: config.auth.keyPrefix,
    defaultLimits: config.rateLimits.defaults,
    onChange: (hash) => announced.push(changes.publish(hash)),
  });
  const show = (view: KeyView, key?: string) => {
    if (flags.json) out(`${JSON.stringify(key ? { ...view, key } : view)}\n`);
    else out(`${key ? `${key}\n  ↑ the new key: store it now, it will not be shown again\n` : ''}${describe(view)}\n`);
  };
  try {
    switch (verb) {
      case 'create': {
        const issued = await service.create(settingsFrom(flags), null);
        return show(keyView(issued.record), issued.key);
      }
      case 'list': {
        let cursor: string | undefined;
        do {
          const page = await service.list(100, cursor);
          for (const record of page.items) show(keyView(record));
          cursor = page.next ?? undefined;
        } while (cursor);
        return;
      }
      case 'show':
      case 'revoke':
      case 'rotate': {
        if (!id) fail('id', `keys ${verb} needs a key id.`);
        if (verb === 'show') return show(keyView(await service.get(id)));
        if (verb === 'revoke') return show(keyView(await service.revoke(id, null)));
        const issued = await service.rotate(id, count(flags, 'grace') ?? 0, null);
        return show(keyView(issued.record), issued.key);
      }
      default:
        throw new ApiError('VALIDATION_ERROR', `Unknown keys command "${verb ?? ''}".\n\n${KEYS_USAGE}`);
    }
  } finally {
    await Promise.all(announced);
    await changes.close();
    await database.close();
  }
}
