/**
 * Host patterns for a key's allowed targets: `example.com` matches that host exactly,
 * `*.example.com` matches any subdomain of it (not example.com itself).
 */
export const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function normalise(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** True when `host` (a URL's hostname) matches one of `patterns`. */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  const target = normalise(host);
  return patterns.some((raw) => {
    const pattern = normalise(raw);
    if (pattern.startsWith('*.')) return target.endsWith(pattern.slice(1)) && target.length > pattern.length - 1;
    return target === pattern;
  });
}
