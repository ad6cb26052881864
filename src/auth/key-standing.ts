import { ApiError, type ErrorCode } from '../errors.js';
import type { KeyStore } from '../store/key-store.js';
import { callerOfKey, type ApiKeyRecord, type Scope } from '../store/schema.js';
import { refusalOf } from './authenticator.js';

/** How a job's owner stands now: its current scope and host list, or why it may no longer act. */
export type Standing =
  | { ok: true; allowedHosts: readonly string[] }
  | { ok: false; error: ApiError };

/** The prefix of a stored key's caller. */
const KEY_CALLER = callerOfKey('');
/** The root key (API_KEY): it cannot be revoked through the API. */
const ROOT_CALLER = callerOfKey('root');
/** How many rotations back a key's jobs stay readable by its successor. */
const MAX_ANCESTORS = 16;

const WHY: Partial<Record<ErrorCode, string>> = {
  KEY_REVOKED: 'was revoked',
  KEY_EXPIRED: 'expired',
  KEY_DISABLED: 'was disabled',
};

/**
 * What a job's key may still do, read from the store when the job starts and before each
 * webhook attempt: a key revoked, disabled, expired or stripped of its scope after it
 * submitted a job must not have that job run, nor be spoken for by a signed webhook. The
 * store is read every time (no cache): it is the one truth every node shares, and a job
 * start costs one indexed lookup.
 *
 * A job belongs to the key that submitted it, and stands or falls with that key: a
 * rotation with a grace period lets the old key's queued jobs run while the grace lasts;
 * a rotation without one (a compromised key) retires the old key at once, and its queued
 * jobs with it. The successor of a rotation may read its predecessors' jobs.
 *
 * Callers that are not stored keys — the root key (API_KEY) and anonymous callers when
 * authentication is off — always stand, with no host list.
 */
export class KeyStanding {
  constructor(
    private readonly keys: KeyStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Whether `owner` (a principal's `caller`) may still act with `scope`; never throws for a refusal. */
  async of(owner: string, scope: Scope): Promise<Standing> {
    const id = storedKeyId(owner);
    if (id === undefined) return { ok: true, allowedHosts: [] };
    const record = await this.keys.findById(id);
    if (!record) return refused('KEY_REVOKED', 'The API key that submitted this job no longer exists.');
    const refusal = refusalOf(record, this.now());
    if (refusal) return refused(refusal, `The API key that submitted this job ${WHY[refusal] ?? 'may no longer be used'}.`);
    if (!record.scopes.includes(scope)) {
      return { ok: false, error: new ApiError('INSUFFICIENT_SCOPE', `The API key that submitted this job no longer has the "${scope}" scope.`, { extras: { requiredScope: scope } }) };
    }
    return { ok: true, allowedHosts: record.allowedHosts };
  }

  /**
   * True when `owner`'s jobs are `caller`'s to read: its own, or those of a key that
   * `caller`'s key replaced by rotation (directly or through earlier rotations).
   */
  async inherits(caller: string, owner: string): Promise<boolean> {
    if (caller === owner) return true;
    const ownerId = storedKeyId(owner);
    let id = storedKeyId(caller);
    if (ownerId === undefined || id === undefined) return false;
    for (let hop = 0; hop < MAX_ANCESTORS; hop++) {
      const record: ApiKeyRecord | undefined = await this.keys.findById(id);
      if (!record?.rotatedFrom) return false;
      if (record.rotatedFrom === ownerId) return true;
      id = record.rotatedFrom;
    }
    return false;
  }
}

/** The stored key's id behind a caller, or undefined for root and anonymous callers. */
function storedKeyId(caller: string): string | undefined {
  if (caller === ROOT_CALLER || !caller.startsWith(KEY_CALLER)) return undefined;
  return caller.slice(KEY_CALLER.length);
}

function refused(code: ErrorCode, message: string): Standing {
  return { ok: false, error: new ApiError(code, message) };
}
