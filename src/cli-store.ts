import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import { DATABASE_FILE, openDatabase, type StoreDatabase } from './store/database.js';

/** The store a CLI command was pointed at holds no PageShot database; nothing was created. */
export class StoreNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreNotFoundError';
  }
}

/** What a command does with the store: only `create` may start a new one. */
export type StoreIntent = 'read' | 'create';

/** Where `PAGESHOT_DATA_DIR` came from, in words, for the messages below. */
function origin(env: NodeJS.ProcessEnv): string {
  const raw = env.PAGESHOT_DATA_DIR?.trim();
  return raw
    ? `PAGESHOT_DATA_DIR is "${raw}"`
    : `PAGESHOT_DATA_DIR is not set, so its default ./data was taken from the current directory, ${process.cwd()}`;
}

/**
 * Opens the server's store for a CLI command, without ever starting an empty one by
 * mistake. The SQLite default (`./data`) is relative to the current directory, so a
 * command run from elsewhere would otherwise create and read a new, empty database there
 * and report "no keys" — or issue a key no server will ever see.
 *
 * - With PAGESHOT_DATABASE_URL the database is opened as named (the URL is explicit).
 * - Otherwise `<PAGESHOT_DATA_DIR>/pageshot.db` must exist, except for `create` when
 *   PAGESHOT_DATA_DIR is set: naming a directory on purpose is how a new store is started
 *   before the first `serve`. `notice` is then told the path of the new database.
 *
 * @throws StoreNotFoundError naming the path looked at and the variables that choose it.
 */
export async function openCliStore(
  config: Config,
  intent: StoreIntent,
  notice: (text: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StoreDatabase> {
  if (config.store.databaseUrl) return openDatabase(config.store);
  const file = path.join(config.store.dataDir, DATABASE_FILE);
  if (existsSync(file)) return openDatabase(config.store);
  const explicit = Boolean(env.PAGESHOT_DATA_DIR?.trim());
  if (intent === 'create' && explicit) {
    const store = await openDatabase(config.store);
    notice(`pageshot: started a new key store at ${file}; a server sees its keys only with the same PAGESHOT_DATA_DIR.\n`);
    return store;
  }
  const start =
    intent === 'create'
      ? ` To start a new store there instead, name its directory explicitly: PAGESHOT_DATA_DIR=${path.relative(process.cwd(), config.store.dataDir) || '.'} pageshot keys create …`
      : '';
  throw new StoreNotFoundError(
    `No PageShot database at ${file} (${origin(env)}); nothing was created. ` +
      `Set PAGESHOT_DATA_DIR to the data directory your server uses, or PAGESHOT_DATABASE_URL when it uses PostgreSQL.${start}`,
  );
}
