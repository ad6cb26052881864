import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { ApiError } from '../src/errors.js';
import { NetworkPolicy } from '../src/netguard/network-policy.js';
import { assertTargetAllowed, isAddressAllowed } from '../src/netguard/target-policy.js';

/** The policy with no operator settings but the allowed private ranges. */
const policyFor = (allowed: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>) =>
  new NetworkPolicy({ allowPrivateNetworks: allowed, denyHosts: [], allowHosts: [], allowedPorts: undefined });

const LOOPBACK = [ipaddr.parseCIDR('127.0.0.0/8'), ipaddr.parseCIDR('::1/128')];

/** Asserts that `promise` rejects with an ApiError TARGET_FORBIDDEN (403). */
async function assertForbidden(promise: Promise<void>): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    assert.equal(error.code, 'TARGET_FORBIDDEN');
    assert.equal(error.statusCode, 403);
    return true;
  });
}

describe('isAddressAllowed', () => {
  const refused = [
    ['127.0.0.1', 'IPv4 loopback'],
    ['10.0.0.1', 'private 10/8'],
    ['172.16.0.1', 'private 172.16/12'],
    ['192.168.1.1', 'private 192.168/16'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified IPv4'],
    ['::1', 'IPv6 loopback'],
    ['::', 'unspecified IPv6'],
    ['fc00::1', 'unique-local IPv6'],
    ['fe80::1', 'link-local IPv6'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback, dotted'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::127.0.0.1', 'deprecated IPv4-compatible loopback'],
    ['::7f00:1', 'deprecated IPv4-compatible loopback, hex'],
  ] as const;
  for (const [address, what] of refused) {
    it(`refuses ${address} (${what})`, () => {
      assert.equal(isAddressAllowed(address, []), false);
    });
  }

  it('allows the public IPv4 address 93.184.216.34', () => {
    assert.equal(isAddressAllowed('93.184.216.34', []), true);
  });

  it('allows the public IPv6 address 2606:2800:220:1::1', () => {
    assert.equal(isAddressAllowed('2606:2800:220:1::1', []), true);
  });

  it('refuses something that is not an IP address at all', () => {
    assert.equal(isAddressAllowed('not-an-ip', []), false);
    assert.equal(isAddressAllowed('', []), false);
  });

  it('allows 127.0.0.1 when 127.0.0.0/8 is in the allowed list', () => {
    assert.equal(isAddressAllowed('127.0.0.1', [ipaddr.parseCIDR('127.0.0.0/8')]), true);
  });

  it('allows the IPv4-mapped spelling ::ffff:127.0.0.1 when 127.0.0.0/8 is allowed', () => {
    assert.equal(isAddressAllowed('::ffff:127.0.0.1', [ipaddr.parseCIDR('127.0.0.0/8')]), true);
  });

  it('still refuses addresses outside the allowed ranges', () => {
    const allowed = [ipaddr.parseCIDR('127.0.0.0/8')];
    assert.equal(isAddressAllowed('10.0.0.1', allowed), false);
    assert.equal(isAddressAllowed('::1', allowed), false);
  });

  it('allows ::1 when ::1/128 is in the allowed list', () => {
    assert.equal(isAddressAllowed('::1', [ipaddr.parseCIDR('::1/128')]), true);
  });
});

describe('assertTargetAllowed', () => {
  const forbidden = [
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://127.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::1]/',
    'http://localhost/',
    'https://10.1.2.3:8443/admin',
    'http://169.254.169.254/latest/meta-data/',
  ];
  for (const target of forbidden) {
    it(`refuses ${target} with TARGET_FORBIDDEN`, async () => {
      await assertForbidden(assertTargetAllowed(policyFor([]), new URL(target)));
    });
  }

  it('allows http://127.0.0.1/ when the loopback range is allowed', async () => {
    await assert.doesNotReject(assertTargetAllowed(policyFor(LOOPBACK), new URL('http://127.0.0.1:8080/page')));
    // The same target without the allowance is refused, so the allowance is what made it pass.
    await assertForbidden(assertTargetAllowed(policyFor([]), new URL('http://127.0.0.1:8080/page')));
  });

  it('allows http://localhost/ when the loopback ranges are allowed', async () => {
    await assert.doesNotReject(assertTargetAllowed(policyFor(LOOPBACK), new URL('http://localhost/')));
  });

  it('allows a public IPv4 literal without a DNS lookup', async () => {
    await assert.doesNotReject(assertTargetAllowed(policyFor([]), new URL('http://93.184.216.34/')));
  });

  it('allows a public IPv6 literal in brackets', async () => {
    await assert.doesNotReject(assertTargetAllowed(policyFor([]), new URL('https://[2606:2800:220:1::1]/')));
  });
});
