import type { UsageRange } from './types.js';

/** `YYYY-MM-DD` of a Date's UTC day; strings pass through for the server to check. */
function utcDay(value: string | Date | undefined): string | undefined {
  return value instanceof Date ? value.toISOString().slice(0, 10) : value;
}

/** The query string of a usage range. */
export function usageQuery(range: UsageRange): { from: string | undefined; to: string | undefined } {
  return { from: utcDay(range.from), to: utcDay(range.to) };
}
