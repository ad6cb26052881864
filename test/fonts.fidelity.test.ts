import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeImage, startPageShot, type DecodedImage, type TestServer } from './helpers/harness.js';

/**
 * Fonts for every script (config/fonts.conf + the packages scripts/ensure-deps.sh
 * installs). One page shows a row per script; each letter sits in its own box beside a
 * box holding U+0378, a code point no font has: a letter whose font is missing is drawn
 * as that same missing-glyph box ("tofu"), so its pixels equal the reference box's.
 * Checking letter by letter catches a script that is only partly covered.
 */

const TOFU = '\u0378';
const WIDTH = 1280;
const ROW_HEIGHT = 60;
const CELL = 56;
const CELL_STEP = 58;
const LINE_X = 170;
const LINE_WIDTH = 430;
const TOFU_X = 620;
const CELLS_X = 690;
const MAX_CELLS = 10;

/** Fewest dark or coloured pixels that count as "something was drawn". */
const MIN_INK = 15;
/** Fewest pixels that must differ from the missing-glyph box. */
const MIN_DIFFERENT = 15;
/** Fewest strongly coloured pixels an emoji needs to count as a colour emoji. */
const MIN_COLOURFUL = 40;

interface Row {
  name: string;
  /** A phrase, shown whole (with its shaping) and checked for ink. */
  text: string;
  /** What is checked one box at a time against the missing-glyph box. */
  cells: string[];
  family: string;
  emoji: boolean;
}

/** Letters only: combining marks (Devanagari vowel signs, Thai tone marks) alone would be drawn on a dotted circle. */
function letters(text: string): string[] {
  return [...new Set([...text].filter((char) => /\p{L}/u.test(char)))].slice(0, MAX_CELLS);
}

function graphemes(text: string): string[] {
  return [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(text)].map((part) => part.segment);
}

const script = (name: string, text: string): Row => ({ name, text, cells: letters(text), family: 'sans-serif', emoji: false });
// Emoji presentation by default (😀 ☕ ⚡ ✅), forced by U+FE0F (❤️), a skin tone, a flag and a ZWJ sequence.
// Not in monospace: DejaVu Sans Mono has ☕ and ⚡ itself, in black and white, and Chromium
// keeps the page's own font for any character that font has (README, Fonts).
const EMOJI = '😀🚀🎉❤️👍🏽🇯🇵👩‍💻☕⚡✅';
const emoji = (family: string): Row => ({ name: `Emoji (${family})`, text: EMOJI, cells: graphemes(EMOJI), family, emoji: true });

const ROWS: Row[] = [
  script('Latin', 'Quick brown fox'),
  script('Cyrillic', 'Съешь же ещё'),
  script('Greek', 'Καλημέρα κόσμε'),
  script('Arabic', 'مرحبا بالعالم'),
  script('Hebrew', 'שלום עולם'),
  script('Devanagari', 'नमस्ते दुनिया'),
  script('Bengali', 'আমার সোনার বাংলা'),
  script('Tamil', 'வணக்கம் உலகம்'),
  script('Thai', 'สวัสดีชาวโลก'),
  script('Chinese (Simplified)', '你好世界，欢迎光临'),
  script('Japanese (kana)', 'こんにちは カタカナ'),
  script('Korean (Hangul)', '안녕하세요 세계'),
  emoji('sans-serif'),
  emoji('serif'),
];

/**
 * Han characters whose Simplified Chinese and Japanese shapes differ. Without a lang
 * attribute fontconfig alone would pick Japanese shapes; Simplified Chinese ones show
 * that config/fonts.conf reached Chromium (through setpriv, as `nobody`, when root).
 */
const HAN = '直骨角';
const HAN_ROW = ROWS.length;
const HAN_WIDTH = 140;
/** The same Han text without a lang attribute, as zh-CN and as ja: boxes in the last row. */
const HAN_BOXES = [
  { lang: undefined, x: LINE_X },
  { lang: 'zh-CN', x: LINE_X + 160 },
  { lang: 'ja', x: LINE_X + 320 },
] as const;
const HEIGHT = (ROWS.length + 1) * ROW_HEIGHT + 20;

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
const rowTop = (index: number) => 10 + index * ROW_HEIGHT;
const cellX = (index: number) => CELLS_X + index * CELL_STEP;

function box(x: number, y: number, width: number, content: string, style = '', lang?: string): string {
  const langAttribute = lang ? ` lang="${lang}"` : '';
  return `<div class="box"${langAttribute} style="left:${x}px;top:${y}px;width:${width}px;${style}">${escape(content)}</div>`;
}

function page(): string {
  const parts = ROWS.map((row, index) => {
    const top = rowTop(index);
    const family = `font-family:${row.family}`;
    return [
      box(8, top, 150, row.name, 'font:14px sans-serif;line-height:56px'),
      box(LINE_X, top, LINE_WIDTH, row.text, `${family};font-size:28px;text-align:left`),
      box(TOFU_X, top, CELL, TOFU, family),
      ...row.cells.map((cell, i) => box(cellX(i), top, CELL, cell, family)),
    ].join('');
  });
  parts.push(box(8, rowTop(HAN_ROW), 150, 'Han: none / zh-CN / ja', 'font:14px sans-serif;line-height:56px'));
  for (const { lang, x } of HAN_BOXES) parts.push(box(x, rowTop(HAN_ROW), HAN_WIDTH, HAN, 'font-family:sans-serif', lang));
  // No lang on the page's rows: text in a foreign script on an English page is the common case,
  // and it leaves the choice of font entirely to fallback.
  return `<!doctype html><html lang="en"><meta charset="utf-8"><style>
    body { margin: 0; background: #fff; color: #000; }
    .box { position: absolute; height: ${CELL}px; line-height: ${CELL}px; font-size: 32px; text-align: center;
           white-space: nowrap; overflow: hidden; }
  </style><body>${parts.join('')}</body></html>`;
}

type Pixels = Array<[number, number, number]>;

function region(image: DecodedImage, x: number, y: number, width: number, height: number): Pixels {
  const pixels: Pixels = [];
  for (let row = y; row < y + height; row++) {
    for (let column = x; column < x + width; column++) {
      const [r, g, b] = image.pixel(column, row);
      pixels.push([r, g, b]);
    }
  }
  return pixels;
}

/** Pixels that are clearly not white background: dark text or any strong colour. */
const ink = (pixels: Pixels) => pixels.filter((rgb) => Math.min(...rgb) < 170).length;
/**
 * Pixels far from grey: a colour emoji has many, black-and-white glyphs none (Chromium
 * smooths text in greyscale). The bar is low enough for muted emoji: ☕ has ~80 such pixels.
 */
const colourful = (pixels: Pixels) => pixels.filter((rgb) => Math.max(...rgb) - Math.min(...rgb) > 48).length;
/** Pixels that differ clearly between two regions of the same size. */
const different = (a: Pixels, b: Pixels) =>
  a.filter((rgb, i) => rgb.some((value, channel) => Math.abs(value - b[i]![channel]!) > 48)).length;

/** A region cut down to its ink's bounding box, so shapes compare whatever their baseline. */
function inkBox(image: DecodedImage, x: number, y: number, width: number, height: number): { width: number; pixels: Pixels } {
  let [left, top, right, bottom] = [Infinity, Infinity, -1, -1];
  for (let row = y; row < y + height; row++) {
    for (let column = x; column < x + width; column++) {
      if (Math.min(...image.pixel(column, row).slice(0, 3)) >= 170) continue;
      [left, top, right, bottom] = [Math.min(left, column), Math.min(top, row), Math.max(right, column), Math.max(bottom, row)];
    }
  }
  if (right < 0) return { width: 0, pixels: [] };
  return { width: right - left + 1, pixels: region(image, left, top, right - left + 1, bottom - top + 1) };
}

/** Differing pixels between two ink boxes; a difference in size counts as entirely different. */
function shapeDistance(a: { width: number; pixels: Pixels }, b: { width: number; pixels: Pixels }): number {
  if (a.width !== b.width || a.pixels.length !== b.pixels.length) return Math.max(a.pixels.length, b.pixels.length);
  return different(a.pixels, b.pixels);
}

describe('fonts: every script is drawn, emoji in colour', () => {
  let pageshot: TestServer;
  let image: DecodedImage;

  before(async () => {
    pageshot = await startPageShot();
    const reply = await pageshot.shoot({ html: page(), width: WIDTH, height: HEIGHT });
    assert.equal(reply.status, 200, reply.json ? JSON.stringify(reply.json) : undefined);
    // Kept for a person to look at, like the console's screenshots.
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/fonts.png', reply.body);
    image = await decodeImage(reply.body);
  });
  after(async () => {
    await pageshot?.stop();
  });

  ROWS.forEach((row, index) => {
    const top = rowTop(index);
    const cell = (x: number) => region(image, x, top, CELL, CELL);

    it(`draws every ${row.name} character, none as a missing-glyph box`, () => {
      assert.ok(ink(region(image, LINE_X, top, LINE_WIDTH, CELL)) >= MIN_INK, `the ${row.name} phrase renders nothing`);
      const tofu = cell(TOFU_X);
      const problems: string[] = [];
      row.cells.forEach((char, i) => {
        const pixels = cell(cellX(i));
        if (ink(pixels) < MIN_INK) problems.push(`${char} renders nothing`);
        else if (different(pixels, tofu) < MIN_DIFFERENT) problems.push(`${char} is drawn as the missing-glyph box`);
      });
      assert.deepEqual(problems, []);
    });

    if (row.emoji) {
      it(`draws ${row.name} in colour`, () => {
        const grey = row.cells.filter((char, i) => colourful(cell(cellX(i))) < MIN_COLOURFUL);
        assert.deepEqual(grey, [], 'emoji drawn in black and white (or not at all)');
      });
    }
  });

  it('gives Han text without a lang attribute Simplified Chinese shapes; lang="ja" still gets Japanese ones', () => {
    const [none, chinese, japanese] = HAN_BOXES.map(({ x }) => inkBox(image, x, rowTop(HAN_ROW), HAN_WIDTH, CELL));
    const toChinese = shapeDistance(none!, chinese!);
    const toJapanese = shapeDistance(none!, japanese!);
    assert.ok(toChinese * 4 < toJapanese, `distance to zh-CN shapes ${toChinese}, to ja shapes ${toJapanese}`);
  });
});
