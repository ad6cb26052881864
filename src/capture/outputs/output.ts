import type { CaptureLimits } from '../../config.js';
import type { CaptureOptions } from '../options.js';
import type { PooledContext } from '../pooled-context.js';
import { imageOutput } from './image.js';
import { pdfOutput } from './pdf.js';

/** The bytes an output made of the prepared page, and what the caller should know about them. */
export interface OutputResult {
  body: Buffer;
  contentType: string;
  /** True when a cap cut the page or element: the answer says so (`X-PageShot-Truncated`). */
  truncated: boolean;
  /** Extra answer headers of this output (e.g. a PDF's page count). */
  headers?: Record<string, string>;
}

/**
 * One way of turning a loaded, prepared page into bytes (an image, a PDF; later an HTML
 * snapshot or a video). The render path loads and prepares the page and knows nothing of
 * formats; an output knows nothing of loading. Adding a format is one new file here and
 * one entry in `OUTPUTS`.
 */
export interface Output {
  /** Makes the bytes. Every wait is bounded by `deadline` (epoch ms). */
  produce(pooled: PooledContext, options: CaptureOptions, limits: CaptureLimits, deadline: number): Promise<OutputResult>;
  /** Whether a context that produced this output may serve its caller's next capture. */
  leavesContextReusable: boolean;
}

const OUTPUTS: Record<CaptureOptions['format'], Output> = {
  png: imageOutput,
  jpeg: imageOutput,
  webp: imageOutput,
  pdf: pdfOutput,
};

/** The output that makes `format`. */
export function outputFor(format: CaptureOptions['format']): Output {
  return OUTPUTS[format];
}
