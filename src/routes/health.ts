import { Type } from '@sinclair/typebox';
import { ERROR_BODY_SCHEMA } from '../http/openapi.js';
import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import type { BrowserManager } from '../capture/browser.js';
import type { CaptureQueue } from '../jobs/queue.js';
import { ApiError, ERROR_CODES, errorBody } from '../errors.js';
import type { Database } from '../store/schema.js';

/** What `/readyz` looks at: the parts this node needs to serve. */
export interface HealthRouteDeps {
  /** This node's browser; undefined on an api node, which has none (and no `browser` check). */
  capture: { browsers: Pick<BrowserManager, 'state'> } | undefined;
  /** Keys, usage and audit live here: every role reads it. */
  db: Kysely<Database>;
  /** The job queue, present exactly when PAGESHOT_REDIS_URL is set; its connection is the one pinged. */
  queue: Pick<CaptureQueue, 'redis'> | undefined;
}

/**
 * How long one readiness check may take. Well under the usual probe timeout (Kubernetes:
 * 1 s by default, often raised), so a hung database or Redis reads as "not ready", not as
 * a probe that never answers.
 */
export const READINESS_CHECK_TIMEOUT_MS = 1_000;

/** "ok", or why the part is not usable: short, and free of addresses or driver messages (the route is public). */
type CheckResult = string;

/** One readiness check: resolves (or returns) when the part is usable, throws or rejects when not. */
type Check = () => unknown;

/**
 * Runs `check`, bounded by `timeoutMs`. A check that runs over is abandoned, not
 * cancelled: a query stuck on a dead connection ends when its socket does.
 */
async function runCheck(check: Check, failure: string, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  const outcome = Promise.resolve()
    .then(check)
    .then(
      () => 'ok',
      () => failure,
    );
  try {
    return await Promise.race([outcome, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The checks this node needs, by name: `browser` only where there is one, `redis` only where it is configured. */
function readinessChecks(deps: HealthRouteDeps): Record<string, () => Promise<CheckResult>> {
  const { capture, db, queue } = deps;
  const timeout = READINESS_CHECK_TIMEOUT_MS;
  const checks: Record<string, () => Promise<CheckResult>> = {
    // Reads the manager's state only: a probe must never launch (or wait for) Chromium.
    ...(capture ? { browser: async () => (capture.browsers.state === 'running' ? 'ok' : capture.browsers.state) } : {}),
    database: () => runCheck(() => sql`select 1`.execute(db), 'query failed', timeout),
  };
  // The queue's connection has no offline queue: while Redis is away, PING fails at once.
  if (queue) checks.redis = () => runCheck(() => queue.redis.ping(), 'ping failed', timeout);
  return checks;
}

/** Runs every check at once; the slowest one bounds the answer. */
async function readiness(checks: Record<string, () => Promise<CheckResult>>): Promise<Record<string, CheckResult>> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => checks[name]!()));
  return Object.fromEntries(names.map((name, index) => [name, results[index]!]));
}

/**
 * `GET /healthz`: liveness, on every role. It answers as long as the process serves
 * HTTP, and reads nothing else: a probe that restarts a node because Redis or the
 * browser is away would turn an outage of one part into restarts of every node.
 *
 * `GET /readyz`: readiness, on every role, public. 200 `{"status":"ready","checks":{…}}`
 * when every part this node needs answers (browser, database, Redis when configured),
 * else 503 with `"status":"unready"`, the failing checks' reasons and the shared error
 * fields (NOT_READY), so a load balancer sends its traffic elsewhere until then. While
 * the server drains, the shutdown hook answers it 503 SHUTTING_DOWN before it runs.
 */
export function healthRoutes(app: FastifyInstance, deps: HealthRouteDeps): void {
  const tags = ['operations'];
  const healthSchema = {
    tags,
    summary: 'Liveness: the process answers',
    response: { 200: Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false }) },
  };
  app.get('/healthz', { schema: healthSchema }, (_request, reply) => {
    reply.header('cache-control', 'no-store').send({ status: 'ok' });
  });
  const checks = readinessChecks(deps);
  const readySchema = {
    tags,
    summary: 'Readiness: the browser, the database and Redis each answer',
    response: {
      200: Type.Object(
        { status: Type.Literal('ready'), checks: Type.Record(Type.String(), Type.Literal('ok'), { description: 'Each part this node needs: `ok`.' }) },
        { additionalProperties: false },
      ),
      // Documented from the error table (NOT_READY), as every error answer is.
      503: ERROR_BODY_SCHEMA,
    },
  };
  app.get('/readyz', { schema: readySchema, config: { errors: ['NOT_READY'] } }, async (request, reply) => {
    const results = await readiness(checks);
    reply.header('cache-control', 'no-store');
    const failing = Object.keys(results).filter((name) => results[name] !== 'ok');
    if (failing.length === 0) return { status: 'ready', checks: results };
    const error = new ApiError('NOT_READY', `Not ready: ${failing.join(', ')}.`, { extras: { status: 'unready' } });
    return reply.status(ERROR_CODES.NOT_READY).send({ ...errorBody(error, request.id), checks: results });
  });
}
