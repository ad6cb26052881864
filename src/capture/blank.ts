import { PNG } from 'pngjs';
import type { CaptureLimits } from '../config.js';
import { ApiError } from '../errors.js';
import { planClip } from './clip.js';
import { effectiveViewport } from './emulation-options.js';
import type { CaptureOptions } from './options.js';
import type { PooledContext } from './pooled-context.js';

/** Width of the thumbnail the blank check reads: enough to keep a line of text visible. */
const THUMBNAIL_WIDTH = 256;
/** Largest difference of a channel from the first pixel that still counts as the same colour. */
const TOLERANCE = 8;

/**
 * `failOnBlank`: fails with BLANK_PAGE when what would be captured is a single colour
 * (an empty page, a page that draws nothing until a script that never ran, a white
 * screen of an app that failed). Reads a small PNG thumbnail of the region the picture
 * would show (at most 256 px wide), not the picture itself, so the check costs a few
 * milliseconds whatever the page's size. Detail thinner than the thumbnail's pixels
 * (a 1 px line on a 4,000 px page) can be averaged away; a line of text is not.
 */
export async function assertNotBlank(pooled: PooledContext, options: CaptureOptions, limits: CaptureLimits): Promise<void> {
  const { clip } = await planClip(pooled, options.format === 'pdf' ? { ...options, format: 'png', fullPage: true } : options, limits);
  const viewport = effectiveViewport(options);
  const region = clip ?? { x: 0, y: 0, width: viewport.width, height: viewport.height, scale: 1 };
  const scale = Math.min(1, THUMBNAIL_WIDTH / Math.max(1, region.width));
  const { data } = (await pooled.cdp.send('Page.captureScreenshot', {
    format: 'png',
    clip: { ...region, scale },
    captureBeyondViewport: clip !== undefined,
  })) as { data: string };
  if (isSingleColour(PNG.sync.read(Buffer.from(data, 'base64')).data)) {
    throw new ApiError('BLANK_PAGE', 'The page rendered as a single colour (failOnBlank is on).');
  }
}

/** Whether every RGBA pixel is within TOLERANCE of the first in every channel. */
export function isSingleColour(rgba: Uint8Array): boolean {
  for (let offset = 4; offset < rgba.length; offset += 4) {
    for (let channel = 0; channel < 4; channel++) {
      if (Math.abs(rgba[offset + channel]! - rgba[channel]!) > TOLERANCE) return false;
    }
  }
  return true;
}
