/**
 * What the words index covers of a text, and how its words are compared: the one place both the rows
 * and the queries go through, so they always agree.
 *
 * The index's tokenizer (LanceDB's `simple`: words are runs of letters and digits, lower-cased and
 * Latin-folded, see adapters/lancedb/words-table.ts) cannot split scripts written without spaces: a
 * Japanese sentence would be one token, found only by a query of that whole sentence. So runs of Han,
 * Hiragana, Katakana, Hangul and Thai are rewritten as their overlapping character pairs ("東京タワー" →
 * "東京 京タ タワ ワー"), as Elasticsearch's `cjk_bigram` does; a query goes through the same rewrite,
 * so any word of two characters or more inside a run is found, whatever the segmentation. A lone
 * character stays a token of its own. Everything else is left to the tokenizer, after NFKC
 * normalisation (full-width and half-width forms, ligatures and composed accents come out as their
 * plain letters: "ＣＡＦＥ", "ﬁne", "e\u0301").
 *
 * `wordTokens` and `foldWord` repeat the tokenizer in JavaScript, with offsets into the original text,
 * for highlighting (highlight.ts); test/words.int.test.ts checks them against LanceDB's own tokenizer.
 */

/** A letter or digit: what Rust's `char::is_alphanumeric`, and so the `simple` tokenizer, keeps. */
const WORD_CHAR = /[\p{Alphabetic}\p{N}]/u;
const MARK = /\p{M}/u;
const LATIN = /\p{Script=Latin}/u;
const CJK = /[\p{Script_Extensions=Han}\p{Script_Extensions=Hiragana}\p{Script_Extensions=Katakana}]/u;
const HANGUL = /\p{Script_Extensions=Hangul}/u;
const THAI = /\p{Script_Extensions=Thai}/u;

/** Scripts written without spaces; a run is paired within one class (Han and kana mix in Japanese). */
type RunClass = 'cjk' | 'hangul' | 'thai';

function runClass(ch: string): RunClass | null {
  if (!WORD_CHAR.test(ch)) return null;
  if (CJK.test(ch)) return 'cjk';
  if (HANGUL.test(ch)) return 'hangul';
  if (THAI.test(ch)) return 'thai';
  return null;
}

/**
 * The text the words index covers for `text` (and the query text a search sends): NFKC-normalised, runs
 * of scripts without spaces rewritten as overlapping character pairs separated by spaces. Combining
 * marks inside such a run (Thai tone marks) are dropped so they do not break the pairs.
 */
export function wordTerms(text: string): string {
  const parts: string[] = [];
  let plain = '';
  let run: string[] = [];
  let current: RunClass | null = null;
  const flush = () => {
    if (run.length === 0) return;
    if (plain !== '') parts.push(plain);
    plain = '';
    parts.push(pairs(run).join(' '));
    run = [];
    current = null;
  };
  for (const ch of text.normalize('NFKC')) {
    const cls = runClass(ch);
    if (cls !== null) {
      if (cls !== current) flush();
      run.push(ch);
      current = cls;
    } else if (run.length > 0 && MARK.test(ch)) {
      // a mark inside a run: dropped, the run goes on
    } else {
      flush();
      plain += ch;
    }
  }
  flush();
  if (plain !== '') parts.push(plain);
  return parts.join(' ').replace(/\s+/gu, ' ').trim();
}

function pairs(run: readonly string[]): string[] {
  if (run.length === 1) return [run[0]!];
  const out: string[] = [];
  for (let i = 0; i + 1 < run.length; i++) out.push(run[i]! + run[i + 1]!);
  return out;
}

/** One token of a text as the words index sees it, with its UTF-16 range in the original text. */
export interface WordToken {
  /** The token's characters after NFKC (not folded: see {@link foldWord}). */
  text: string;
  start: number;
  end: number;
}

/**
 * The tokens the index makes of `text` (wordTerms, then the `simple` tokenizer), each with where it is
 * in `text` itself: every code point is NFKC-normalised on its own, so a range always covers whole
 * original characters. A combining mark right after a letter stays with it (whole-text NFKC would have
 * composed the two).
 */
export function wordTokens(text: string): WordToken[] {
  const tokens: WordToken[] = [];
  let word: WordToken | null = null;
  let run: WordToken[] = [];
  let current: RunClass | null = null;
  const endWord = () => {
    if (word !== null) tokens.push(word);
    word = null;
  };
  const endRun = () => {
    if (run.length === 1) tokens.push(run[0]!);
    for (let i = 0; i + 1 < run.length; i++)
      tokens.push({ text: run[i]!.text + run[i + 1]!.text, start: run[i]!.start, end: run[i + 1]!.end });
    run = [];
    current = null;
  };
  let offset = 0;
  for (const original of text) {
    const start = offset;
    offset += original.length;
    for (const ch of original.normalize('NFKC')) {
      const cls = runClass(ch);
      if (cls !== null) {
        endWord();
        if (cls !== current) endRun();
        // one original character normalised into several ("㍿" → "株式会社") gives each its range
        run.push({ text: ch, start, end: offset });
        current = cls;
      } else if (WORD_CHAR.test(ch) || (MARK.test(ch) && word !== null)) {
        endRun();
        if (word === null) word = { text: ch, start, end: offset };
        else {
          word.text += ch;
          word.end = offset;
        }
      } else if (MARK.test(ch) && run.length > 0) {
        // dropped inside a run, as wordTerms does
      } else {
        endWord();
        endRun();
      }
    }
  }
  endWord();
  endRun();
  return tokens;
}

/** Latin letters the tokenizer's ASCII folding spells out rather than strips of a mark. */
const LATIN_LETTERS: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  ł: 'l',
  þ: 'th',
  ħ: 'h',
  ı: 'i',
  ĸ: 'k',
  ŧ: 't',
  ŋ: 'n',
  ŀ: 'l',
  ſ: 's',
  ŉ: 'n',
};

/**
 * A token as the index compares it: lower-cased, then Latin letters folded to ASCII ("Straße" →
 * "strasse", "CAFÉ" → "cafe"). Other scripts keep their marks, as the tokenizer's ASCII folding does
 * ("άλφα" stays accented, "й" stays "й").
 */
export function foldWord(token: string): string {
  let out = '';
  let afterLatin = false;
  for (const ch of token.toLowerCase().normalize('NFD')) {
    if (MARK.test(ch)) {
      if (!afterLatin) out += ch;
      continue;
    }
    out += LATIN_LETTERS[ch] ?? ch;
    afterLatin = LATIN.test(ch);
  }
  return out.normalize('NFC');
}
