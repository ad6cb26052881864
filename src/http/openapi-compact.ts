/**
 * The last pass over the generated document: what @fastify/swagger writes out inline on
 * every route (the error body, the shared headers) becomes one component each, and
 * options that have a default stop being listed as required.
 */

/** Marks an error body in a route's schema, for this pass: its value is the codes the answer can carry. */
export const ERROR_CODES_MARK = 'x-pageshot-error-codes';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The component name of each shared header. */
function headerComponentName(header: string): string {
  return header
    .split('-')
    .map((part) => (part === 'x' ? 'X' : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('-');
}

/**
 * A property with a default is filled in by the server when left out (Ajv's
 * `useDefaults`): it is optional to the caller, although the schema, which describes
 * the request after defaults, requires it.
 */
function releaseDefaults(schema: unknown): void {
  if (!isObject(schema)) return;
  const properties = schema.properties;
  if (isObject(properties) && Array.isArray(schema.required)) {
    const required = (schema.required as string[]).filter((name) => !(isObject(properties[name]) && 'default' in properties[name]));
    if (required.length > 0) schema.required = required;
    else delete schema.required;
  }
  for (const value of Object.values(schema)) {
    if (Array.isArray(value)) value.forEach(releaseDefaults);
    else releaseDefaults(value);
  }
}

/** Rewrites `document` in place; `errorSchema` and `headers` become its components. */
export function compactDocument(document: Json, errorSchema: Json, headers: Record<string, Json>): Json {
  const components = (document.components ??= {}) as Json;
  components.schemas = { ...(components.schemas as Json | undefined), Error: errorSchema };
  components.headers = Object.fromEntries(
    Object.entries(headers).map(([name, { description, ...schema }]) => [headerComponentName(name), { description, schema }]),
  );
  for (const pathItem of Object.values((document.paths ?? {}) as Record<string, Json>)) {
    for (const operation of Object.values(pathItem)) {
      if (!isObject(operation)) continue;
      releaseDefaults(operation.requestBody);
      for (const parameter of (operation.parameters ?? []) as Json[]) {
        if (isObject(parameter.schema) && 'default' in parameter.schema) parameter.required = false;
      }
      for (const response of Object.values((operation.responses ?? {}) as Record<string, Json>)) {
        compactResponse(response, headers);
      }
    }
  }
  return document;
}

function compactResponse(response: Json, headers: Record<string, Json>): void {
  if (isObject(response.headers)) {
    for (const name of Object.keys(response.headers)) {
      if (name in headers) response.headers[name] = { $ref: `#/components/headers/${headerComponentName(name)}` };
    }
  }
  const json = isObject(response.content) ? response.content['application/json'] : undefined;
  if (isObject(json) && isObject(json.schema) && Array.isArray(json.schema[ERROR_CODES_MARK])) {
    const codes = json.schema[ERROR_CODES_MARK];
    json.schema = { allOf: [{ $ref: '#/components/schemas/Error' }], properties: { code: { enum: codes } } };
  }
}
