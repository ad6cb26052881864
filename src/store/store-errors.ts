/*
 * Errors the store throws on purpose, so callers can branch on a class instead of on
 * driver-specific codes (SQLite and PostgreSQL report the same problem differently).
 */

/** The database could not be opened or brought up to date. Its message names the setting to check. */
export class DatabaseOpenError extends Error {
  /** The driver's error code when there was one, e.g. `ECONNREFUSED`, `28P01`, `SQLITE_CANTOPEN`. */
  readonly code: string | undefined;

  constructor(message: string, code?: string) {
    super(message);
    this.name = 'DatabaseOpenError';
    this.code = code;
  }
}

/** A record could not be written because its id or key hash is already taken. */
export class DuplicateKeyError extends Error {
  constructor(options: { cause: unknown }) {
    super('An API key with this id or hash already exists.', options);
    this.name = 'DuplicateKeyError';
  }
}

/** A pagination cursor was not one the store handed out (or was tampered with). */
export class InvalidCursorError extends Error {
  constructor() {
    super('The pagination cursor is not valid; pass back the `next` value of a previous page.');
    this.name = 'InvalidCursorError';
  }
}

/** True when `error` is a unique or primary-key violation, on SQLite or PostgreSQL. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // 23505 is PostgreSQL's unique_violation; better-sqlite3 puts the extended result code in `code`.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
