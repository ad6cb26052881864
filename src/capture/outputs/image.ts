import type { CaptureLimits } from '../../config.js';
import { ApiError } from '../../errors.js';
import { planClip } from '../clip.js';
import type { CaptureOptions } from '../options.js';
import type { PooledContext } from '../pooled-context.js';
import type { Output } from './output.js';

const CONTENT_TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;
type ImageFormat = keyof typeof CONTENT_TYPES;

/** PNG, JPEG and WebP pictures of the viewport, the full page or one element (CDP `Page.captureScreenshot`). */
export const imageOutput: Output = {
  leavesContextReusable: true,
  async produce(pooled: PooledContext, options: CaptureOptions, limits: CaptureLimits) {
    const format = options.format as ImageFormat;
    const { clip, truncated } = await planClip(pooled, options, limits);
    const params = {
      format,
      ...(options.quality !== undefined ? { quality: options.quality } : {}),
      // Chromium's fast PNG encoder: ~3x cheaper than page.screenshot() for a larger file.
      optimizeForSpeed: true,
      ...(clip ? { clip, captureBeyondViewport: true } : {}),
    };
    const body = await captureWithRetry(pooled, params);
    // An encoder that gave up (a size it cannot hold) answers with no bytes: never send that as a picture.
    if (body.length === 0) throw new ApiError('CAPTURE_FAILED', `Chromium could not encode this ${format} picture.`);
    return { body, contentType: CONTENT_TYPES[format], truncated };
  },
};

async function captureWithRetry(pooled: PooledContext, params: object): Promise<Buffer> {
  try {
    const { data } = (await pooled.cdp.send('Page.captureScreenshot', params)) as { data: string };
    return Buffer.from(data, 'base64');
  } catch (error) {
    // Right after a navigation, or when another page was in front, Chromium may have no
    // frame to read yet ("Unable to capture screenshot"). Two animation frames later it has.
    if (!(error instanceof Error) || !error.message.includes('Unable to capture screenshot')) throw error;
    await pooled.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const { data } = (await pooled.cdp.send('Page.captureScreenshot', params)) as { data: string };
    return Buffer.from(data, 'base64');
  }
}
