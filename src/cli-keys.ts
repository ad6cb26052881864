import { parseArgs } from 'node:util';
import pino from 'pino';
import { createKeyChanges } from './auth/key-changes.js';
import { keyView, KeyService, type KeySettings, type KeyView } from './auth/key-service.js';
import { CliUsageError, HELP_FLAG, parseCommand, wantsHelp } from './cli-args.js';
import { configForHelp } from './cli-help.js';
import { KEY_VERBS, keyVerbHelp, KEYS_HELP, type KeyVerb } from './cli-keys-help.js';
import { openCliStore } from './cli-store.js';
import type { Config } from './config.js';
import { ApiError } from './errors.js';
import { KeyStore } from './store/key-store.js';
import { ALL_SCOPES, type Scope } from './store/schema.js';

export { KEYS_HELP } from './cli-keys-help.js';

const JSON_FLAG = { json: { type: 'boolean' } } as const;

/** Each sub-command's own options: one meant for another (`list --grace`) is refused, not ignored. */
export const KEY_VERB_FLAGS = {
  create: {
    name: { type: 'string' },
    scopes: { type: 'string' },
    expires: { type: 'string' },
    rate: { type: 'string' },
    burst: { type: 'string' },
    daily: { type: 'string' },
    concurrent: { type: 'string' },
    'allowed-hosts': { type: 'string' },
    'allowed-ips': { type: 'string' },
    ...JSON_FLAG,
  },
  list: JSON_FLAG,
  show: JSON_FLAG,
  revoke: JSON_FLAG,
  rotate: { grace: { type: 'string' }, ...JSON_FLAG },
} as const;

/** Every option of every sub-command, to find the sub-command's name wherever it stands. */
const ANY_FLAG = Object.assign({}, ...Object.values(KEY_VERB_FLAGS), HELP_FLAG) as Record<string, { type: 'string' | 'boolean' }>;

type CreateFlags = ReturnType<typeof parseArgs<{ options: (typeof KEY_VERB_FLAGS)['create'] }>>['values'];

function fail(field: string, message: string): never {
  throw new ApiError('VALIDATION_ERROR', message, { extras: { field } });
}

function count(raw: string | undefined, name: string): number | undefined {
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

function settingsFrom(flags: CreateFlags): KeySettings {
  if (!flags.name) fail('name', 'keys create needs --name.');
  const scopes = (list(flags.scopes) ?? ['screenshot']) as Scope[];
  for (const scope of scopes) if (!ALL_SCOPES.includes(scope)) fail('scopes', `Unknown scope "${scope}"; scopes: ${ALL_SCOPES.join(', ')}.`);
  const limits = {
    rate: count(flags.rate, 'rate'),
    burst: count(flags.burst, 'burst'),
    daily: count(flags.daily, 'daily'),
    concurrent: count(flags.concurrent, 'concurrent'),
  };
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

/** The options of any sub-command (each parses only its own). */
type KeyFlags = CreateFlags & { grace?: string | undefined };
/** A parsed `pageshot keys …` command line, or the help it asked for. */
type KeysCommand = { help: string } | { verb: KeyVerb; id: string | undefined; flags: KeyFlags };

/** Reads the command line: which sub-command, its id and options; help wins over everything else. */
function parseKeys(args: string[], config: () => Config): KeysCommand {
  const { tokens } = parseArgs({ args, options: ANY_FLAG, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((token) => token.kind === 'positional');
  const verb = first?.kind === 'positional' ? first.value : undefined;
  if (verb === undefined || verb === 'help') {
    const topic = tokens.filter((token) => token.kind === 'positional')[1];
    const named = topic?.kind === 'positional' && (KEY_VERBS as readonly string[]).includes(topic.value) ? (topic.value as KeyVerb) : undefined;
    if (verb === 'help' && named) return { help: keyVerbHelp(named, configForHelp(config)) };
    if (verb === 'help' || args.length === 0 || wantsHelp(args, ANY_FLAG)) return { help: KEYS_HELP };
    throw new CliUsageError('keys needs a command.', 'keys', KEYS_HELP);
  }
  if (!(KEY_VERBS as readonly string[]).includes(verb)) throw new CliUsageError(`Unknown keys command "${verb}".`, 'keys', KEYS_HELP);
  const known = verb as KeyVerb;
  const rest = args.filter((_, index) => index !== first!.index);
  if (wantsHelp(rest, KEY_VERB_FLAGS[known])) return { help: keyVerbHelp(known, configForHelp(config)) };
  const { values, positionals } = parseCommand(`keys ${known}`, rest, KEY_VERB_FLAGS[known]);
  const takesId = known === 'show' || known === 'revoke' || known === 'rotate';
  if (positionals.length > (takesId ? 1 : 0)) {
    throw new CliUsageError(`Unexpected argument "${positionals[takesId ? 1 : 0]}" for "pageshot keys ${known}".`, `keys ${known}`);
  }
  if (takesId && !positionals[0]) fail('id', `keys ${known} needs a key id.`);
  // One sub-command's options: the union of all of them, as parsed for this one.
  return { verb: known, id: positionals[0], flags: values as KeyFlags };
}

/**
 * Runs `pageshot keys …` against the configured store (PAGESHOT_DATA_DIR or
 * PAGESHOT_DATABASE_URL; see openCliStore for when a store may be created). With
 * PAGESHOT_REDIS_URL, running servers hear of a change at once; otherwise they see it
 * within their key cache lifetime (30 s).
 *
 * @param config The configuration, or a function that loads it: then it is loaded only
 *   when a command needs it, so `--help` works even while a variable is wrong.
 * @param out Where results go (text, or one JSON object per line with --json).
 * @param warn Where notices go (a new store started), never mixed into `out`.
 */
export async function runKeys(
  config: Config | (() => Config),
  args: string[],
  out: (text: string) => void,
  warn: (text: string) => void = (text) => void process.stderr.write(text),
): Promise<void> {
  const configOf = typeof config === 'function' ? config : () => config;
  const command = parseKeys(args, configOf);
  if ('help' in command) return out(command.help);
  const { verb, id, flags } = command;
  // Checked before the store is opened: a create with bad flags leaves nothing behind.
  const settings = verb === 'create' ? settingsFrom(flags) : undefined;
  const grace = verb === 'rotate' ? (count(flags.grace, 'grace') ?? 0) : 0;
  const loaded = configOf();
  // Said only once a key is in it: a create refused for its settings has nothing to announce.
  const notices: string[] = [];
  const database = await openCliStore(loaded, verb === 'create' ? 'create' : 'read', (text) => notices.push(text));
  // Warnings (Redis unreachable) go to standard error: standard output may be --json.
  const changes = createKeyChanges(loaded.rateLimits.redisUrl, undefined, pino({ level: 'warn' }, pino.destination(2)));
  const announced: Array<Promise<void>> = [];
  const service = new KeyService(new KeyStore(database.db), {
    prefix: loaded.auth.keyPrefix,
    defaultLimits: loaded.rateLimits.defaults,
    onChange: (hash) => announced.push(changes.publish(hash)),
  });
  const show = (view: KeyView, key?: string) => {
    if (flags.json) out(`${JSON.stringify(key ? { ...view, key } : view)}\n`);
    else out(`${key ? `${key}\n  ↑ the new key: store it now, it will not be shown again\n` : ''}${describe(view)}\n`);
  };
  try {
    if (verb === 'create') {
      const issued = await service.create(settings!, null);
      notices.forEach(warn);
      return show(keyView(issued.record), issued.key);
    }
    if (verb === 'list') {
      let cursor: string | undefined;
      do {
        const page = await service.list(100, cursor);
        for (const record of page.items) show(keyView(record));
        cursor = page.next ?? undefined;
      } while (cursor);
      return;
    }
    if (verb === 'show') return show(keyView(await service.get(id!)));
    if (verb === 'revoke') return show(keyView(await service.revoke(id!, null)));
    const issued = await service.rotate(id!, grace, null);
    return show(keyView(issued.record), issued.key);
  } finally {
    await Promise.all(announced);
    await changes.close();
    await database.close();
  }
}
