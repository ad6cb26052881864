// The usage page's date range: two UTC days, checked here before a request is spent on
// them. The rules are GET /v1/usage's (src/routes/usage.ts), plus "not in the future":
// a day that has not started has no usage to show.
import { addDays, utcDay } from './time.js';

/** The most days GET /v1/usage answers at once. */
export const MAX_DAYS = 366;
/** The range shown first: the last 30 days, today included (the API's default too). */
export const DEFAULT_DAYS = 30;

const DAY_MS = 86_400_000;
const DAY_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

/** The default range: the last DEFAULT_DAYS UTC days up to today. */
export function defaultRange(now = Date.now()) {
  const to = utcDay(now);
  return { from: addDays(to, -(DEFAULT_DAYS - 1)), to };
}

/** True for a real calendar day written YYYY-MM-DD (2026-02-30 is not one). */
function isDay(text) {
  if (!DAY_SHAPE.test(text)) return false;
  const time = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(time) && utcDay(time) === text;
}

/**
 * Why `from`..`to` cannot be asked for, as `{ field, message }` (field: "from" or "to"),
 * or null when the range is fine. An empty value is what a date input gives for a
 * date typed only in part.
 */
export function rangeProblem(from, to, now = Date.now()) {
  if (!isDay(from)) return { field: 'from', message: 'Enter the first day as a full date.' };
  if (!isDay(to)) return { field: 'to', message: 'Enter the last day as a full date.' };
  const today = utcDay(now);
  if (to > today) return { field: 'to', message: `The last day cannot be after today (${today} UTC).` };
  if (from > to) return { field: 'from', message: 'The first day must not be after the last day.' };
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
  if (days > MAX_DAYS) return { field: 'from', message: `Choose at most ${MAX_DAYS} days at once (this is ${days}).` };
  return null;
}
