import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import { DatabaseOpenError } from './store-errors.js';

/** The name of the SQLite file PageShot keeps in its data directory. */
export const DATABASE_FILE = 'pageshot.db';

/** Where the database is. */
export interface OpenDatabaseOptions {
  /** PAGESHOT_DATA_DIR: the directory of the SQLite file; created when missing. */
  dataDir: string;
  /** PAGESHOT_DATABASE_URL: a `postgres://` or `postgresql://` URL; when set, PostgreSQL is used instead of SQLite. */
  databaseUrl?: string;
  /**
   * Called with errors of idle PostgreSQL connections (the server restarted, the network
   * dropped). The pool replaces such connections by itself; this is only to log them.
   */
  onPoolError?: (error: Error) => void;
}

/** An open, migrated database. */
export interface StoreDatabase {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  /** Closes the file or the connection pool. Safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Opens PageShot's database and brings its schema up to date.
 *
 * With `databaseUrl` set to a PostgreSQL URL, connects to PostgreSQL (a pool of up to 10
 * connections). Otherwise uses SQLite in `<dataDir>/pageshot.db`, creating the directory
 * if needed. Both run the same queries and the same migrations.
 *
 * Throws a DatabaseOpenError naming PAGESHOT_DATA_DIR or PAGESHOT_DATABASE_URL when the
 * database cannot be opened or reached. The message never contains the URL's password.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<StoreDatabase> {
  const url = options.databaseUrl?.trim();
  const store = url ? await openPostgres(url, options.onPoolError) : openSqlite(options.dataDir);
  try {
    await migrateToLatest(store.db);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

function openSqlite(dataDir: string): StoreDatabase {
  const file = path.resolve(dataDir, DATABASE_FILE);
  let sqlite: SQLite.Database | undefined;
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    sqlite = new SQLite(file);
    // WAL: readers do not block the writer, and a write is one fsync, not two.
    sqlite.pragma('journal_mode = WAL');
    // Wait for another process's write lock (the CLI next to the server) instead of failing at once.
    sqlite.pragma('busy_timeout = 5000');
    // SQLite ignores foreign keys unless asked, per connection. better-sqlite3's build
    // happens to turn them on by default; this does not rely on that.
    sqlite.pragma('foreign_keys = ON');
  } catch (error) {
    sqlite?.close();
    throw new DatabaseOpenError(
      `Cannot open the SQLite database ${file}: ${reasonOf(error)}. ` +
        'Set PAGESHOT_DATA_DIR to a directory PageShot may create and write to, ' +
        'or PAGESHOT_DATABASE_URL to use PostgreSQL.',
      codeOf(error),
    );
  }
  return withClose(new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }), 'sqlite');
}

async function openPostgres(url: string, onPoolError: ((error: Error) => void) | undefined): Promise<StoreDatabase> {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    // Only the scheme is shown: the rest may hold a password.
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? 'no scheme';
    throw new DatabaseOpenError(
      `PAGESHOT_DATABASE_URL must start with postgres:// or postgresql:// (got ${scheme}); ` +
        'leave it unset to use SQLite in PAGESHOT_DATA_DIR.',
    );
  }
  // A host that drops packets would otherwise make start-up hang forever (pg's default).
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
  // Without a listener, an idle connection's error would be thrown and end the process.
  pool.on('error', onPoolError ?? (() => {}));
  // The pool listens to idle connections only: one that dies while checked out (a query
  // stuck on a dead network, as /readyz may leave behind) would throw likewise. Its query
  // is rejected either way, and the pool drops it when it comes back.
  pool.on('connect', (client) => client.on('error', () => {}));
  const store = withClose(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
  try {
    // Connect before migrating, so a wrong URL reads as that, not as a failed migration.
    await sql`select 1`.execute(store.db);
  } catch (error) {
    await store.close();
    throw new DatabaseOpenError(
      `Cannot connect to PostgreSQL at ${describeUrl(url)}: ${scrub(reasonOf(error), url)}. ` +
        'Check PAGESHOT_DATABASE_URL (postgres://user:password@host:port/database) and that the server is running.',
      codeOf(error),
    );
  }
  return store;
}

function withClose(db: Kysely<Database>, dialect: StoreDatabase['dialect']): StoreDatabase {
  let closing: Promise<void> | undefined;
  return { db, dialect, close: () => (closing ??= db.destroy()) };
}

/** The URL without its password and query string (which may carry one too), for messages. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${parsed.username}${parsed.password ? ':***' : ''}@` : '';
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
  } catch {
    return 'a URL that cannot be parsed';
  }
}

/** Removes the URL's password from a driver message, in case the driver quoted it. */
function scrub(message: string, url: string): string {
  let password = '';
  try {
    password = new URL(url).password;
  } catch {
    return message.replaceAll(url, '***');
  }
  if (password === '') return message;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // A malformed escape: the raw form is all there is to remove.
  }
  return message.replaceAll(url, '***').replaceAll(password, '***').replaceAll(decoded, '***');
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node reports a refused connection to a name with several addresses as an
  // AggregateError with an empty message; its parts say what happened.
  if (error.message === '' && error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(reasonOf).join('; ');
  }
  return error.message || codeOf(error) || error.name;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
