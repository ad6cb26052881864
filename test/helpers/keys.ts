import type { Reply, TestServer } from './harness.js';

/** A root key in the format existing deployments use (`sk-` and 64 hex). */
export const ROOT_KEY = `sk-${'0123456789abcdef'.repeat(4)}`;

/** Environment for a server with authentication on and ROOT_KEY as API_KEY. */
export const AUTH_ENV = { PAGESHOT_AUTH: 'on', API_KEY: ROOT_KEY };

/** Headers that present `key` as a bearer token. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** Creates a key through the API with the root key; returns the 201 body. */
export async function createKey(server: TestServer, body: Record<string, unknown>): Promise<{ id: string; key: string } & Record<string, unknown>> {
  const reply = await server.request('/v1/keys', { body, headers: bearer(ROOT_KEY) });
  if (reply.status !== 201) throw new Error(`key creation failed: ${reply.status} ${reply.body.toString()}`);
  return reply.json as { id: string; key: string } & Record<string, unknown>;
}

/** GET /v1/me with `key`. */
export function whoAmI(server: TestServer, key: string, from?: string): Promise<Reply> {
  return server.request('/v1/me', { headers: bearer(key), ...(from ? { from } : {}) });
}
