/**
 * What a PDF header or footer template may hold. Chromium renders the templates in a
 * document of their own that loads nothing from the network; a template that asks for a
 * stylesheet or a font anyway (`<link rel=stylesheet>`, `@import`, `@font-face` with a
 * URL, a preload) crashes the page's renderer (measured, Chromium 14x: 422 PAGE_CRASHED,
 * every time). So a template may reference nothing outside itself: every URL it holds
 * must be a `data:` URL (those load and crash nothing), and the elements that embed other
 * documents or resources are refused whatever they point at. Refused, not stripped: a
 * caller learns why their header is not what they wrote.
 *
 * The check reads the template as both the HTML parser and the CSS tokenizer would:
 * character references (`&#117;`, `&lpar;`) and CSS escapes (`\75 rl(`, `u\rl(`) are
 * decoded, CSS comments dropped and case folded before anything is matched. It errs on
 * the side of refusing: the text `url(` or `@import` anywhere, even as words on the
 * page, is refused.
 */

/** Elements that load or embed something, refused whatever their attributes say. */
const REFUSED_ELEMENTS = ['link', 'script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'meta', 'portal', 'fencedframe'];
const REFUSED_ELEMENT = new RegExp(`<(${REFUSED_ELEMENTS.join('|')})(?![a-z0-9-])`);

/** Attributes whose value is a URL the browser may fetch (`href` in SVG too: `xlink:href`). */
const URL_ATTRIBUTES = ['src', 'href', 'data', 'poster', 'background', 'lowsrc', 'dynsrc', 'action', 'formaction', 'codebase', 'archive', 'manifest', 'ping', 'longdesc', 'icon'];
/**
 * An attribute and its value as the HTML parser splits them: the name follows whitespace,
 * `/` (`<img/src=…>`), a quote (`alt="x"src=…`) or a namespace colon.
 */
const URL_ATTRIBUTE = new RegExp(`(?<=[\\s/"':])(${URL_ATTRIBUTES.join('|')})\\s*=\\s*(?:"\\s*([^"]*)|'\\s*([^']*)|([^\\s>]*))`, 'g');
/** Attributes that hold a list of URLs or a whole document: refused outright. */
const REFUSED_ATTRIBUTE = /(?<=[\s/"':])(srcset|imagesrcset|srcdoc)\s*=/;

/**
 * CSS that fetches: `@import` in any form, a `url(…)` other than data:, and the functions
 * that take a URL as a bare string (`image-set("…" 1x)`, `src("…")`), refused whole:
 * telling their strings apart inside a style attribute's own quotes is not worth the risk.
 */
const CSS_IMPORT = /@import/;
const CSS_URL = /url\((?!\s*['"]?\s*data:)/;
const CSS_URL_STRING = /(?:image-set|image|cross-fade|src)\(/;
/** An XML stylesheet processing instruction (inert in HTML; refused anyway). */
const XML_STYLESHEET = /xml-stylesheet/;

/** Named character references that stand for ASCII punctuation or letters (the HTML spec's list). */
const ASCII_ENTITIES: Record<string, string> = {
  Tab: '\t', NewLine: '\n', excl: '!', quot: '"', QUOT: '"', num: '#', dollar: '$', percnt: '%', amp: '&', AMP: '&',
  apos: "'", lpar: '(', rpar: ')', ast: '*', midast: '*', plus: '+', comma: ',', period: '.', sol: '/', colon: ':',
  semi: ';', lt: '<', LT: '<', equals: '=', gt: '>', GT: '>', quest: '?', commat: '@', lsqb: '[', lbrack: '[',
  bsol: '\\', rsqb: ']', rbrack: ']', Hat: '^', lowbar: '_', UnderBar: '_', grave: '`', DiacriticalGrave: '`',
  lcub: '{', lbrace: '{', verbar: '|', vert: '|', VerticalLine: '|', rcub: '}', rbrace: '}', fjlig: 'fj',
};

/** A code point as text; what browsers put in place of an invalid one. */
function codePoint(value: number): string {
  return value > 0 && value <= 0x10ffff && (value < 0xd800 || value > 0xdfff) ? String.fromCodePoint(value) : '\ufffd';
}

/** Decodes numeric character references (the semicolon is optional to the HTML parser) and the ASCII named ones. */
function decodeCharacterReferences(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);?/gi, (_, hex: string) => codePoint(Number.parseInt(hex, 16)))
    .replace(/&#([0-9]+);?/g, (_, decimal: string) => codePoint(Number.parseInt(decimal, 10)))
    .replace(/&([a-z]+);?/gi, (whole, name: string) => ASCII_ENTITIES[name] ?? whole);
}

/** Decodes CSS escapes: `\75 ` (hex and one optional whitespace), `\` before a newline (dropped), `\x` (x itself). */
function decodeCssEscapes(text: string): string {
  return text.replace(/\\(?:([0-9a-f]{1,6})(?:\r\n|[ \t\r\n\f])?|(\r\n|[\r\n\f])|([\s\S]))/gi, (_, hex?: string, newline?: string, other?: string) => {
    if (hex !== undefined) return codePoint(Number.parseInt(hex, 16));
    if (newline !== undefined) return '';
    return other ?? '';
  });
}

/** The template as the parsers would read it, reduced to what the rules match against. */
function normalise(template: string): string {
  const decoded = decodeCssEscapes(decodeCharacterReferences(template));
  return decoded.replace(/\/\*[\s\S]*?(?:\*\/|$)/g, '').toLowerCase();
}

/**
 * What in `template` would load something from outside it, described for an error
 * message, or undefined when it loads nothing (data: URLs aside).
 */
export function templateLoads(template: string): string | undefined {
  const text = normalise(template);
  const element = REFUSED_ELEMENT.exec(text)?.[1];
  if (element) return `a <${element}> element`;
  const listAttribute = REFUSED_ATTRIBUTE.exec(text)?.[1];
  if (listAttribute) return `a ${listAttribute} attribute`;
  for (const match of text.matchAll(URL_ATTRIBUTE)) {
    const [, name, ...values] = match;
    const value = values.find((candidate) => candidate !== undefined) ?? '';
    if (value.startsWith('data:') || (name === 'href' && value.startsWith('#'))) continue;
    return `a ${name} attribute that is not a data: URL`;
  }
  if (CSS_IMPORT.test(text)) return 'an @import';
  if (CSS_URL.test(text)) return 'a url() that is not a data: URL';
  const urlFunction = CSS_URL_STRING.exec(text)?.[0];
  if (urlFunction) return `${urlFunction}…) (use url() with a data: URL)`;
  if (XML_STYLESHEET.test(text)) return 'an xml-stylesheet instruction';
  return undefined;
}
