/**
 * The TypeScript client's wire types against the OpenAPI document: the document is
 * turned into TypeScript by `openapi-typescript` (a generator nobody here wrote), and
 * the TypeScript compiler checks, for each pair, that
 * - every answer the server documents fits the client's type (nothing the client reads
 *   is missing or typed otherwise), and the client names no field the server lacks;
 * - every request the client can build is one the server accepts (no option unknown to
 *   the server, none typed otherwise), and the client offers every option the server has.
 * The Python client's answer types and options are held to the same document in the last tests.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import openapiTS, { astToString } from 'openapi-typescript';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV } from './helpers/keys.js';
import { PYTHON, pythonMissing, ROOT } from './helpers/python.js';

/** Client type → where the document describes the same thing. */
const ANSWERS: Record<string, string> = {
  KeyInfo: `Json<paths['/v1/keys/{id}']['get'], 200>`,
  IssuedKey: `Json<paths['/v1/keys']['post'], 201>`,
  'Page<KeyInfo>': `Json<paths['/v1/keys']['get'], 200>`,
  Me: `Json<paths['/v1/me']['get'], 200>`,
  Usage: `Json<paths['/v1/usage']['get'], 200>`,
  Status: `Json<paths['/status']['get'], 200>`,
  Device: `Json<paths['/v1/devices']['get'], 200>['data'][number]`,
  SubmittedJob: `Json<paths['/v1/jobs']['post'], 202>`,
  Job: `Json<paths['/v1/jobs/{id}']['get'], 200>`,
  WebhookSecret: `Json<paths['/v1/me/webhook-secret']['post'], 201>`,
};

const REQUESTS: Record<string, string> = {
  ScreenshotOptions: `Body<paths['/screenshot']['post']>`,
  PdfCaptureOptions: `Body<paths['/pdf']['post']>`,
  JobOptions: `Body<paths['/v1/jobs']['post']>`,
  KeyCreate: `Body<paths['/v1/keys']['post']>`,
  KeyUpdate: `Body<paths['/v1/keys/{id}']['patch']>`,
  SignedUrlOptions: `Query<paths['/screenshot']['get']>`,
};

/** The checks, as TypeScript the compiler accepts only when client and document agree. */
function checks(typesModule: string): string {
  const names = [...new Set([...Object.keys(ANSWERS), ...Object.keys(REQUESTS)].map((name) => name.replace(/<.*/, '')))];
  const lines = [
    `import type { paths } from './api';`,
    `import type { ${names.join(', ')} } from ${JSON.stringify(typesModule)};`,
    `type Json<Op, Status extends number> = Op extends { responses: { [S in Status]: { content: { 'application/json': infer T } } } } ? T : never;`,
    `type Body<Op> = Op extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never;`,
    `type Query<Op> = Op extends { parameters: { query?: infer T } } ? Omit<NonNullable<T>, 'keyId' | 'expires' | 'signature'> : never;`,
    `type Fits<A, B> = [A] extends [B] ? true : false;`,
    `type NoneLeft<K> = [K] extends [never] ? true : K;`,
    `function check<T extends true>(_label: string): void {}`,
  ];
  for (const [client, server] of Object.entries(ANSWERS)) {
    lines.push(`check<Fits<${server}, ${client}>>(${JSON.stringify(`${client}: the document's answer fits the client type`)});`);
    lines.push(`check<NoneLeft<Exclude<keyof ${client}, keyof ${server}>>>(${JSON.stringify(`${client}: fields the server does not send`)});`);
    lines.push(`check<NoneLeft<Exclude<keyof ${server}, keyof ${client}>>>(${JSON.stringify(`${client}: fields the client does not know`)});`);
  }
  for (const [client, server] of Object.entries(REQUESTS)) {
    lines.push(`check<Fits<${client}, ${server}>>(${JSON.stringify(`${client}: what the client sends, the server accepts`)});`);
    lines.push(`check<NoneLeft<Exclude<keyof ${client}, keyof ${server}>>>(${JSON.stringify(`${client}: options the server does not have`)});`);
    lines.push(`check<NoneLeft<Exclude<keyof ${server}, keyof ${client}>>>(${JSON.stringify(`${client}: options the client does not offer`)});`);
  }
  return `${lines.join('\n')}\n`;
}

describe('the clients against the OpenAPI document', () => {
  let server: TestServer;
  let document: Record<string, any>;
  let dir: string;

  before(async () => {
    server = await startPageShot(AUTH_ENV, { cpuUsage: () => 0 });
    document = (await server.request('/openapi.json')).json!;
    dir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-contract-'));
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Compiles the checks against the client's types; returns tsc's complaints. */
  async function compile(typesModule: string): Promise<string> {
    writeFileSync(path.join(dir, 'api.d.ts'), astToString(await openapiTS(JSON.stringify(document))));
    writeFileSync(path.join(dir, 'check.ts'), checks(typesModule));
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const run = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--exactOptionalPropertyTypes', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', path.join(dir, 'check.ts')], {
      encoding: 'utf8',
    });
    // tsc names the line; the line's label says which pair and which direction failed.
    const labels = checks(typesModule).split('\n');
    return `${run.stdout}${run.stderr}`
      .split('\n')
      .map((line) => /check\.ts\((\d+),/.exec(line))
      .filter((match) => match !== null)
      .map((match) => /check<.*>\((".*")\);$/.exec(labels[Number(match[1]) - 1] ?? '')?.[1] ?? match.input)
      .join('\n');
  }

  it("holds the TypeScript client's wire types to the document, both ways", async () => {
    const complaints = await compile(path.join(ROOT, 'clients/typescript/src/types.js'));
    assert.equal(complaints, '', complaints);
  });

  it('fails when a client type drifts (the check can fail)', async () => {
    const drifted = path.join(dir, 'drifted.ts');
    writeFileSync(
      drifted,
      `export * from ${JSON.stringify(path.join(ROOT, 'clients/typescript/src/types.js'))};\n` +
        `import type { KeyInfo as Real } from ${JSON.stringify(path.join(ROOT, 'clients/typescript/src/types.js'))};\n` +
        `export type KeyInfo = Omit<Real, 'hint'> & { hint: number };\n`,
    );
    const complaints = await compile(drifted.replace(/\.ts$/, '.js'));
    assert.match(complaints, /KeyInfo/);
  });

  it("holds the Python client's answer types (TypedDicts) to the document: the same fields, the same required ones", { skip: pythonMissing() }, () => {
    const json = (path: string, method: string, status: number) => document.paths[path][method].responses[String(status)].content['application/json'].schema;
    const expected: Record<string, { properties: Record<string, unknown>; required?: string[] }> = {
      KeyInfo: json('/v1/keys/{id}', 'get', 200),
      IssuedKey: json('/v1/keys', 'post', 201),
      KeyPage: json('/v1/keys', 'get', 200),
      Me: json('/v1/me', 'get', 200),
      Status: json('/status', 'get', 200),
      Device: json('/v1/devices', 'get', 200).properties.data.items,
      SubmittedJob: json('/v1/jobs', 'post', 202),
      Job: json('/v1/jobs/{id}', 'get', 200),
      WebhookSecret: json('/v1/me/webhook-secret', 'post', 201),
    };
    const script = [
      'import json',
      'from pageshot import models',
      `names = ${JSON.stringify(Object.keys(expected))}`,
      'print(json.dumps({n: {"required": sorted(getattr(models, n).__required_keys__), "all": sorted(getattr(models, n).__annotations__.keys() | getattr(models, n).__required_keys__ | getattr(models, n).__optional_keys__)} for n in names}))',
    ].join('\n');
    const dump = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.join(ROOT, 'clients/python') } });
    assert.equal(dump.status, 0, dump.stderr);
    const python = JSON.parse(dump.stdout) as Record<string, { required: string[]; all: string[] }>;
    for (const [name, schema] of Object.entries(expected)) {
      assert.deepEqual(python[name]!.all, Object.keys(schema.properties).sort(), `${name}: fields`);
      assert.deepEqual(python[name]!.required, [...(schema.required ?? [])].sort(), `${name}: required fields`);
    }
  });

  it("offers in the Python client's typed options exactly the options of POST /screenshot", { skip: pythonMissing() }, () => {
    const dump = spawnSync(PYTHON, ['-c', 'import json; from pageshot.options import ScreenshotOptions as o; print(json.dumps(sorted(o.__annotations__)))'], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'clients/python') },
    });
    assert.equal(dump.status, 0, dump.stderr);
    const body = document.paths['/screenshot'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(JSON.parse(dump.stdout), Object.keys(body.properties).sort());
  });
});
