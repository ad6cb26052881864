import { Type, type Static } from '@sinclair/typebox';

/** A CSS length as Chromium's printToPDF takes it: a number and a unit (px, in, cm, mm). */
const LENGTH = '^(0|[0-9]{1,5}(\\.[0-9]{1,3})?(px|in|cm|mm))$';
const length = (description: string) => Type.String({ maxLength: 16, pattern: LENGTH, description });

/** Paper sizes by name (the sizes Playwright's `page.pdf` knows). */
export const PAPER_FORMATS = ['Letter', 'Legal', 'Tabloid', 'Ledger', 'A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6'] as const;

/** `pdf` option of a capture with `format: "pdf"`. */
export function pdfOptionsSchema() {
  return Type.Object(
    {
      paperFormat: Type.Optional(Type.Union(PAPER_FORMATS.map((name) => Type.Literal(name)), { description: 'named paper size (default Letter unless width/height are given)' })),
      width: Type.Optional(length('paper width, e.g. "210mm"')),
      height: Type.Optional(length('paper height, e.g. "297mm"')),
      margin: Type.Optional(
        Type.Object(
          { top: Type.Optional(length('top margin')), right: Type.Optional(length('right margin')), bottom: Type.Optional(length('bottom margin')), left: Type.Optional(length('left margin')) },
          { additionalProperties: false },
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
