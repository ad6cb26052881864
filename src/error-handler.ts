import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errorBody, type ErrorCode } from './errors.js';
import { InvalidCursorError } from './store/store-errors.js';
import { browserCrashed, isBrowserGone } from './capture/browser-gone.js';

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Names the field an Ajv error is about: "width", "headers/X-Foo", "cookies/0/name". */
function fieldOf(issue: ValidationIssue): string {
  const path = issue.instancePath.replace(/^\//, '');
  const extra = issue.params.missingProperty ?? issue.params.additionalProperty;
  if (typeof extra === 'string') return path ? `${path}/${extra}` : extra;
  return path || '(root)';
}

function describe(issue: ValidationIssue, all: ValidationIssue[]): string {
  if (issue.instancePath === '' && issue.keyword === 'type') return 'Send the options as a JSON object.';
  if (typeof issue.params.additionalProperty === 'string') {
    return issue.instancePath === '' ? `"${fieldOf(issue)}" is not a known option.` : `"${fieldOf(issue)}" is not allowed.`;
  }
  if (typeof issue.params.missingProperty === 'string') return `"${fieldOf(issue)}" is required.`;
  if (issue.keyword === 'anyOf') {
    // A union of literals (format, waitUntil): Ajv reports one `const` miss per branch.
    const allowed = all
      .filter((other) => other.instancePath === issue.instancePath && other.keyword === 'const')
      .map((other) => String(other.params.allowedValue));
    if (allowed.length > 0) return `"${fieldOf(issue)}" must be one of: ${allowed.join(', ')}.`;
  }
  // A regular expression says nothing to a caller; what it guards against does.
  if (issue.keyword === 'const') return `"${fieldOf(issue)}" must be ${JSON.stringify(issue.params.allowedValue)}.`;
  if (issue.keyword === 'pattern') return `"${fieldOf(issue)}" has characters or a form that is not allowed there.`;
  return `"${fieldOf(issue)}" ${issue.message ?? 'is not valid'}.`;
}

/** Turns anything thrown while handling a request into an ApiError safe to show. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof InvalidCursorError) {
    return new ApiError('VALIDATION_ERROR', '"cursor" is not one this server handed out.', { extras: { field: 'cursor' } });
  }
  const fastifyError = error as Partial<FastifyError> & { validation?: ValidationIssue[] };
  if (fastifyError.validation?.length) {
    // With a union (format, waitUntil) Ajv reports each branch; the enum-like summary is the useful one.
    const issues = fastifyError.validation;
    const issue = issues.find((candidate) => candidate.keyword === 'anyOf') ?? issues[0]!;
    return new ApiError('VALIDATION_ERROR', describe(issue, issues), { extras: { field: fieldOf(issue) } });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', 'The request body is larger than this server accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Send the options as JSON with content-type: application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('INVALID_JSON', 'The body is empty; send the options as a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('INVALID_JSON', 'The body is not valid JSON.');
    // Router errors (Fastify's `frameworkErrors`): a path that is not valid percent-encoding
    // (`/v1/me/%ff`) or a path parameter longer than the router accepts.
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError('MALFORMED_REQUEST', 'The request URL is not valid.');
  }
  if (fastifyError.statusCode === 400 && error instanceof SyntaxError) {
    return new ApiError('INVALID_JSON', 'The body is not valid JSON.');
  }
  if (fastifyError.statusCode === 404) return new ApiError('NOT_FOUND', 'No such route.');
  if (fastifyError.statusCode === 413) return new ApiError('PAYLOAD_TOO_LARGE', 'The request is too large.');
  if (fastifyError.statusCode === 415) return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported content type.');
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new ApiError('VALIDATION_ERROR', 'The request is not valid.');
  }
  // The capture engine maps these itself; one that slips past it is still a dead browser, not a 500.
  if (isBrowserGone(error)) return browserCrashed();
  return new ApiError('INTERNAL_ERROR', 'Something went wrong on our side.');
}

/** Fastify error handler: the shared JSON error body, `Retry-After` when known, no internals. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const apiError = toApiError(error);
  request.errorCode = apiError.code;
  if (apiError.code === 'INTERNAL_ERROR') request.log.error({ err: error }, 'unhandled error');
  if (apiError.retryAfter !== undefined) reply.header('retry-after', String(apiError.retryAfter));
  // Set here too: router errors (`frameworkErrors`) answer before any onRequest hook runs.
  reply.header('x-request-id', request.id);
  return reply.status(apiError.statusCode).send(errorBody(apiError, request.id));
}

/** What Node's HTTP parser reports, mapped to our codes. */
function clientErrorCode(error: NodeJS.ErrnoException): { code: ErrorCode; message: string } {
  if (error.code === 'HPE_HEADER_OVERFLOW') return { code: 'HEADERS_TOO_LARGE', message: 'The request headers are too large.' };
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { code: 'REQUEST_TIMEOUT', message: 'The request was not received in time.' };
  return { code: 'MALFORMED_REQUEST', message: 'The request is not valid HTTP.' };
}

/** A complete HTTP/1.1 answer with the shared error body, closing the connection. */
export function rawErrorResponse(code: ErrorCode, message: string, requestId: string): string {
  const error = new ApiError(code, message);
  const body = JSON.stringify(errorBody(error, requestId));
  return (
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? 'Error'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\n` +
    'connection: close\r\n\r\n' +
    body
  );
}

/**
 * Fastify `clientErrorHandler`: requests Node's parser refused before Fastify saw them
 * (a 16 KB header, a NUL in a header, a client past `headersTimeout`) get the shared
 * error shape instead of Node's or Fastify's own bodies. No request id can be read from
 * headers that did not parse, so a new one is made. The raw packet is never logged: it
 * may hold a key. https://nodejs.org/api/http.html#event-clienterror
 */
export function handleClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has no one left to answer (as in Fastify's default handler).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { code, message } = clientErrorCode(error);
  const requestId = randomUUID();
  this.log.debug({ requestId, code, err: error }, 'client error');
  // Never write into a response already under way on this connection (keep-alive).
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  // end() flushes the answer before the close; destroy() right after write() could drop it on TLS.
  socket.end(rawErrorResponse(code, message, requestId), () => socket.destroy());
}
