/**
 * Every `tokenizer.json` that is not CLIP's byte-level BPE with `</w>`: SentencePiece Unigram (SigLIP,
 * XLM-R, NLLB), WordPiece (LaBSE, multilingual BERT), BPE without an end-of-word suffix (Gemma/SigLIP2),
 * with the normalizers, pre-tokenizers and post-processors those files name.
 *
 * The model, normalizer, pre-tokenizer and post-processor are `@huggingface/tokenizers` (Transformers.js's
 * own implementation of the Rust crate's components). What it does not do is added here, as the Rust
 * crate does it when a model's config asks: truncation that keeps the post-processor's special tokens
 * (`[CLS] … [SEP]`, `… </s>`), padding to the longest row or to the context length, and the text cleaning
 * immich applies before tokenizing (whitespace collapse; `canonicalize`: ASCII punctuation removed and
 * lowercased, as open_clip's SigLIP tokenizer does).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ReelError } from '@reel/infra';
import { type ClipTextBatch, type EncodeBatchOptions, padBatch } from '../clip/tokenizer.ts';
import { ModelErrorCode } from '../errors.ts';

/** Text cleaning before tokenizing: none, immich's whitespace collapse, or open_clip's `canonicalize`. */
export type TextCleaning = 'none' | 'whitespace' | 'canonicalize';

export interface HfTokenizerOptions {
  /** Maximum ids per text, special tokens included. ≥ 2. */
  contextLength: number;
  /** Pad id; default: the file's `padding`, else `pad_token` of `tokenizer_config.json`, else 0. */
  padId?: number;
  cleaning?: TextCleaning;
}

/** Python's `string.punctuation`, which open_clip's and immich's `canonicalize` remove. */
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
/** Python's `str.split()` separators (whitespace runs), joined back with one space. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python's str.split() splits on U+001C-U+001F.
const PYTHON_SPACE_RUN = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

/** The text as the model's own pipeline cleans it before the tokenizer sees it. */
export function cleanText(text: string, cleaning: TextCleaning): string {
  if (cleaning === 'none') return text;
  let clean = text.toWellFormed().replace(PYTHON_SPACE_RUN, ' ').trim();
  if (cleaning === 'canonicalize') {
    clean = clean.replace(ASCII_PUNCTUATION, '').toLowerCase().replace(/ {2,}/g, ' ').trim();
  }
  return clean;
}

function invalid(file: string, problem: string, cause?: unknown): ReelError {
  return new ReelError(ModelErrorCode.TOKENIZER_INVALID, `tokenizer file ${file}: ${problem}`, {
    details: { file },
    cause,
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readJsonObject(file: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalid(file, `cannot be read (${(error as Error).message})`, error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `is not JSON (${(error as Error).message})`, error);
  }
  if (!isObject(json)) throw invalid(file, 'expected a JSON object');
  return json;
}

/** Tokenizer model types this loader accepts (the Rust crate's `model.type`). */
export const HF_TOKENIZER_MODELS = ['BPE', 'Unigram', 'WordPiece'] as const;

/** A `tokenizer.json` tokenizer with truncation and padding, in the batch layout the text encoders take. */
export class HfTokenizer {
  /** `Unigram`, `WordPiece` or `BPE`: what the file's model is. */
  readonly kind: string;
  readonly contextLength: number;
  readonly padId: number;
  readonly cleaning: TextCleaning;
  readonly #tokenizer: Tokenizer;
  /** Special ids the post-processor puts before and after a text's own ids. */
  readonly #prefix: readonly number[];
  readonly #suffix: readonly number[];

  private constructor(
    tokenizer: Tokenizer,
    kind: string,
    options: { contextLength: number; padId: number; cleaning: TextCleaning },
  ) {
    this.#tokenizer = tokenizer;
    this.kind = kind;
    this.contextLength = options.contextLength;
    this.padId = options.padId;
    this.cleaning = options.cleaning;
    // What the post-processor adds, learned from one probe word rather than from each processor's
    // format: the ids with special tokens are the plain ids with a prefix and a suffix.
    const plain: number[] = tokenizer.encode('a', { add_special_tokens: false }).ids;
    const full: number[] = tokenizer.encode('a').ids;
    const at = full.findIndex((_, i) => plain.every((id, j) => full[i + j] === id));
    this.#prefix = at < 0 ? [] : full.slice(0, at);
    this.#suffix = at < 0 ? [] : full.slice(at + plain.length);
    if (this.#prefix.length + this.#suffix.length >= this.contextLength) {
      throw new ReelError(
        ModelErrorCode.TOKENIZER_OPTIONS_INVALID,
        `tokenizer: contextLength ${this.contextLength} leaves no room beside ${this.#prefix.length + this.#suffix.length} special tokens`,
      );
    }
  }

  /**
   * Loads `file` (a `tokenizer.json`) and the `tokenizer_config.json` beside it, if any.
   * @throws ReelError `TOKENIZER_INVALID` naming the file: unreadable, not JSON, a model type not in
   *   {@link HF_TOKENIZER_MODELS}, or a component `@huggingface/tokenizers` cannot build.
   */
  static async load(
    file: string,
    options: HfTokenizerOptions,
    /** The file's content already parsed (a caller that read it to tell the tokenizer's kind). */
    parsed?: Record<string, unknown>,
  ): Promise<HfTokenizer> {
    if (!Number.isSafeInteger(options.contextLength) || options.contextLength < 2) {
      throw new ReelError(
        ModelErrorCode.TOKENIZER_OPTIONS_INVALID,
        `tokenizer ${file}: contextLength must be an integer ≥ 2, found ${options.contextLength}`,
      );
    }
    const json = parsed ?? (await readJsonObject(file, true))!;
    const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
    const config = (await readJsonObject(configFile, false)) ?? {};
    const model = json.model;
    const kind = isObject(model) && typeof model.type === 'string' ? model.type : undefined;
    if (!kind || !(HF_TOKENIZER_MODELS as readonly string[]).includes(kind)) {
      throw invalid(
        file,
        `model type ${JSON.stringify(kind ?? null)} is not supported (supported: ${HF_TOKENIZER_MODELS.join(', ')})`,
      );
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json, config);
      tokenizer.encode('a');
    } catch (error) {
      throw invalid(file, `cannot be built (${(error as Error).message})`, error);
    }
    const padId = options.padId ?? padIdOf(json, config, tokenizer, file);
    return new HfTokenizer(tokenizer, kind, {
      contextLength: options.contextLength,
      padId,
      cleaning: options.cleaning ?? 'none',
    });
  }

  /** Ids of one text, special tokens included, cut to `contextLength` with the closing specials kept. */
  encode(text: string): number[] {
    const ids: number[] = this.#tokenizer.encode(cleanText(text, this.cleaning)).ids;
    if (ids.length <= this.contextLength) return ids;
    const room = this.contextLength - this.#prefix.length - this.#suffix.length;
    const inner = ids.slice(this.#prefix.length, ids.length - this.#suffix.length);
    return [...this.#prefix, ...inner.slice(0, room), ...this.#suffix];
  }

  /** Ids the text would take without truncation, special tokens included. */
  countTokens(text: string): number {
    return this.#tokenizer.encode(cleanText(text, this.cleaning)).ids.length;
  }

  /** As {@link ClipTokenizer.encodeBatch}: rows padded with `padId` to the longest or to `contextLength`. */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): ClipTextBatch {
    return padBatch(
      texts.map((text) => this.encode(text)),
      this.padId,
      options.padToContextLength ? this.contextLength : 0,
    );
  }
}

/** The pad id a file and its config ask for, as the Rust crate and immich read them; else 0. */
function padIdOf(
  json: Record<string, unknown>,
  config: Record<string, unknown>,
  tokenizer: Tokenizer,
  file: string,
): number {
  const padding = json.padding;
  if (isObject(padding) && Number.isSafeInteger(padding.pad_id)) return padding.pad_id as number;
  const token = isObject(config.pad_token) ? config.pad_token.content : config.pad_token;
  if (typeof token === 'string') {
    const id = tokenizer.token_to_id(token);
    if (id === undefined)
      throw invalid(file, `pad_token "${token}" of tokenizer_config.json is not in its vocabulary`);
    return id;
  }
  return 0;
}
