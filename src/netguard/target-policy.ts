import ipaddr from 'ipaddr.js';
import { ApiError } from '../errors.js';
import { NetworkRefusal, type NetworkPolicy } from './network-policy.js';

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

const IPV4_COMPATIBLE = ipaddr.parse('::');

/**
 * Decides whether an address may be reached: public unicast only, unless the operator
 * allowed its range. `ipaddr.process()` first turns `::ffff:127.0.0.1` back into
 * `127.0.0.1`, so an IPv4-mapped spelling cannot slip past the IPv4 ranges; `range()`
 * then names loopback, private, link-local (cloud metadata), CGNAT, unspecified,
 * unique-local, NAT64 (`rfc6052`), 6to4, Teredo, multicast and reserved blocks.
 */
export function isAddressAllowed(address: string, allowed: readonly Cidr[]): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return false;
  }
  for (const [range, bits] of allowed) {
    if (parsed.kind() === range.kind() && parsed.match(range, bits)) return true;
  }
  // ipaddr.js calls the deprecated IPv4-compatible block ::/96 (::127.0.0.1) unicast; it is not.
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE, 96)) return false;
  return parsed.range() === 'unicast';
}

/**
 * The early check of a caller's URL, before any work is queued: refuses it with 403
 * TARGET_FORBIDDEN naming the reason (502 NAVIGATION_FAILED when the host does not
 * resolve). The proxy applies the same policy again to every connection Chromium opens.
 */
export async function assertTargetAllowed(policy: NetworkPolicy, url: URL, narrowHosts: readonly string[] = []): Promise<void> {
  try {
    await policy.checkUrl(url, narrowHosts);
  } catch (error) {
    throw refusalToApiError(error);
  }
}

/**
 * The same check without DNS (scheme, port, host lists, a literal address), for answers
 * that fetch nothing, such as a cached result: a key whose hosts were narrowed since,
 * or a host the server has denied since, gets 403 even for a picture it once had.
 */
export function assertTargetRulesAllowed(policy: NetworkPolicy, url: URL, narrowHosts: readonly string[] = []): void {
  try {
    policy.checkUrlRules(url, narrowHosts);
  } catch (error) {
    throw refusalToApiError(error);
  }
}

function refusalToApiError(error: unknown): unknown {
  if (!(error instanceof NetworkRefusal)) return error;
  if (error.kind === 'unresolvable') return new ApiError('NAVIGATION_FAILED', `The target could not be loaded: ${error.reason}.`);
  return new ApiError('TARGET_FORBIDDEN', `The target is not allowed: ${error.reason}.`);
}
