import { InvalidCursorError } from './store-errors.js';

/*
 * Keyset pagination: a page ends at a (timestamp, id) pair and the next page starts
 * strictly after it. Unlike OFFSET, a row inserted or deleted meanwhile neither shifts
 * the pages nor costs a scan of the skipped rows. The id breaks ties between rows with
 * the same timestamp, so no row is skipped or shown twice.
 *
 * The cursor is that pair as base64url JSON: opaque to clients, safe in a query string.
 * It carries nothing secret — only values the page itself already shows.
 */

/** The position a page ended at: the sort timestamp and id of its last row. */
export interface CursorPosition {
  time: string;
  id: string;
}

/** One page of results and the cursor for the next one (null on the last page). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Encodes a position as an opaque cursor string. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.time, position.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor made by encodeCursor; throws InvalidCursorError for anything else. */
export function decodeCursor(cursor: string): CursorPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!Array.isArray(value) || value.length !== 2 || !value.every((part) => typeof part === 'string')) {
    throw new InvalidCursorError();
  }
  return { time: value[0] as string, id: value[1] as string };
}

/** Checks a page size; a bad one is a programming error, not a user's, so it throws RangeError. */
export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row, if present, only proves
 * that another page exists, so `next` is null exactly on the last page.
 */
export function toPage<T>(rows: T[], limit: number, position: (item: T) => CursorPosition): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const next = rows.length > limit && last !== undefined ? encodeCursor(position(last)) : null;
  return { items, next };
}
