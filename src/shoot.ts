import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { BrowserManager } from './capture/browser.js';
import { createContentBlocking } from './capture/blocking/page-blocking.js';
import { CaptureEngine } from './capture/engine.js';
import { captureBodySchema, toCaptureOptions, type CaptureRequest } from './capture/options.js';
import { WarmPool } from './capture/warm-pool.js';
import type { Config } from './config.js';
import { ApiError } from './errors.js';
import { createLogger, logDestination } from './logger.js';
import { policyFromConfig } from './netguard/network-policy.js';
import { assertTargetAllowed } from './netguard/target-policy.js';
import type { SHOOT_FLAGS } from './shoot-flags.js';

export { SHOOT_FLAGS } from './shoot-flags.js';

type Flags = Partial<Record<keyof typeof SHOOT_FLAGS, string | boolean>>;

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** Turns flags into API options, validated by the very schema the HTTP API uses. */
export function flagsToRequest(config: Config, target: string, flags: Flags): CaptureRequest {
  const raw: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(flags)) {
    if (flag !== 'output' && flag !== 'html' && value !== undefined) raw[camel(flag)] = value;
  }
  raw[flags.html ? 'html' : 'url'] = target;
  const schema = captureBodySchema(config.limits);
  const request = Value.Default(schema, Value.Convert(schema, raw));
  const issue = Value.Errors(schema, request).First();
  if (issue) {
    const field = issue.path.replace(/^\//, '') || '(options)';
    throw new ApiError('VALIDATION_ERROR', `"${field}" ${issue.message.toLowerCase()}.`, { extras: { field } });
  }
  return request as CaptureRequest;
}

/**
 * One capture without a server, with the same options, checks and engine as the API.
 * Launches Chromium, captures, and closes it again.
 */
export async function shoot(config: Config, target: string, flags: Flags): Promise<Buffer> {
  const options = toCaptureOptions(flagsToRequest(config, target, flags), config.limits);
  const policy = policyFromConfig(config);
  if (options.target.kind === 'url') await assertTargetAllowed(policy, options.target.url);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, logDestination(config.logFormat));
  const browsers = BrowserManager.forConfig(config, logger, 1);
  await browsers.start();
  const pool = new WarmPool(browsers, { maxContexts: 1, maxUses: 1, idleTimeoutMs: 60_000, maxHeapBytes: Infinity, policy }, logger);
  // Lists parsed only when this capture asks for them (a cache makes it quick).
  const blocking = createContentBlocking({
    listsDir: config.filterListsDir,
    cacheDir: path.join(config.store.dataDir, 'filter-engines'),
    preload: false,
    logger,
  });
  try {
    const engine = new CaptureEngine(pool, config.limits, logger, blocking);
    engine.assertAvailable(options);
    const result = await engine.capture('cli', options);
    return result.body;
  } finally {
    await pool.close();
    await browsers.close();
    await blocking.close();
  }
}
