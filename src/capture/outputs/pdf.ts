import { ApiError } from '../../errors.js';
import type { Output } from './output.js';

/** PDF output: Chromium's print to PDF (not yet built). */
export const pdfOutput: Output = {
  leavesContextReusable: true,
  async produce() {
    throw new ApiError('VALIDATION_ERROR', 'PDF output is not available yet.', { extras: { field: 'format' } });
  },
};
