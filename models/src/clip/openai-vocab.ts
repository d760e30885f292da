/**
 * OpenAI's CLIP vocabulary file, `bpe_simple_vocab_16e6.txt.gz` (openai/CLIP), and the byte-level
 * alphabet it is written in. The file holds a header line and then merges, one `left right` pair a line
 * in priority order; CLIP uses lines 2 to 48,895. The vocabulary is not in the file: it is rebuilt here
 * exactly as `simple_tokenizer.py` does (256 byte characters, the same with `</w>`, one token per merge,
 * then `<|startoftext|>` = 49406 and `<|endoftext|>` = 49407).
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from '../errors.ts';

/** Merges CLIP reads from the file: `merges[1:49152-256-2+1]` in `simple_tokenizer.py`. */
export const OPENAI_MERGE_COUNT = 48_894;
export const OPENAI_BOS = '<|startoftext|>';
export const OPENAI_EOS = '<|endoftext|>';
/** CLIP marks the last symbol of every word with this suffix. */
export const END_OF_WORD = '</w>';

/** A byte-level BPE vocabulary: token strings by id, and merges by priority (index 0 merges first). */
export interface OpenAiVocab {
  /** `tokens[id]` is the token string; 49,408 entries for CLIP. */
  tokens: string[];
  merges: Array<[string, string]>;
}

let byteAlphabet: string[] | undefined;

/**
 * GPT-2's `bytes_to_unicode`: one printable character for each byte value, so BPE can work on strings.
 * Printable Latin-1 bytes stand for themselves; the other 68 bytes map to U+0100..U+0143 in byte order.
 * @returns an array of 256 one-character strings indexed by byte value.
 */
export function bytesToUnicode(): readonly string[] {
  if (byteAlphabet) return byteAlphabet;
  const alphabet = new Array<string>(256);
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
    alphabet[byte] = String.fromCodePoint(printable ? byte : next++);
  }
  byteAlphabet = alphabet;
  return alphabet;
}

/** The 256 base tokens in CLIP's id order: printable bytes first, then the remapped ones (ids 0-255). */
export function baseTokens(): string[] {
  const alphabet = bytesToUnicode();
  const printable: string[] = [];
  const remapped: string[] = [];
  for (const char of alphabet) (char.codePointAt(0)! < 256 ? printable : remapped).push(char);
  return [...printable, ...remapped];
}

/**
 * Builds CLIP's vocabulary from the text of `bpe_simple_vocab_16e6.txt` (already decompressed).
 * @param file named in error messages.
 */
export function parseOpenAiVocab(text: string, file: string): OpenAiVocab {
  const lines = text.split('\n');
  if (lines.length < OPENAI_MERGE_COUNT + 1) {
    throw invalid(
      file,
      `expected a header line and ${OPENAI_MERGE_COUNT} merge lines, found ${lines.length} line(s)`,
    );
  }
  const merges: Array<[string, string]> = [];
  for (let i = 1; i <= OPENAI_MERGE_COUNT; i++) {
    const parts = lines[i]!.trim().split(/\s+/);
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw invalid(file, `line ${i + 1}: expected a merge "left right", found ${JSON.stringify(lines[i])}`);
    }
    merges.push([parts[0]!, parts[1]!]);
  }
  const base = baseTokens();
  const tokens = [
    ...base,
    ...base.map((token) => token + END_OF_WORD),
    ...merges.map(([left, right]) => left + right),
    OPENAI_BOS,
    OPENAI_EOS,
  ];
  return { tokens, merges };
}

/**
 * Reads OpenAI's gzipped CLIP vocabulary (`bpe_simple_vocab_16e6.txt.gz`).
 * @throws ReelError `TOKENIZER_INVALID` naming the file when it is missing, not gzip, not UTF-8 or short.
 */
export async function readOpenAiVocab(gzFile: string): Promise<OpenAiVocab> {
  let compressed: Buffer;
  try {
    compressed = await readFile(gzFile);
  } catch (error) {
    throw invalid(gzFile, `cannot read the file (${describeIoError(error)})`, error);
  }
  let raw: Buffer;
  try {
    raw = await promisify(gunzip)(compressed);
  } catch (error) {
    throw invalid(gzFile, `expected a gzip file, found ${(error as Error).message}`, error);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch (error) {
    throw invalid(gzFile, 'expected UTF-8 text inside the gzip file, found invalid bytes', error);
  }
  return parseOpenAiVocab(text, gzFile);
}

/**
 * The same vocabulary as a Hugging Face `tokenizer.json` object in the layout HF's CLIP exports use
 * (NFC + whitespace + lowercase normalizer, CLIP's word regex, ByteLevel, BPE with `</w>`, Roberta-style
 * BOS/EOS). Useful for building model folders and for comparing with `@huggingface/tokenizers`.
 */
export function openAiVocabToTokenizerJson(vocab: OpenAiVocab): Record<string, unknown> {
  const ids: Record<string, number> = {};
  vocab.tokens.forEach((token, id) => {
    ids[token] = id;
  });
  return clipTokenizerJson({
    vocab: ids,
    merges: vocab.merges.map(([left, right]) => `${left} ${right}`),
    bosId: vocab.tokens.lastIndexOf(OPENAI_BOS),
    eosId: vocab.tokens.lastIndexOf(OPENAI_EOS),
  });
}

/**
 * A tokenizer.json in Hugging Face's CLIP layout (what `openai/clip-vit-base-patch32` ships): NFC,
 * whitespace collapse and lowercase; CLIP's word split then byte-level; BPE with `</w>` word ends; BOS
 * and EOS added by a RoBERTa post-processor. Used for OpenAI's vocabulary and the synthetic model's.
 */
export function clipTokenizerJson(input: {
  vocab: Record<string, number>;
  /** "left right" pairs in priority order. */
  merges: readonly string[];
  bosId: number;
  eosId: number;
}): Record<string, unknown> {
  const { bosId, eosId } = input;
  const added = (content: string, id: number, normalized: boolean) => ({
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
    added_tokens: [added(OPENAI_BOS, bosId, true), added(OPENAI_EOS, eosId, false)],
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
      sep: [OPENAI_EOS, eosId],
      cls: [OPENAI_BOS, bosId],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: OPENAI_EOS,
      continuing_subword_prefix: '',
      end_of_word_suffix: END_OF_WORD,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: input.vocab,
      merges: input.merges,
    },
  };
}

/** `ENOENT` and friends in words a person can act on. */
export function describeIoError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (error as Error).message;
}

function invalid(file: string, problem: string, cause?: unknown): ReelError {
  return new ReelError(ModelErrorCode.TOKENIZER_INVALID, `CLIP vocabulary ${file}: ${problem}`, {
    details: { file },
    cause,
  });
}
