/**
 * Counts the pages of a PDF Chromium made, reading only what Chromium itself wrote: the
 * `startxref` at the end, the cross-reference table it points to, the trailer's /Root,
 * the catalog's /Pages and that node's /Count. Scanning the file for "/Count" or
 * "/Type /Page" would be fooled: the page controls text that lands in the file verbatim
 * (the title, the `lang`, a link's URL, a JPEG's bytes). Objects are tokenized, so a
 * string that looks like a key is read as the string it is. Costs microseconds whatever
 * the file's size: only a few hundred bytes are read.
 */

/** A parsed PDF value; only what the catalog and page tree hold needs a shape. */
type PdfValue = number | string | boolean | null | { ref: number } | PdfValue[] | Map<string, PdfValue> | { name: string };

/** Nesting deeper than this is not Chromium's: refuse rather than recurse without end. */
const MAX_DEPTH = 32;
/** The tail holding `startxref`, its offset and `%%EOF`. */
const TAIL_BYTES = 1024;
/** A cross-reference entry: 10-digit offset, space, 5-digit generation, space, n/f, 2-byte end of line. */
const XREF_ENTRY_BYTES = 20;

const isSpace = (byte: number | undefined) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0x0c || byte === 0x00;
const isDelimiter = (byte: number | undefined) => byte !== undefined && '()<>[]{}/%'.includes(String.fromCharCode(byte));

class Reader {
  constructor(
    readonly bytes: Buffer,
    public at: number,
  ) {}

  fail(what: string): never {
    throw new Error(`not a PDF this reader knows (${what} at byte ${this.at})`);
  }

  skipSpace(): void {
    for (;;) {
      while (isSpace(this.bytes[this.at])) this.at++;
      if (this.bytes[this.at] !== 0x25) return; // '%': a comment runs to the end of the line
      while (this.at < this.bytes.length && this.bytes[this.at] !== 0x0a && this.bytes[this.at] !== 0x0d) this.at++;
    }
  }

  /** A run of regular characters: a number, a keyword or (after '/') a name. */
  word(): string {
    const start = this.at;
    while (this.at < this.bytes.length && !isSpace(this.bytes[this.at]) && !isDelimiter(this.bytes[this.at])) this.at++;
    return this.bytes.toString('latin1', start, this.at);
  }

  expect(keyword: string): void {
    this.skipSpace();
    if (this.word() !== keyword) this.fail(`"${keyword}" expected`);
  }

  /** A literal string `( … )`: balanced parentheses, backslash escapes. Its text is not needed. */
  skipLiteralString(): void {
    let depth = 0;
    for (; this.at < this.bytes.length; this.at++) {
      const byte = this.bytes[this.at];
      if (byte === 0x5c) this.at++;
      else if (byte === 0x28) depth++;
      else if (byte === 0x29 && --depth === 0) {
        this.at++;
        return;
      }
    }
    this.fail('unterminated string');
  }

  value(depth = 0): PdfValue {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.skipSpace();
    const byte = this.bytes[this.at];
    if (byte === undefined) this.fail('end of file');
    if (byte === 0x3c && this.bytes[this.at + 1] === 0x3c) return this.dictionary(depth);
    if (byte === 0x3c) {
      const end = this.bytes.indexOf(0x3e, this.at);
      if (end < 0) this.fail('unterminated hex string');
      this.at = end + 1;
      return '';
    }
    if (byte === 0x28) {
      this.skipLiteralString();
      return '';
    }
    if (byte === 0x5b) return this.array(depth);
    if (byte === 0x2f) {
      this.at++;
      return { name: this.word() };
    }
    return this.numberOrReference();
  }

  private numberOrReference(): PdfValue {
    const word = this.word();
    if (word === 'true' || word === 'false') return word === 'true';
    if (word === 'null') return null;
    if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(word)) this.fail(`unexpected "${word.slice(0, 16)}"`);
    // "12 0 R" is a reference: look ahead for the generation and the R, else it is a number.
    const back = this.at;
    this.skipSpace();
    const generation = this.word();
    this.skipSpace();
    if (/^\d+$/.test(word) && /^\d+$/.test(generation) && this.word() === 'R') return { ref: Number(word) };
    this.at = back;
    return Number(word);
  }

  private array(depth: number): PdfValue[] {
    this.at++;
    const items: PdfValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.bytes[this.at] === 0x5d) {
        this.at++;
        return items;
      }
      items.push(this.value(depth + 1));
    }
  }

  private dictionary(depth: number): Map<string, PdfValue> {
    this.at += 2;
    const entries = new Map<string, PdfValue>();
    for (;;) {
      this.skipSpace();
      if (this.bytes[this.at] === 0x3e && this.bytes[this.at + 1] === 0x3e) {
        this.at += 2;
        return entries;
      }
      const key = this.value(depth + 1);
      if (typeof key !== 'object' || key === null || !('name' in key)) this.fail('dictionary key expected');
      entries.set(key.name, this.value(depth + 1));
    }
  }
}

/** One section of the cross-reference table: objects `first` to `first + count - 1`, entries from byte `at`. */
interface XrefSection {
  first: number;
  count: number;
  at: number;
}

/** The cross-reference table at `startxref` (its sections, not yet read) and the trailer after it. */
function readCrossReference(bytes: Buffer): { sections: XrefSection[]; trailer: Map<string, PdfValue> } {
  const tailStart = Math.max(0, bytes.length - TAIL_BYTES);
  const mark = bytes.lastIndexOf('startxref', bytes.length, 'latin1');
  if (mark < tailStart) throw new Error('not a PDF this reader knows (no startxref at its end)');
  const reader: Reader = new Reader(bytes, mark + 'startxref'.length);
  reader.skipSpace();
  reader.at = Number(reader.word());
  if (!Number.isSafeInteger(reader.at) || reader.at >= mark) reader.fail('bad startxref');
  reader.expect('xref');
  const sections: XrefSection[] = [];
  for (;;) {
    reader.skipSpace();
    const first = reader.word();
    if (first === 'trailer') break;
    reader.skipSpace();
    const count = Number(reader.word());
    reader.skipSpace();
    if (!/^\d+$/.test(first) || !Number.isSafeInteger(count) || reader.at + count * XREF_ENTRY_BYTES > mark) reader.fail('bad xref section');
    sections.push({ first: Number(first), count, at: reader.at });
    reader.at += count * XREF_ENTRY_BYTES;
  }
  const trailer = reader.value();
  if (!(trailer instanceof Map)) reader.fail('trailer dictionary expected');
  return { sections, trailer };
}

/** Where object `number` starts, from its cross-reference entry; undefined when it has none in use. */
function offsetOf(bytes: Buffer, sections: XrefSection[], number: number): number | undefined {
  const section = sections.find(({ first, count }) => number >= first && number < first + count);
  if (!section) return undefined;
  const at = section.at + (number - section.first) * XREF_ENTRY_BYTES;
  const entry = bytes.toString('latin1', at, at + XREF_ENTRY_BYTES);
  return entry[17] === 'n' && /^\d{10}$/.test(entry.slice(0, 10)) ? Number(entry.slice(0, 10)) : undefined;
}

/** The dictionary of the object `reference` points to. */
function dictionaryOf(bytes: Buffer, sections: XrefSection[], reference: PdfValue | undefined): Map<string, PdfValue> {
  const number = typeof reference === 'object' && reference !== null && 'ref' in reference ? reference.ref : undefined;
  const offset = number === undefined ? undefined : offsetOf(bytes, sections, number);
  if (offset === undefined || offset >= bytes.length) throw new Error('not a PDF this reader knows (missing object)');
  const reader: Reader = new Reader(bytes, offset);
  reader.expect(String(number));
  reader.skipSpace();
  reader.word(); // generation
  reader.expect('obj');
  const value = reader.value();
  if (!(value instanceof Map)) reader.fail('dictionary expected');
  return value;
}

/**
 * The number of pages of `pdf` (the /Count of its page tree's root). Throws when the
 * file is not laid out as Chromium writes it: counting wrongly would let a page past
 * the page cap, so an unreadable file fails the capture instead.
 */
export function countPdfPages(pdf: Buffer): number {
  const { sections, trailer } = readCrossReference(pdf);
  const catalog = dictionaryOf(pdf, sections, trailer.get('Root'));
  const pages = dictionaryOf(pdf, sections, catalog.get('Pages'));
  const count = pages.get('Count');
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw new Error('not a PDF this reader knows (bad /Count)');
  return count;
}
