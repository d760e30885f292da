/**
 * The text encoding of a caption file, which nothing declares: a byte-order mark says it when there is one;
 * bytes that are valid UTF-8 are UTF-8 (ASCII included); UTF-16 without a mark shows itself by its zero
 * bytes; anything else is guessed by `chardet` (byte statistics per encoding) and decoded with the
 * WHATWG `TextDecoder` (Node's full ICU: windows-125x, iso-8859-*, shift_jis, euc-jp, euc-kr, gb18030,
 * big5, koi8-r…). A weak guess falls back to windows-1252, the encoding of most old Western SubRip files.
 */
import { analyse } from 'chardet';

/** Text decoded from bytes, and the WHATWG name of the encoding used (e.g. 'utf-8', 'windows-1252'). */
export interface DecodedText {
  text: string;
  encoding: string;
}

/** The encoding used when the guess is weak. */
export const FALLBACK_ENCODING = 'windows-1252';
/** chardet's confidence (0-100) below which its guess is not taken. */
const MIN_CONFIDENCE = 20;
/** How many bytes the UTF-16 check and the detector look at (enough for statistics, cheap on 5 MiB). */
const SNIFF_BYTES = 64 * 1024;

/** TextDecoder's canonical name for `label` ('ISO-8859-1' → 'windows-1252'), or undefined if it has none. */
function encodingOf(label: string): string | undefined {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return undefined;
  }
}

/** 'utf-16le' / 'utf-16be' when most even or most odd bytes of the start are zero (Latin text in UTF-16). */
function utf16WithoutMark(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  const n = Math.min(bytes.length, 4096) & ~1;
  if (n < 8) return undefined;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZero++;
    if (bytes[i + 1] === 0) oddZero++;
  }
  const pairs = n / 2;
  if (oddZero > pairs * 0.4 && evenZero < pairs * 0.05) return 'utf-16le';
  if (evenZero > pairs * 0.4 && oddZero < pairs * 0.05) return 'utf-16be';
  return undefined;
}

/** chardet's best answer that TextDecoder can decode, when confident enough; ties go to windows-1252. */
function guess(bytes: Uint8Array): string {
  const answers = analyse(bytes.subarray(0, SNIFF_BYTES)).filter(
    (a) => !/^(UTF-8|ASCII)$/i.test(a.name) && encodingOf(a.name) !== undefined,
  );
  const top = answers[0];
  if (!top || top.confidence < MIN_CONFIDENCE) return FALLBACK_ENCODING;
  // Latin-1 and Latin-2 often score the same on a short file: prefer the fallback among equals.
  const tied = answers.filter((a) => a.confidence === top.confidence);
  const western = tied.find((a) => encodingOf(a.name) === FALLBACK_ENCODING);
  return encodingOf((western ?? top).name)!;
}

/**
 * Decodes a caption file's bytes to text (the byte-order mark removed) and names the encoding it took.
 * Never throws: bytes that are not text come out as odd characters for the format check to refuse.
 */
export function decodeCaptionBytes(bytes: Uint8Array): DecodedText {
  const bom =
    bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
      ? 'utf-8'
      : bytes[0] === 0xff && bytes[1] === 0xfe
        ? 'utf-16le'
        : bytes[0] === 0xfe && bytes[1] === 0xff
          ? 'utf-16be'
          : undefined;
  // TextDecoder drops the mark itself (ignoreBOM is false by default).
  if (bom) return { text: new TextDecoder(bom).decode(bytes), encoding: bom };
  // Before UTF-8: zero bytes are valid UTF-8, so Latin text in UTF-16 would pass for it.
  const utf16 = utf16WithoutMark(bytes);
  if (utf16) return { text: new TextDecoder(utf16).decode(bytes), encoding: utf16 };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    // Not UTF-8: one of the legacy encodings, guessed.
  }
  const encoding = guess(bytes);
  return { text: new TextDecoder(encoding).decode(bytes), encoding };
}
