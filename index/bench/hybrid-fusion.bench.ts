/**
 * Which fusion hybrid search uses: reciprocal-rank fusion or a normalised weighted sum (fusion.ts), by
 * where each puts the one right video, on a corpus where the answer is known.
 *
 * 4 000 videos, each a point in a 64-dimensional space of 40 visual topics (its mean embedding; cosines
 * spread like CLIP's, in a band about 0.1 wide) and 60 cues of 8 words from a 3 000-word vocabulary
 * (Zipf-distributed, as speech is). Three kinds of query, 300 each, one target video each:
 * - **words**: a made-up name said in one of the target's cues (planted in 1-3 other videos too, as a
 *   name recurs); the query's vector is a random topic's (what the words say is not seen).
 * - **visual**: the vector is the target's with noise; the words are two common words (they are said
 *   in hundreds of videos, the target's among them or not, as a description's words are).
 * - **both**: the vector is the target's with more noise, and one of the words is in one of its cues.
 * The visual list is the 500 best cosines (K′), the words list the 100 best videos by BM25 (k1 1.2,
 * b 0.75, over cues), as search reads them. Reported: MRR and recall at 1 and 10 per kind and fusion, the
 * visual and words lists alone beside them.
 */
import type { Benchmark, BenchReport } from '@reel/infra';
import { contenders, fuseHybrid, reciprocalRankFusion, weightedScoreFusion } from '../src/search/fusion.ts';
import { rng } from '../test/helpers/pooling-fixtures.ts';

const VIDEOS = 4000;
const D = 64;
const TOPICS = 40;
const CUES = 60;
const CUE_WORDS = 8;
const VOCABULARY = 3000;
const QUERIES = 300;
/** Per-dimension noise of a visual query's vector about its video's (visual search alone: MRR ≈ 0.97). */
const VISUAL_NOISE = 0.15;
/** The same for a query of both kinds (visual alone: MRR ≈ 0.8). */
const BOTH_NOISE = 0.2;

type Random = () => number;

function gaussian(r: Random): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = 1 / Math.sqrt(n);
  return v.map((x) => x * inv);
}

function noisy(r: Random, base: Float32Array, noise: number): Float32Array {
  return unit(base.map((x) => x + noise * gaussian(r)));
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** A Zipf-distributed word index in [0, VOCABULARY). */
function zipfWord(r: Random, cumulative: Float64Array): number {
  const u = r() * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** BM25 over cue documents, the best cue per video (as search groups rows by video). */
class Bm25 {
  readonly #postings = new Map<string, { doc: number; tf: number }[]>();
  readonly #length: number[] = [];
  readonly #video: number[] = [];
  #total = 0;

  add(video: number, words: readonly string[]): void {
    const doc = this.#length.length;
    this.#length.push(words.length);
    this.#video.push(video);
    this.#total += words.length;
    const tf = new Map<string, number>();
    for (const w of words) tf.set(w, (tf.get(w) ?? 0) + 1);
    for (const [w, n] of tf) {
      const list = this.#postings.get(w) ?? [];
      if (list.length === 0) this.#postings.set(w, list);
      list.push({ doc, tf: n });
    }
  }

  /** Videos by their best cue's score, best first, at most `limit`. */
  search(words: readonly string[], limit: number): Map<string, number> {
    const N = this.#length.length;
    const avg = this.#total / N;
    const scores = new Map<number, number>();
    for (const w of new Set(words)) {
      const list = this.#postings.get(w) ?? [];
      const idf = Math.log(1 + (N - list.length + 0.5) / (list.length + 0.5));
      for (const { doc, tf } of list) {
        const norm = tf + 1.2 * (1 - 0.75 + (0.75 * this.#length[doc]!) / avg);
        scores.set(doc, (scores.get(doc) ?? 0) + (idf * tf * 2.2) / norm);
      }
    }
    const best = new Map<string, number>();
    for (const [doc, s] of scores) {
      const v = `v${this.#video[doc]}`;
      if (s > (best.get(v) ?? 0)) best.set(v, s);
    }
    return new Map([...best].sort((a, b) => b[1] - a[1]).slice(0, limit));
  }
}

interface Query {
  kind: 'words' | 'visual' | 'both';
  target: string;
  vector: Float32Array;
  words: string[];
}

function rankOf(order: readonly string[], target: string): number {
  const i = order.indexOf(target);
  return i < 0 ? Number.POSITIVE_INFINITY : i + 1;
}

const benchmark: Benchmark = {
  name: 'hybrid-fusion',
  run(): BenchReport[] {
    const r = rng(22).uniform;
    const topics = Array.from({ length: TOPICS }, () =>
      unit(Float32Array.from({ length: D }, () => gaussian(r))),
    );
    const videos = Array.from({ length: VIDEOS }, () => noisy(r, topics[Math.floor(r() * TOPICS)]!, 0.12));
    const cumulative = new Float64Array(VOCABULARY);
    for (let i = 0; i < VOCABULARY; i++) cumulative[i] = (i > 0 ? cumulative[i - 1]! : 0) + 1 / (i + 1);
    const cues: string[][][] = videos.map(() =>
      Array.from({ length: CUES }, () =>
        Array.from({ length: CUE_WORDS }, () => `w${zipfWord(r, cumulative)}`),
      ),
    );
    const queries: Query[] = [];
    for (let q = 0; q < QUERIES; q++) {
      // words: a made-up name in one of the target's cues, and in 1-3 other videos' cues
      const target = Math.floor(r() * VIDEOS);
      const name = `name${q}`;
      cues[target]![Math.floor(r() * CUES)]![Math.floor(r() * CUE_WORDS)] = name;
      for (let o = 0, n = 1 + Math.floor(r() * 3); o < n; o++)
        cues[Math.floor(r() * VIDEOS)]![Math.floor(r() * CUES)]![0] = name;
      queries.push({
        kind: 'words',
        target: `v${target}`,
        vector: noisy(r, topics[Math.floor(r() * TOPICS)]!, 0.12),
        // half of them with a common word beside the name ("zorblax on the beach")
        words: q % 2 === 0 ? [name] : [name, `w${Math.floor(r() * 30)}`],
      });
    }
    for (let q = 0; q < QUERIES; q++) {
      const target = Math.floor(r() * VIDEOS);
      queries.push({
        kind: 'visual',
        target: `v${target}`,
        vector: noisy(r, videos[target]!, VISUAL_NOISE),
        words: [`w${Math.floor(r() * 30)}`, `w${Math.floor(r() * 30)}`],
      });
    }
    for (let q = 0; q < QUERIES; q++) {
      const target = Math.floor(r() * VIDEOS);
      const cue = cues[target]![Math.floor(r() * CUES)]!;
      queries.push({
        kind: 'both',
        target: `v${target}`,
        vector: noisy(r, videos[target]!, BOTH_NOISE),
        words: [cue[Math.floor(r() * CUE_WORDS)]!, `w${Math.floor(r() * 30)}`],
      });
    }
    const bm25 = new Bm25();
    for (const [v, list] of cues.entries()) for (const cue of list) bm25.add(v, cue);

    const methods = [
      'visual alone',
      'words alone',
      'rrf (k = 60)',
      'weighted sum (0.5 / 0.5)',
      'reel: rrf, words weighed by how few videos they point at, those first',
    ] as const;
    type Method = (typeof methods)[number];
    const ranks = new Map<string, number[]>();
    for (const query of queries) {
      const visual = new Map(
        videos
          .map((v, i) => [`v${i}`, dot(v, query.vector)] as const)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 500),
      );
      const found = bm25.search(query.words, Number.POSITIVE_INFINITY);
      const words = new Map([...found].slice(0, 100));
      const visualOrder = [...visual.keys()];
      const wordsOrder = [...words.keys()];
      // Search fuses only what both stages found: a words video gets its cosine too (its stage-one row).
      const visualAll = new Map<string, number>(visual);
      for (const key of wordsOrder) visualAll.set(key, dot(videos[Number(key.slice(1))]!, query.vector));
      const visualAllOrder = [...visualAll].sort((a, b) => b[1] - a[1]).map(([k]) => k);
      const order = (fused: Map<string, number>) => [...fused].sort((a, b) => b[1] - a[1]).map(([k]) => k);
      const byMethod: Record<Method, string[]> = {
        'visual alone': visualOrder,
        'words alone': wordsOrder,
        'rrf (k = 60)': order(reciprocalRankFusion([visualAllOrder, wordsOrder])),
        'weighted sum (0.5 / 0.5)': order(
          weightedScoreFusion([
            { scores: visualAll, weight: 0.5 },
            { scores: words, weight: 0.5 },
          ]),
        ),
        'reel: rrf, words weighed by how few videos they point at, those first': fuseHybrid(
          visualAllOrder,
          [...words].map(([key, score]) => ({ key, score })),
          contenders([...found.values()]),
        ),
      };
      for (const method of methods) {
        const key = `${method}\u0000${query.kind}`;
        if (!ranks.has(key)) ranks.set(key, []);
        ranks.get(key)!.push(rankOf(byMethod[method], query.target));
      }
    }
    const rows = [];
    for (const kind of ['words', 'visual', 'both', 'all'] as const)
      for (const method of methods) {
        const list =
          kind === 'all'
            ? (['words', 'visual', 'both'] as const).flatMap((k) => ranks.get(`${method}\u0000${k}`)!)
            : ranks.get(`${method}\u0000${kind}`)!;
        const mrr = list.reduce((s, rank) => s + 1 / rank, 0) / list.length;
        const at = (n: number) => list.filter((rank) => rank <= n).length / list.length;
        rows.push({ case: `${kind} queries, ${method}: MRR`, value: mrr, unit: 'MRR' });
        rows.push({ case: `${kind} queries, ${method}: R@1`, value: at(1), unit: 'share' });
        rows.push({ case: `${kind} queries, ${method}: R@10`, value: at(10), unit: 'share' });
      }
    return [
      {
        name: 'hybrid-fusion',
        baseline: 'all queries, rrf (k = 60): MRR',
        rows,
        notes: [
          `${VIDEOS} videos × ${CUES} cues of ${CUE_WORDS} Zipf words (vocabulary ${VOCABULARY}), ${QUERIES} queries of each kind; visual list K′ = 500, words list 100 videos (BM25 k1 1.2, b 0.75, a video's best cue)`,
          'the fused lists are what search fuses: the words videos outside K′ join the visual list with their own cosine',
        ],
      },
    ];
  },
};

export default benchmark;
