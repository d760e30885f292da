/**
 * CPython's `html.unescape` (Lib/html/__init__.py), which OpenAI's CLIP tokenizer applies twice to
 * every text before BPE. The references are found as CPython finds them (its `_charref` pattern, one
 * pass, so `&amp;lt;` is `&lt;`); named ones are decoded by `entities` (the WHATWG table of 2,231 names,
 * and its longest-prefix rule for the legacy names that work without `;`, which is CPython's rule too).
 *
 * Numeric references follow CPython, which differs from the WHATWG decoder `entities` implements in one
 * way: a reference to a C0/C1 control or a noncharacter that CPython lists in `_invalid_codepoints`
 * (`&#11;`, `&#xfffe;`) decodes to nothing, where a browser keeps the character. The Windows-1252
 * replacements for 0x80-0x9F and U+FFFD for 0, surrogates and values above U+10FFFF are the same in
 * both, and come from `entities`.
 */
import { decodeHTML, replaceCodePoint } from 'entities/decode';

/** Same pattern as CPython's `_charref`; the `u` flag makes `{1,32}` count code points, as Python does. */
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** CPython's `_invalid_codepoints` (less 0x80-0x9F, which `_invalid_charrefs` maps first). */
function isInvalidCodePoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) ||
    cp === 0xb ||
    (cp >= 0xe && cp <= 0x1f) ||
    cp === 0x7f ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

function replaceNumeric(ref: string): string {
  const hex = ref[1] === 'x' || ref[1] === 'X';
  const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
  // Very long digit strings parse to huge numbers or Infinity: both are above U+10FFFF, so U+FFFD.
  const cp = hex ? Number.parseInt(digits, 16) : Number(digits);
  const replaced = replaceCodePoint(cp);
  if (replaced !== cp || (cp >= 0x80 && cp <= 0x9f)) return String.fromCodePoint(replaced);
  return isInvalidCodePoint(cp) ? '' : String.fromCodePoint(cp);
}

/**
 * Replaces HTML character references (`&gt;`, `&#62;`, `&#x3e;`, `&amp` …) with the characters they
 * stand for, exactly as CPython's `html.unescape` does, including its handling of invalid references.
 */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  // A named reference holds no `&`, so decoding it alone decodes that one reference and nothing after.
  return text.replace(CHARREF, (match, ref: string) =>
    ref.startsWith('#') ? replaceNumeric(ref) : decodeHTML(match),
  );
}
