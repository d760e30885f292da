/**
 * The tokenizer of a model folder, whichever kind its `tokenizer.json` is: CLIP's byte-level BPE with
 * `</w>` goes to {@link ClipTokenizer} (exact to OpenAI's ids, its own cleaning), every other kind to
 * {@link HfTokenizer}. Both give the batch layout the text encoders take.
 */
import { readFile } from 'node:fs/promises';
import { type ClipTextBatch, ClipTokenizer, type EncodeBatchOptions } from '../clip/tokenizer.ts';
import { HfTokenizer, type TextCleaning } from './hf-tokenizer.ts';

/** What the model and the search service need of a tokenizer. */
export interface TextTokenizer {
  /** Maximum ids per text, special tokens included. */
  readonly contextLength: number;
  readonly padId: number;
  /** Ids of one text, special tokens included, at most `contextLength`. */
  encode(text: string): number[];
  /** Ids the text would take without truncation, special tokens included. */
  countTokens(text: string): number;
  encodeBatch(texts: readonly string[], options?: EncodeBatchOptions): ClipTextBatch;
}

export interface LoadTextTokenizerOptions {
  contextLength: number;
  /** Cleaning before a non-CLIP tokenizer (CLIP's tokenizer always cleans as OpenAI's does). */
  cleaning?: TextCleaning;
}

/** True for CLIP's shape: a BPE model with an end-of-word suffix (`</w>`). */
function isClipBpe(json: unknown): boolean {
  if (typeof json !== 'object' || json === null) return true; // let ClipTokenizer name the problem
  const model = (json as { model?: { type?: unknown; end_of_word_suffix?: unknown } }).model;
  if (typeof model !== 'object' || model === null) return true;
  const suffix = model.end_of_word_suffix;
  return (model.type === undefined || model.type === 'BPE') && typeof suffix === 'string' && suffix !== '';
}

/**
 * Loads `file` with the tokenizer its model kind needs.
 * @throws ReelError `TOKENIZER_INVALID` naming the file and the problem.
 */
export async function loadTextTokenizer(
  file: string,
  options: LoadTextTokenizerOptions,
): Promise<ClipTokenizer | HfTokenizer> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    // Unreadable or not JSON: ClipTokenizer's loader reports it with the file's name.
    return ClipTokenizer.fromTokenizerJson(file, { contextLength: options.contextLength });
  }
  // Parsed once here (a multilingual tokenizer.json is tens of megabytes), handed to the loader.
  if (isClipBpe(json))
    return ClipTokenizer.fromTokenizerJson(file, { contextLength: options.contextLength }, json);
  return HfTokenizer.load(
    file,
    { contextLength: options.contextLength, cleaning: options.cleaning },
    json as Record<string, unknown>,
  );
}
