import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Authenticator } from '../src/auth/authenticator.js';
import { KeyService } from '../src/auth/key-service.js';
import { createLogger } from '../src/logger.js';
import { AuditStore } from '../src/store/audit-store.js';
import { openDatabase, type StoreDatabase } from '../src/store/database.js';
import { KeyStore } from '../src/store/key-store.js';
import type { ApiKeyRecord } from '../src/store/schema.js';

/**
 * A KeyStore whose lookups by hash can be held after they have read the database, so a
 * test can change the key while a lookup is under way: the race, made deterministic.
 */
class HeldKeyStore extends KeyStore {
  #gate: Promise<void> | undefined;
  #release: () => void = () => undefined;
  #reached: () => void = () => undefined;

  /** Holds the next lookups; resolves `reached` once one of them has read its record. */
  hold(): { reached: Promise<void>; release: () => void } {
    const reached = new Promise<void>((resolve) => (this.#reached = resolve));
    this.#gate = new Promise<void>((resolve) => (this.#release = resolve));
    return {
      reached,
      release: () => {
        this.#gate = undefined;
        this.#release();
      },
    };
  }

  override async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const record = await super.findByHash(hash);
    const gate = this.#gate;
    if (gate) {
      this.#reached();
      await gate;
    }
    return record;
  }
}

describe('the key cache under a lookup racing a revoke', () => {
  let store: StoreDatabase;
  let keys: HeldKeyStore;
  let authenticator: Authenticator;
  let service: KeyService;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pageshot-cache-'));

  before(async () => {
    store = await openDatabase({ dataDir });
    keys = new HeldKeyStore(store.db);
    const config = { enabled: true, rootKeyHash: undefined, keyPrefix: 'ps_live', failuresPerMinute: 20 };
    authenticator = new Authenticator(config, keys, new AuditStore(store.db), createLogger('silent'));
    service = new KeyService(keys, {
      prefix: 'ps_live',
      defaultLimits: { rate: 200, burst: 500 },
      onChange: (hash) => authenticator.invalidate(hash),
    });
  });
  after(async () => {
    await authenticator?.close();
    await store?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('does not cache a record read before the revoke: the next request is refused with KEY_REVOKED', async () => {
    const { key, record } = await service.create({ name: 'raced', scopes: ['screenshot'] }, null);
    const held = keys.hold();
    const lookup = authenticator.authenticate(key, '203.0.113.1');
    await held.reached; // the lookup has read the key as valid, and waits
    await service.revoke(record.id, null);
    held.release();
    // It began before the revoke, so it may still succeed; what it read must not outlive it.
    assert.equal((await lookup).keyId, record.id);
    await assert.rejects(authenticator.authenticate(key, '203.0.113.1'), { code: 'KEY_REVOKED' });
    assert.equal(authenticator.authenticateCached(key, '203.0.113.1'), undefined);
  });

  it('still caches lookups that no change overlapped', async () => {
    const { key } = await service.create({ name: 'calm', scopes: ['screenshot'] }, null);
    await authenticator.authenticate(key, '203.0.113.2');
    const lookups = authenticator.databaseLookups;
    assert.ok(authenticator.authenticateCached(key, '203.0.113.2'), 'served from the cache');
    await authenticator.authenticate(key, '203.0.113.2');
    assert.equal(authenticator.databaseLookups, lookups);
  });
});
