import type { TSchema } from '@sinclair/typebox';
import { captureBodySchema } from './capture/options.js';
import type { CaptureLimits } from './config.js';
import { SHOOT_FLAGS } from './shoot-flags.js';

type ShootFlag = keyof typeof SHOOT_FLAGS;

/**
 * What each flag of `pageshot shoot` does. Typed over SHOOT_FLAGS, so a flag added there
 * without a line here does not compile. Ranges, choices and defaults are not written
 * here: they are read from the API's schema, so the help cannot drift from what is checked.
 */
const ABOUT: Record<ShootFlag, string> = {
  output: 'where to write the image (required)',
  html: 'treat the argument as HTML markup to render, not as a URL',
  width: 'viewport width in CSS pixels',
  height: 'viewport height in CSS pixels',
  'device-scale-factor': 'device pixels per CSS pixel',
  'full-page': 'capture the whole scrollable page, not only the viewport',
  format: 'output format',
  quality: 'compression quality of jpeg and webp (default: 80)',
  selector: 'capture only the first element matching this selector',
  'wait-until': 'which page event counts as loaded',
  'wait-for-selector': 'wait for this element to be visible before capturing',
  delay: 'wait this long after loading, before capturing',
  timeout: 'give up on the whole capture after this long',
  'dark-mode': 'emulate prefers-color-scheme: dark',
  'omit-background': 'transparent background where the page sets none (png, webp)',
  'user-agent': 'User-Agent for every request the page makes',
  css: 'style sheet added before capture',
  js: 'script run in the page before capture',
  'scroll-page': 'scroll through the page first to load lazy content (default: true with --full-page)',
  'disable-animations': 'finish CSS animations and transitions, stop carets, emulate reduced motion',
  'block-cookie-banners': 'refuse cookie-consent dialogs, hide what remains of them',
  'block-ads': 'block ads (EasyList) and hide ad slots',
  'block-trackers': 'block trackers (EasyPrivacy)',
  'click-selector': 'click this element before capturing',
  'fail-on-blank': 'fail with BLANK_PAGE when the picture is a single colour',
  'fail-on-http-error': 'fail when the target answers HTTP 4xx or 5xx',
  device: 'named device preset (viewport, scale, user agent; GET /v1/devices lists them)',
  timezone: 'IANA time zone, e.g. Europe/Berlin (default: the machine\'s)',
  locale: 'BCP 47 locale, e.g. de-DE',
  'reduced-motion': 'emulate prefers-reduced-motion',
  'media-type': 'CSS media type (default: screen, print for pdf)',
};

/** Placeholders that say more than the schema's type (N, TEXT). */
const PLACEHOLDER: Partial<Record<ShootFlag, string>> = {
  output: 'FILE',
  selector: 'CSS',
  'wait-for-selector': 'CSS',
  'click-selector': 'CSS',
  delay: 'MS',
  timeout: 'MS',
  'user-agent': 'UA',
  css: 'TEXT',
  js: 'TEXT',
  device: 'NAME',
  timezone: 'ZONE',
  locale: 'TAG',
};

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** The value a flag takes, as shown in help: `png|jpeg`, `N (100-3840)`, `true|false`, or a placeholder. */
function valueOf(flag: ShootFlag, schema: TSchema | undefined): string {
  if (SHOOT_FLAGS[flag].type === 'boolean') return '';
  const choices = (schema?.anyOf as TSchema[] | undefined)?.map((member) => member.const).filter((value) => value !== undefined);
  if (choices?.length) return choices.join('|');
  if (schema?.type === 'boolean') return 'true|false';
  const named = PLACEHOLDER[flag];
  if (schema?.type === 'integer' || schema?.type === 'number') {
    const range = schema.minimum !== undefined && schema.maximum !== undefined ? ` (${schema.minimum}-${schema.maximum})` : '';
    return `${named ?? 'N'}${range}`;
  }
  return named ?? 'TEXT';
}

/** Where the descriptions start, after the flags. */
const COLUMN = 32;

/** One help line per flag, aligned. */
function flagLines(limits: CaptureLimits): string[] {
  const properties = captureBodySchema(limits).properties as Record<string, TSchema>;
  const rows = (Object.keys(SHOOT_FLAGS) as ShootFlag[]).map((flag) => {
    const schema = properties[camel(flag)];
    const short = 'short' in SHOOT_FLAGS[flag] ? `-${(SHOOT_FLAGS[flag] as { short: string }).short}, ` : '';
    const value = valueOf(flag, schema);
    // A boolean switch is off unless given: "default: false" would only be noise.
    const shownDefault = schema?.default !== undefined && !(SHOOT_FLAGS[flag].type === 'boolean' && schema.default === false);
    const about = `${ABOUT[flag]}${shownDefault ? ` (default: ${String(schema.default)})` : ''}`;
    return [`${short}--${flag}${value ? ` ${value}` : ''}`, about] as [string, string];
  });
  rows.push(['--remote URL', 'ask the PageShot server at URL instead of rendering here (key: PAGESHOT_API_KEY)']);
  rows.push(['--cache-ttl SECONDS', 'with --remote: let the server answer from its result cache']);
  rows.push(['-h, --help', 'show this help']);
  // A long flag (a list of choices) gets a line of its own rather than widening every row.
  return rows.map(([left, about]) => (left.length < COLUMN - 1 ? `  ${left.padEnd(COLUMN)}${about}` : `  ${left}\n  ${''.padEnd(COLUMN)}${about}`));
}

/**
 * Help of `pageshot shoot`, with the ranges and defaults in force under `limits` (the
 * PAGESHOT_MAX_* settings the command will check against).
 */
export function shootHelp(limits: CaptureLimits): string {
  return `Usage:
  pageshot shoot <url> -o FILE [options]
  pageshot shoot --html '<markup>' -o FILE [options]
  pageshot shoot <url> --remote URL -o FILE [options]

Takes one screenshot (or PDF) and writes it to FILE. Without --remote it starts Chromium
here, with the same options, checks and network guard as the HTTP API (configured by the
same environment variables); with --remote it asks a running PageShot server.

Options (the API's, in kebab-case):
${flagLines(limits).join('\n')}
`;
}
