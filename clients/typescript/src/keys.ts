import type { RequestOptions, Transport } from './transport.js';
import type { IssuedKey, KeyCreate, KeyInfo, KeyUpdate, Page, Usage, UsageRange } from './types.js';
import { usageQuery } from './usage-range.js';

/** Reads are repeatable after a lost connection; creating, changing and rotating are not. */
const READ = { onConnectionError: true, onTimeout: true };
const WRITE = { onConnectionError: false, onTimeout: false };
/** Revoking twice is the same as once (the server answers the revoked key). */
const REVOKE = READ;

const keyPath = (id: string) => `/v1/keys/${encodeURIComponent(id)}`;

/** Key management (`/v1/keys`, scope `keys:manage`). Reach it as `client.keys`. */
export class Keys {
  constructor(private readonly transport: Transport) {}

  /** Creates a key. The answer's `key` is the only time the key is ever shown: store it now. */
  async create(settings: KeyCreate, options?: RequestOptions): Promise<IssuedKey> {
    return (await this.transport.call<IssuedKey>({ method: 'POST', path: '/v1/keys', body: settings, expect: 'json', repeatable: WRITE }, options)).data;
  }

  /** One page of keys (hints only, never keys); pass the answer's `next` as `cursor` for more. */
  async list(page: { limit?: number; cursor?: string } = {}, options?: RequestOptions): Promise<Page<KeyInfo>> {
    return (await this.transport.call<Page<KeyInfo>>({ method: 'GET', path: '/v1/keys', query: page, expect: 'json', repeatable: READ }, options)).data;
  }

  /** Every key, page by page. */
  async *all(options?: RequestOptions): AsyncGenerator<KeyInfo> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ limit: 100, ...(cursor ? { cursor } : {}) }, options);
      yield* page.data;
      cursor = page.next ?? undefined;
    } while (cursor);
  }

  /** One key by id; `NotFoundError` when there is none. */
  async get(id: string, options?: RequestOptions): Promise<KeyInfo> {
    return (await this.transport.call<KeyInfo>({ method: 'GET', path: keyPath(id), expect: 'json', repeatable: READ }, options)).data;
  }

  /** Changes a key's settings, or disables / enables it (`{ disabled: true }`). */
  async update(id: string, changes: KeyUpdate, options?: RequestOptions): Promise<KeyInfo> {
    return (await this.transport.call<KeyInfo>({ method: 'PATCH', path: keyPath(id), body: changes, expect: 'json', repeatable: WRITE }, options)).data;
  }

  /** Revokes a key for good; revoking a revoked key is harmless. */
  async revoke(id: string, options?: RequestOptions): Promise<KeyInfo> {
    return (await this.transport.call<KeyInfo>({ method: 'DELETE', path: keyPath(id), expect: 'json', repeatable: REVOKE }, options)).data;
  }

  /**
   * Issues a new key with the same settings. The old key keeps working for
   * `gracePeriodSeconds` (default 0: revoked at once).
   */
  async rotate(id: string, rotation: { gracePeriodSeconds?: number } = {}, options?: RequestOptions): Promise<IssuedKey> {
    const path = `${keyPath(id)}/rotate`;
    return (await this.transport.call<IssuedKey>({ method: 'POST', path, body: rotation, expect: 'json', repeatable: WRITE }, options)).data;
  }

  /** A key's usage per UTC day and in total. */
  async usage(id: string, range: UsageRange = {}, options?: RequestOptions): Promise<Usage> {
    const call = { method: 'GET' as const, path: `${keyPath(id)}/usage`, query: usageQuery(range), expect: 'json' as const, repeatable: READ };
    return (await this.transport.call<Usage>(call, options)).data;
  }
}
