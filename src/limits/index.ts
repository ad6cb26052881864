/**
 * Rate limits and daily quotas: one atomic decision per request, kept in memory or in
 * Redis, with a failover for Redis outages and the response headers that describe it.
 */
export type { LimitBackend, LimitDecision, LimitPolicy, PolicyState } from './policy.js';
export { validatePolicy } from './policy.js';
export { MemoryLimitBackend, type MemoryLimitBackendOptions } from './memory-backend.js';
export { RedisLimitBackend, type RedisLimitBackendOptions } from './redis-backend.js';
export {
  FailoverLimitBackend,
  LimitStoreUnavailableError,
  type FailoverLimitBackendOptions,
  type FailoverLogger,
  type FailoverMode,
} from './failover-backend.js';
export { rateLimitHeaders, retryAfterHeader } from './headers.js';
