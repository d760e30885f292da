/**
 * CLIP tokenizer throughput: 10,000 generated captions through reel's ClipTokenizer (cleaning, BPE,
 * truncation to 77, EOS last) against the baseline, plain `@huggingface/tokenizers` `encode` on the same
 * vocabulary as a tokenizer.json (no HTML unescaping, no truncation), in the same run. Each is timed
 * on its first pass (empty word caches) and again (warm). Needs OpenAI's vocabulary at
 * `<repo>/../shared/data/clip/bpe_simple_vocab_16e6.txt.gz`.
 */
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { Benchmark, BenchReport, BenchRow } from '@reel/infra';
import { openAiVocabToTokenizerJson, readOpenAiVocab } from '../src/clip/openai-vocab.ts';
import { ClipTokenizer } from '../src/clip/tokenizer.ts';

const VOCAB_GZ = path.resolve(import.meta.dirname, '../../../shared/data/clip/bpe_simple_vocab_16e6.txt.gz');
const CAPTION_COUNT = 10_000;
const BATCH_SIZE = 64;
const GOAL_MS = 1000;

/** mulberry32: small, seeded, good enough to make the same captions every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Captions of realistic length (COCO / MSR-VTT style: mostly 6-14 words, some up to 30, a few of 40-80
 * that get truncated) drawn Zipf-like from the first 10,000 of CLIP's whole-word tokens (merge order is
 * roughly frequency order; COCO's caption vocabulary is about that size), with capitals, punctuation,
 * numbers and 3% unseen compound words.
 */
function makeCaptions(words: string[], count: number): string[] {
  const next = random(20240611);
  const zipf = () =>
    words[Math.min(words.length - 1, Math.floor(Math.exp(next() * Math.log(words.length))))]!;
  const captions: string[] = [];
  for (let c = 0; c < count; c++) {
    const roll = next();
    const length =
      roll < 0.7
        ? 6 + Math.floor(next() * 9)
        : roll < 0.95
          ? 15 + Math.floor(next() * 16)
          : 40 + Math.floor(next() * 41);
    const parts: string[] = [];
    for (let w = 0; w < length; w++) {
      const kind = next();
      if (kind < 0.02) parts.push(String(Math.floor(next() * 2000)));
      else if (kind < 0.05)
        parts.push(zipf() + zipf()); // a compound BPE has to split
      else parts.push(zipf());
      if (next() < 0.06) parts[parts.length - 1] += next() < 0.5 ? ',' : "'s";
    }
    const text = parts.join(' ');
    captions.push(`${text[0]!.toUpperCase()}${text.slice(1)}${next() < 0.4 ? '.' : ''}`);
  }
  return captions;
}

function time(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

const bench: Benchmark = {
  name: 'clip-tokenizer',
  async run(): Promise<BenchReport[]> {
    const vocab = await readOpenAiVocab(VOCAB_GZ);
    const words = vocab.tokens
      .slice(512)
      .filter((token) => /^[a-z]{2,}<\/w>$/.test(token))
      .map((token) => token.slice(0, -4))
      .slice(0, 10_000);
    const captions = makeCaptions(words, CAPTION_COUNT);
    const allWords = captions.flatMap((text) => text.split(' '));
    const distinct = new Set(allWords).size;

    let hf: Tokenizer | undefined;
    const hfLoad = time(() => {
      hf = new Tokenizer(openAiVocabToTokenizerJson(vocab), {});
    });
    let hfTokens = 0;
    const hfPass = () => {
      hfTokens = 0;
      for (const text of captions) hfTokens += hf!.encode(text).ids.length;
    };

    const loadStart = performance.now();
    const reel = await ClipTokenizer.fromOpenAiVocab(VOCAB_GZ);
    const reelLoad = performance.now() - loadStart;
    let reelTokens = 0;
    const reelPass = () => {
      reelTokens = 0;
      for (const text of captions) reelTokens += reel.encode(text).length;
    };
    const batchPass = () => {
      for (let i = 0; i < captions.length; i += BATCH_SIZE)
        reel.encodeBatch(captions.slice(i, i + BATCH_SIZE));
    };

    const measured: Array<[string, number]> = [
      ['@huggingface/tokenizers encode, first pass', time(hfPass)],
      ['@huggingface/tokenizers encode (baseline)', time(hfPass)],
      ['reel ClipTokenizer.encode, first pass', time(reelPass)],
      ['reel ClipTokenizer.encode', time(reelPass)],
      [`reel ClipTokenizer.encodeBatch (${BATCH_SIZE} a batch, int64 + mask)`, time(batchPass)],
    ];
    const baseline = '@huggingface/tokenizers encode (baseline)';
    const rate: BenchRow[] = measured.map(([name, ms]) => ({
      case: name,
      value: CAPTION_COUNT / (ms / 1000),
      unit: 'captions/s',
    }));
    const total: BenchRow[] = measured.map(([name, ms]) => ({ case: name, value: ms, unit: 'ms' }));
    const worst = Math.max(...measured.filter(([name]) => name.startsWith('reel')).map(([, ms]) => ms));
    const notes = [
      `${CAPTION_COUNT} captions, ${(allWords.length / CAPTION_COUNT).toFixed(1)} words on average, ${distinct} distinct words; ${reelTokens} ids from reel (truncated to 77, BOS/EOS included), ${hfTokens} from @huggingface/tokenizers (untruncated).`,
      `Load: reel from the gz ${reelLoad.toFixed(0)} ms; @huggingface/tokenizers from an in-memory tokenizer.json ${hfLoad.toFixed(0)} ms (conversion not counted).`,
      `Goal: 10,000 captions well under ${GOAL_MS} ms. Slowest reel pass ${worst.toFixed(0)} ms: ${worst < GOAL_MS / 2 ? 'met' : 'NOT met'}.`,
    ];
    return [
      { name: 'clip-tokenizer-throughput', baseline, rows: rate, notes },
      { name: 'clip-tokenizer-time', baseline, rows: total, notes },
    ];
  },
};

export default bench;
