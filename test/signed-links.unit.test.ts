import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalQuery,
  createSigningSecret,
  expiryOf,
  matchingSecret,
  optionsQuery,
  readSignedLink,
  rfc3986,
  SIGNING_SECRET_SHAPE,
  signedLinkPath,
  signingMessage,
  signPairs,
  type QueryPair,
} from '../src/auth/signed-link.js';

/** The contract's test vector (README "Signed embed links"; both clients test it too). */
const VECTOR = {
  secret: 'pss_test_secret',
  pairs: [
    ['url', 'https://example.com/a b?x=1&y=ü'],
    ['width', '800'],
    ['fullPage', 'true'],
    ['keyId', 'key_abc'],
    ['expires', '1767225600'],
  ] as QueryPair[],
  canonical: 'expires=1767225600&fullPage=true&keyId=key_abc&url=https%3A%2F%2Fexample.com%2Fa%20b%3Fx%3D1%26y%3D%C3%BC&width=800',
  signature: '33c067e5597fd98188180556bba2e21a115f8619d4d14eb0801a2feb87aef1f4',
};

/** The pairs of a path's query, as the server reads them. */
const pairsOf = (path: string): QueryPair[] => [...new URLSearchParams(path.slice(path.indexOf('?') + 1))];

describe('signed link canonical form', () => {
  it('gives the contract test vector its canonical query and signature', () => {
    assert.equal(canonicalQuery(VECTOR.pairs), VECTOR.canonical);
    assert.equal(signingMessage(VECTOR.pairs), `GET\n/screenshot\n${VECTOR.canonical}`);
    assert.equal(signPairs(VECTOR.secret, VECTOR.pairs), VECTOR.signature);
  });

  it('leaves the signature parameter out of what is signed', () => {
    const withSignature: QueryPair[] = [...VECTOR.pairs, ['signature', 'f'.repeat(64)]];
    assert.equal(canonicalQuery(withSignature), VECTOR.canonical);
  });

  it("encodes every byte but RFC 3986's unreserved characters, in upper-case hex", () => {
    assert.equal(rfc3986("AZaz09-._~!'()* +/?&=%é"), "AZaz09-._~%21%27%28%29%2A%20%2B%2F%3F%26%3D%25%C3%A9");
    assert.equal(rfc3986('😀'), '%F0%9F%98%80');
  });

  it('sorts by encoded name, then encoded value, and keeps repeated names', () => {
    const pairs: QueryPair[] = [['b', '2'], ['a', 'z'], ['B', '1'], ['a', 'y'], ['a', 'Y']];
    // Code-unit order: upper case before lower case.
    assert.equal(canonicalQuery(pairs), 'B=1&a=Y&a=y&a=z&b=2');
  });

  it('gives the same canonical form whatever order the parameters came in', () => {
    assert.equal(canonicalQuery([...VECTOR.pairs].reverse()), VECTOR.canonical);
  });
});

describe('signature verification', () => {
  const signed: QueryPair[] = [...VECTOR.pairs];

  it('finds the secret that signed, among several', () => {
    const others = [createSigningSecret(), createSigningSecret()];
    assert.equal(matchingSecret([others[0]!, VECTOR.secret, others[1]!], signed, VECTOR.signature), 1);
    assert.equal(matchingSecret(others, signed, VECTOR.signature), -1);
    assert.equal(matchingSecret([], signed, VECTOR.signature), -1);
  });

  it('refuses any change to what was signed', () => {
    const changes: Array<[string, QueryPair[]]> = [
      ['a changed option', signed.map(([n, v]) => [n, n === 'width' ? '801' : v] as const)],
      ['an added option', [...signed, ['darkMode', 'true']]],
      ['a removed option', signed.filter(([n]) => n !== 'fullPage')],
      ['a changed expires', signed.map(([n, v]) => [n, n === 'expires' ? '1767225601' : v] as const)],
      ['a changed keyId', signed.map(([n, v]) => [n, n === 'keyId' ? 'key_abd' : v] as const)],
      ['a repeated option', [...signed, ['width', '800']]],
    ];
    for (const [what, pairs] of changes) assert.equal(matchingSecret([VECTOR.secret], pairs, VECTOR.signature), -1, what);
  });

  it('accepts only 64 lower-case hex digits as a signature', () => {
    for (const bad of [VECTOR.signature.toUpperCase(), VECTOR.signature.slice(0, 63), `${VECTOR.signature}0`, '', 'zz'.repeat(32)]) {
      assert.equal(matchingSecret([VECTOR.secret], signed, bad), -1, bad);
    }
  });
});

describe('reading a signed link off a request URL', () => {
  it('finds no link in a URL without keyId, expires or signature', () => {
    assert.deepEqual(readSignedLink('/screenshot'), { kind: 'none' });
    assert.deepEqual(readSignedLink('/screenshot?url=x&width=800'), { kind: 'none' });
  });

  it('names what is missing when only some of the three are there', () => {
    assert.deepEqual(readSignedLink('/screenshot?url=x&keyId=k&expires=1'), { kind: 'partial', missing: ['signature'] });
    assert.deepEqual(readSignedLink('/screenshot?signature=s'), { kind: 'partial', missing: ['keyId', 'expires'] });
  });

  it('refuses one of the three given twice', () => {
    assert.deepEqual(readSignedLink('/screenshot?keyId=a&keyId=b&expires=1&signature=s'), { kind: 'repeated', name: 'keyId' });
  });

  it('decodes names and values as URLSearchParams does (+ is a space, %-names count)', () => {
    const reading = readSignedLink('/screenshot?url=a+b%2Bc&%6BeyId=k&expires=5&signature=s');
    assert.equal(reading.kind, 'link');
    if (reading.kind !== 'link') return;
    assert.equal(reading.link.keyId, 'k');
    assert.deepEqual(reading.link.pairs[0], ['url', 'a b+c']);
  });

  it('is not fooled by names that are Object.prototype members', () => {
    assert.deepEqual(readSignedLink('/screenshot?constructor=1&__proto__=2&toString=3'), { kind: 'none' });
  });

  it('verifies a path made by signedLinkPath, whatever order the options were given in', () => {
    const path = signedLinkPath(VECTOR.secret, 'key_abc', 1767225600, { width: 800, fullPage: true, url: 'https://example.com/a b?x=1&y=ü' });
    assert.equal(path, `/screenshot?${VECTOR.canonical}&signature=${VECTOR.signature}`);
    const reading = readSignedLink(path);
    assert.equal(reading.kind, 'link');
    if (reading.kind !== 'link') return;
    assert.equal(matchingSecret([VECTOR.secret], reading.link.pairs, reading.link.signature), 0);
  });

  it('leaves options left undefined out of a link', () => {
    const path = signedLinkPath(VECTOR.secret, 'k', 10, { url: 'https://example.com/', selector: undefined });
    assert.deepEqual(pairsOf(path).map(([name]) => name), ['expires', 'keyId', 'url', 'signature']);
  });
});

describe('expiry and options of a signed link', () => {
  const now = 1_767_225_600_000;

  it('is valid until its expires time, and expired from then on', () => {
    assert.equal(expiryOf('1767225601', now), 'valid');
    assert.equal(expiryOf('1767225600', now), 'expired');
    assert.equal(expiryOf('-1', now), 'expired');
  });

  it('treats an expires that is not an integer as malformed', () => {
    for (const bad of ['', '1.5', '1e12', ' 1767225601', '0x10', 'tomorrow', '9'.repeat(16)]) assert.equal(expiryOf(bad, now), 'malformed', bad);
  });

  it('hands the capture every option but keyId, expires and signature, repeated ones as arrays', () => {
    const query = optionsQuery([...VECTOR.pairs, ['signature', 's'], ['hideMe', '1'], ['hideMe', '2']]);
    assert.deepEqual({ ...query }, { url: 'https://example.com/a b?x=1&y=ü', width: '800', fullPage: 'true', hideMe: ['1', '2'] });
  });
});

describe('signing secrets', () => {
  it('are pss_ and 43 base64url characters, different every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => createSigningSecret()));
    assert.equal(secrets.size, 50);
    for (const secret of secrets) assert.match(secret, SIGNING_SECRET_SHAPE);
  });
});
