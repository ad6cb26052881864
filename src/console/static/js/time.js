// Times for people. The console shows every time in UTC and says so: usage is counted
// per UTC day and daily quotas renew at 00:00 UTC, so one zone everywhere keeps a key's
// "expires", a chart's day and a rate-limit reset from disagreeing. The exact ISO time
// is always in the element's title.
import { h } from './dom.js';

const DAY_MS = 86_400_000;

/** `ms` (epoch milliseconds) as YYYY-MM-DD, the UTC day. */
export function utcDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `YYYY-MM-DD` moved by `days` (may be negative). */
export function addDays(day, days) {
  return utcDay(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS);
}

/** "2026-12-01 08:38 UTC" (or with seconds). */
export function utcDateTime(ms, { seconds = false } = {}) {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, seconds ? 19 : 16)} UTC`;
}

/** "08:38:46 UTC": for times within the next day or so, where the date adds nothing. */
export function utcClock(ms) {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/** How far `ms` is from `now`: "in 42 s", "in 5 min", "in 3 h", "in 2 d", "12 s ago", or "now". */
export function fromNow(ms, now = Date.now()) {
  const seconds = Math.round((ms - now) / 1000);
  const size = Math.abs(seconds);
  if (size < 1) return 'now';
  // Each unit is used while its rounded count stays below the next unit (never "60 min").
  const minutes = Math.round(size / 60);
  const hours = Math.round(size / 3600);
  let amount;
  if (size < 120) amount = `${size} s`;
  else if (minutes < 60) amount = `${minutes} min`;
  else if (hours < 48) amount = `${hours} h`;
  else amount = `${Math.round(size / 86400)} d`;
  return seconds > 0 ? `in ${amount}` : `${amount} ago`;
}

/** A time as a `<time>` element in UTC (ISO in its title), or `none` when null. */
export function formatTime(iso, none = 'never') {
  if (!iso) return h('span', { className: 'muted', title: none }, none);
  return h('time', { dateTime: iso, title: iso }, utcDateTime(Date.parse(iso)));
}
