/**
 * The parts of `ftfy.fix_text` (ftfy 6.3, default settings) that OpenAI's CLIP tokenizer runs before
 * everything else, in ftfy's order, repeated until the text stops changing as ftfy does:
 *
 * 1. HTML entities that end in `;` (only when the text has no `<`): `&rsquo;` → `’`.
 * 2. C1 controls U+0080-U+009F read as Windows-1252, as browsers do: U+0092 → `’`, U+0085 → `…`.
 * 3. Latin ligatures split: `ﬁ` → `fi`, `ĳ` → `ij` (ftfy's table).
 * 4. Full-width and half-width forms to their standard width (NFKC of U+FF01-U+FFEF), U+3000 → space.
 * 5. Curly quotes straightened: U+02BC and U+2018-U+201B → `'`, U+201C-U+201F → `"`.
 * 6. Line breaks (CRLF, CR, U+2028, U+2029, U+0085) → LF.
 * 7. Lone surrogates → U+FFFD (JavaScript strings hold pairs as one code point already).
 * 8. ANSI terminal escapes removed.
 * 9. Control characters removed: U+0000-U+0008, U+000B, U+000E-U+001F, U+007F, U+206A-U+206F, U+FEFF,
 *    U+FFF9-U+FFFC.
 * 10. NFC.
 *
 * Not reproduced: ftfy's mojibake repair (`fix_encoding`: re-decoding text that was UTF-8 read as
 * Windows-1252 or Latin-1, chosen by its "badness" heuristics and sloppy codecs) and its all-caps entity
 * names (`&EACUTE;`). Both change only text that is already broken; a query typed on a keyboard has
 * neither. Hand-written because there is no JavaScript port of ftfy; the tables are ftfy's own.
 */
import { htmlUnescape } from './html-unescape.ts';

const LIGATURES: Readonly<Record<string, string>> = {
  Ĳ: 'IJ',
  ĳ: 'ij',
  ŉ: 'ʼn',
  Ǳ: 'DZ',
  ǲ: 'Dz',
  ǳ: 'dz',
  Ǆ: 'DŽ',
  ǅ: 'Dž',
  ǆ: 'dž',
  Ǉ: 'LJ',
  ǈ: 'Lj',
  ǉ: 'lj',
  Ǌ: 'NJ',
  ǋ: 'Nj',
  ǌ: 'nj',
  ﬀ: 'ff',
  ﬁ: 'fi',
  ﬂ: 'fl',
  ﬃ: 'ffi',
  ﬄ: 'ffl',
  ﬅ: 'ſt',
  ﬆ: 'st',
};
const LIGATURE_RE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');

/** ftfy's `HTML_ENTITY_RE`: an entity or character reference that ends in a semicolon. */
const ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;
const C1_RE = /[\x80-\x9f]/g;
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;
const SINGLE_QUOTE_RE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTE_RE = /[\u201c-\u201f]/g;
const LINE_BREAK_RE = /\r\n|[\r\u2028\u2029\x85]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the sequences this removes.
const ANSI_RE = /\x1b\[((?:\d|;)*)([a-zA-Z])/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

const windows1252 = new TextDecoder('windows-1252');

/** One entity as ftfy decodes it: only when `html.unescape` consumes it whole. */
function unescapeEntity(entity: string): string {
  const decoded = htmlUnescape(entity);
  return decoded.includes(';') ? entity : decoded;
}

function widthFix(char: string): string {
  if (char === '\u3000') return ' ';
  return char.normalize('NFKC');
}

/** The text after ftfy's default fixes listed above. */
export function fixText(text: string): string {
  const entities = !text.includes('<');
  let current = text;
  for (;;) {
    const before = current;
    let next = entities ? current.replace(ENTITY_RE, unescapeEntity) : current;
    next = next.replace(C1_RE, (char) => windows1252.decode(Uint8Array.of(char.charCodeAt(0))));
    next = next.replace(LIGATURE_RE, (char) => LIGATURES[char]!);
    next = next.replace(WIDTH_RE, widthFix);
    next = next.replace(SINGLE_QUOTE_RE, "'").replace(DOUBLE_QUOTE_RE, '"');
    next = next.replace(LINE_BREAK_RE, '\n');
    next = next.toWellFormed();
    next = next.replace(ANSI_RE, '').replace(CONTROL_RE, '');
    current = next.normalize('NFC');
    if (current === before) return current;
  }
}
