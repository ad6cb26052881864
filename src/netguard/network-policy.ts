import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { hostAllowed } from '../auth/host-patterns.js';
import { isAddressAllowed } from './target-policy.js';

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Resolves a host name to every address it has. Tests inject their own. */
export type Resolver = (hostname: string) => Promise<string[]>;

/** What the operator allows beyond "public unicast, any port". */
export interface NetworkPolicyOptions {
  /** Ranges reachable although private (intranets, tests). */
  allowPrivateNetworks: readonly Cidr[];
  /** Host patterns never reached (`example.com`, `*.example.com`). */
  denyHosts: readonly string[];
  /** When not empty, only hosts matching these patterns are reached. */
  allowHosts: readonly string[];
  /** When set, only these ports are reached. */
  allowedPorts: readonly number[] | undefined;
  resolve?: Resolver;
  /** Bounds on name lookups (time, number in flight); defaults: DEFAULT_LOOKUP_LIMITS. */
  lookupLimits?: Partial<LookupLimits>;
}

/** How long and how many name lookups may run at once. */
export interface LookupLimits {
  /** A lookup not answered within this many milliseconds fails as `unresolvable`. */
  timeoutMs: number;
  /**
   * Resolver calls running at once. A call that timed out keeps its place until the
   * resolver really answers: getaddrinfo cannot be cancelled and still holds one of
   * libuv's 4 threads (shared with file system, crypto and zlib work).
   */
  maxInFlight: number;
  /** Lookups waiting for a place; beyond this, a lookup fails at once. */
  maxWaiting: number;
}

/** Three of libuv's four threads at most, so slow names never take all of them. */
export const DEFAULT_LOOKUP_LIMITS: LookupLimits = { timeoutMs: 5_000, maxInFlight: 3, maxWaiting: 64 };

/** Why a destination was refused; the message is safe to show the caller. */
export class NetworkRefusal extends Error {
  constructor(
    readonly reason: string,
    /** `unresolvable`: the name has no address (a navigation failure, not a policy refusal). */
    readonly kind: 'forbidden' | 'unresolvable' = 'forbidden',
  ) {
    super(reason);
    this.name = 'NetworkRefusal';
  }
}

/**
 * Why a private address is refused, with the way out: the first thing a new user tries
 * is a page on localhost. The setting's name reveals nothing about this server.
 */
export const PRIVATE_ADDRESS_REFUSAL =
  'the target resolves to a private or reserved address (a server operator can allow such ranges with PAGESHOT_ALLOW_PRIVATE_NETWORKS)';

/** The policy the configuration describes. */
export function policyFromConfig(
  config: Pick<NetworkPolicyOptions, 'allowPrivateNetworks' | 'denyHosts' | 'allowHosts' | 'allowedPorts'>,
  resolve?: Resolver,
): NetworkPolicy {
  const { allowPrivateNetworks, denyHosts, allowHosts, allowedPorts } = config;
  return new NetworkPolicy({ allowPrivateNetworks, denyHosts, allowHosts, allowedPorts, ...(resolve ? { resolve } : {}) });
}

/** A policy that refuses every destination: for traffic that belongs to no capture. */
export function denyAllPolicy(): NetworkPolicy {
  return new NetworkPolicy({ allowPrivateNetworks: [], denyHosts: [], allowHosts: [], allowedPorts: [] });
}

/** The default resolver: every address the system resolver knows, in its order. */
export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((record) => record.address);

/** One name being looked up, shared by every caller asking for it meanwhile. */
interface PendingLookup {
  promise: Promise<string[]>;
  /** When the last caller waiting for it gives up; a queued lookup nobody waits for is dropped. */
  wantedUntil: number;
  start?: () => void;
}

/**
 * Wraps a resolver so that lookups are bounded in time and number: each caller gets an
 * answer or a rejection within `timeoutMs`; at most `maxInFlight` resolver calls run at
 * once (others wait in a bounded queue, then fail); callers asking for a name already
 * being looked up share that lookup (single flight), so a slow name takes one place.
 */
export function boundedResolver(resolve: Resolver, limits: LookupLimits): Resolver {
  const pending = new Map<string, PendingLookup>();
  const queue: PendingLookup[] = [];
  let running = 0;
  const startNext = () => {
    while (running < limits.maxInFlight && queue.length > 0) queue.shift()!.start?.();
  };
  /** Drops queued lookups every caller has given up on (start() rejects them), freeing queue places. */
  const prune = () => {
    const now = Date.now();
    for (const stale of queue.filter((lookup) => lookup.wantedUntil <= now)) {
      queue.splice(queue.indexOf(stale), 1);
      stale.start?.();
    }
  };
  const run = (hostname: string): Promise<string[]> => {
    running++;
    // A resolver that throws synchronously, or answers something odd, is one more failed lookup.
    return Promise.resolve()
      .then(() => resolve(hostname))
      .then((addresses) => (Array.isArray(addresses) ? addresses.filter((a) => typeof a === 'string') : []))
      .finally(() => {
        running--;
        startNext();
      });
  };
  const create = (hostname: string, wantedUntil: number): PendingLookup => {
    const lookup: PendingLookup = { wantedUntil, promise: Promise.resolve([]) };
    lookup.promise = new Promise<string[]>((settle, reject) => {
      lookup.start = () => {
        lookup.start = undefined;
        if (Date.now() >= lookup.wantedUntil) reject(new Error('nobody waits for this lookup any more'));
        else run(hostname).then(settle, reject);
      };
    });
    // Its callers may all have timed out: a late rejection must not be unhandled.
    lookup.promise.catch(() => undefined).finally(() => {
      if (pending.get(hostname) === lookup) pending.delete(hostname);
    });
    return lookup;
  };
  return (hostname) => {
    const wantedUntil = Date.now() + limits.timeoutMs;
    let lookup = pending.get(hostname);
    if (lookup) lookup.wantedUntil = Math.max(lookup.wantedUntil, wantedUntil);
    else {
      prune();
      if (running >= limits.maxInFlight && queue.length >= limits.maxWaiting) return Promise.reject(new Error('too many lookups'));
      lookup = create(hostname, wantedUntil);
      pending.set(hostname, lookup);
      queue.push(lookup);
      startNext();
    }
    return withTimeout(lookup.promise, limits.timeoutMs);
  };
}

/** `promise`, or a rejection after `ms` milliseconds, whichever comes first. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

/**
 * The one place that decides whether PageShot may open a connection. Both the early
 * check of the caller's URL and the proxy Chromium's every connection goes through ask
 * it; the proxy then connects to exactly the address this returned, so a name cannot
 * resolve to something else between the check and the connection (DNS rebinding).
 */
export class NetworkPolicy {
  private readonly resolve: Resolver;

  constructor(private readonly options: NetworkPolicyOptions) {
    // Bounded whatever the resolver: the system's, or one a test injects.
    this.resolve = boundedResolver(options.resolve ?? systemResolver, { ...DEFAULT_LOOKUP_LIMITS, ...options.lookupLimits });
  }

  /**
   * Checks a URL: http/https only (ws/wss too when `allowWebSockets`), then its host and
   * port as `resolveDestination` does. Resolves to the address to connect to.
   */
  checkUrl(url: URL, narrowHosts: readonly string[] = [], allowWebSockets = false): Promise<string> {
    const schemes = allowWebSockets ? ['http:', 'https:', 'ws:', 'wss:'] : ['http:', 'https:'];
    if (!schemes.includes(url.protocol)) return Promise.reject(new NetworkRefusal(`the scheme ${url.protocol} is not allowed`));
    const port = url.port === '' ? DEFAULT_PORTS[url.protocol]! : Number(url.port);
    return this.resolveDestination(url.hostname, port, narrowHosts);
  }

  /**
   * The rules on a URL that need no DNS answer: scheme, port, the server's and the key's
   * host lists, and an address written in the URL. A result cache asks this before it
   * answers from storage, where nothing is fetched; throws NetworkRefusal.
   */
  checkUrlRules(url: URL, narrowHosts: readonly string[] = []): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new NetworkRefusal(`the scheme ${url.protocol} is not allowed`);
    const host = this.checkHostRules(url.hostname, url.port === '' ? DEFAULT_PORTS[url.protocol]! : Number(url.port), narrowHosts);
    if (ipaddr.isValid(host) && !isAddressAllowed(host, this.options.allowPrivateNetworks)) {
      throw new NetworkRefusal(PRIVATE_ADDRESS_REFUSAL);
    }
  }

  /** Port and host-list rules; returns the host as the lists compare it (lower case, no brackets). */
  private checkHostRules(rawHost: string, port: number, narrowHosts: readonly string[]): string {
    const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost.toLowerCase();
    const { allowedPorts, denyHosts, allowHosts } = this.options;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new NetworkRefusal('the port is not valid');
    if (allowedPorts && !allowedPorts.includes(port)) throw new NetworkRefusal(`port ${port} is not allowed`);
    if (hostAllowed(host, denyHosts)) throw new NetworkRefusal('the host is denied by the server');
    if (allowHosts.length > 0 && !hostAllowed(host, allowHosts)) throw new NetworkRefusal("the host is not on the server's allow list");
    if (narrowHosts.length > 0 && !hostAllowed(host, narrowHosts)) throw new NetworkRefusal('the host is not allowed for this API key');
    return host;
  }

  /**
   * Checks a host and port and resolves the host once. Every address must be allowed
   * (one private address among public ones refuses the whole name); the first is the
   * one to connect to. `narrowHosts` (a key's allowed hosts) narrows the policy further.
   * Throws NetworkRefusal.
   */
  async resolveDestination(rawHost: string, port: number, narrowHosts: readonly string[] = []): Promise<string> {
    const host = this.checkHostRules(rawHost, port, narrowHosts);
    const { allowPrivateNetworks } = this.options;
    let addresses: string[];
    if (ipaddr.isValid(host)) addresses = [host];
    else {
      try {
        addresses = await this.resolve(host);
      } catch {
        throw new NetworkRefusal(`the host "${host.slice(0, 253)}" could not be resolved`, 'unresolvable');
      }
    }
    if (addresses.length === 0) throw new NetworkRefusal(`the host "${host.slice(0, 253)}" could not be resolved`, 'unresolvable');
    if (!addresses.every((address) => isAddressAllowed(address, allowPrivateNetworks))) {
      throw new NetworkRefusal(PRIVATE_ADDRESS_REFUSAL);
    }
    return addresses[0]!;
  }
}
