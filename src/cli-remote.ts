import { writeFile } from 'node:fs/promises';
import { CliUsageError, parseCommand } from './cli-args.js';
import { SHOOT_FLAGS } from './shoot-flags.js';

/**
 * The part of `@pageshot/client` this command uses. The SDK is loaded at run time
 * rather than imported: it lives outside `src/` (its own package), which the service's
 * build may not reach into. test/clients.typescript.test.ts checks that the SDK
 * satisfies this shape.
 */
export interface RemoteSdk {
  PageShot: new (options: {
    baseUrl: string;
    onRetry?: (event: { attempt: number; delayMs: number; error: Error & { code?: string } }) => void;
  }) => {
    screenshot(options: Record<string, unknown>): Promise<{ image: Uint8Array; contentType: string; cache: string | undefined }>;
  };
  ApiError: abstract new (...args: never[]) => Error & { code: string; requestId: string | undefined };
}

/** A wrong `shoot --remote` command line; the CLI answers it with the usage text. */
export class RemoteUsageError extends CliUsageError {
  constructor(message: string, usage?: string) {
    super(message, 'shoot', usage);
  }
}

/** Flags whose values are numbers in the API. */
const NUMERIC = new Set(['width', 'height', 'device-scale-factor', 'quality', 'delay', 'timeout', 'cache-ttl']);

/**
 * `--remote` plus the local command's flags, so one command line works both ways; and
 * `--cache-ttl`, which only a server has: a local shoot renders in-process, without the
 * result cache, so it does not take the flag.
 */
export const REMOTE_FLAGS = { ...SHOOT_FLAGS, remote: { type: 'string' }, 'cache-ttl': { type: 'string' } } as const;

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** True when a `shoot` command line asks for a remote server. */
export function isRemoteShoot(args: readonly string[]): boolean {
  return args.some((arg) => arg === '--remote' || arg.startsWith('--remote='));
}

/**
 * Where the SDK may be: the installed package, this repository's build of it, or its
 * source (when the CLI itself runs from source through tsx). Source first in that case,
 * so a stale build is never picked up.
 */
function sdkLocations(): string[] {
  const fromRepo = (file: string) => new URL(`../clients/typescript/${file}`, import.meta.url).href;
  return import.meta.url.endsWith('.ts')
    ? [fromRepo('src/index.ts'), fromRepo('dist/index.js'), '@pageshot/client']
    : ['@pageshot/client', fromRepo('dist/index.js')];
}

async function loadSdk(): Promise<RemoteSdk> {
  for (const location of sdkLocations()) {
    try {
      return (await import(location)) as RemoteSdk;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    }
  }
  throw new Error('--remote needs the @pageshot/client SDK: install it, or build it with `npx tsc -p clients/typescript`.');
}

/** The API options a command line asks for (the server checks them). */
function optionsOf(target: string, values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(values)) {
    if (value === undefined || flag === 'output' || flag === 'html' || flag === 'remote') continue;
    const number = typeof value === 'string' && NUMERIC.has(flag) ? Number(value) : Number.NaN;
    options[camel(flag)] = Number.isFinite(number) ? number : value;
  }
  options[values.html ? 'html' : 'url'] = target;
  return options;
}

/**
 * `pageshot shoot <url> --remote <baseUrl> -o FILE [options]`: asks a PageShot server
 * for the screenshot through the SDK, with its retries on busy and rate-limited answers.
 * `--cache-ttl SECONDS` lets the server answer from its result cache; the line printed
 * says what the cache did (`(cache HIT)` or `(cache MISS)`; nothing when no cache was asked).
 * The key comes from PAGESHOT_API_KEY only: a key on the command line would end up in
 * shell histories and process lists.
 *
 * @param usage The command's help, shown with a command line that lacks what it needs.
 */
export async function runRemoteShoot(
  args: string[],
  write: (text: string) => void,
  warn: (text: string) => void,
  usage?: string,
): Promise<void> {
  const { values, positionals } = parseCommand('shoot', args, REMOTE_FLAGS);
  const target = positionals[0];
  const { output, remote } = values;
  if (positionals.length !== 1 || target === undefined || typeof output !== 'string' || !remote) {
    throw new RemoteUsageError('shoot --remote needs one URL, the server\'s base URL and -o FILE.', usage);
  }
  if (!process.env.PAGESHOT_API_KEY?.trim()) throw new Error('Set PAGESHOT_API_KEY to the API key to use with --remote.');
  const sdk = await loadSdk();
  const client = new sdk.PageShot({
    baseUrl: remote,
    onRetry: ({ error, delayMs }) => warn(`pageshot: ${error.code ?? error.name}, retrying in ${(delayMs / 1000).toFixed(1)} s\n`),
  });
  try {
    const { image, cache } = await client.screenshot(optionsOf(target, values));
    await writeFile(output, image);
    // What the server's result cache did, when one was asked for (BYPASS on every plain call would be noise).
    write(`${output}: ${image.length} bytes${cache && cache !== 'BYPASS' ? ` (cache ${cache})` : ''}\n`);
  } catch (error) {
    if (error instanceof sdk.ApiError) {
      const request = error.requestId ? ` (request ${error.requestId})` : '';
      throw new Error(`${error.code}: ${error.message}${request}`);
    }
    throw error;
  }
}
