import { parseArgs } from 'node:util';
import type { Config } from './config.js';
import { ApiError } from './errors.js';
import { usageRange, usageTotals } from './routes/usage.js';
import { openDatabase } from './store/database.js';
import { UsageStore } from './store/usage-store.js';

/** Usage of `pageshot usage`. */
export const USAGE_USAGE = `pageshot usage --key ID [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json]
  usage per UTC day of one key (its id; "root" for API_KEY), from the server's own store;
  default: the last 30 days. Counts reach the store every few seconds.
`;

/** Runs `pageshot usage …`, writing a table (or JSON) to `out`. */
export async function runUsage(config: Config, args: string[], out: (text: string) => void): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { key: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (!values.key) throw new ApiError('VALIDATION_ERROR', `usage needs --key.\n\n${USAGE_USAGE}`, { extras: { field: 'key' } });
  const range = usageRange({ ...(values.from ? { from: values.from } : {}), ...(values.to ? { to: values.to } : {}) });
  const database = await openDatabase(config.store);
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
