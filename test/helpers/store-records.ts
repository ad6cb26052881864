import { createHash, randomBytes } from 'node:crypto';
import type { Page } from '../../src/store/cursor.js';
import type { ApiKeyRecord } from '../../src/store/schema.js';

let counter = 0;

/** A valid key record with a fresh id and hash; `overrides` replace any field. */
export function makeKey(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  counter += 1;
  const secret = `ps_live_${randomBytes(16).toString('hex')}`;
  return {
    id: `key_${String(counter).padStart(4, '0')}_${randomBytes(4).toString('hex')}`,
    name: `test key ${counter}`,
    hash: createHash('sha256').update(secret).digest('hex'),
    hint: `ps_live_…${secret.slice(-4)}`,
    scopes: ['screenshot'],
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    lastUsedAt: null,
    expiresAt: null,
    revokedAt: null,
    disabled: false,
    limits: {},
    allowedHosts: [],
    allowedIps: [],
    metadata: {},
    rotatedFrom: null,
    replacedBy: null,
    ...overrides,
  };
}

/** Follows `next` cursors from the first page to the last, returning every page. */
export async function collectPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  maxPages = 20,
): Promise<Page<T>[]> {
  const pages: Page<T>[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    pages.push(page);
    cursor = page.next ?? undefined;
    // A cursor that never ends would hang the test instead of failing it.
    if (pages.length > maxPages) throw new Error(`more than ${maxPages} pages: the cursor does not advance`);
  } while (cursor !== undefined);
  return pages;
}
