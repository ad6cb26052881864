import pg from 'pg';

/** The test PostgreSQL (CI starts it; database `test`, trust auth). */
export const POSTGRES_URL = process.env.PAGESHOT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why the PostgreSQL tests cannot run here, or undefined when the server answers. */
export async function postgresSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message || error.name : String(error);
    return `PostgreSQL at ${POSTGRES_URL} did not answer (${reason}); CI starts it`;
  } finally {
    await client.end().catch(() => {});
  }
}
