/**
 * Usage counted by several processes into one store adds up exactly: three real
 * processes record requests for the same key and day and flush them in many small
 * batches at the same time, into one SQLite file and into one PostgreSQL. The upserts
 * (`count = count + n`) are atomic, so no flush can overwrite another's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import pino from 'pino';
import { openDatabase, type OpenDatabaseOptions } from '../src/store/database.js';
import { UsageStore } from '../src/store/usage-store.js';
import { UsageRecorder, utcDay } from '../src/usage/usage-recorder.js';
import { tempDataDir } from './helpers/harness.js';

const POSTGRES_URL = process.env.PAGESHOT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PROCESSES = 3;
const BATCHES = 40;
const PER_BATCH = 25;

/** Child: records BATCHES × PER_BATCH requests of `subject` (one in five a success of 10 ms and 100 bytes), flushing after each batch. */
async function recordInChild(store: OpenDatabaseOptions, subject: string): Promise<void> {
  const database = await openDatabase(store);
  const recorder = new UsageRecorder(new UsageStore(database.db), pino({ level: 'silent' }));
  for (let batch = 0; batch < BATCHES; batch++) {
    for (let i = 0; i < PER_BATCH; i++) {
      if (i % 5 === 0) recorder.record(subject, { kind: 'succeeded', renderMs: 10, bytes: 100, cached: i % 10 === 0 });
      else recorder.record(subject, { kind: 'rejected', reason: 'RATE_LIMITED' });
    }
    await recorder.flush();
  }
  await recorder.close();
  await database.close();
}

function runChildren(store: OpenDatabaseOptions, subject: string): Promise<void[]> {
  const self = fileURLToPath(import.meta.url);
  return Promise.all(
    Array.from({ length: PROCESSES }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', self, '--record', JSON.stringify(store), subject], { stdio: ['ignore', 'inherit', 'inherit'] });
      return new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a recording process exited with ${code}`))));
      });
    }),
  );
}

async function postgresAnswers(): Promise<string | undefined> {
  try {
    const database = await openDatabase({ dataDir: tempDataDir(), databaseUrl: POSTGRES_URL });
    await database.close();
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${POSTGRES_URL} does not answer (${(error as Error).message})`;
  }
}

/** Runs the processes against `store` and checks the sums. */
async function assertSumsAcross(store: OpenDatabaseOptions): Promise<void> {
  const subject = `key_cluster_${randomUUID()}`;
  // Opened (and migrated) once before the children start, so they do not race to migrate.
  const database = await openDatabase(store);
  try {
    await runChildren(store, subject);
    const day = utcDay(Date.now());
    const [usage] = await new UsageStore(database.db).days(subject, day, day);
    const batches = PROCESSES * BATCHES;
    // Per batch of 25: i = 0, 5, 10, 15, 20 succeed; of those 0, 10, 20 were cache hits.
    assert.equal(usage?.requests, batches * PER_BATCH);
    assert.equal(usage?.succeeded, batches * 5);
    assert.equal(usage?.cacheHits, batches * 3);
    assert.equal(usage?.rejected, batches * 20);
    assert.deepEqual(usage?.rejectedBy, { RATE_LIMITED: batches * 20 });
    assert.equal(usage?.renderMs, batches * 5 * 10);
    assert.equal(usage?.bytesSent, batches * 5 * 100);
  } finally {
    await database.close();
  }
}

if (process.argv[2] === '--record') {
  await recordInChild(JSON.parse(process.argv[3]!) as OpenDatabaseOptions, process.argv[4]!);
} else {
  const noPostgres = await postgresAnswers();
  describe('usage counted by several processes', () => {
    it('adds up exactly in one SQLite file', async () => {
      const dataDir = tempDataDir();
      try {
        await assertSumsAcross({ dataDir });
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('adds up exactly in one PostgreSQL', { skip: noPostgres }, async () => {
      await assertSumsAcross({ dataDir: tempDataDir(), databaseUrl: POSTGRES_URL });
    });
  });
}
