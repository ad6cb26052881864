import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Reply } from './harness.js';

type Json = Record<string, any>;

/** One operation of the document, found for a request. */
interface Operation {
  key: string;
  pointer: string;
  operation: Json;
}

/**
 * Holds live answers to an OpenAPI document: each answer's status must be documented
 * for its operation, its content type must be one the operation lists, and a JSON body
 * must validate against the documented schema (Ajv, JSON Schema 2020-12, as OpenAPI 3.1
 * uses). Records which statuses each operation was seen answering.
 */
export class ContractChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  private readonly seen = new Map<string, Set<string>>();
  private readonly operations: Array<{ method: string; pattern: RegExp; path: string }> = [];

  constructor(private readonly document: Json) {
    addFormats.default(this.ajv);
    this.ajv.addSchema(document, 'openapi.json');
    for (const [path, item] of Object.entries(document.paths as Json)) {
      const pattern = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const method of Object.keys(item)) {
        this.operations.push({ method: method.toUpperCase(), pattern, path });
        this.seen.set(`${method.toUpperCase()} ${path}`, new Set());
      }
    }
  }

  /** The documented operation a request went to, or undefined. */
  private find(method: string, url: string): Operation | undefined {
    const path = url.split('?')[0]!;
    const found = this.operations.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    if (!found) return undefined;
    const escaped = found.path.replace(/~/g, '~0').replace(/\//g, '~1');
    const pointer = `#/paths/${escaped}/${found.method.toLowerCase()}`;
    return { key: `${found.method} ${found.path}`, pointer, operation: this.document.paths[found.path][found.method.toLowerCase()] };
  }

  /** Throws, saying why, unless the answer is one the document describes. */
  check(method: string, url: string, reply: Reply): void {
    const found = this.find(method, url);
    if (!found) throw new Error(`${method} ${url}: no such operation in the document`);
    const status = String(reply.status);
    const response = found.operation.responses?.[status] ?? found.operation.responses?.default;
    if (!response) throw new Error(`${found.key} answered ${status}, which the document does not list (${Object.keys(found.operation.responses)})`);
    this.seen.get(found.key)!.add(status);
    const content = response.content as Json | undefined;
    if (!content) {
      if (reply.body.length > 0) throw new Error(`${found.key} ${status}: the document says no body, the server sent ${reply.body.length} bytes`);
      return;
    }
    const mediaType = String(reply.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!(mediaType in content)) throw new Error(`${found.key} ${status}: content type ${mediaType} is not documented (${Object.keys(content)})`);
    if (mediaType !== 'application/json') return;
    const escapedType = mediaType.replace(/\//g, '~1');
    const schemaRef = `openapi.json${found.pointer}/responses/${response === found.operation.responses?.[status] ? status : 'default'}/content/${escapedType}/schema`;
    const validate = this.ajv.getSchema(schemaRef) ?? this.ajv.compile({ $ref: schemaRef });
    if (!validate(reply.json)) {
      throw new Error(`${found.key} ${status}: body does not match the document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(reply.json).slice(0, 600)}`);
    }
  }

  /** Every operation and the statuses it was seen answering. */
  coverage(): Map<string, Set<string>> {
    return this.seen;
  }
}
