/**
 * `@pageshot/client`: the PageShot screenshot API from TypeScript and JavaScript
 * (Node ≥ 20, or anything with a global `fetch`), with no dependencies.
 */
export { PageShot, type PageShotOptions } from './client.js';
export type { CaptureRequestOptions } from './capture-call.js';
export { ERROR_CODES, type ErrorCodeSpec, type RetryAdvice } from './error-codes.js';
export { Keys } from './keys.js';
export type { WaitOptions } from './jobs.js';
export { verifyWebhook, type VerifyWebhookOptions, type WebhookHeaders } from './webhooks.js';
export type { RequestOptions } from './transport.js';
export type { RetryEvent } from './retry.js';
export type { RateLimitPolicy, RateLimitState } from './rate-limit.js';
export {
  AbortError,
  ApiError,
  AuthenticationError,
  CaptureError,
  ConflictError,
  ConnectionError,
  GoneError,
  NotFoundError,
  PageShotError,
  PermissionDeniedError,
  RateLimitError,
  ServerBusyError,
  TimeoutError,
  ValidationError,
  WebhookVerificationError,
  type ErrorBody,
} from './errors.js';
export type * from './types.js';
