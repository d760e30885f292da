/**
 * Second-stage rescoring cost at F = 12 frames, D = 512 (CLIP ViT-B/32), random weights and CLIP-scale
 * embeddings (timings do not depend on the values):
 *
 * 1. X-Pool: the folded exact form the search and `reel eval` score with (src/xpool: per-video terms
 *    and frame statistics, float frames here; the search reads int8) against the direct per-pair form
 *    (baseline: everything recomputed per pair, test/helpers/xpool-direct.ts), and against the
 *    reference's batched shape (keys/values once per video, q once per query, out_proj + linear_proj
 *    per pair).
 * 2. Parameter-free attention pooling with the per-video F×F Gram matrix against the naive form that
 *    materialises the pooled vector (baseline), with top-k, max and mean for scale.
 *
 * Candidates: 1000 distinct videos in memory per query, a few queries; the slow direct baseline is timed
 * on fewer pairs (pairs per second are comparable). Single thread.
 */
import os from 'node:os';
import type { Benchmark, BenchReport } from '@reel/infra';
import { frameStatistics } from '../src/frame-codec.ts';
import { meanPool, scoreMean } from '../src/pooling/mean-pooling.ts';
import {
  scoreAttention,
  scoreAttentionNaive,
  scoreMax,
  scoreTopK,
} from '../src/pooling/text-conditioned-pooling.ts';
import { cosine, gramMatrix, l2NormalizeRows } from '../src/pooling/vector-math.ts';
import type { XPoolHead } from '../src/xpool/xpool-head.ts';
import { prepareXPoolCompactQuery, scoreXPoolCompact } from '../src/xpool/xpool-score.ts';
import {
  buildXPoolCompactCache,
  type XPoolCompactCache,
  xpoolCompactLength,
} from '../src/xpool/xpool-terms.ts';
import {
  type XPoolDirectFrames,
  xpoolDirectFrames,
  xpoolDirectPooled,
  xpoolDirectQuery,
  xpoolDirectScore,
} from '../test/helpers/xpool-direct.ts';

const F = 12;
const D = 512;
const CANDIDATES = 1000;
const QUERIES = 4;
/** Distinct videos whose X-Pool caches are built (≈ 9.4M multiply-adds each); copied to 1000 candidates. */
const BUILT_VIDEOS = 50;

function random(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

function vector(normal: () => number, n: number, scale: number, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + scale * normal();
  return out;
}

function frames(normal: () => number): Float32Array {
  const scene = vector(normal, D, 0.4);
  const out = new Float32Array(F * D);
  for (let i = 0; i < F * D; i++) out[i] = scene[i % D]! + 0.25 * normal();
  return out;
}

function randomHead(normal: () => number): XPoolHead {
  const linear = () => ({ weight: vector(normal, D * D, 1 / Math.sqrt(D)), bias: vector(normal, D, 0.1) });
  const norm = () => ({ weight: vector(normal, D, 0.2, 1), bias: vector(normal, D, 0.1) });
  return {
    dim: D,
    eps: 1e-5,
    layerNorm1: norm(),
    qProj: linear(),
    kProj: linear(),
    vProj: linear(),
    outProj: linear(),
    layerNorm2: norm(),
    linearProj: linear(),
    layerNorm3: norm(),
    checksum: 1,
    source: 'bench',
  };
}

/**
 * Runs `pass` (which scores `pairsPerPass` pairs) once to warm up, then repeatedly until `minMs` has
 * passed; returns pairs per second.
 */
function pairsPerSecond(pairsPerPass: number, minMs: number, pass: () => void): number {
  pass();
  let pairs = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    pass();
    pairs += pairsPerPass;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (pairs / elapsed) * 1000;
}

const load = () => `load average ${os.loadavg()[0]!.toFixed(2)} on ${os.availableParallelism()} cores`;

const bench: Benchmark = {
  name: 'xpool-scoring',
  run(): BenchReport[] {
    const normal = random(7);
    const loadBefore = load();
    const head = randomHead(normal);
    const built = Array.from({ length: BUILT_VIDEOS }, () => frames(normal));
    const queries = Array.from({ length: QUERIES }, (_, i) => {
      const source = built[i]!;
      const text = new Float32Array(D);
      for (let d = 0; d < D; d++) text[d] = 0.6 * source[d]! + 0.3 * normal();
      return text;
    });

    // ---- X-Pool ----
    const buildStart = performance.now();
    const builtTerms = built.map((video) => buildXPoolCompactCache(head, video, F));
    const buildMs = (performance.now() - buildStart) / BUILT_VIDEOS;
    // 1000 distinct candidates in memory (copies of the built ones: frames, statistics and terms)
    type Candidate = {
      frames: Float32Array;
      means: Float32Array;
      variances: Float32Array;
      terms: XPoolCompactCache;
    };
    const candidates: Candidate[] = Array.from({ length: CANDIDATES }, (_, i) => {
      const frames = Float32Array.from(built[i % BUILT_VIDEOS]!);
      const { means, variances } = frameStatistics(frames, F, D);
      const source = builtTerms[i % BUILT_VIDEOS]!;
      return { frames, means, variances, terms: { ...source, data: Float32Array.from(source.data) } };
    });
    const weights = new Float32Array(F);
    let sink = 0;
    const folded = (query: ReturnType<typeof prepareXPoolCompactQuery>, c: Candidate) =>
      scoreXPoolCompact(query, c.frames, c.means, c.variances, c.terms, weights);

    const foldedRate = pairsPerSecond(CANDIDATES * QUERIES, 1500, () => {
      for (const text of queries) {
        const query = prepareXPoolCompactQuery(head, text);
        for (const candidate of candidates) sink += folded(query, candidate);
      }
    });

    const directFrames: XPoolDirectFrames[] = built.map((video) => xpoolDirectFrames(head, video, F));
    const batchedRate = pairsPerSecond(BUILT_VIDEOS * QUERIES, 1500, () => {
      for (const text of queries) {
        const q = xpoolDirectQuery(head, text);
        for (const video of directFrames) sink += cosine(text, xpoolDirectPooled(head, q, video, weights));
      }
    });

    const directPairs = 20;
    const directRate = pairsPerSecond(directPairs, 1500, () => {
      for (let i = 0; i < directPairs; i++)
        sink += xpoolDirectScore(head, queries[i % QUERIES]!, built[i % BUILT_VIDEOS]!, F, weights);
    });

    let maxDiff = 0;
    for (const text of queries) {
      const query = prepareXPoolCompactQuery(head, text);
      for (let v = 0; v < 10; v++)
        maxDiff = Math.max(
          maxDiff,
          Math.abs(folded(query, candidates[v]!) - xpoolDirectScore(head, text, built[v]!, F)),
        );
    }

    const xpool: BenchReport = {
      name: 'xpool-scoring',
      baseline: 'X-Pool direct per pair (reference-shaped)',
      rows: [
        { case: 'X-Pool direct per pair (reference-shaped)', value: directRate, unit: 'pairs/s' },
        {
          case: 'X-Pool reference batching (K,V per video, q per query)',
          value: batchedRate,
          unit: 'pairs/s',
        },
        { case: 'X-Pool folded exact (search and eval, float frames)', value: foldedRate, unit: 'pairs/s' },
      ],
      notes: [
        `F = ${F}, D = ${D}, random head, CLIP-scale raw embeddings; ${CANDIDATES} candidates × ${QUERIES} queries per pass, prepareXPoolCompactQuery included (once per query); single thread.`,
        `Folded: ${((CANDIDATES / foldedRate) * 1000).toFixed(2)} ms to rescore ${CANDIDATES} candidates for one query; ${4 * xpoolCompactLength(F)} bytes of X-Pool terms per video beside its frames; built in ${buildMs.toFixed(1)} ms per video at index time.`,
        `Max |folded − direct| over ${QUERIES * 10} pairs: ${maxDiff.toExponential(2)}.`,
        `Machine: ${loadBefore} before, ${load()} after (shared machine: absolute figures are pessimistic, ratios hold better).`,
      ],
    };

    // ---- parameter-free attention pooling ----
    const videos = Array.from({ length: CANDIDATES }, () => {
      const normalised = l2NormalizeRows(frames(normal), F, D);
      return { frames: normalised, gram: gramMatrix(normalised, F, D), mean: meanPool(normalised, F, D) };
    });
    const rate = (score: (text: Float32Array, v: (typeof videos)[number]) => number) =>
      pairsPerSecond(CANDIDATES * QUERIES, 1000, () => {
        for (const text of queries) for (const v of videos) sink += score(text, v);
      });
    const naive = rate((text, v) => scoreAttentionNaive(text, v.frames, F, D, 0.01, weights));
    const gram = rate((text, v) => scoreAttention(text, v.frames, v.gram, F, D, 0.01, weights));
    const topK = rate((text, v) => scoreTopK(text, v.frames, v.gram, F, D, 3, weights));
    const max = rate((text, v) => scoreMax(text, v.frames, F, D, weights));
    const mean = rate((text, v) => scoreMean(text, v.mean, F, weights));
    const attention: BenchReport = {
      name: 'attention-pooling',
      baseline: 'attention, naive (pooled vector materialised)',
      rows: [
        { case: 'attention, naive (pooled vector materialised)', value: naive, unit: 'pairs/s' },
        { case: 'attention, F×F Gram', value: gram, unit: 'pairs/s' },
        { case: 'top-3, F×F Gram', value: topK, unit: 'pairs/s' },
        { case: 'max', value: max, unit: 'pairs/s' },
        { case: 'mean (one D-vector per video)', value: mean, unit: 'pairs/s' },
      ],
      notes: [
        `F = ${F}, D = ${D}, ${CANDIDATES} distinct videos × ${QUERIES} queries per pass, frame weights written each pair; single thread.`,
        `Attention with Gram: ${((CANDIDATES / gram) * 1000).toFixed(2)} ms per 1000 candidates (naive ${((CANDIDATES / naive) * 1000).toFixed(2)} ms).`,
        `Machine: ${load()} (shared).`,
      ],
    };
    // using every score also keeps the optimiser from dropping any scoring call
    if (!Number.isFinite(sink)) throw new Error(`a score was not finite (sum ${sink})`);
    return [xpool, attention];
  },
};

export default bench;
