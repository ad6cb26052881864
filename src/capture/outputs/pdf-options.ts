import { Type, type Static } from '@sinclair/typebox';
import { ApiError } from '../../errors.js';
import { templateLoads } from './pdf-templates.js';

/** A CSS length as Chromium's printToPDF takes it: a number and a unit (px, in, cm, mm). */
const LENGTH = '^(0|[0-9]{1,5}(\\.[0-9]{1,3})?(px|in|cm|mm))$';
const length = (description: string) => Type.String({ maxLength: 16, pattern: LENGTH, description });

/** Paper sizes by name (the sizes Playwright's `page.pdf` knows). */
export const PAPER_FORMATS = ['Letter', 'Legal', 'Tabloid', 'Ledger', 'A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6'] as const;
type PaperFormat = (typeof PAPER_FORMATS)[number];

/** Portrait width × height in inches, as Playwright's `page.pdf` has them (A4 prints as 595 × 842 pt). */
const PAPER_INCHES: Record<PaperFormat, [number, number]> = {
  Letter: [8.5, 11],
  Legal: [8.5, 14],
  Tabloid: [11, 17],
  Ledger: [17, 11],
  A0: [33.1, 46.8],
  A1: [23.4, 33.1],
  A2: [16.54, 23.4],
  A3: [11.7, 16.54],
  A4: [8.27, 11.7],
  A5: [5.83, 8.27],
  A6: [4.13, 5.83],
};

/** Shortest paper side PageShot accepts, in inches. */
export const MIN_PAPER_INCHES = 0.1;
/**
 * Longest paper side PageShot accepts, in inches. Chromium fails ("Printing failed")
 * somewhere between 500 and 1000 in; 200 in (5 m, four times A0's height) is more than any printer takes.
 */
export const MAX_PAPER_INCHES = 200;

/** `pdf` option of a capture with `format: "pdf"`. */
export function pdfOptionsSchema() {
  return Type.Object(
    {
      paperFormat: Type.Optional(Type.Union(PAPER_FORMATS.map((name) => Type.Literal(name)), { description: 'named paper size (default Letter unless width and height are given)' })),
      width: Type.Optional(length('paper width, e.g. "210mm" (with height, instead of paperFormat)')),
      height: Type.Optional(length('paper height, e.g. "297mm" (with width, instead of paperFormat)')),
      margin: Type.Optional(
        Type.Object(
          { top: Type.Optional(length('top margin')), right: Type.Optional(length('right margin')), bottom: Type.Optional(length('bottom margin')), left: Type.Optional(length('left margin')) },
          { additionalProperties: false, description: 'page margins (default 0); a header or footer is drawn inside the top or bottom margin' },
        ),
      ),
      landscape: Type.Boolean({ default: false }),
      printBackground: Type.Boolean({ default: true, description: 'print background colours and images' }),
      pageRanges: Type.Optional(
        Type.String({ maxLength: 256, pattern: '^\\s*[0-9]{1,5}(\\s*-\\s*[0-9]{1,5})?(\\s*,\\s*[0-9]{1,5}(\\s*-\\s*[0-9]{1,5})?)*\\s*$', description: 'pages to print, e.g. "1-3, 5"' }),
      ),
      scale: Type.Number({ minimum: 0.1, maximum: 2, default: 1 }),
      headerTemplate: Type.Optional(Type.String({ maxLength: 16_384, description: 'HTML of each page header (classes date, title, url, pageNumber, totalPages)' })),
      footerTemplate: Type.Optional(Type.String({ maxLength: 16_384, description: 'HTML of each page footer' })),
    },
    { additionalProperties: false },
  );
}

/** PDF options after validation and defaults. */
export type PdfOptions = Static<ReturnType<typeof pdfOptionsSchema>>;

/** The `pdf` options of a capture that sent none: every default. */
export const DEFAULT_PDF_OPTIONS: PdfOptions = { landscape: false, printBackground: true, scale: 1 };

/** A CSS length (already matched by the schema's pattern) in inches; exact units, not Playwright's 37.8 px/cm. */
export function toInches(text: string): number {
  const match = /^([0-9.]+)(px|in|cm|mm)?$/.exec(text);
  if (!match) return Number.NaN;
  return Number(match[1]) / UNITS_PER_INCH[match[2] ?? 'px']!;
}

/** CSS units per inch ("0" has no unit; any unit will do). */
const UNITS_PER_INCH: Record<string, number> = { px: 96, in: 1, cm: 2.54, mm: 25.4 };

/** A page range, first and last page, both 1-based and included. */
export type PageRange = [first: number, last: number];

/** Paper and margins in inches, as Chromium's printToPDF takes them (portrait; Chromium swaps for landscape). */
export interface PdfLayout {
  paperWidth: number;
  paperHeight: number;
  marginTop: number;
  marginRight: number;
  marginBottom: number;
  marginLeft: number;
}

const invalid = (field: string, message: string) => new ApiError('VALIDATION_ERROR', message, { extras: { field: `pdf/${field}` } });

/**
 * Paper and margins of `pdf`, checked: width and height come together and not with a
 * paperFormat, each side within 0.1–200 in, and the margins leave room to print in.
 */
export function pdfLayout(pdf: PdfOptions): PdfLayout {
  if ((pdf.width === undefined) !== (pdf.height === undefined)) {
    const missing = pdf.width === undefined ? 'width' : 'height';
    throw invalid(missing, `"pdf.width" and "pdf.height" go together: "pdf.${missing}" is missing.`);
  }
  if (pdf.width !== undefined && pdf.paperFormat !== undefined) {
    throw invalid('paperFormat', 'Send either "pdf.paperFormat" or "pdf.width" and "pdf.height", not both.');
  }
  const [paperWidth, paperHeight] = pdf.width !== undefined ? [toInches(pdf.width), toInches(pdf.height!)] : PAPER_INCHES[pdf.paperFormat ?? 'Letter'];
  for (const [field, inches] of [['width', paperWidth], ['height', paperHeight]] as const) {
    if (!(inches >= MIN_PAPER_INCHES && inches <= MAX_PAPER_INCHES)) {
      throw invalid(field, `"pdf.${field}" must be between ${MIN_PAPER_INCHES} and ${MAX_PAPER_INCHES} inches.`);
    }
  }
  const margin = pdf.margin ?? {};
  const layout = {
    paperWidth,
    paperHeight,
    marginTop: toInches(margin.top ?? '0'),
    marginRight: toInches(margin.right ?? '0'),
    marginBottom: toInches(margin.bottom ?? '0'),
    marginLeft: toInches(margin.left ?? '0'),
  };
  // Chromium refuses margins that leave no content area; say so before the page is loaded.
  const [across, down] = pdf.landscape ? [paperHeight, paperWidth] : [paperWidth, paperHeight];
  if (layout.marginLeft + layout.marginRight >= across || layout.marginTop + layout.marginBottom >= down) {
    throw invalid('margin', '"pdf.margin" leaves no room on the paper to print in.');
  }
  return layout;
}

/** Parses `pageRanges` (schema-checked "1-3, 5"): pages count from 1, and a range may not run backwards. */
export function parsePageRanges(text: string): PageRange[] {
  return text.split(',').map((part) => {
    const [first, last = first] = part.split('-').map((number) => Number(number.trim()));
    if (first! < 1 || last! < first!) {
      throw invalid('pageRanges', `"pdf.pageRanges": "${part.trim()}" is not a range of pages (pages count from 1, first ≤ last).`);
    }
    return [first!, last!] as PageRange;
  });
}

/**
 * The checks on `pdf` a schema cannot express (paper, margins, page ranges, templates
 * that would load something); throws
 * VALIDATION_ERROR naming the field, e.g. `pdf/pageRanges`. Call before loading the page.
 */
export function checkPdfOptions(pdf: PdfOptions | undefined): void {
  if (pdf === undefined) return;
  pdfLayout(pdf);
  if (pdf.pageRanges !== undefined) parsePageRanges(pdf.pageRanges);
  for (const field of ['headerTemplate', 'footerTemplate'] as const) {
    const template = pdf[field];
    // Chromium's renderer crashes on a template that loads a stylesheet or font (see pdf-templates.ts).
    const loads = template === undefined ? undefined : templateLoads(template);
    if (loads) {
      throw invalid(field, `"pdf.${field}" may not load anything from outside the template (found ${loads}); embed images and fonts as data: URLs.`);
    }
  }
}
