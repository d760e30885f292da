/**
 * Builds a small `tokenizer.json` in the exact shape Hugging Face writes for CLIP (normalizer NFC +
 * whitespace collapse + lowercase, CLIP's split regex then byte-level, BPE with the `</w>` end-of-word
 * suffix, RoBERTa-style post-processor adding `<|startoftext|>` … `<|endoftext|>`), whose merges make
 * each given word a single token. Any other text still tokenizes: it falls back to the 512 byte-level
 * symbols (with and without `</w>`) that every CLIP vocabulary starts with.
 *
 * Ids follow CLIP's layout: 0-255 the byte alphabet, 256-511 the same with `</w>`, then merge results
 * in merge order, and the special tokens at CLIP's own ids 49406 and 49407 (so code that hard-codes
 * them, or pools at argmax(input_ids) because EOS is the largest id, still works). Pure: no I/O.
 */
import { ReelError } from '@reel/infra';
import { baseTokens, clipTokenizerJson, END_OF_WORD, OPENAI_BOS, OPENAI_EOS } from '../clip/openai-vocab.ts';
import { ModelErrorCode } from '../errors.ts';

/** CLIP's `<|startoftext|>` id. */
export const CLIP_BOS_ID = 49406;
/** CLIP's `<|endoftext|>` id (also its padding and unknown token). */
export const CLIP_EOS_ID = 49407;
/** CLIP's context length in tokens, BOS and EOS included. */
export const CLIP_CONTEXT_LENGTH = 77;

/** A built tokenizer: the `tokenizer.json` object plus the id each word encodes to. */
export interface SyntheticTokenizer {
  /** The `tokenizer.json` content, ready for `JSON.stringify`. */
  json: Record<string, unknown>;
  /** Each input word → its single token id. */
  wordIds: Map<string, number>;
  /** One past the largest non-special id: ids below this are bytes, merges and words. */
  regularIdCount: number;
}

/** Reference BPE: repeatedly merge the adjacent pair of lowest rank (leftmost on ties). */
function applyMerges(symbols: string[], ranks: Map<string, number>): string[] {
  const word = [...symbols];
  for (;;) {
    let best = -1;
    let bestRank = Number.POSITIVE_INFINITY;
    for (let i = 0; i + 1 < word.length; i++) {
      const rank = ranks.get(`${word[i]} ${word[i + 1]}`);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return word;
    word.splice(best, 2, `${word[best]}${word[best + 1]}`);
  }
}

/**
 * Builds the tokenizer for `words` (lowercase ASCII letters, no duplicates). Merges are added word by
 * word, each new merge ranked last, so later words never change how earlier ones merge.
 */
export function buildSyntheticTokenizer(words: readonly string[]): SyntheticTokenizer {
  const alphabet = baseTokens();
  const vocab = new Map<string, number>();
  for (const char of alphabet) vocab.set(char, vocab.size);
  for (const char of alphabet) vocab.set(`${char}${END_OF_WORD}`, vocab.size);

  const merges: string[] = [];
  const ranks = new Map<string, number>();
  const wordIds = new Map<string, number>();
  for (const word of words) {
    if (!/^[a-z]+$/.test(word) || wordIds.has(word)) {
      throw new ReelError(
        ModelErrorCode.SYNTHETIC_MODEL_INVALID,
        `synthetic tokenizer: expected distinct lowercase ASCII words, found "${word}"`,
      );
    }
    const symbols = Array.from(word);
    symbols[symbols.length - 1] += END_OF_WORD;
    let pieces = applyMerges(symbols, ranks);
    while (pieces.length > 1) {
      const [left, right] = pieces as [string, string];
      const pair = `${left} ${right}`;
      ranks.set(pair, merges.length);
      merges.push(pair);
      if (!vocab.has(`${left}${right}`)) vocab.set(`${left}${right}`, vocab.size);
      pieces = applyMerges(symbols, ranks);
    }
    wordIds.set(word, vocab.get(pieces[0]!)!);
  }
  const regularIdCount = vocab.size;
  vocab.set(OPENAI_BOS, CLIP_BOS_ID);
  vocab.set(OPENAI_EOS, CLIP_EOS_ID);

  const json = clipTokenizerJson({
    vocab: Object.fromEntries(vocab),
    merges,
    bosId: CLIP_BOS_ID,
    eosId: CLIP_EOS_ID,
  });
  return { json, wordIds, regularIdCount };
}
