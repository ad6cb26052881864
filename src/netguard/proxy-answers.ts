import http from 'node:http';
import type { Duplex } from 'node:stream';
import { REFUSED_HEADER, UPSTREAM_ERROR_HEADER } from './guard-headers.js';

/*
 * How the guard proxy answers: Chromium's names for what went wrong with a target, which
 * of a target's answers it may relay, and how it writes its own answers without ever
 * throwing (everything here handles bytes from a page or a target).
 */

/**
 * Chromium's names for the socket and HTTP parser errors the proxy meets, so a capture
 * fails with the same `networkError` it would without the proxy.
 */
const NETWORK_ERRORS: Record<string, string> = {
  ENOTFOUND: 'ERR_NAME_NOT_RESOLVED',
  ECONNREFUSED: 'ERR_CONNECTION_REFUSED',
  ECONNRESET: 'ERR_CONNECTION_RESET',
  ETIMEDOUT: 'ERR_CONNECTION_TIMED_OUT',
  EHOSTUNREACH: 'ERR_ADDRESS_UNREACHABLE',
  ENETUNREACH: 'ERR_ADDRESS_UNREACHABLE',
  HPE_HEADER_OVERFLOW: 'ERR_RESPONSE_HEADERS_TOO_BIG',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_LENGTH',
  HPE_INVALID_CHUNK_SIZE: 'ERR_INVALID_CHUNKED_ENCODING',
};

/** Chromium's name for an answer that is not HTTP it can relay (bad status line, header, framing). */
export const INVALID_RESPONSE = 'ERR_INVALID_HTTP_RESPONSE';

/** Chromium's name for a socket or parser error of a connection to a target. */
export function networkErrorOf(error: unknown): string {
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException;
  if (code && NETWORK_ERRORS[code]) {
    // Node calls a connection closed before any answer "socket hang up"; Chromium, an empty response.
    return code === 'ECONNRESET' && message === 'socket hang up' ? 'ERR_EMPTY_RESPONSE' : NETWORK_ERRORS[code]!;
  }
  // Every other llhttp parse error (HPE_INVALID_STATUS, HPE_INVALID_CONSTANT, …) is a broken answer.
  if (code?.startsWith('HPE_')) return INVALID_RESPONSE;
  return 'ERR_CONNECTION_FAILED';
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and proxy credentials: never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The headers of a message without the hop-by-hop ones. */
export function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

/** `host:port` of a CONNECT request line, including `[v6]:port`. */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(authority);
  return match ? { host: match[1]!, port: Number(match[2]) } : undefined;
}

/** An absolute-form request target (`http://host/path`), as a client sends to a proxy. */
export const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:/i;

/**
 * The status and headers of a target's answer as the proxy may write them, or undefined
 * when Node's writer would refuse them: a status outside 200–599 (Node throws
 * ERR_HTTP_INVALID_STATUS_CODE below 100 and above 999; a final 1xx is not HTTP either),
 * or a header name or value it will not write. The guard's own marker headers are
 * dropped: a target must not pass itself off as the guard.
 */
export function relayableHead(answer: http.IncomingMessage): { statusCode: number; headers: http.OutgoingHttpHeaders } | undefined {
  const statusCode = answer.statusCode;
  if (statusCode === undefined || !Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599) return undefined;
  const headers = forwardable(answer.headers);
  delete headers[REFUSED_HEADER];
  delete headers[UPSTREAM_ERROR_HEADER];
  try {
    for (const [name, value] of Object.entries(headers)) {
      http.validateHeaderName(name);
      for (const one of Array.isArray(value) ? value : [value]) http.validateHeaderValue(name, String(one));
    }
  } catch {
    return undefined;
  }
  return { statusCode, headers };
}

/**
 * Answers a forwarded request with the guard's own status (a refusal, a failure), or,
 * when that is no longer possible (the target's headers sent, connection gone), cuts the
 * connection, which Chromium reports as a network error of that one request.
 */
export function answerFromGuard(response: http.ServerResponse, status: number, header: [string, string], body: string): void {
  // Already answered in full (a late error of the same request): destroying now could drop unsent bytes.
  if (response.writableEnded) return;
  if (response.headersSent || response.destroyed) {
    response.destroy();
    return;
  }
  try {
    // A body, so that Chromium hands the answer (and its header) to the page instead of
    // replacing it with its own error page.
    response.writeHead(status, { 'content-type': 'text/plain', [header[0]]: header[1] }).end(body);
  } catch {
    response.destroy();
  }
}

/** Writes the last bytes a raw (CONNECT or upgrade) socket gets; a socket already gone is simply destroyed. */
export function endRaw(socket: Duplex, text: string): void {
  try {
    if (socket.writable) socket.end(text);
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}

