import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { ApiError } from '../errors.js';

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

const IPV4_COMPATIBLE = ipaddr.parse('::');

/**
 * Decides whether an address may be reached: public unicast only, unless the operator
 * allowed its range. `ipaddr.process()` first turns `::ffff:127.0.0.1` back into
 * `127.0.0.1`, so an IPv4-mapped spelling cannot slip past the IPv4 ranges.
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

/** Resolves a URL's host to every address it names (an IP literal names itself). */
async function resolveHost(hostname: string): Promise<string[]> {
  // WHATWG URL keeps IPv6 literals in brackets and has already normalised odd IPv4
  // spellings (2130706433, 0x7f.1, 127.1) to dotted quads, so check the parsed form.
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (ipaddr.isValid(bare)) return [bare];
  try {
    const records = await lookup(bare, { all: true, verbatim: true });
    return records.map((record) => record.address);
  } catch {
    throw new ApiError('NAVIGATION_FAILED', `The host "${bare}" could not be resolved.`);
  }
}

/**
 * Refuses a target whose host resolves to any non-public address (loopback, private,
 * link-local, CGNAT, unique-local, …) unless the operator allowed that range.
 *
 * This checks the URL the caller sent. It does not yet cover redirects, subresources or
 * DNS rebinding between this lookup and Chromium's own; the network guard's proxy does.
 */
export async function assertTargetAllowed(url: URL, allowed: readonly Cidr[]): Promise<void> {
  const addresses = await resolveHost(url.hostname);
  if (addresses.length === 0 || !addresses.every((address) => isAddressAllowed(address, allowed))) {
    throw new ApiError('TARGET_FORBIDDEN', 'The target resolves to a private or reserved address.');
  }
}
