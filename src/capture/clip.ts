import type { CaptureLimits } from '../config.js';
import type { CaptureOptions } from './options.js';
import type { PooledContext } from './pooled-context.js';
import { effectiveViewport } from './emulation-options.js';
import { elementBox } from './selectors.js';

/** A region of the page to capture, in CSS pixels. */
export interface Clip {
  x: number;
  y: number;
  width: number;
  height: number;
  scale: number;
}

/** What to capture, and whether a cap cut it. */
export interface ClipPlan {
  /** Undefined: the viewport as it is. */
  clip: Clip | undefined;
  /** True when the page or element was larger than the caps allow and was cut. */
  truncated: boolean;
}

/**
 * The longest side, in image pixels, each format can hold: WebP stores sides in 14 bits
 * (16,383); JPEG in 16 bits, but Chromium's encoder (libjpeg-turbo) stops at 65,500 and
 * returns nothing beyond it (measured). PNG's limit is far beyond any cap. A picture that
 * would be longer is cut to fit and marked truncated, never encoded broken.
 */
export const MAX_IMAGE_SIDE: Record<'png' | 'jpeg' | 'webp', number> = { png: 1_000_000, jpeg: 65_500, webp: 16_383 };

/**
 * The largest region (CSS px, at `scale` image pixels per CSS px) that stays within the
 * caps: the image never has more than `maxPixels` pixels nor a side longer than the
 * format's own limit, whatever the page asks for. Chromium is asked for exactly this
 * bitmap, so no page can make the shared browser allocate more.
 */
function fitToCaps(width: number, height: number, scale: number, limits: CaptureLimits, maxHeight: number, maxSide: number) {
  const sideInCss = Math.floor(maxSide / scale);
  const fittedWidth = Math.max(1, Math.min(width, limits.maxWidth, sideInCss, Math.floor(limits.maxPixels / scale ** 2)));
  const heightForPixels = Math.floor(limits.maxPixels / (fittedWidth * scale ** 2));
  const fittedHeight = Math.max(1, Math.min(height, maxHeight, sideInCss, heightForPixels));
  return { width: fittedWidth, height: fittedHeight, truncated: fittedWidth < width || fittedHeight < height };
}

/** Plans the capture of a full page, an element, or the viewport. */
export async function planClip(pooled: PooledContext, options: CaptureOptions, limits: CaptureLimits): Promise<ClipPlan> {
  // A device preset replaces width, height and scale (emulation-options.ts).
  const viewport = effectiveViewport(options);
  const scale = viewport.deviceScaleFactor;
  const maxSide = MAX_IMAGE_SIDE[options.format as keyof typeof MAX_IMAGE_SIDE] ?? MAX_IMAGE_SIDE.png;
  if (options.selector !== undefined) {
    const box = await elementBox(pooled, options.selector);
    const fitted = fitToCaps(Math.ceil(box.width), Math.ceil(box.height), scale, limits, limits.maxFullPageHeight, maxSide);
    return { clip: { x: box.x, y: box.y, width: fitted.width, height: fitted.height, scale: 1 }, truncated: fitted.truncated };
  }
  if (options.fullPage) {
    const metrics = (await pooled.cdp.send('Page.getLayoutMetrics')) as { cssContentSize: { height: number } };
    const pageHeight = Math.max(1, Math.ceil(Number(metrics.cssContentSize.height) || 1));
    const fitted = fitToCaps(viewport.width, pageHeight, scale, limits, limits.maxFullPageHeight, maxSide);
    return { clip: { x: 0, y: 0, width: fitted.width, height: fitted.height, scale: 1 }, truncated: fitted.truncated };
  }
  if (Math.max(viewport.width, viewport.height) * scale > maxSide) {
    // Only when an operator raised the viewport caps past a format's side (WebP at 3x).
    const fitted = fitToCaps(viewport.width, viewport.height, scale, limits, viewport.height, maxSide);
    return { clip: { x: 0, y: 0, width: fitted.width, height: fitted.height, scale: 1 }, truncated: true };
  }
  return { clip: undefined, truncated: false };
}
