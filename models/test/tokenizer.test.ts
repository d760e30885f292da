/**
 * CLIP tokenizer: golden vectors. The OpenAI-vocabulary tests compare both load paths (OpenAI's gz, and a
 * Hugging Face-format tokenizer.json this file builds from the same gz) with `RefTokenizer`, a
 * line-by-line port of openai/CLIP's `simple_tokenizer.py` written independently of the code under test,
 * and with literal id vectors produced by running that Python file (ftfy replaced by NFC, its default
 * normalization) under CPython 3.11 with the `regex` module.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Tokenizer } from '@huggingface/tokenizers';
import { isReelError } from '@reel/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixText } from '../src/clip/ftfy.ts';
import { htmlUnescape } from '../src/clip/html-unescape.ts';
import { openAiVocabToTokenizerJson, readOpenAiVocab } from '../src/clip/openai-vocab.ts';
import { ClipTokenizer, cleanClipText } from '../src/clip/tokenizer.ts';
import { buildSyntheticTokenizer } from '../src/synthetic/synthetic-tokenizer.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const VOCAB_GZ = path.join(repoRoot, '..', 'shared', 'data', 'clip', 'bpe_simple_vocab_16e6.txt.gz');
const haveVocab = existsSync(VOCAB_GZ);
if (!haveVocab) {
  console.warn(
    `CLIP vocabulary not found at ${VOCAB_GZ}: skipping OpenAI-vocab tokenizer tests (present in the reel workplace and CI)`,
  );
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'reel-tokenizer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes `files` (name → JSON value or raw text) into a fresh folder; returns the folder. */
function writeFolder(name: string, files: Record<string, unknown>): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, file), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

/** Awaits `promise` and returns the ReelError it rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isReelError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

// ---- The reference: openai/CLIP simple_tokenizer.py, ported line by line --------------------------

/** `bytes_to_unicode()`: a dict in insertion order, printable bytes first. */
function refBytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = '!'.charCodeAt(0); b <= '~'.charCodeAt(0); b++) bs.push(b);
  for (let b = '¡'.charCodeAt(0); b <= '¬'.charCodeAt(0); b++) bs.push(b);
  for (let b = '®'.charCodeAt(0); b <= 'ÿ'.charCodeAt(0); b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 2 ** 8; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(2 ** 8 + n);
      n += 1;
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i]!)]));
}

/** `get_pairs(word)`: the set of adjacent symbol pairs (tuples as JSON keys). */
function getPairs(word: string[]): Set<string> {
  const pairs = new Set<string>();
  let prev = word[0]!;
  for (const char of word.slice(1)) {
    pairs.add(JSON.stringify([prev, char]));
    prev = char;
  }
  return pairs;
}

/** Python's `str.isspace()` characters: what `re`'s `\s` and `str.strip()` use. */
const PY_SPACE =
  '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function pyStrip(text: string): string {
  const chars = Array.from(text);
  while (chars.length > 0 && PY_SPACE.includes(chars[0]!)) chars.shift();
  while (chars.length > 0 && PY_SPACE.includes(chars.at(-1)!)) chars.pop();
  return chars.join('');
}

/**
 * `ftfy.fix_text` with ftfy 6.3's defaults, less its mojibake repair: written here a second time, code
 * point by code point from ftfy's tables, so the tokenizer's regex version is checked against it.
 */
function refFtfy(text: string): string {
  const ligatures = new Map(
    Object.entries({
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
    }),
  );
  const isControl = (c: number) =>
    c <= 0x08 ||
    c === 0x0b ||
    (c >= 0x0e && c <= 0x1f) ||
    c === 0x7f ||
    (c >= 0x206a && c <= 0x206f) ||
    c === 0xfeff ||
    (c >= 0xfff9 && c <= 0xfffc);
  const entities = !text.includes('<');
  let current = text;
  for (;;) {
    let out = current;
    if (entities) {
      let replaced = '';
      for (let i = 0; i < out.length; i++) {
        const end = out[i] === '&' ? out.indexOf(';', i) : -1;
        const entity = end > i ? out.slice(i, end + 1) : '';
        if (/^&#?[0-9A-Za-z]{1,24};$/.test(entity) && !htmlUnescape(entity).includes(';')) {
          replaced += htmlUnescape(entity);
          i = end;
        } else replaced += out[i];
      }
      out = replaced;
    }
    let fixed = '';
    for (const char of out) {
      const c = char.codePointAt(0)!;
      if (c >= 0x80 && c <= 0x9f) fixed += new TextDecoder('windows-1252').decode(Uint8Array.of(c));
      else if (ligatures.has(char)) fixed += ligatures.get(char);
      else if (c === 0x3000) fixed += ' ';
      else if (c >= 0xff01 && c <= 0xffef) fixed += char.normalize('NFKC');
      else if (c === 0x2bc || (c >= 0x2018 && c <= 0x201b)) fixed += "'";
      else if (c >= 0x201c && c <= 0x201f) fixed += '"';
      else fixed += char;
    }
    fixed = fixed
      .split('\r\n')
      .join('\n')
      .replace(/[\r\u2028\u2029\x85]/g, '\n')
      .toWellFormed();
    fixed = fixed
      .split('\x1b[')
      .map((part, i) => {
        if (i === 0) return part;
        const sequence = /^[\d;]*[a-zA-Z]/.exec(part);
        return sequence ? part.slice(sequence[0].length) : `\x1b[${part}`;
      })
      .join('');
    fixed = Array.from(fixed)
      .filter((char) => !isControl(char.codePointAt(0)!))
      .join('')
      .normalize('NFC');
    if (fixed === current) return fixed;
    current = fixed;
  }
}

/** `basic_clean`: ftfy.fix_text, html.unescape twice, strip. */
function basicClean(text: string): string {
  return pyStrip(htmlUnescape(htmlUnescape(refFtfy(text))));
}

/** `whitespace_clean`: `re.sub(r'\s+', ' ', text).strip()`. */
function whitespaceClean(text: string): string {
  let out = '';
  let inSpace = false;
  for (const char of text) {
    if (PY_SPACE.includes(char)) {
      if (!inSpace) out += ' ';
      inSpace = true;
    } else {
      out += char;
      inSpace = false;
    }
  }
  return pyStrip(out);
}

/**
 * `self.pat` with `re.IGNORECASE` in the `regex` module, in JavaScript: the literal alternatives are
 * case-insensitive; `\s` there is the White_Space property; U+0345 (which case-folds to a letter)
 * matches no alternative there. Checked against Python for every code point while writing this.
 */
const REF_PAT =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: U+0345 is excluded on its own, on purpose.
  /(?i:<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d)|[\p{L}]+|[\p{N}]|[^\p{White_Space}\p{L}\p{N}\u0345]+/gu;

class RefTokenizer {
  readonly byteEncoder = refBytesToUnicode();
  readonly merges: Array<[string, string]>;
  readonly vocab: string[];
  readonly encoder: Map<string, number>;
  readonly bpeRanks: Map<string, number>;
  readonly cache = new Map<string, string>([
    ['<|startoftext|>', '<|startoftext|>'],
    ['<|endoftext|>', '<|endoftext|>'],
  ]);

  constructor(bpeText: string) {
    const lines = bpeText.split('\n').slice(1, 49152 - 256 - 2 + 1);
    this.merges = lines.map((merge) => merge.split(/\s+/) as [string, string]);
    let vocab = [...this.byteEncoder.values()];
    vocab = [...vocab, ...vocab.map((v) => `${v}</w>`)];
    for (const merge of this.merges) vocab.push(merge.join(''));
    vocab.push('<|startoftext|>', '<|endoftext|>');
    this.vocab = vocab;
    this.encoder = new Map(vocab.map((v, i) => [v, i]));
    this.bpeRanks = new Map(this.merges.map((merge, i) => [JSON.stringify(merge), i]));
  }

  bpe(token: string): string {
    const cached = this.cache.get(token);
    if (cached !== undefined) return cached;
    const chars = Array.from(token);
    let word = [...chars.slice(0, -1), `${chars.at(-1)}</w>`];
    let pairs = getPairs(word);
    if (pairs.size === 0) return `${token}</w>`;
    for (;;) {
      let bigram = '';
      let bestRank = Number.POSITIVE_INFINITY;
      for (const pair of pairs) {
        const rank = this.bpeRanks.get(pair) ?? Number.POSITIVE_INFINITY;
        if (bigram === '' || rank < bestRank) {
          bigram = pair;
          bestRank = rank;
        }
      }
      if (!this.bpeRanks.has(bigram)) break;
      const [first, second] = JSON.parse(bigram) as [string, string];
      const newWord: string[] = [];
      let i = 0;
      while (i < word.length) {
        const j = word.indexOf(first, i);
        if (j < 0) {
          newWord.push(...word.slice(i));
          break;
        }
        newWord.push(...word.slice(i, j));
        i = j;
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          newWord.push(first + second);
          i += 2;
        } else {
          newWord.push(word[i]!);
          i += 1;
        }
      }
      word = newWord;
      if (word.length === 1) break;
      pairs = getPairs(word);
    }
    const result = word.join(' ');
    this.cache.set(token, result);
    return result;
  }

  encode(text: string): number[] {
    const bpeTokens: number[] = [];
    const clean = whitespaceClean(basicClean(text)).toLowerCase();
    for (const match of clean.matchAll(REF_PAT)) {
      const token = Array.from(new TextEncoder().encode(match[0]), (b) => this.byteEncoder.get(b)!).join('');
      for (const bpeToken of this.bpe(token).split(' ')) bpeTokens.push(this.encoder.get(bpeToken)!);
    }
    return bpeTokens;
  }

  /** `[sot] + encode(text) + [eot]`, then the truncation reel wants: EOS kept last. */
  tokenize(text: string, contextLength = 77): number[] {
    const sot = this.encoder.get('<|startoftext|>')!;
    const eot = this.encoder.get('<|endoftext|>')!;
    return [sot, ...this.encode(text).slice(0, contextLength - 2), eot];
  }

  /** Hugging Face's CLIP `tokenizer.json` layout (as in openai/clip-vit-base-patch32), from this vocabulary. */
  tokenizerJson(): Record<string, unknown> {
    const sot = this.encoder.get('<|startoftext|>')!;
    const eot = this.encoder.get('<|endoftext|>')!;
    const added = (id: number, content: string, normalized: boolean) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized,
      special: true,
    });
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [added(sot, '<|startoftext|>', true), added(eot, '<|endoftext|>', false)],
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'NFC' },
          { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
          { type: 'Lowercase' },
        ],
      },
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          {
            type: 'Split',
            pattern: {
              Regex:
                "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            },
            behavior: 'Removed',
            invert: true,
          },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      },
      post_processor: {
        type: 'RobertaProcessing',
        sep: ['<|endoftext|>', eot],
        cls: ['<|startoftext|>', sot],
        trim_offsets: false,
        add_prefix_space: false,
      },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: '<|endoftext|>',
        continuing_subword_prefix: '',
        end_of_word_suffix: '</w>',
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: Object.fromEntries(this.encoder),
        merges: this.merges.map((merge) => merge.join(' ')),
      },
    };
  }
}

// ---- Cases ----------------------------------------------------------------------------------------

const CAPTION_WORDS =
  'a man in a red jacket walks his two dogs along the windy beach at sunset while the waves crash on the rocks and gulls circle overhead'.split(
    ' ',
  );
/** 200 words, far beyond 77 tokens. */
const LONG_CAPTION = Array.from({ length: 200 }, (_, i) => CAPTION_WORDS[i % CAPTION_WORDS.length]).join(' ');

/** Text → ids from CPython running OpenAI's simple_tokenizer.py (ftfy → NFC). */
/** OpenAI's ids for the ASCII texts ftfy turns the typed forms into (the reference on `don't`, …). */
const DONT = [49406, 847, 713, 49407];
const DOG_TOY = [49406, 257, 585, 568, 320, 1929, 568, 5988, 257, 49407];
const FISH = [49406, 2759, 49407];
const RED_CAR = [49406, 736, 1615, 49407];

const GOLDEN: Array<[string, string, number[]]> = [
  [
    "ftfy's ASCII forms",
    `don't "it's a dog's toy" fish red car`,
    [...DONT.slice(0, -1), ...DOG_TOY.slice(1, -1), ...FISH.slice(1, -1), ...RED_CAR.slice(1)],
  ],
  ['brief example', 'a photo of a cat', [49406, 320, 1125, 539, 320, 2368, 49407]],
  ['uppercase', 'A PHOTO OF A CAT', [49406, 320, 1125, 539, 320, 2368, 49407]],
  [
    'contractions',
    "I'm sure it's what they've said, we'll see; you'd think we're done, don't you?",
    [
      49406, 328, 880, 1650, 585, 568, 768, 889, 1200, 1946, 267, 649, 1342, 862, 282, 592, 1896, 1331, 649,
      982, 1700, 267, 847, 713, 592, 286, 49407,
    ],
  ],
  [
    'digits',
    'In 2024, 3.14159 x 1,000,000 = 3141590 (๓ ٣ ²)',
    [
      49406, 530, 273, 271, 273, 275, 267, 274, 269, 272, 275, 272, 276, 280, 343, 272, 267, 271, 271, 271,
      267, 271, 271, 271, 284, 274, 272, 275, 272, 276, 280, 271, 263, 4484, 497, 149, 352, 41175, 264, 49407,
    ],
  ],
  [
    'punctuation runs',
    'wow!!! really?!... (yes) -- [ok] {fine} <tag/> $$$ @#% ~~~',
    [
      49406, 2781, 995, 1414, 9785, 678, 263, 1958, 264, 2432, 314, 2481, 316, 346, 3797, 348, 283, 3640, 14,
      285, 31859, 31, 2, 260, 32472, 49407,
    ],
  ],
  [
    'non-ASCII letters',
    'Ärger über naïve Café: Straße, Ελληνικά, русский, 東京タワー',
    [
      49406, 10896, 81, 1502, 6522, 1516, 1097, 35689, 563, 15304, 281, 1894, 127, 253, 324, 267, 138, 113,
      138, 119, 138, 119, 138, 115, 138, 121, 138, 117, 138, 118, 138, 361, 267, 16370, 39729, 23669, 23669,
      27152, 29503, 373, 267, 48338, 21078, 105, 34941, 2429, 107, 30391, 49407,
    ],
  ],
  [
    'emoji',
    'a 🐱 on a 🛹 👩‍👩‍👧 🇫🇷 ❤️',
    [49406, 320, 22979, 525, 320, 11306, 373, 26304, 26304, 964, 356, 16223, 1752, 49407],
  ],
  [
    'HTML entities',
    'Tom &amp; Jerry &lt;3 &quot;cartoons&quot; &#39;classic&#39; &amp;amp; caf&eacute; &copy2024 &notit;',
    [
      49406, 2435, 261, 9164, 283, 274, 257, 17673, 257, 262, 2713, 262, 261, 15304, 5811, 273, 271, 273, 275,
      126, 361, 585, 282, 49407,
    ],
  ],
  [
    'whitespace runs',
    '  a\tphoto \n\n of\u00a0a\u3000cat \u2003 ',
    [49406, 320, 1125, 539, 320, 2368, 49407],
  ],
  [
    'special tokens in text',
    '<|startoftext|>hello<|endoftext|> <<|endoftext|>',
    [49406, 49406, 3306, 49407, 24588, 347, 40786, 4160, 91, 285, 49407],
  ],
  // ftfy straightens quotes, splits ligatures and narrows full-width forms before anything else.
  ['curly apostrophe (ftfy)', 'don’t', DONT],
  ['smart quotes (ftfy)', '“it’s a dog’s toy”', DOG_TOY],
  ['ligature (ftfy)', 'ﬁsh', FISH],
  ['full-width (ftfy)', 'ＲＥＤ　ＣＡＲ', RED_CAR],
  ['combining accent, NFC', 'cafe\u0301', [49406, 15304, 49407]],
  ['empty', '', [49406, 49407]],
];

/** Cases for the reference comparison: the golden texts plus ones only the port checks. */
const REFERENCE_CASES: string[] = [
  ...GOLDEN.map(([, text]) => text),
  LONG_CAPTION,
  ' \t\n ',
  'İstanbul ΟΔΟΣ ß ﬁ Ⅻ ＄ — e-mail $100 #hashtag @user http://x.com/a?b=c&d=e',
  "'ſ ſt \u0345 a\u0345b \ufeffbom \x1cfs \x85nel",
  'supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis',
  'banana bananas aaaaaaaaaa lollollol',
  '&amp;amp;lt; &#x1F600; &#128; &#0; &#xD800;',
];

/** Texts without the constructs where Hugging Face's tokenizer departs from OpenAI's (entities, U+0345…). */
const ORDINARY_CASES: string[] = [
  'a photo of a cat',
  "I'm sure it's what they've said, we'll see; you'd think we're done, don't you?",
  'In 2024, 3.14159 x 1,000,000 = 3141590',
  'wow!!! really?!... (yes) -- [ok] {fine} <tag/> $$$ @#% ~~~',
  'Ärger über naïve Café: Straße, Ελληνικά, русский, 東京タワー',
  'a 🐱 on a 🛹 👩‍👩‍👧 🇫🇷 ❤️',
  '  a\tphoto \n\n of a cat  ',
  LONG_CAPTION,
];

// ---- OpenAI vocabulary ----------------------------------------------------------------------------

describe.skipIf(!haveVocab)('CLIP tokenizer with OpenAI vocabulary', () => {
  let ref: RefTokenizer;
  let fromGz: ClipTokenizer;
  let fromJson: ClipTokenizer;
  let hfJson: Record<string, unknown>;

  beforeAll(async () => {
    ref = new RefTokenizer(gunzipSync(readFileSync(VOCAB_GZ)).toString('utf8'));
    hfJson = ref.tokenizerJson();
    const dir = writeFolder('hf-clip', { 'tokenizer.json': hfJson });
    fromGz = await ClipTokenizer.fromOpenAiVocab(VOCAB_GZ);
    fromJson = await ClipTokenizer.fromTokenizerJson(path.join(dir, 'tokenizer.json'));
  });

  it.each(GOLDEN)('%s: both load paths give the CPython reference ids', (_name, text, ids) => {
    expect(fromGz.encode(text)).toEqual(ids);
    expect(fromJson.encode(text)).toEqual(ids);
    expect(ref.tokenize(text)).toEqual(ids);
  });

  it('both load paths equal the ported reference on every case', () => {
    for (const text of REFERENCE_CASES) {
      const expected = ref.tokenize(text);
      expect(fromGz.encode(text), text).toEqual(expected);
      expect(fromJson.encode(text), text).toEqual(expected);
    }
  });

  it('reads special ids and vocabulary size from both sources', () => {
    for (const tok of [fromGz, fromJson]) {
      expect([tok.bosId, tok.eosId, tok.contextLength, tok.vocabSize]).toEqual([49406, 49407, 77, 49408]);
    }
    expect(fromGz.padId).toBe(0); // OpenAI's clip.tokenize pads with zeros
    expect(fromJson.padId).toBe(49407); // no padding in the file, no tokenizer_config.json: EOS
  });

  it('truncates a 200-word caption to 77 ids with EOS last', () => {
    const full = ref.tokenize(LONG_CAPTION, Number.POSITIVE_INFINITY);
    expect(full.length).toBeGreaterThan(200);
    for (const tok of [fromGz, fromJson]) {
      const ids = tok.encode(LONG_CAPTION);
      expect(ids).toHaveLength(77);
      expect(ids[0]).toBe(49406);
      expect(ids[76]).toBe(49407);
      expect(ids.slice(0, 76)).toEqual(full.slice(0, 76));
    }
  });

  it('truncates to a custom context length', async () => {
    const short = await ClipTokenizer.fromOpenAiVocab(VOCAB_GZ, { contextLength: 8 });
    expect(short.encode(LONG_CAPTION)).toEqual([49406, 320, 786, 530, 320, 736, 6164, 49407]);
    expect(short.encode('a photo of a cat')).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    const minimal = await ClipTokenizer.fromTokenizerJson(path.join(tmp, 'hf-clip', 'tokenizer.json'), {
      contextLength: 2,
    });
    expect(minimal.encode(LONG_CAPTION)).toEqual([49406, 49407]);
  });

  it('pads a batch to its longest text with an attention mask', () => {
    const batch = fromGz.encodeBatch(['a photo of a cat', '', 'a dog']);
    expect([batch.batchSize, batch.length]).toEqual([3, 7]);
    expect(Array.from(batch.inputIds, Number)).toEqual([
      ...[49406, 320, 1125, 539, 320, 2368, 49407],
      ...[49406, 49407, 0, 0, 0, 0, 0],
      ...[49406, 320, 1929, 49407, 0, 0, 0],
    ]);
    expect(Array.from(batch.attentionMask, Number)).toEqual([
      ...[1, 1, 1, 1, 1, 1, 1],
      ...[1, 1, 0, 0, 0, 0, 0],
      ...[1, 1, 1, 1, 0, 0, 0],
    ]);
    const long = fromJson.encodeBatch([LONG_CAPTION, 'a cat']);
    expect([long.batchSize, long.length, long.inputIds.length]).toEqual([2, 77, 154]);
    expect(long.inputIds[76]).toBe(49407n);
    expect(Array.from(long.inputIds.slice(77 + 3, 77 + 6))).toEqual([49407n, 49407n, 49407n]);
  });

  it('the OpenAI → tokenizer.json conversion matches the layout built here', async () => {
    const converted = openAiVocabToTokenizerJson(await readOpenAiVocab(VOCAB_GZ));
    expect(JSON.stringify(converted)).toBe(JSON.stringify(hfJson));
  });

  it('agrees with @huggingface/tokenizers on ordinary text (before truncation)', () => {
    const hf = new Tokenizer(hfJson, {});
    for (const text of ORDINARY_CASES) {
      const ids = hf.encode(text).ids;
      const truncated = ids.length <= 77 ? ids : [...ids.slice(0, 76), 49407];
      expect(fromJson.encode(text), text).toEqual(truncated);
    }
  });
});

// ---- tokenizer.json with its own special ids (no OpenAI vocabulary needed) ------------------------

const ALPHABET = [...refBytesToUnicode().values()];

/** A tiny CLIP-style tokenizer.json: 512 byte tokens, merges for "cat" and "dog", BOS 1000, EOS 1001. */
function tinyTokenizer(post: 'template' | 'roberta' | 'none', extra: Record<string, unknown> = {}) {
  const vocab: Record<string, number> = {};
  ALPHABET.forEach((char, i) => {
    vocab[char] = i;
    vocab[`${char}</w>`] = 256 + i;
  });
  Object.assign(vocab, { ca: 512, 'cat</w>': 513, do: 514, 'dog</w>': 515 });
  const special = (id: number, content: string) => ({ id, content, special: true, normalized: false });
  const postProcessor = {
    template: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '<|startoftext|>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<|endoftext|>', type_id: 0 } },
      ],
      pair: [],
      special_tokens: {
        '<|startoftext|>': { id: '<|startoftext|>', ids: [1000], tokens: ['<|startoftext|>'] },
        '<|endoftext|>': { id: '<|endoftext|>', ids: [1001], tokens: ['<|endoftext|>'] },
      },
    },
    roberta: { type: 'RobertaProcessing', cls: ['<|startoftext|>', 1000], sep: ['<|endoftext|>', 1001] },
    none: null,
  }[post];
  return {
    version: '1.0',
    padding: null,
    added_tokens: [
      special(1000, '<|startoftext|>'),
      special(1001, '<|endoftext|>'),
      special(1002, '<|pad|>'),
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'ByteLevel', add_prefix_space: false, use_regex: false }],
    },
    post_processor: postProcessor,
    model: {
      type: 'BPE',
      unk_token: '<|endoftext|>',
      end_of_word_suffix: '</w>',
      vocab,
      merges: ['c a', ['ca', 't</w>'], 'd o', 'do g</w>'],
    },
    ...extra,
  };
}

/** "A cat, a DOG!" in the tiny vocabulary: a</w> 320, cat</w> 513, ,</w> 267, dog</w> 515, !</w> 256. */
const TINY_IDS = [1000, 320, 513, 267, 320, 515, 256, 1001];

describe('CLIP tokenizer from a tokenizer.json with its own special ids', () => {
  it.each(['template', 'roberta', 'none'] as const)(
    'reads BOS/EOS from a %s post-processor',
    async (post) => {
      const dir = writeFolder(`tiny-${post}`, { 'tokenizer.json': tinyTokenizer(post) });
      const tok = await ClipTokenizer.fromTokenizerJson(path.join(dir, 'tokenizer.json'));
      expect([tok.bosId, tok.eosId, tok.padId, tok.vocabSize]).toEqual([1000, 1001, 1001, 1003]);
      expect(tok.encode('A cat, a DOG!')).toEqual(TINY_IDS);
      expect(tok.encode('<|endoftext|>cat')).toEqual([1000, 1001, 513, 1001]);
      expect(tok.encode('')).toEqual([1000, 1001]);
    },
  );

  it('truncates keeping EOS last', async () => {
    const dir = writeFolder('tiny-trunc', { 'tokenizer.json': tinyTokenizer('roberta') });
    const tok = await ClipTokenizer.fromTokenizerJson(path.join(dir, 'tokenizer.json'), { contextLength: 5 });
    expect(tok.encode('cat dog cat dog cat dog')).toEqual([1000, 513, 515, 513, 1001]);
    expect(tok.encode('cat')).toEqual([1000, 513, 1001]);
  });

  it('pads with the pad id from the file, tokenizer_config.json or options', async () => {
    const padded = writeFolder('tiny-padding', {
      'tokenizer.json': tinyTokenizer('roberta', { padding: { pad_id: 1002, pad_token: '<|pad|>' } }),
      'tokenizer_config.json': { pad_token: '!' }, // the tokenizer.json's padding wins
    });
    const fromFile = await ClipTokenizer.fromTokenizerJson(path.join(padded, 'tokenizer.json'));
    expect(fromFile.padId).toBe(1002);

    const configured = writeFolder('tiny-config', {
      'tokenizer.json': tinyTokenizer('roberta'),
      'tokenizer_config.json': { pad_token: { __type: 'AddedToken', content: '!' } },
    });
    const fromConfig = await ClipTokenizer.fromTokenizerJson(path.join(configured, 'tokenizer.json'));
    expect(fromConfig.padId).toBe(0);
    const batch = fromConfig.encodeBatch(['a cat', 'A cat, a DOG!']);
    expect([batch.batchSize, batch.length]).toEqual([2, 8]);
    expect(Array.from(batch.inputIds, Number)).toEqual([1000, 320, 513, 1001, 0, 0, 0, 0, ...TINY_IDS]);
    expect(Array.from(batch.attentionMask, Number)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);

    const overridden = await ClipTokenizer.fromTokenizerJson(path.join(configured, 'tokenizer.json'), {
      padId: 1002,
      contextLength: 6,
    });
    const fixed = overridden.encodeBatch(['cat'], { padToContextLength: true });
    expect([fixed.batchSize, fixed.length]).toEqual([1, 6]);
    expect(Array.from(fixed.inputIds, Number)).toEqual([1000, 513, 1001, 1002, 1002, 1002]);
    expect(Array.from(fixed.attentionMask, Number)).toEqual([1, 1, 1, 0, 0, 0]);
  });

  it('merges every occurrence of the best pair before looking again, as the reference does', async () => {
    // "ab a" outranks "a b" (untrained, on purpose): merging "a b" one occurrence at a time would let
    // "ab a" fire in between and give [aba, b, x</w>]; the reference gives [ab, ab, x</w>].
    const json = tinyTokenizer('roberta');
    const model = json.model as { vocab: Record<string, number>; merges: unknown[] };
    Object.assign(model.vocab, { ab: 600, aba: 601 });
    model.merges = ['ab a', 'a b'];
    const dir = writeFolder('tiny-merge-order', { 'tokenizer.json': json });
    const tok = await ClipTokenizer.fromTokenizerJson(path.join(dir, 'tokenizer.json'));
    const xEnd = 256 + ALPHABET.indexOf('x');
    expect(tok.encode('ababx')).toEqual([1000, 600, 600, xEnd, 1001]);
  });

  it('handles an empty batch', async () => {
    const dir = writeFolder('tiny-empty', { 'tokenizer.json': tinyTokenizer('none') });
    const tok = await ClipTokenizer.fromTokenizerJson(path.join(dir, 'tokenizer.json'));
    const batch = tok.encodeBatch([]);
    expect([batch.batchSize, batch.length, batch.inputIds.length, batch.attentionMask.length]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('loads the synthetic model tokenizer with the word ids it promises', async () => {
    const synthetic = buildSyntheticTokenizer(['photo', 'of', 'banana', 'cat']);
    const dir = writeFolder('synthetic', { 'tokenizer.json': synthetic.json });
    const tok = await ClipTokenizer.fromTokenizerJson(path.join(dir, 'tokenizer.json'));
    const id = (word: string) => synthetic.wordIds.get(word)!;
    expect(tok.encode('A photo of a Banana, a cat')).toEqual([
      49406,
      320,
      id('photo'),
      id('of'),
      320,
      id('banana'),
      267,
      320,
      id('cat'),
      49407,
    ]);
  });
});

// ---- Text cleaning --------------------------------------------------------------------------------

describe('CLIP text cleaning', () => {
  it("applies ftfy's default fixes that typed text meets", () => {
    expect(fixText('“It’s” ‘ok’ ʼn')).toBe(`"It's" 'ok' 'n`);
    expect(fixText('ﬁne ﬂat ĳs')).toBe('fine flat ijs');
    expect(fixText('ＡＢＣ１２３！　ｶﾞ')).toBe('ABC123! ガ');
    expect(fixText('I\x92m\x85')).toBe("I'm…");
    expect(fixText('a\r\nb\rc\u2028d')).toBe('a\nb\nc\nd');
    expect(fixText('\x1b[36;44mblue\x1b[0m\x00\ufeff')).toBe('blue');
    expect(fixText('it&rsquo;s &amp;amp; &notit')).toBe("it's & &notit");
    // With a "<" the text may be HTML: ftfy leaves its entities alone (CLIP's own unescape still runs).
    expect(fixText('<b>&amp;amp;</b>')).toBe('<b>&amp;amp;</b>');
  });

  it('unescapes HTML like CPython html.unescape', () => {
    const cases: Array<[string, string]> = [
      ['&amp;', '&'],
      ['&amp', '&'],
      ['&ampx', '&x'],
      ['&notit;', '¬it;'],
      ['&#39;', "'"],
      ['&#x27;', "'"],
      ['&#X41', 'A'],
      ['&#0;', '\ufffd'],
      ['&#128;', '€'],
      ['&#xD800;', '\ufffd'],
      ['&#1114112;', '\ufffd'],
      ['&#x1F600;', '😀'],
      ['&#11;', ''],
      ['&#xfffe;', ''],
      ['&bogus;', '&bogus;'],
      ['&amp;lt;', '&lt;'],
      ['&NotNestedGreaterGreater;', '⪢̸'],
      ['a & b', 'a & b'],
      ['&&amp;', '&&'],
      ['&#;', '&#;'],
      ['&eacute&eacute;', 'éé'],
    ];
    for (const [input, output] of cases) expect(htmlUnescape(input), input).toBe(output);
  });

  it('collapses Python whitespace, strips, lowercases, unescapes twice', () => {
    // ftfy first: U+001C/U+001D are removed as control characters, U+0085 is read as Windows-1252 "…".
    expect(cleanClipText('  A\u3000B\x1c\x1dC\x85D\u00a0 ')).toBe('a bc…d');
    expect(cleanClipText('\ufeffx')).toBe('x'); // ftfy removes the byte-order mark
    expect(cleanClipText('Fish &amp;amp; Chips')).toBe('fish & chips');
    expect(cleanClipText('\n\t ')).toBe('');
  });
});

// ---- Errors ---------------------------------------------------------------------------------------

describe('CLIP tokenizer errors', () => {
  const load = (name: string, content: unknown) => {
    const dir = writeFolder(`bad-${name}`, { 'tokenizer.json': content });
    return rejection(ClipTokenizer.fromTokenizerJson(path.join(dir, 'tokenizer.json')));
  };

  it('names a missing or unreadable tokenizer.json', async () => {
    const missing = path.join(tmp, 'nowhere', 'tokenizer.json');
    const error = await rejection(ClipTokenizer.fromTokenizerJson(missing));
    expect(error.code).toBe('TOKENIZER_INVALID');
    expect(error.message).toBe(`tokenizer file ${missing}: cannot read the file (no such file)`);
    const dir = writeFolder('is-a-dir', {});
    expect((await rejection(ClipTokenizer.fromTokenizerJson(dir))).message).toContain('it is a directory');
  });

  it.each([
    ['not JSON', '{"model": ', 'expected JSON, found a parse error'],
    ['an array', [], 'expected a JSON object, found an array'],
    ['no model', {}, 'expected "model" to be an object, found undefined'],
    [
      'Unigram',
      { model: { type: 'Unigram', vocab: [] } },
      'expected a BPE model (CLIP), found model.type "Unigram"',
    ],
    ['no vocab', { model: { type: 'BPE', merges: [] } }, 'expected model.vocab to be an object'],
    [
      'no suffix',
      { model: { type: 'BPE', vocab: {}, merges: [] } },
      'expected model.end_of_word_suffix (CLIP\'s "</w>"), found undefined',
    ],
    [
      'bad merge',
      { model: { type: 'BPE', vocab: {}, merges: ['a b c'], end_of_word_suffix: '</w>' } },
      'model.merges[0]: expected "left right" or [left, right], found "a b c"',
    ],
    [
      'merge out of vocabulary',
      { model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: ['a b'], end_of_word_suffix: '</w>' } },
      'model.merges[0]: token "ab" is not in model.vocab',
    ],
    [
      'bad id',
      { model: { type: 'BPE', vocab: { a: -1 }, merges: [], end_of_word_suffix: '</w>' } },
      'model.vocab["a"]: expected an integer id ≥ 0, found number -1',
    ],
    [
      'not byte-level',
      {
        pre_tokenizer: { type: 'Whitespace' },
        model: { type: 'BPE', vocab: {}, merges: [], end_of_word_suffix: '</w>' },
      },
      'expected a ByteLevel pre-tokenizer',
    ],
    [
      'no BOS',
      { model: { type: 'BPE', vocab: { '<|endoftext|>': 1 }, merges: [], end_of_word_suffix: '</w>' } },
      'expected a start-of-text token (post_processor, or "<|startoftext|>" in added_tokens or model.vocab), found none',
    ],
  ])('rejects a tokenizer.json with %s', async (name, content, message) => {
    const error = await load(name.replace(/\W/g, '-'), content);
    expect(error.code).toBe('TOKENIZER_INVALID');
    expect(error.message).toContain('tokenizer.json: ');
    expect(error.message).toContain(message);
  });

  it('rejects a tokenizer_config.json whose pad_token is unknown', async () => {
    const dir = writeFolder('bad-config', {
      'tokenizer.json': tinyTokenizer('roberta'),
      'tokenizer_config.json': { pad_token: '<pad>' },
    });
    const error = await rejection(ClipTokenizer.fromTokenizerJson(path.join(dir, 'tokenizer.json')));
    expect(error.code).toBe('TOKENIZER_INVALID');
    expect(error.message).toBe(
      `tokenizer file ${path.join(dir, 'tokenizer_config.json')}: pad_token "<pad>" is not in the tokenizer.json beside it`,
    );
  });

  it('rejects a context length below 2', async () => {
    const dir = writeFolder('tiny-ctx', { 'tokenizer.json': tinyTokenizer('roberta') });
    const error = await rejection(
      ClipTokenizer.fromTokenizerJson(path.join(dir, 'tokenizer.json'), { contextLength: 1 }),
    );
    expect(error.code).toBe('TOKENIZER_OPTIONS_INVALID');
    expect(error.message).toContain('contextLength must be an integer ≥ 2 (room for BOS and EOS), found 1');
  });

  it('names a missing, non-gzip or short OpenAI vocabulary', async () => {
    const missing = path.join(tmp, 'nowhere.txt.gz');
    const error = await rejection(ClipTokenizer.fromOpenAiVocab(missing));
    expect(error.code).toBe('TOKENIZER_INVALID');
    expect(error.message).toBe(`CLIP vocabulary ${missing}: cannot read the file (no such file)`);

    const dir = writeFolder('bad-gz', { 'plain.txt.gz': 'not gzip\n' });
    const plain = await rejection(ClipTokenizer.fromOpenAiVocab(path.join(dir, 'plain.txt.gz')));
    expect(plain.code).toBe('TOKENIZER_INVALID');
    expect(plain.message).toContain('plain.txt.gz: expected a gzip file, found ');

    const shortFile = path.join(dir, 'short.txt.gz');
    writeFileSync(shortFile, gzipSync('#version: 0.2\ni n\nt h\n'));
    const short = await rejection(ClipTokenizer.fromOpenAiVocab(shortFile));
    expect(short.code).toBe('TOKENIZER_INVALID');
    expect(short.message).toBe(
      `CLIP vocabulary ${shortFile}: expected a header line and 48894 merge lines, found 4 line(s)`,
    );
  });
});
