import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TObject, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { SIGNED_LINK_PARAMETERS, signedLinkPath, type LinkOptionValue } from '../auth/signed-link.js';
import { captureQuerySchema, toCaptureOptions, type CaptureRequest } from '../capture/options.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { NetworkPolicy } from '../netguard/network-policy.js';
import { assertTargetRulesAllowed } from '../netguard/target-policy.js';
import type { AuditStore } from '../store/audit-store.js';
import type { SigningSecretStore } from '../store/signing-secret-store.js';

/** Active signing secrets a key may hold at once (the contract's number). */
export const MAX_SIGNING_SECRETS = 5;
/** The longest a link made by `POST /v1/signed-urls` may live: one year. */
const MAX_EXPIRES_IN = 31_536_000;

const Timestamp = Type.String({ format: 'date-time' });
const SecretId = Type.String({ description: 'The secret\'s id (`sks_…`).' });
const Hint = Type.String({ description: '`pss_…` and the secret\'s last four characters, to tell secrets apart.' });

const SecretCreated = Type.Object(
  {
    id: SecretId,
    keyId: Type.String({ description: 'The key whose links this secret signs: the `keyId` of those links.' }),
    secret: Type.String({ description: 'The signing secret (`pss_` and 43 base64url characters): shown this once.' }),
    hint: Hint,
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);
const SecretList = Type.Object(
  {
    signingSecrets: Type.Array(
      Type.Object(
        {
          id: SecretId,
          hint: Hint,
          createdAt: Timestamp,
          lastUsedAt: Type.Union([Timestamp, Type.Null()], { description: 'When a signed request last matched it (to the minute); null when never.' }),
        },
        { additionalProperties: false },
      ),
      { description: "The key's active secrets, newest first (never the secrets themselves)." },
    ),
  },
  { additionalProperties: false },
);
const SecretParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'The secret\'s id (`sks_…`).' }) }, { additionalProperties: false });
const SignedUrl = Type.Object(
  {
    url: Type.String({ description: 'The signed link as a path (`/screenshot?…&signature=…`): prefix it with the origin clients reach this server at.' }),
    expiresAt: Type.String({ format: 'date-time', description: 'When the link stops working (its `expires`).' }),
    keyId: Type.String({ description: 'The key the link stands for; revoking or disabling it ends the link.' }),
  },
  { additionalProperties: false },
);
const NoContent = { 204: { description: 'Revoked: links it signed are refused from now on.', type: 'null' } } as const;

/**
 * The scalar options of `GET /screenshot` as a JSON object with no defaults filled in,
 * so that a link carries only the options its caller chose (and stays short).
 */
function linkOptionsSchema(limits: Config['limits']): TObject {
  const properties: Record<string, TSchema> = {};
  for (const [name, schema] of Object.entries(captureQuerySchema(limits).properties)) {
    if ((SIGNED_LINK_PARAMETERS as readonly string[]).includes(name)) continue;
    const { default: _default, ...withoutDefault } = schema as TSchema & { default?: unknown };
    properties[name] = Type.Optional(withoutDefault as TSchema);
  }
  return Type.Object(properties, {
    additionalProperties: false,
    description: 'The scalar options of `GET /screenshot` (`url` or `html`, `width`, `format`, …) the link captures with.',
  });
}

/** The defaults `GET /screenshot` fills in, which a link leaves out (the server fills them in when it is used). */
function queryDefaults(limits: Config['limits']): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(captureQuerySchema(limits).properties)) {
    const { default: value } = schema as { default?: unknown };
    if (value !== undefined) defaults[name] = value;
  }
  return defaults;
}

/** `POST /v1/signed-urls`'s body. */
function signedUrlBodySchema(limits: Config['limits']) {
  return Type.Object(
    {
      options: linkOptionsSchema(limits),
      expiresIn: Type.Integer({ minimum: 1, maximum: MAX_EXPIRES_IN, default: 3600, description: 'Seconds the link works for (default: one hour).' }),
    },
    { additionalProperties: false },
  );
}

/** The stored key behind a request; the root key and anonymous callers have none to sign with. */
function storedKeyOf(request: FastifyRequest): Principal & { keyId: string } {
  const principal = request.principal!;
  if (principal.kind !== 'key' || principal.keyId === null) {
    throw new ApiError('INSUFFICIENT_SCOPE', 'Signed links need a stored API key (see /v1/keys): the root API_KEY or an anonymous caller has none.');
  }
  return principal as Principal & { keyId: string };
}

/** The longest link handed out: well inside the 16 KB the server takes for a request's head. */
const MAX_LINK_LENGTH = 8192;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What the signed-link routes work with. */
export interface SignedLinkRouteDeps {
  config: Config;
  signingSecrets: SigningSecretStore;
  networkPolicy: NetworkPolicy;
  /** Where secrets made and revoked are recorded (`signing_secret.created` / `.revoked`). */
  audit: AuditStore;
}

/** Records a change to a key's signing secrets in the audit log; the secret itself never goes there. */
function auditSecret(audit: AuditStore, request: FastifyRequest, type: 'signing_secret.created' | 'signing_secret.revoked', secretId: string): Promise<unknown> {
  const principal = request.principal!;
  return audit.record({ type, keyId: principal.keyId, keyHint: principal.hint, actorKeyId: principal.keyId, clientIp: request.ip, reason: null, details: { secretId } });
}

/**
 * The key's link-signing secrets (`POST`, `GET /v1/me/signing-secrets`,
 * `DELETE /v1/me/signing-secrets/:id`) and `POST /v1/signed-urls`, which signs a link
 * with the newest of them. All need the `screenshot` scope and a stored key.
 */
export function signedLinkRoutes(app: FastifyInstance, deps: SignedLinkRouteDeps): void {
  const { signingSecrets, audit } = deps;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['account'];

  api.post(
    '/v1/me/signing-secrets',
    {
      config: { scope: 'screenshot', errors: ['VALIDATION_ERROR'] },
      schema: { tags, summary: 'Create a secret to sign embed links with (shown once; at most 5 active)', response: { 201: SecretCreated } },
    },
    async (request, reply) => {
      const { keyId } = storedKeyOf(request);
      const created = await signingSecrets.create(keyId, MAX_SIGNING_SECRETS);
      if (created === 'limit-reached') {
        throw new ApiError('VALIDATION_ERROR', `A key may have at most ${MAX_SIGNING_SECRETS} active signing secrets; revoke one first.`, {
          extras: { limit: MAX_SIGNING_SECRETS },
        });
      }
      // The key vanished between authentication and now: as good as not found.
      if (created === 'unknown-key') throw new ApiError('INVALID_API_KEY', 'The API key is not valid.');
      await auditSecret(audit, request, 'signing_secret.created', created.id);
      reply.code(201).header('cache-control', 'no-store');
      return created;
    },
  );

  api.get(
    '/v1/me/signing-secrets',
    { config: { scope: 'screenshot' }, schema: { tags, summary: "The key's active signing secrets (hints only)", response: { 200: SecretList } } },
    async (request) => ({ signingSecrets: await signingSecrets.list(storedKeyOf(request).keyId) }),
  );

  api.delete(
    '/v1/me/signing-secrets/:id',
    {
      config: { scope: 'screenshot', errors: ['SIGNING_SECRET_NOT_FOUND'] },
      schema: { tags, summary: 'Revoke a signing secret: its links stop working at once', params: SecretParams, response: NoContent },
    },
    async (request, reply) => {
      const { id } = request.params;
      // Another key's secret is not told apart from one that does not exist.
      if (!(await signingSecrets.revoke(storedKeyOf(request).keyId, id))) {
        throw new ApiError('SIGNING_SECRET_NOT_FOUND', `This key has no active signing secret ${id}.`);
      }
      await auditSecret(audit, request, 'signing_secret.revoked', id);
      return reply.code(204).send();
    },
  );

  signedUrlRoute(api, deps);
}

/** `POST /v1/signed-urls`: a link signed with the key's newest secret, for the console and for callers without a client library. */
function signedUrlRoute(app: FastifyInstance, deps: SignedLinkRouteDeps): void {
  const { config, signingSecrets } = deps;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const defaults = queryDefaults(config.limits);
  const tags = ['account'];
  api.post(
    '/v1/signed-urls',
    {
      config: { scope: 'screenshot', errors: ['SIGNING_SECRET_MISSING', 'TARGET_FORBIDDEN'] },
      schema: {
        tags,
        summary: "Sign a GET /screenshot link with the key's newest signing secret",
        body: signedUrlBodySchema(config.limits),
        response: { 200: SignedUrl },
      },
    },
    async (request, reply) => {
      const principal = storedKeyOf(request);
      // The options' schema is built from the GET query's at start-up, so its static type is
      // only "an object"; the schema itself admits scalar values alone.
      const { options, expiresIn } = request.body as { options: Record<string, LinkOptionValue>; expiresIn: number };
      checkLinkOptions(options, defaults, principal, deps);
      const secret = await signingSecrets.newestActive(principal.keyId);
      if (!secret) {
        throw new ApiError('SIGNING_SECRET_MISSING', 'Create a signing secret first (POST /v1/me/signing-secrets): links are signed with it.');
      }
      const expires = Math.floor(Date.now() / 1000) + expiresIn;
      const url = signedLinkPath(secret.secret, principal.keyId, expires, options);
      // Request lines beyond this are refused (431) before any link could be checked.
      if (url.length > MAX_LINK_LENGTH) {
        throw new ApiError('VALIDATION_ERROR', `The link would be ${url.length} characters long; at most ${MAX_LINK_LENGTH} work (use POST /screenshot for large html).`, {
          extras: { field: 'options' },
        });
      }
      reply.header('cache-control', 'no-store');
      return {
        url,
        expiresAt: new Date(expires * 1000).toISOString(),
        keyId: principal.keyId,
      };
    },
  );
}

/**
 * Refuses now what the link would be refused for when used: options a capture does not
 * accept (VALIDATION_ERROR), a target the key or the server does not allow (TARGET_FORBIDDEN;
 * the rules only, no DNS: that is checked when the link is used).
 */
function checkLinkOptions(options: Record<string, LinkOptionValue>, defaults: Record<string, unknown>, principal: Principal, deps: SignedLinkRouteDeps): void {
  // JSON may carry a lone UTF-16 surrogate, which no URL can: it has no UTF-8 bytes to encode.
  for (const [name, value] of Object.entries(options)) {
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
      throw new ApiError('VALIDATION_ERROR', `"${name}" holds a lone UTF-16 surrogate, which no link can carry.`, { extras: { field: `options/${name}` } });
    }
  }
  const capture = toCaptureOptions({ ...defaults, ...options } as CaptureRequest, deps.config.limits);
  if (capture.target.kind === 'url') assertTargetRulesAllowed(deps.networkPolicy, capture.target.url, principal.allowedHosts);
  else if (principal.allowedHosts.length > 0) throw new ApiError('TARGET_FORBIDDEN', 'This API key may capture only its allowed hosts, not raw html.');
}
