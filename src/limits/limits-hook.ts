import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { LimitsConfig } from '../config.js';
import { whenSettled } from '../http/settled.js';
import { ApiError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { SlotStoreUnavailableError, type CaptureSlot, type CaptureSlots } from './capture-slots.js';
import { LimitStoreUnavailableError } from './failover-backend.js';
import { rateLimitHeaders } from './headers.js';
import { MemoryLimitBackend } from './memory-backend.js';
import type { LimitBackend, LimitDecision, LimitPolicy } from './policy.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route runs a capture: the per-key `concurrent` cap applies to it. */
    capture?: boolean;
    /** False for reads of what was already rendered (a job's state, its result): the rate limit applies, the daily quota of renders not. */
    countsDaily?: boolean;
  }
  interface FastifyRequest {
    /** The rate-limit decision that admitted this request. */
    limitDecision?: LimitDecision;
    /** True while this request holds one of its caller's concurrent-capture slots. */
    holdsCaptureSlot?: boolean;
  }
}

/** The policy of a principal: its key's overrides, else the server's defaults. */
export function policyOf(principal: Principal, defaults: LimitsConfig['defaults']): LimitPolicy & { concurrent: number } {
  const { rate, burst, daily, concurrent } = { ...defaults, ...principal.limits };
  // Keys are refused a burst below 1 with a rate, but one stored before that rule (or a
  // default rate raised since) must still get answers, not a 500 on every request: such a
  // key is held to one request at a time at its rate.
  return { rate, burst: rate > 0 ? Math.max(1, burst) : burst, daily, concurrent };
}

function refusal(decision: LimitDecision, policy: LimitPolicy): ApiError {
  const retryAfter = decision.retryAfterSeconds ?? 1;
  if (decision.refusedBy === 'daily') {
    return new ApiError('QUOTA_EXCEEDED', `The daily quota of ${policy.daily} requests is used up; it renews at 00:00 UTC.`, {
      retryAfter,
      extras: { retryAfter, limit: policy.daily, policy: 'daily' },
    });
  }
  return new ApiError('RATE_LIMITED', `Rate limit exceeded: ${policy.rate} requests/s, bursts of ${policy.burst}.`, {
    retryAfter,
    extras: { retryAfter, limit: policy.burst, policy: 'burst' },
  });
}

/**
 * Applies each caller's limits to every authenticated request, right after
 * authentication and before anything costly: first the concurrent-capture cap (capture
 * routes only), then one atomic rate + daily decision. A request refused by one policy
 * consumes nothing from the others. Every authenticated answer carries the
 * X-RateLimit-* headers and the IETF fields in the form `config.headers` names.
 */
export function registerLimits(
  app: FastifyInstance,
  deps: { config: LimitsConfig; backend: LimitBackend; slots: CaptureSlots; metrics: Metrics },
): void {
  const { config, backend, slots, metrics } = deps;
  const headerForm = config.headers;

  async function decide(request: FastifyRequest, principal: Principal, policy: LimitPolicy): Promise<LimitDecision> {
    try {
      return await backend.consume(principal.caller, policy);
    } catch (error) {
      if (error instanceof LimitStoreUnavailableError) {
        throw new ApiError('LIMITS_UNAVAILABLE', 'Rate limits cannot be checked right now; try again shortly.', { retryAfter: 1 });
      }
      request.log.error({ err: error }, 'rate-limit decision failed');
      throw error;
    }
  }

  /** Applies a decision: headers always, and a 429 when refused. */
  function apply(request: FastifyRequest, reply: FastifyReply, decision: LimitDecision, policy: LimitPolicy): void {
    reply.headers(rateLimitHeaders(decision, headerForm));
    if (!decision.allowed) {
      metrics.rateLimitRefusals.inc({ policy: decision.refusedBy ?? 'rate' });
      throw refusal(decision, policy);
    }
    request.limitDecision = decision;
  }

  /**
   * Holds the concurrent-capture slot just taken for this request, or refuses it at once
   * (consuming nothing else) when there was none to take.
   */
  function holdCaptureSlot(request: FastifyRequest, reply: FastifyReply, slot: CaptureSlot | undefined, concurrent: number): void {
    if (!slot) {
      metrics.rateLimitRefusals.inc({ policy: 'concurrent' });
      throw new ApiError('CONCURRENCY_LIMITED', `At most ${concurrent} captures may run at once for this key.`, {
        retryAfter: 1,
        extras: { retryAfter: 1, limit: concurrent, policy: 'concurrent' },
      });
    }
    if (reply.raw.closed) {
      // The client left while a shared store was asked: no 'close' event is coming.
      slot.release();
      throw new ApiError('CLIENT_CLOSED_REQUEST', 'The client went away.');
    }
    request.holdsCaptureSlot = true;
    // Given back when the request is over, however it ends (client gone included).
    whenSettled(request, reply, () => {
      request.holdsCaptureSlot = false;
      slot.release();
    });
  }

  /** A slot from a store that answers later (Redis); its outage in `closed` mode is a 503. */
  async function awaitSlot(pending: Promise<CaptureSlot | undefined>): Promise<CaptureSlot | undefined> {
    try {
      return await pending;
    } catch (error) {
      if (error instanceof SlotStoreUnavailableError) {
        throw new ApiError('LIMITS_UNAVAILABLE', 'Rate limits cannot be checked right now; try again shortly.', { retryAfter: 1 });
      }
      throw error;
    }
  }

  // The in-process backend decides synchronously: then no promise is made per request.
  const decideNow = backend instanceof MemoryLimitBackend ? backend.decide.bind(backend) : undefined;

  // A key's principal is one object for as long as the key cache holds it: its policy is
  // worked out once, not spread and merged on every request. Anonymous principals are
  // made per request, so there is nothing to keep for them.
  const policies = new WeakMap<Principal, ReturnType<typeof policyOf>>();
  function policyFor(principal: Principal): ReturnType<typeof policyOf> {
    if (principal.kind === 'anonymous') return policyOf(principal, config.defaults);
    let policy = policies.get(principal);
    if (!policy) {
      policy = policyOf(principal, config.defaults);
      policies.set(principal, policy);
    }
    return policy;
  }

  // `done` is called outside every try block: it runs the next hooks synchronously.
  app.addHook('onRequest', (request, reply, done) => {
    const principal = request.principal;
    if (!principal) return done();
    const routeConfig = request.routeOptions.config;
    const keyPolicy = policyFor(principal);
    const policy = routeConfig.countsDaily === false ? { ...keyPolicy, daily: 0 } : keyPolicy;
    const wantsSlot = policy.concurrent > 0 && routeConfig.capture === true;
    const slot = wantsSlot ? slots.tryAcquire(principal.caller, policy.concurrent) : undefined;
    if (slot instanceof Promise) {
      awaitSlot(slot)
        .then((taken) => holdCaptureSlot(request, reply, taken, policy.concurrent))
        .then(() => (decideNow ? decideNow(principal.caller, policy) : decide(request, principal, policy)))
        .then((decision) => apply(request, reply, decision, policy))
        .then(() => done(), done);
      return;
    }
    let failure: unknown;
    try {
      if (wantsSlot) holdCaptureSlot(request, reply, slot, policy.concurrent);
      if (decideNow) apply(request, reply, decideNow(principal.caller, policy), policy);
    } catch (error) {
      failure = error;
    }
    if (failure !== undefined) return done(failure as Error);
    if (decideNow) return done();
    decide(request, principal, policy)
      .then((decision) => apply(request, reply, decision, policy))
      .then(() => done(), done);
  });
}
