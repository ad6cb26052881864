#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { CliUsageError, helpPointer, parseCommand, wantsHelp } from './cli-args.js';
import { configForHelp, MAIN_HELP, SERVE_HELP } from './cli-help.js';
import { KEYS_HELP } from './cli-keys-help.js';
import { endQuietlyOnClosedPipe } from './cli-output.js';
import { isRemoteShoot, REMOTE_FLAGS } from './cli-remote.js';
import { ConfigError, loadConfig } from './config.js';
import { ApiError } from './errors.js';
import { SHOOT_FLAGS } from './shoot-flags.js';
import { VERSION } from './version.js';

// Each command loads what it needs when it runs (the server, Chromium's driver, the store
// drivers take seconds to load): `--help`, `--version` and `keys list` stay quick.

const out = (text: string) => void process.stdout.write(text);
const warn = (text: string) => void process.stderr.write(text);

/** Help of `pageshot shoot`, with the limits the environment sets (or the built-in ones). */
async function shootUsage(): Promise<string> {
  const { shootHelp } = await import('./cli-shoot-help.js');
  return shootHelp(configForHelp().limits);
}

const SERVE_FLAGS = { role: { type: 'string' } } as const;

/**
 * `pageshot serve`. A failed listen (port taken) stops the app before the error is
 * reported, so the Chromium it launched does not outlive the process.
 */
async function serve(args: string[]): Promise<void> {
  if (wantsHelp(args, SERVE_FLAGS)) return out(SERVE_HELP);
  const { values, positionals } = parseCommand('serve', args, SERVE_FLAGS);
  if (positionals.length > 0) throw new CliUsageError(`Unexpected argument "${positionals[0]}" for "pageshot serve".`, 'serve');
  const { createApp } = await import('./app.js');
  const app = await createApp(loadConfig(values.role === undefined ? process.env : { ...process.env, PAGESHOT_ROLE: values.role }));
  try {
    await app.listen();
  } catch (error) {
    await app.stop();
    throw error;
  }
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) process.exit(1); // a second signal means "now"
    app.server.log.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `pageshot shoot`: here, or by a server with `--remote`. */
async function runShoot(args: string[]): Promise<void> {
  if (wantsHelp(args, REMOTE_FLAGS)) return out(await shootUsage());
  if (isRemoteShoot(args)) {
    const { runRemoteShoot } = await import('./cli-remote.js');
    return runRemoteShoot(args, out, warn, await shootUsage());
  }
  if (args.some((arg) => arg === '--cache-ttl' || arg.startsWith('--cache-ttl='))) {
    throw new CliUsageError('--cache-ttl works only with --remote: a local shoot renders anew, without a result cache.', 'shoot');
  }
  const { values, positionals } = parseCommand('shoot', args, SHOOT_FLAGS);
  const target = positionals[0];
  const output = values.output;
  if (positionals.length !== 1 || target === undefined || typeof output !== 'string') {
    throw new CliUsageError('shoot needs one URL and -o FILE.', 'shoot', await shootUsage());
  }
  const { shoot } = await import('./shoot.js');
  const image = await shoot(loadConfig(), target, values);
  await writeFile(output, image);
  out(`${output}: ${image.length} bytes\n`);
}

/** The help of `pageshot help [command]`. */
async function helpOf(topic: string | undefined): Promise<string> {
  if (topic === 'serve') return SERVE_HELP;
  if (topic === 'shoot') return shootUsage();
  if (topic === 'keys') return KEYS_HELP;
  if (topic === 'usage') return (await import('./cli-usage.js')).USAGE_HELP;
  if (topic === undefined) return MAIN_HELP;
  throw new CliUsageError(`No help on "${topic}": there is no such command.`, '', MAIN_HELP);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'serve') return serve(rest);
  if (command === 'shoot') return runShoot(rest);
  if (command === 'keys') return (await import('./cli-keys.js')).runKeys(() => loadConfig(), rest, out, warn);
  if (command === 'usage') return (await import('./cli-usage.js')).runUsage(() => loadConfig(), rest, out, warn);
  if (command === '--version' || command === '-v') return out(`${VERSION}\n`);
  if (command === undefined || command === '--help' || command === '-h') return out(MAIN_HELP);
  if (command === 'help') return out(await helpOf(rest[0]));
  throw new CliUsageError(`Unknown command "${command}".`, '', MAIN_HELP);
}

endQuietlyOnClosedPipe();
main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof CliUsageError) warn(`pageshot: ${error.message}\n${error.usage ? `\n${error.usage}` : `${helpPointer(error.command)}\n`}`);
  else if (error instanceof ConfigError) warn(`Configuration error: ${error.message}\n`);
  else if (error instanceof ApiError) warn(`pageshot: ${error.code}: ${error.message}\n`);
  else warn(`pageshot: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof CliUsageError ? 2 : 1);
});
