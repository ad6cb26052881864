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

/** Command-line flags of `pageshot shoot`, spelled as the API's options in kebab-case. */
export const SHOOT_FLAGS = {
  output: { type: 'string', short: 'o' },
  html: { type: 'boolean' },
  width: { type: 'string' },
  height: { type: 'string' },
  'device-scale-factor': { type: 'string' },
  'full-page': { type: 'boolean' },
  format: { type: 'string' },
  quality: { type: 'string' },
  selector: { type: 'string' },
  'wait-until': { type: 'string' },
  'wait-for-selector': { type: 'string' },
  delay: { type: 'string' },
  timeout: { type: 'string' },
  'dark-mode': { type: 'boolean' },
  'omit-background': { type: 'boolean' },
  'user-agent': { type: 'string' },
  css: { type: 'string' },
  js: { type: 'string' },
  'scroll-page': { type: 'string' },
  'disable-animations': { type: 'string' },
  'block-cookie-banners': { type: 'boolean' },
  'block-ads': { type: 'boolean' },
  'block-trackers': { type: 'boolean' },
  'click-selector': { type: 'string' },
  'fail-on-blank': { type: 'boolean' },
  'fail-on-http-error': { type: 'string' },
  device: { type: 'string' },
  timezone: { type: 'string' },
  locale: { type: 'string' },
  'reduced-motion': { type: 'string' },
  'media-type': { type: 'string' },
} as const;

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
