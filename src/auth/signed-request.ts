import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { expiryOf, optionsQuery, readSignedLink, SIGNED_LINK_PATH, type SignedLink } from './signed-link.js';

/** Whether the request is one a signed link may make: GET (or HEAD) /screenshot. */
function onSignedRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url === SIGNED_LINK_PATH && (request.method === 'GET' || request.method === 'HEAD');
}

/**
 * The checks of a signed request that need neither the database nor a secret, in the
 * contract's order; returns the link whose signature is still to be verified, or
 * undefined when the request carries no signed link.
 *
 * - a whole link on any other route is refused (403 SIGNATURE_INVALID); part of one is
 *   left to that route (its schema, its own authentication);
 * - keyId, expires and signature all, each once, or none (400 VALIDATION_ERROR);
 * - a signature or an API key header, not both (400 VALIDATION_ERROR);
 * - `expires` an integer (else SIGNATURE_INVALID) in the future (else SIGNATURE_EXPIRED).
 *
 * Past the first three, the request's query becomes the signed pairs less keyId /
 * expires / signature: the capture sees exactly what was signed, and the three never
 * reach its options or the result cache's key. With `verify` false (PAGESHOT_AUTH=off,
 * where nothing is authenticated) that is all: no expiry, no signature to check.
 */
export function signedLinkOf(request: FastifyRequest, verify: boolean, nowMs = Date.now()): SignedLink | undefined {
  const reading = readSignedLink(request.url);
  if (reading.kind === 'none') return undefined;
  if (!onSignedRoute(request)) {
    // A whole link on another route is told why it cannot work; a lone `keyId` or
    // `expires` elsewhere is just a query parameter (the route's schema judges it), and
    // an unknown route stays a 404.
    if (reading.kind === 'link' && request.routeOptions.url !== undefined) {
      throw new ApiError('SIGNATURE_INVALID', `Signed links are accepted only on GET ${SIGNED_LINK_PATH}.`);
    }
    return undefined;
  }
  if (reading.kind === 'partial') {
    throw new ApiError('VALIDATION_ERROR', `A signed link needs keyId, expires and signature together; "${reading.missing[0]}" is missing.`, {
      extras: { field: reading.missing[0]! },
    });
  }
  if (reading.kind === 'repeated') {
    throw new ApiError('VALIDATION_ERROR', `"${reading.name}" may appear only once in a signed link.`, { extras: { field: reading.name } });
  }
  if (request.headers.authorization !== undefined || request.headers['x-api-key'] !== undefined) {
    throw new ApiError('VALIDATION_ERROR', 'Authenticate one way per request: a signed link or an API key header, not both.');
  }
  const { link } = reading;
  request.query = optionsQuery(link.pairs);
  if (!verify) return undefined;
  const expiry = expiryOf(link.expires, nowMs);
  if (expiry === 'malformed') throw new ApiError('SIGNATURE_INVALID', 'The signature does not match this link.');
  if (expiry === 'expired') throw new ApiError('SIGNATURE_EXPIRED', 'This signed link has expired.');
  return link;
}
