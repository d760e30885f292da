/**
 * CLIP's text tokenizer: byte-level BPE giving the same ids as OpenAI's reference
 * (`simple_tokenizer.py` in openai/CLIP), loaded from a Hugging Face / immich `tokenizer.json` or from
 * OpenAI's `bpe_simple_vocab_16e6.txt.gz`.
 *
 * Pipeline, as in the reference: `ftfy.fix_text`'s default fixes that apply to typed text (curly quotes,
 * ligatures, full-width forms, C1 controls, control characters, NFC; see `ftfy.ts`) → `html.unescape` twice → whitespace runs (Python's `\s`) to one space, stripped →
 * lowercase → CLIP's word regex → UTF-8 bytes to GPT-2's byte alphabet → BPE with `</w>` on the last
 * symbol of each word → `[BOS, …, EOS]`. Longer texts keep BOS, the first `contextLength - 2` tokens
 * and EOS last.
 *
 * Why not `@huggingface/tokenizers`' `Tokenizer`: matching OpenAI needs every stage but its BPE loop
 * replaced. Its normalizer does no HTML unescaping and uses JavaScript's `\s` (which counts U+FEFF and
 * not U+001C-U+001F, unlike Python); it cuts added tokens out before the word regex (`<<|endoftext|>`
 * differs); it neither truncates nor pads. What would remain is its merge loop, which breaks ties with
 * float scores and looks pairs up via `JSON.stringify` (and is 3-15× slower here, see the benchmark).
 * The BPE below is the reference's loop (merge every occurrence of the lowest-ranked pair, repeat) on
 * token ids, with a word cache, and serves both sources: the OpenAI file becomes the same tables
 * rather than a fake `tokenizer.json`. The tests check both sources against an independent port of the
 * reference and against `@huggingface/tokenizers` on ordinary text.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from '../errors.ts';
import { fixText } from './ftfy.ts';
import { htmlUnescape } from './html-unescape.ts';
import {
  bytesToUnicode,
  describeIoError,
  END_OF_WORD,
  OPENAI_BOS,
  OPENAI_EOS,
  readOpenAiVocab,
} from './openai-vocab.ts';

/** CLIP's context length in tokens, BOS and EOS included. */
export const DEFAULT_CONTEXT_LENGTH = 77;

/** Options shared by both loaders. */
export interface ClipTokenizerOptions {
  /** Maximum ids per text, BOS and EOS included (CLIP: 77, the text model's position count). ≥ 2. */
  contextLength?: number;
  /** Id used to pad batches; overrides what the files say. */
  padId?: number;
}

/** Options of {@link ClipTokenizer.encodeBatch}. */
export interface EncodeBatchOptions {
  /** Pad every row to `contextLength` instead of to the longest text (for models with a fixed length). */
  padToContextLength?: boolean;
}

/** A tokenized batch in the layout ONNX CLIP text models take (int64 `input_ids`, `attention_mask`). */
export interface ClipTextBatch {
  /** Token ids, row-major `[batchSize, length]`, rows padded with `padId`. */
  inputIds: BigInt64Array;
  /** `[batchSize, length]`: 1n for real tokens (BOS and EOS included), 0n for padding. */
  attentionMask: BigInt64Array;
  batchSize: number;
  /** Row length: the longest row in the batch, or `contextLength` when asked. 0 for an empty batch. */
  length: number;
}

/**
 * Token rows as one int64 batch `[rows, length]` with its attention mask: each row followed by `padId`,
 * `length` the longest row or `minLength` if longer.
 */
export function padBatch(rows: readonly number[][], padId: number, minLength = 0): ClipTextBatch {
  let length = rows.length > 0 ? minLength : 0;
  for (const row of rows) if (row.length > length) length = row.length;
  const inputIds = new BigInt64Array(rows.length * length).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(rows.length * length);
  rows.forEach((row, r) => {
    const offset = r * length;
    for (let i = 0; i < row.length; i++) {
      inputIds[offset + i] = BigInt(row[i]!);
      attentionMask[offset + i] = 1n;
    }
  });
  return { inputIds, attentionMask, batchSize: rows.length, length };
}

/** Python's `str.isspace()` set, which `re`'s `\s` and `str.strip()` use in OpenAI's `whitespace_clean`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python's \s includes U+001C-U+001F.
const PYTHON_SPACE_RUN = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

/**
 * CLIP's word regex, run by the reference with the `regex` module and IGNORECASE on lowercased text.
 * Equivalent here (checked code point by code point against Python's `regex`): only the literal
 * alternatives are case-insensitive (so `'ſ` still counts as `'s`); `\s` is the White_Space property;
 * U+0345, which case-folds to a letter, matches no alternative there and is dropped, so it is excluded.
 */
const WORD =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: U+0345 is excluded on its own, on purpose.
  /(?i:<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d)|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}\u0345]+/gu;

/** Cached words before the cache is emptied: bounds memory on endless streams of new words. */
const CACHE_LIMIT = 100_000;

const utf8 = new TextEncoder();

/**
 * The text exactly as CLIP's word regex sees it: ftfy's fixes, HTML-unescaped twice, whitespace collapsed and
 * stripped, lowercased. Lone surrogates become U+FFFD first (Python could not encode them at all).
 */
export function cleanClipText(text: string): string {
  let clean = htmlUnescape(htmlUnescape(fixText(text.toWellFormed())));
  clean = clean.replace(PYTHON_SPACE_RUN, ' ');
  if (clean.startsWith(' ')) clean = clean.slice(1);
  if (clean.endsWith(' ')) clean = clean.slice(0, -1);
  return clean.toLowerCase();
}

/**
 * What both loaders produce. BPE runs on ids rather than strings (same result: every symbol and every
 * merge's parts and result are vocabulary tokens, which the loaders check) because it is faster.
 */
interface BpeTables {
  /** Token string → id, added tokens included. */
  vocab: Map<string, number>;
  /** `ranks[leftId]?.get(rightId)`: the merge's priority (lower merges first). */
  ranks: Array<Map<number, number> | undefined>;
  /** Merge priority → id of the merged token. */
  mergedIds: number[];
  /** Byte → id of its byte-alphabet symbol, -1 if the vocabulary lacks it. */
  byteIds: Int32Array;
  /** The same with the end-of-word suffix (`</w>`), for the last byte of a word. */
  wordEndByteIds: Int32Array;
  /** Whole regex matches that are special tokens (`<|startoftext|>`, `<|endoftext|>`) → id. */
  specials: Map<string, number>;
  /** Id for a BPE result missing from the vocabulary; such results are dropped when undefined. */
  unkId: number | undefined;
  bosId: number;
  eosId: number;
  /** Pad id the files ask for (before `options.padId`). */
  padId: number;
}

/**
 * CLIP's BPE tokenizer. Build with {@link ClipTokenizer.fromTokenizerJson} or
 * {@link ClipTokenizer.fromOpenAiVocab}; both give the reference's ids for the same vocabulary.
 */
export class ClipTokenizer {
  /** Maximum ids per text, BOS and EOS included. */
  readonly contextLength: number;
  /** `<|startoftext|>` (49406 in CLIP's vocabulary). */
  readonly bosId: number;
  /** `<|endoftext|>` (49407 in CLIP's vocabulary); always the last id of an encoded text. */
  readonly eosId: number;
  /** Fills `inputIds` beyond each text in a batch. */
  readonly padId: number;
  /** One more than the largest id the vocabulary holds (49408 for CLIP): the embedding rows needed. */
  readonly vocabSize: number;

  readonly #tables: BpeTables;
  readonly #cache = new Map<string, readonly number[]>();

  private constructor(tables: BpeTables, options: ClipTokenizerOptions, source: string) {
    const contextLength = options.contextLength ?? DEFAULT_CONTEXT_LENGTH;
    if (!Number.isSafeInteger(contextLength) || contextLength < 2) {
      throw new ReelError(
        ModelErrorCode.TOKENIZER_OPTIONS_INVALID,
        `tokenizer ${source}: contextLength must be an integer ≥ 2 (room for BOS and EOS), found ${contextLength}`,
      );
    }
    const padId = options.padId ?? tables.padId;
    if (!Number.isSafeInteger(padId) || padId < 0) {
      throw new ReelError(
        ModelErrorCode.TOKENIZER_OPTIONS_INVALID,
        `tokenizer ${source}: padId must be an integer ≥ 0, found ${padId}`,
      );
    }
    this.#tables = tables;
    this.contextLength = contextLength;
    this.bosId = tables.bosId;
    this.eosId = tables.eosId;
    this.padId = padId;
    let maxId = Math.max(tables.bosId, tables.eosId);
    for (const id of tables.vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
  }

  /**
   * Loads a Hugging Face-format `tokenizer.json` (HF exports: `tokenizer.json`; immich:
   * `textual/tokenizer.json`). BOS and EOS come from its post-processor (else its added tokens or
   * vocabulary); the pad id from `options.padId`, else its `padding`, else the `pad_token` of a
   * `tokenizer_config.json` beside it (as immich does), else EOS (as HF's CLIP configs do).
   * @throws ReelError `TOKENIZER_INVALID` naming the file and the problem: missing, unreadable, not JSON,
   *   not a byte-level BPE model with an end-of-word suffix, no BOS/EOS.
   */
  static async fromTokenizerJson(
    file: string,
    options: ClipTokenizerOptions = {},
    /** The file's content already parsed (a caller that read it to tell the tokenizer's kind). */
    parsed?: unknown,
  ): Promise<ClipTokenizer> {
    const json = parsed !== undefined ? parsed : await readJson(file, true);
    const tables = parseTokenizerJson(json, file);
    if (options.padId === undefined && !hasPadding(json)) {
      const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
      const config = await readJson(configFile, false);
      if (config !== undefined) tables.padId = padFromConfig(config, configFile, tables);
    }
    return new ClipTokenizer(tables, options, file);
  }

  /**
   * Loads OpenAI's `bpe_simple_vocab_16e6.txt.gz`: BOS 49406, EOS 49407, pad 0 unless `options.padId`
   * says otherwise (OpenAI's `clip.tokenize` pads with zeros).
   * @throws ReelError `TOKENIZER_INVALID` naming the file: missing, not gzip, not UTF-8, too few merges.
   */
  static async fromOpenAiVocab(gzFile: string, options: ClipTokenizerOptions = {}): Promise<ClipTokenizer> {
    const { tokens, merges } = await readOpenAiVocab(gzFile);
    const vocab = new Map<string, number>();
    tokens.forEach((token, id) => {
      vocab.set(token, id);
    });
    const bosId = vocab.get(OPENAI_BOS)!;
    const eosId = vocab.get(OPENAI_EOS)!;
    const tables: BpeTables = {
      vocab,
      ...bpeTables(vocab, merges, END_OF_WORD, (index, token) => {
        throw new Error(`unreachable: OpenAI merge ${index} makes "${token}", which its vocabulary lacks`);
      }),
      specials: new Map([
        [OPENAI_BOS, bosId],
        [OPENAI_EOS, eosId],
      ]),
      unkId: undefined,
      bosId,
      eosId,
      padId: 0,
    };
    return new ClipTokenizer(tables, options, gzFile);
  }

  /**
   * Token ids of one text: `[bosId, …, eosId]`, at most `contextLength` long, no padding. Text beyond
   * the limit is not tokenized at all.
   */
  encode(text: string): number[] {
    const budget = this.contextLength - 2;
    const ids = [this.bosId];
    if (budget > 0) {
      words: for (const match of cleanClipText(text).matchAll(WORD)) {
        for (const id of this.#wordIds(match[0])) {
          ids.push(id);
          if (ids.length > budget) break words;
        }
      }
    }
    ids.push(this.eosId);
    return ids;
  }

  /** Ids the text would take without truncation, BOS and EOS included (compare with `contextLength`). */
  countTokens(text: string): number {
    let count = 2;
    for (const match of cleanClipText(text).matchAll(WORD)) count += this.#wordIds(match[0]).length;
    return count;
  }

  /**
   * Tokenizes texts into one int64 batch `[texts.length, length]`, each row `encode(text)` followed by
   * `padId`, with the matching attention mask. `length` is the longest row unless
   * `options.padToContextLength`.
   */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): ClipTextBatch {
    return padBatch(
      texts.map((text) => this.encode(text)),
      this.padId,
      options.padToContextLength ? this.contextLength : 0,
    );
  }

  /** Ids of one regex match: a special token, or BPE over its UTF-8 bytes. */
  #wordIds(word: string): readonly number[] {
    const tables = this.#tables;
    const special = tables.specials.get(word);
    if (special !== undefined) return [special];
    const cached = this.#cache.get(word);
    if (cached !== undefined) return cached;

    const bytes = utf8.encode(word);
    const symbols = Array.from(bytes, (byte) => tables.byteIds[byte]!);
    symbols[symbols.length - 1] = tables.wordEndByteIds[bytes[bytes.length - 1]!]!;
    const ids: number[] = [];
    for (const id of bpe(symbols, tables)) {
      if (id >= 0) ids.push(id);
      else if (tables.unkId !== undefined) ids.push(tables.unkId);
    }
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(word, ids);
    return ids;
  }
}

/**
 * The reference's merge loop on symbol ids: find the adjacent pair with the lowest rank, merge every
 * occurrence of it left to right, repeat until no adjacent pair has a rank. Ids < 0 (bytes missing
 * from the vocabulary) never merge.
 */
function bpe(symbols: number[], tables: BpeTables): number[] {
  let word = symbols;
  while (word.length > 1) {
    let bestRank = Number.POSITIVE_INFINITY;
    let first = -1;
    let second = -1;
    for (let i = 0; i + 1 < word.length; i++) {
      const left = word[i]!;
      const rank = left < 0 ? undefined : tables.ranks[left]?.get(word[i + 1]!);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        first = left;
        second = word[i + 1]!;
      }
    }
    if (first < 0) break;
    const mergedId = tables.mergedIds[bestRank]!;
    const merged: number[] = [];
    for (let i = 0; i < word.length; ) {
      if (i + 1 < word.length && word[i] === first && word[i + 1] === second) {
        merged.push(mergedId);
        i += 2;
      } else {
        merged.push(word[i]!);
        i += 1;
      }
    }
    word = merged;
  }
  return word;
}

/**
 * Rank and byte tables over a vocabulary. A merge listed twice keeps its later rank, as the reference's
 * dict does.
 * @param onMissing throws for a merge whose left, right or merged token is not in `vocab`.
 */
function bpeTables(
  vocab: ReadonlyMap<string, number>,
  merges: ReadonlyArray<readonly [string, string]>,
  suffix: string,
  onMissing: (index: number, token: string) => never,
): Pick<BpeTables, 'ranks' | 'mergedIds' | 'byteIds' | 'wordEndByteIds'> {
  const ranks: Array<Map<number, number> | undefined> = [];
  const mergedIds: number[] = [];
  merges.forEach(([left, right], rank) => {
    const leftId = vocab.get(left) ?? onMissing(rank, left);
    const rightId = vocab.get(right) ?? onMissing(rank, right);
    mergedIds.push(vocab.get(left + right) ?? onMissing(rank, left + right));
    let byRight = ranks[leftId];
    if (!byRight) {
      byRight = new Map();
      ranks[leftId] = byRight;
    }
    byRight.set(rightId, rank);
  });
  const alphabet = bytesToUnicode();
  return {
    ranks,
    mergedIds,
    byteIds: Int32Array.from(alphabet, (char) => vocab.get(char) ?? -1),
    wordEndByteIds: Int32Array.from(alphabet, (char) => vocab.get(char + suffix) ?? -1),
  };
}

// ---- tokenizer.json -------------------------------------------------------------------------------

function invalid(file: string, problem: string, cause?: unknown): ReelError {
  return new ReelError(ModelErrorCode.TOKENIZER_INVALID, `tokenizer file ${file}: ${problem}`, {
    details: { file },
    cause,
  });
}

/** Parsed JSON; `undefined` when the file is absent and not `required`. */
async function readJson(file: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalid(file, `cannot read the file (${describeIoError(error)})`, error);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(file, `expected JSON, found a parse error (${(error as Error).message})`, error);
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function hasPadding(json: unknown): boolean {
  return isObject(json) && isObject(json.padding);
}

/** True if the pre-tokenizer (or one inside a Sequence) is ByteLevel. */
function hasByteLevel(pre: unknown): boolean {
  if (!isObject(pre)) return false;
  if (pre.type === 'ByteLevel') return true;
  return Array.isArray(pre.pretokenizers) && pre.pretokenizers.some(hasByteLevel);
}

/** `[bos, eos]` token names or ids the post-processor adds around a single text, where it says. */
function postProcessorSpecials(post: unknown): { bos?: unknown; eos?: unknown } {
  if (!isObject(post)) return {};
  if (post.type === 'RobertaProcessing' || post.type === 'BertProcessing') {
    const cls = Array.isArray(post.cls) ? post.cls : [];
    const sep = Array.isArray(post.sep) ? post.sep : [];
    return { bos: cls[1] ?? cls[0], eos: sep[1] ?? sep[0] };
  }
  if (post.type === 'TemplateProcessing' && Array.isArray(post.single)) {
    const single: unknown[] = post.single;
    const at = single.findIndex((piece) => isObject(piece) && 'Sequence' in piece);
    const specialAt = (index: number): unknown => {
      const piece = single[index];
      if (!isObject(piece) || !isObject(piece.SpecialToken)) return undefined;
      const name = piece.SpecialToken.id;
      const entry = isObject(post.special_tokens) ? post.special_tokens[String(name)] : undefined;
      const ids = isObject(entry) && Array.isArray(entry.ids) ? entry.ids : [];
      return ids.length === 1 ? ids[0] : name;
    };
    return at < 0 ? {} : { bos: specialAt(at - 1), eos: specialAt(at + 1) };
  }
  if (post.type === 'Sequence' && Array.isArray(post.processors)) {
    const found = post.processors.map(postProcessorSpecials);
    return {
      bos: found.find((f) => f.bos !== undefined)?.bos,
      eos: found.find((f) => f.eos !== undefined)?.eos,
    };
  }
  return {};
}

/** Validates a parsed `tokenizer.json` and builds the BPE tables (pad id: its `padding`, else EOS). */
function parseTokenizerJson(json: unknown, file: string): BpeTables {
  if (!isObject(json)) throw invalid(file, `expected a JSON object, found ${describe(json)}`);
  const model = json.model;
  if (!isObject(model)) throw invalid(file, `expected "model" to be an object, found ${describe(model)}`);
  if (model.type !== undefined && model.type !== 'BPE') {
    throw invalid(file, `expected a BPE model (CLIP), found model.type ${describe(model.type)}`);
  }
  if (!isObject(model.vocab)) {
    throw invalid(file, `expected model.vocab to be an object of token → id, found ${describe(model.vocab)}`);
  }
  if (!Array.isArray(model.merges)) {
    throw invalid(file, `expected model.merges to be an array, found ${describe(model.merges)}`);
  }
  if (typeof model.end_of_word_suffix !== 'string' || model.end_of_word_suffix === '') {
    throw invalid(
      file,
      `expected model.end_of_word_suffix (CLIP's "</w>"), found ${describe(model.end_of_word_suffix)}`,
    );
  }
  if (json.pre_tokenizer != null && !hasByteLevel(json.pre_tokenizer)) {
    throw invalid(file, 'expected a ByteLevel pre-tokenizer (CLIP is byte-level BPE), found none');
  }

  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!isId(id))
      throw invalid(file, `model.vocab["${token}"]: expected an integer id ≥ 0, found ${describe(id)}`);
    vocab.set(token, id);
  }
  const merges = model.merges.map((merge: unknown, index: number): [string, string] => {
    const pair = typeof merge === 'string' ? merge.split(' ') : merge;
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      pair.some((part) => typeof part !== 'string' || part === '')
    ) {
      throw invalid(
        file,
        `model.merges[${index}]: expected "left right" or [left, right], found ${describe(merge)}`,
      );
    }
    return [pair[0], pair[1]];
  });
  const tables = bpeTables(vocab, merges, model.end_of_word_suffix, (index, token) => {
    throw invalid(file, `model.merges[${index}]: token "${token}" is not in model.vocab`);
  });

  // Added tokens override the vocabulary, as in Hugging Face's tokenizers.
  const added = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  const addedIds = new Map<string, number>();
  added.forEach((token: unknown, index: number) => {
    if (!isObject(token) || typeof token.content !== 'string' || !isId(token.id)) {
      throw invalid(file, `added_tokens[${index}]: expected {content, id}, found ${describe(token)}`);
    }
    addedIds.set(token.content, token.id);
  });
  const idOf = (token: string): number | undefined => addedIds.get(token) ?? vocab.get(token);
  for (const [token, id] of addedIds) vocab.set(token, id);

  const fromPost = postProcessorSpecials(json.post_processor);
  const special = (found: unknown, fallback: string, role: string): number => {
    const id = isId(found) ? found : typeof found === 'string' ? idOf(found) : idOf(fallback);
    if (id === undefined) {
      throw invalid(
        file,
        `expected a ${role} token (post_processor, or "${fallback}" in added_tokens or model.vocab), found none`,
      );
    }
    return id;
  };
  const bosId = special(fromPost.bos, OPENAI_BOS, 'start-of-text');
  const eosId = special(fromPost.eos, OPENAI_EOS, 'end-of-text');

  const specials = new Map<string, number>();
  for (const name of [OPENAI_BOS, OPENAI_EOS]) {
    const id = idOf(name);
    if (id !== undefined) specials.set(name, id);
  }

  const unkId = typeof model.unk_token === 'string' ? idOf(model.unk_token) : undefined;

  let padId = eosId;
  const padding = json.padding;
  if (isObject(padding)) {
    const fromToken = typeof padding.pad_token === 'string' ? idOf(padding.pad_token) : undefined;
    const id = isId(padding.pad_id) ? padding.pad_id : fromToken;
    if (id === undefined) throw invalid(file, `padding: expected pad_id or a known pad_token, found neither`);
    padId = id;
  }

  return {
    vocab,
    ...tables,
    specials,
    unkId,
    bosId,
    eosId,
    padId,
  };
}

/** `pad_token` of a `tokenizer_config.json` (a string or `{content}`), as an id of `tables`. */
function padFromConfig(config: unknown, file: string, tables: BpeTables): number {
  if (!isObject(config)) throw invalid(file, `expected a JSON object, found ${describe(config)}`);
  const pad = config.pad_token;
  if (pad === undefined || pad === null) return tables.padId;
  const name = isObject(pad) ? pad.content : pad;
  if (typeof name !== 'string')
    throw invalid(file, `expected pad_token to be a string, found ${describe(pad)}`);
  const id = tables.vocab.get(name);
  if (id === undefined) {
    throw invalid(file, `pad_token "${name}" is not in the tokenizer.json beside it`);
  }
  return id;
}
