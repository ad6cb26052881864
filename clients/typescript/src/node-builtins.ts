/**
 * Node's built-in modules, reached at run time instead of by a static import, so the
 * package still loads where there are none (a browser) and only the calls that need
 * them (files, signing) fail there, with a clear message.
 */
import { PageShotError } from './errors.js';

interface Builtins {
  'node:crypto': typeof import('node:crypto');
  'node:fs/promises': typeof import('node:fs/promises');
  'node:path': typeof import('node:path');
}

/** A built-in module of Node (also served by Deno and Bun); `needs` names the call, for the error. */
export function builtin<Name extends keyof Builtins>(name: Name, needs: string): Builtins[Name] {
  const module = globalThis.process?.getBuiltinModule?.(name) as Builtins[Name] | undefined;
  if (!module) throw new PageShotError(`${needs} needs Node's ${name} module (Node ≥ 20.16, Deno or Bun).`);
  return module;
}
