import { CliUsageError, parseCommand, wantsHelp } from './cli-args.js';
import { openCliStore } from './cli-store.js';
import type { Config } from './config.js';
import { ApiError } from './errors.js';
import { usageRange, usageTotals } from './routes/usage.js';
import { UsageStore } from './store/usage-store.js';

/** Help of `pageshot usage`. */
export const USAGE_HELP = `Usage:
  pageshot usage --key ID [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]

Usage per UTC day of one key, from the server's own store (PAGESHOT_DATABASE_URL, else
<PAGESHOT_DATA_DIR>/pageshot.db; an absent store is reported, never created). Counts
reach the store every few seconds.

Options:
  --key ID             the key's id (key_…), or "root" for API_KEY (required)
  --from YYYY-MM-DD    first day (default: the 30 days ending with --to; 366 at most)
  --to YYYY-MM-DD      last day (default: today, UTC)
  --json               one JSON object: the days and their totals
  -h, --help           show this help
`;

const FLAGS = { key: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } } as const;

/**
 * Runs `pageshot usage …`, writing a table (or JSON) to `out`.
 *
 * @param config The configuration, or a function that loads it when needed (so `--help`
 *   works even while a variable is wrong).
 */
export async function runUsage(
  config: Config | (() => Config),
  args: string[],
  out: (text: string) => void,
  warn: (text: string) => void = (text) => void process.stderr.write(text),
): Promise<void> {
  if (wantsHelp(args, FLAGS)) return out(USAGE_HELP);
  const { values, positionals } = parseCommand('usage', args, FLAGS);
  if (positionals.length > 0) throw new CliUsageError(`Unexpected argument "${positionals[0]}" for "pageshot usage".`, 'usage');
  if (!values.key) throw new ApiError('VALIDATION_ERROR', `usage needs --key.\n\n${USAGE_HELP}`, { extras: { field: 'key' } });
  const range = usageRange({ ...(values.from ? { from: values.from } : {}), ...(values.to ? { to: values.to } : {}) });
  const database = await openCliStore(typeof config === 'function' ? config() : config, 'read', warn);
  try {
    const days = await new UsageStore(database.db).days(values.key, range.from, range.to);
    const totals = usageTotals(days);
    if (values.json) {
      out(`${JSON.stringify({ keyId: values.key, ...range, days, totals })}\n`);
      return;
    }
    out(`usage of ${values.key} from ${range.from} to ${range.to}\n`);
    out('day         requests  succeeded  cache hits  failed  rejected  render s   MB sent\n');
    for (const day of [...days, { ...totals, day: 'total     ' }]) {
      out(
        `${day.day}  ${String(day.requests).padStart(8)}  ${String(day.succeeded).padStart(9)}  ${String(day.cacheHits).padStart(10)}  ${String(day.failed).padStart(6)}  ` +
          `${String(day.rejected).padStart(8)}  ${(day.renderMs / 1000).toFixed(1).padStart(8)}  ${(day.bytesSent / 1e6).toFixed(2).padStart(8)}\n`,
      );
    }
  } finally {
    await database.close();
  }
}
