import type { KeyLimits, Scope } from '../store/schema.js';

/**
 * Who is calling, once authenticated: a stored key, the root key from API_KEY, or (with
 * PAGESHOT_AUTH=off) an anonymous client known by its IP.
 */
export interface Principal {
  kind: 'key' | 'root' | 'anonymous';
  /** The stored key's id; `root` for API_KEY; null when anonymous. */
  keyId: string | null;
  name: string;
  /** Display form of the key (`ps_live_…a1b2`); null when there is none. */
  hint: string | null;
  scopes: readonly Scope[];
  limits: KeyLimits;
  /** Host patterns this key may capture; empty = any host the server allows. */
  allowedHosts: readonly string[];
  expiresAt: string | null;
  /**
   * Identity used for fairness and isolation: the warm pool never lets two callers share
   * a browser context, and the queue serves callers in turn.
   */
  caller: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on routes that need a key. */
    principal?: Principal;
  }
}
