import ipaddr from 'ipaddr.js';

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses an IP or CIDR (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`); undefined if neither. */
export function parseIpOrCidr(entry: string): Cidr | undefined {
  try {
    if (entry.includes('/')) return ipaddr.parseCIDR(entry);
    const address = ipaddr.parse(entry);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

/** True when `ip` falls in one of `entries` (IPs or CIDRs); IPv4-mapped IPv6 counts as IPv4. */
export function ipAllowed(ip: string, entries: readonly string[]): boolean {
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.process(ip);
  } catch {
    return false;
  }
  return entries.some((entry) => {
    const cidr = parseIpOrCidr(entry);
    if (!cidr) return false;
    let [range, bits] = cidr;
    if (range.kind() === 'ipv6' && (range as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      [range, bits] = [(range as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return address.kind() === range.kind() && address.match(range, bits);
  });
}
