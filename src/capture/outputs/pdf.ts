import type { CDPSession } from 'playwright-core';
import type { CaptureLimits } from '../../config.js';
import { ApiError } from '../../errors.js';
import type { CaptureOptions } from '../options.js';
import type { PooledContext } from '../pooled-context.js';
import type { Output } from './output.js';
import { countPdfPages } from './pdf-page-count.js';
import { DEFAULT_PDF_OPTIONS, parsePageRanges, pdfLayout, type PageRange, type PdfOptions } from './pdf-options.js';

/** Bytes asked of Chromium per `IO.read`: one round trip per MiB, never the whole file in one message. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * An empty template: with a header or footer shown, Chromium draws its own default
 * (date and title, URL and page numbers) in the one the caller left out.
 */
const EMPTY_TEMPLATE = '<span></span>';

/** Chromium's refusals that are about the caller's `pdf` options, and the field each is about. */
const OPTION_ERRORS: Array<[RegExp, string, string]> = [
  [/Page range exceeds page count/i, 'pageRanges', '"pdf.pageRanges" asks only for pages after the end of the document.'],
  [/Page range/i, 'pageRanges', '"pdf.pageRanges" is not a range of pages Chromium accepts.'],
  [/content area is empty/i, 'margin', '"pdf.margin" leaves no room on the paper to print in.'],
  [/scale is outside/i, 'scale', '"pdf.scale" is outside what Chromium accepts.'],
];

/**
 * PDF of the whole page (CDP `Page.printToPDF`): print media unless the capture emulates
 * screen, the caller's paper, margins and page ranges, the page's own `@page` size
 * ignored. Never more than `limits.maxPdfPages` pages: Chromium is asked for at most one
 * page more than allowed, so the file stays small whatever the page lays out, and that
 * one page more fails the capture with TOO_MANY_PAGES. (Chromium still paginates the
 * whole document first, about 2 ms a page here: a page of 20,000 pages spends ~40 s of
 * its `timeout` on it; the capture's deadline bounds that.) Never more than
 * `limits.maxPdfBytes` either: one page can hold a huge picture; the file is read in
 * chunks and refused with PDF_TOO_LARGE as soon as it passes the cap.
 */
export const pdfOutput: Output = {
  leavesContextReusable: true,
  async produce(pooled: PooledContext, options: CaptureOptions, limits: CaptureLimits) {
    const pdf = options.pdf ?? DEFAULT_PDF_OPTIONS;
    const maxPages = limits.maxPdfPages;
    const params = { ...printParameters(pdf), pageRanges: firstPages(pdf.pageRanges, maxPages + 1) };
    const body = await printToPdf(pooled.cdp, params, limits.maxPdfBytes);
    const pages = countPdfPages(body);
    if (pages > maxPages) {
      throw new ApiError('TOO_MANY_PAGES', `The PDF would have more than ${maxPages} pages; ask for fewer with "pdf.pageRanges".`, {
        extras: { limit: maxPages },
      });
    }
    return { body, contentType: 'application/pdf', truncated: false, headers: { 'x-pageshot-pages': String(pages) } };
  },
};

type PrintParameters = ReturnType<typeof printParameters> & { pageRanges: string };

/** The caller's options as `Page.printToPDF` parameters, page ranges aside. */
function printParameters(pdf: PdfOptions) {
  const headerFooter = pdf.headerTemplate !== undefined || pdf.footerTemplate !== undefined;
  return {
    ...pdfLayout(pdf),
    landscape: pdf.landscape,
    printBackground: pdf.printBackground,
    scale: pdf.scale,
    displayHeaderFooter: headerFooter,
    ...(headerFooter ? { headerTemplate: pdf.headerTemplate ?? EMPTY_TEMPLATE, footerTemplate: pdf.footerTemplate ?? EMPTY_TEMPLATE } : {}),
    // The caller's paper, not the page's: a page's `@page { size }` could ask for any
    // size at all, and the caller would not get the paper they named.
    preferCSSPageSize: false,
    // Read in chunks (IO.read), so an oversized file is refused before it is all in memory here.
    transferMode: 'ReturnAsStream' as const,
  };
}

/**
 * The first `keep` pages of the caller's selection (every page when there is none), as
 * Chromium's `pageRanges`. Chromium prints the selected pages once each, in document
 * order, so the ranges are sorted and merged before they are cut.
 */
export function firstPages(pageRanges: string | undefined, keep: number): string {
  const ranges: PageRange[] = pageRanges === undefined ? [[1, keep]] : parsePageRanges(pageRanges);
  const merged: PageRange[] = [];
  for (const [first, last] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const previous = merged.at(-1);
    if (previous && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last);
    else merged.push([first, last]);
  }
  const kept: string[] = [];
  let left = keep;
  for (const [first, last] of merged) {
    if (left === 0) break;
    const end = Math.min(last, first + left - 1);
    kept.push(first === end ? `${first}` : `${first}-${end}`);
    left -= end - first + 1;
  }
  return kept.join(',');
}

/** Prints and reads the file, mapping Chromium's refusals of the caller's options to VALIDATION_ERROR. */
async function printToPdf(cdp: CDPSession, params: PrintParameters, maxBytes: number): Promise<Buffer> {
  let stream: string | undefined;
  try {
    stream = (await cdp.send('Page.printToPDF', params)).stream;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const known = OPTION_ERRORS.find(([pattern]) => pattern.test(message));
    if (known) throw new ApiError('VALIDATION_ERROR', known[2], { extras: { field: `pdf/${known[1]}` } });
    throw error;
  }
  if (stream === undefined) throw new Error('Page.printToPDF returned no stream');
  return readStream(cdp, stream, maxBytes);
}

/** Reads a CDP stream to its end, giving up (and closing it) past `maxBytes`. */
async function readStream(cdp: CDPSession, handle: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for (;;) {
      const { data, base64Encoded, eof } = await cdp.send('IO.read', { handle, size: READ_CHUNK_BYTES });
      const chunk = Buffer.from(data, base64Encoded ? 'base64' : 'utf8');
      size += chunk.length;
      if (size > maxBytes) {
        throw new ApiError('PDF_TOO_LARGE', `The PDF is larger than ${maxBytes} bytes.`, { extras: { limitBytes: maxBytes } });
      }
      chunks.push(chunk);
      if (eof) return Buffer.concat(chunks, size);
    }
  } finally {
    // Chromium keeps an unclosed stream (the whole file) until the page goes.
    await cdp.send('IO.close', { handle }).catch(() => undefined);
  }
}
