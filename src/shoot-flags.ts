/*
 * Kept apart from shoot.ts, which loads the capture engine: reading a command line (and
 * printing its help) should not cost the start-up of Chromium's driver.
 */

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
