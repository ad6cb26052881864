#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createApp } from './app.js';
import { KEYS_USAGE, runKeys } from './cli-keys.js';
import { isRemoteShoot, RemoteUsageError, runRemoteShoot } from './cli-remote.js';
import { runUsage } from './cli-usage.js';
import { ConfigError, loadConfig } from './config.js';
import { ApiError } from './errors.js';
import { shoot, SHOOT_FLAGS } from './shoot.js';
import { VERSION } from './version.js';

const USAGE = `pageshot ${VERSION}: screenshots as a service

Usage:
  pageshot serve [--role all|api|worker]
                                     start the HTTP API (configured by environment variables;
                                     --role overrides PAGESHOT_ROLE: api nodes hand captures to
                                     worker nodes through Redis, see docs/deploy.md)
  pageshot shoot <url> -o file.png   take one screenshot without a server
  pageshot shoot <url> --remote URL -o file.png
                                     the same, by the PageShot server at URL (key: PAGESHOT_API_KEY)
  pageshot keys …                    create, list, show, revoke, rotate API keys
  pageshot usage --key ID            a key's usage per day
  pageshot --version

shoot options (the same as the API's):
  -o, --output FILE         where to write the image (required)
  --width N --height N      viewport in CSS pixels (default 1280x720)
  --device-scale-factor N   1 to 3
  --full-page               capture the whole page
  --format png|jpeg|webp|pdf  --quality 0-100 (jpeg, webp)
  --selector CSS            capture one element
  --wait-until load|domcontentloaded|networkidle
  --wait-for-selector CSS   --delay MS   --timeout MS
  --dark-mode   --omit-background   --user-agent UA
  --css TEXT    --js TEXT   --html  (treat the argument as markup, not a URL)
  --scroll-page true|false  --disable-animations true|false   --click-selector CSS
  --block-cookie-banners   --block-ads   --block-trackers   --fail-on-blank
  --fail-on-http-error true|false
  --device NAME  --timezone ZONE  --locale TAG  --media-type screen|print
  --reduced-motion reduce|no-preference
  --cache-ttl SECONDS       (--remote only) let the server answer from its result cache
`;

/**
 * `pageshot serve`. A failed listen (port taken) stops the app before the error is
 * reported, so the Chromium it launched does not outlive the process.
 */
async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { role: { type: 'string' } } });
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

async function runShoot(args: string[]): Promise<void> {
  if (isRemoteShoot(args)) {
    const write = (text: string) => process.stdout.write(text);
    const warn = (text: string) => process.stderr.write(text);
    return runRemoteShoot(args, write, warn).catch((error: unknown) => {
      throw error instanceof RemoteUsageError ? new UsageError(error.message) : error;
    });
  }
  const { values, positionals } = parseArgs({ args, options: SHOOT_FLAGS, allowPositionals: true });
  const target = positionals[0];
  const output = values.output;
  if (positionals.length !== 1 || target === undefined || typeof output !== 'string') {
    throw new UsageError('shoot needs one URL and -o FILE.');
  }
  const image = await shoot(loadConfig(), target, values);
  await writeFile(output, image);
  process.stdout.write(`${output}: ${image.length} bytes\n`);
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'serve') return serve(rest).catch((error: unknown) => {
    // parseArgs' own errors (an unknown flag) are the caller's mistake: show the usage.
    throw error instanceof TypeError && 'code' in error ? new UsageError(error.message) : error;
  });
  if (command === 'shoot') return runShoot(rest);
  if (command === 'usage') return runUsage(loadConfig(), rest, (text) => process.stdout.write(text));
  if (command === 'keys') {
    if (rest.length === 0) {
      process.stdout.write(KEYS_USAGE);
      return;
    }
    return runKeys(loadConfig(), rest, (text) => process.stdout.write(text));
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  throw new UsageError(`Unknown command "${command}".`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}`);
  else if (error instanceof ConfigError) process.stderr.write(`Configuration error: ${error.message}\n`);
  else if (error instanceof ApiError) process.stderr.write(`pageshot: ${error.code}: ${error.message}\n`);
  else process.stderr.write(`pageshot: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
