import type { Config } from './config.js';
import { ALL_SCOPES } from './store/schema.js';

/** The sub-commands of `pageshot keys`. */
export const KEY_VERBS = ['create', 'list', 'show', 'revoke', 'rotate'] as const;
/** A `pageshot keys` sub-command. */
export type KeyVerb = (typeof KEY_VERBS)[number];

const STORE = `The store is the server's: PostgreSQL when PAGESHOT_DATABASE_URL is set, else
<PAGESHOT_DATA_DIR>/pageshot.db (PAGESHOT_DATA_DIR defaults to ./data, taken from the
current directory). Only "create" may start a new store, and only in a directory named
by PAGESHOT_DATA_DIR: the others refuse, naming the path they looked at.`;

const JSON_LINE = '  --json                      print one JSON object per key instead of text';
const HELP_LINE = '  -h, --help                  show this help';

/** Help of `pageshot keys` (the list of sub-commands). */
export const KEYS_HELP = `Usage:
  pageshot keys create --name NAME [options]   issue a new key (printed once, only its hash is stored)
  pageshot keys list                           every key: id, hint, state and settings
  pageshot keys show ID                        one key
  pageshot keys revoke ID                      stop a key for good, at once
  pageshot keys rotate ID [--grace SECONDS]    a new key with the same settings; retire the old one
  pageshot keys <command> --help               a command's options and their defaults

Every command takes --json: one JSON object per key, one per line.

${STORE}
With PAGESHOT_REDIS_URL, running servers hear of a change at once; otherwise within 30 s.
`;

/** Help of one `pageshot keys` sub-command; `config` supplies the server's default limits shown. */
export function keyVerbHelp(verb: KeyVerb, config: Pick<Config, 'rateLimits'>): string {
  const defaults = config.rateLimits.defaults;
  switch (verb) {
    case 'create':
      return `Usage:
  pageshot keys create --name NAME [options]

Issues a new API key and prints it once: store it then, only its hash is kept.

Options:
  --name NAME                 a label for people, 1 to 100 characters (required)
  --scopes LIST               comma-separated, of ${ALL_SCOPES.join(', ')} (default: screenshot)
  --expires DATE|Nd           an ISO 8601 date-time, or N days from now, e.g. 90d (default: never)
  --rate R                    requests per second the key may sustain, 0 = unlimited
                              (default: the server's PAGESHOT_DEFAULT_RATE, here ${defaults.rate})
  --burst B                   requests it may send at once after a pause
                              (default: PAGESHOT_DEFAULT_BURST, here ${defaults.burst})
  --daily D                   requests per UTC day, 0 = no quota (default: PAGESHOT_DEFAULT_DAILY, here ${defaults.daily})
  --concurrent C              captures in flight, 0 = only the server's limits
                              (default: PAGESHOT_DEFAULT_CONCURRENT, here ${defaults.concurrent})
  --allowed-hosts LIST        hosts it may capture: example.com, *.example.org (default: any)
  --allowed-ips LIST          IPs or CIDRs it may be used from (default: any)
${JSON_LINE}
${HELP_LINE}

${STORE}
`;
    case 'list':
      return `Usage:
  pageshot keys list [--json]

Lists every key, oldest first, revoked ones included: id, hint (never the key), state
(active, disabled, expired, revoked), scopes, limits, expiry, last use.

Options:
${JSON_LINE}
${HELP_LINE}

${STORE}
`;
    case 'show':
      return `Usage:
  pageshot keys show ID [--json]

Shows one key (by its id, key_…), as "list" does.

Options:
${JSON_LINE}
${HELP_LINE}

${STORE}
`;
    case 'revoke':
      return `Usage:
  pageshot keys revoke ID [--json]

Revokes a key for good: it is refused from then on (403 KEY_REVOKED) and cannot be
changed back. Revoking a revoked key changes nothing.

Options:
${JSON_LINE}
${HELP_LINE}

${STORE}
`;
    case 'rotate':
      return `Usage:
  pageshot keys rotate ID [--grace SECONDS] [--json]

Issues a new key with every setting of the old one (name, scopes, limits, allowed hosts
and IPs, expiry, metadata, and disabled stays disabled), prints it once, and retires the
old key. A key can be rotated once.

Options:
  --grace SECONDS             how long the old key keeps working, never past its own expiry
                              (default: 0, it stops at once; at most 30 days)
${JSON_LINE}
${HELP_LINE}

${STORE}
`;
  }
}
