import { randomUUID } from 'node:crypto';
import AjvCompiler from '@fastify/ajv-compiler';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifySchemaCompiler,
  type FastifyServerFactory,
} from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { trustProxyWarning, type Config } from './config.js';
import { handleClientError, handleError } from './error-handler.js';
import { ApiError, errorBody } from './errors.js';
import { registerAuth } from './auth/auth-hook.js';
import type { Authenticator } from './auth/authenticator.js';
import type { KeyService } from './auth/key-service.js';
import type { KeyStanding } from './auth/key-standing.js';
import type { CaptureSlots } from './limits/capture-slots.js';
import { registerLimits } from './limits/limits-hook.js';
import type { LimitBackend } from './limits/policy.js';
import { consoleRoutes } from './console/routes.js';
import { keyRoutes } from './routes/keys.js';
import { auditRoutes, meRoutes } from './routes/me.js';
import { deviceRoutes } from './routes/devices.js';
import { metricsRoutes } from './routes/metrics.js';
import { registerHttpMetrics } from './http/request-metrics.js';
import { usageRoutes } from './routes/usage.js';
import type { UsageStore } from './store/usage-store.js';
import { registerUsageAccounting } from './usage/usage-hook.js';
import type { UsageRecorder } from './usage/usage-recorder.js';
import { screenshotRoutes, type ScreenshotRouteDeps } from './routes/screenshot.js';
import { pdfRoutes } from './routes/pdf.js';
import { statusRoutes, type StatusRouteDeps } from './routes/status.js';
import type { AuditStore } from './store/audit-store.js';
import type { Metrics } from './metrics.js';
import type { NetworkPolicy } from './netguard/network-policy.js';
import type { WebhookSecretStore } from './store/webhook-secret-store.js';
import { jobRoutes, webhookSecretRoutes } from './routes/jobs.js';
import { signedLinkRoutes } from './routes/signed-links.js';
import type { SigningSecretStore } from './store/signing-secret-store.js';
import { healthRoutes } from './routes/health.js';
import { rootRoutes } from './routes/root.js';
import swagger from '@fastify/swagger';
import { OPENAPI_PATH, openApiOptions, sendDocument } from './http/openapi.js';
import { registerApiDocs } from './http/api-docs.js';
import { registerJsonBodyParser } from './http/json-body.js';
import { trackRequests } from './http/drain.js';
import type { Database } from './store/schema.js';

/** Everything the HTTP layer is given; it holds no business logic of its own. */
export interface ServerDeps extends ScreenshotRouteDeps, StatusRouteDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  networkPolicy: NetworkPolicy;
  webhookSecrets: WebhookSecretStore;
  /** How a job's key stands now, and whose jobs a key may read. */
  keyStanding: KeyStanding;
  /** The keys' secrets for signed embed links (also given to the authenticator, which verifies them). */
  signingSecrets: SigningSecretStore;
  authenticator: Authenticator;
  keyService: KeyService;
  audit: AuditStore;
  limitBackend: LimitBackend;
  /** Per-key caps on captures in flight: in this process, or in Redis across instances. */
  slots: CaptureSlots;
  usageStore: UsageStore;
  usageRecorder: UsageRecorder;
  /** The database itself, which /readyz queries (`select 1`). */
  db: Kysely<Database>;
  /** Creates the Node server: plain HTTP, or HTTPS when TLS is configured. */
  serverFactory?: FastifyServerFactory;
  /** True once shutdown began: new requests are refused with SHUTTING_DOWN. */
  isShuttingDown: () => boolean;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Room in the body for the other options beside the largest allowed `html`. */
const BODY_OVERHEAD_BYTES = 512 * 1024;

/** Ajv options of every part: unknown properties are an error, not dropped; defaults filled in. */
const STRICT_AJV = { removeAdditional: false, useDefaults: true, allErrors: false } as const;

type BuildValidator = ReturnType<typeof AjvCompiler>;

/**
 * One Ajv per kind of input. Query strings, path parameters and headers arrive as text,
 * so they are coerced (`?width=800` → 800, `?a=1` → ['1'] for arrays); a JSON body has
 * real types and is checked as sent: `{"width":[1280]}` or `{"fresh":"true"}` is an error,
 * not quietly turned into 1280 or true. Both keep Fastify's formats (ajv-formats).
 * https://fastify.dev/docs/latest/Reference/Validation-and-Serialization/#validator-compiler
 */
const buildPartValidators: BuildValidator = (externalSchemas) => {
  const fromPool = AjvCompiler();
  // The pool's compilers take Fastify's route definition, although their typings say Ajv's compile().
  const body = fromPool(externalSchemas, { customOptions: { ...STRICT_AJV, coerceTypes: false } }) as unknown as FastifySchemaCompiler<unknown>;
  const text = fromPool(externalSchemas, { customOptions: { ...STRICT_AJV, coerceTypes: 'array' } }) as unknown as FastifySchemaCompiler<unknown>;
  const byPart: FastifySchemaCompiler<unknown> = (route) => (route.httpPart === 'body' ? body : text)(route);
  return byPart as unknown as ReturnType<BuildValidator>;
};

/** Builds the Fastify app: hooks, error handling and routes. Does not listen. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    // A caller's own X-Request-Id is kept when it is short and plain, so traces join up.
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // Fastify also takes a hop count here, although its typings leave numbers out.
    trustProxy: config.trustProxy as boolean | string,
    bodyLimit: config.limits.maxHtmlBytes * 4 + BODY_OVERHEAD_BYTES,
    return503OnClosing: false,
    ...(deps.serverFactory ? { serverFactory: deps.serverFactory } : {}),
    schemaController: { compilersFactory: { buildValidator: buildPartValidators } },
    // Requests Node's parser refuses, and URLs the router cannot decode, get the shared shape too.
    clientErrorHandler: handleClientError,
    frameworkErrors: (error, request, reply) => handleError(error, request, reply),
  });
  const proxyWarning = trustProxyWarning(config.trustProxy);
  if (proxyWarning) deps.logger.warn({ variable: 'PAGESHOT_TRUST_PROXY' }, proxyWarning);

  // First of all hooks, so that every request is counted, refused ones included.
  registerHttpMetrics(app, deps.metrics);
  // What a graceful stop waits for before it stops listening (see http/drain.ts).
  const accepted = trackRequests(app);
  // Callback style, not async: this runs on every request and a promise per hook shows.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (deps.isShuttingDown()) {
      // The listener stays open while running captures finish: newcomers are told, not refused a connection.
      done(new ApiError('SHUTTING_DOWN', 'The server is shutting down.', { retryAfter: 1, extras: { status: 'busy' } }));
      return;
    }
    accepted.track(reply);
    done();
  });
  // While draining, every answer closes its connection: an idle keep-alive socket would
  // otherwise hold server.close() open until the client or keepAliveTimeout ends it.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (deps.isShuttingDown()) reply.header('connection', 'close');
    done(null, payload);
  });
  // The API speaks JSON only; a text/plain body would otherwise reach the schema as a string.
  app.removeContentTypeParser('text/plain');
  // JSON nested past MAX_JSON_DEPTH is refused as text, before anything recursive sees it.
  registerJsonBodyParser(app);
  // Response schemas describe answers (OpenAPI, and the contract test holds answers to
  // them); they do not reshape them: every answer is serialised as the handler built it.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody(new ApiError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`), request.id)),
  );

  // onRequest hooks run in this order: metrics, request id, HTTPS + key + scope, usage, limits.
  registerAuth(app, config, deps.authenticator);
  // Usage before limits: a request the limits refuse is still counted (as rejected).
  registerUsageAccounting(app, { recorder: deps.usageRecorder, backend: deps.limitBackend });
  registerLimits(app, { config: config.rateLimits, backend: deps.limitBackend, slots: deps.slots, metrics: deps.metrics });
  // The document collects routes as they are added: it loads first, the routes after it.
  void app.register(swagger, openApiOptions());
  void app.register(async (api) => {
    api.get(OPENAPI_PATH, { schema: { hide: true } }, (request, reply) => sendDocument(api, request, reply));
    rootRoutes(api, config.role);
    statusRoutes(api, deps);
    healthRoutes(api, deps);
    metricsRoutes(api, deps);
    // A worker node serves no public API: only what operators and orchestrators read above.
    if (config.role === 'worker') return;
    await registerApiDocs(api);
    screenshotRoutes(api, deps);
    pdfRoutes(api, deps);
    jobRoutes(api, deps);
    webhookSecretRoutes(api, deps.webhookSecrets);
    signedLinkRoutes(api, deps);
    keyRoutes(api, deps.keyService);
    meRoutes(api);
    deviceRoutes(api);
    auditRoutes(api, deps.audit);
    usageRoutes(api, { store: deps.usageStore, recorder: deps.usageRecorder, keys: deps.keyService });
    consoleRoutes(api);
  });
  return app;
}
