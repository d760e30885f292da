import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { type PoolingMethod, similarityMatrix } from '../src/eval/similarity-matrix.ts';
import { frameStatistics } from '../src/frame-codec.ts';
import { meanFromCosines } from '../src/pooling/pooling-kernels.ts';
import { scoreAttention, scoreMax, scoreTopK } from '../src/pooling/text-conditioned-pooling.ts';
import { cosine, gramMatrix, l2NormalizeRows } from '../src/pooling/vector-math.ts';
import { prepareXPoolCompactQuery, scoreXPoolCompact } from '../src/xpool/xpool-score.ts';
import { buildXPoolCompactCache } from '../src/xpool/xpool-terms.ts';
import {
  clipLikeFrames,
  clipLikeText,
  randomHead,
  refAttention,
  refMean,
  refTopK,
  refXPool,
  rng,
} from './helpers/pooling-fixtures.ts';
import { xpoolDirectScore } from './helpers/xpool-direct.ts';

const Nt = 5;
const Nv = 4;
const F = 6;
const D = 16;
const head = randomHead(rng(7), D);

function data() {
  const r = rng(31);
  const videos = Array.from({ length: Nv }, () => clipLikeFrames(r, F, D));
  const texts = Array.from({ length: Nt }, (_, t) => clipLikeText(r, videos[t % Nv]!, F, D));
  const frames = new Float32Array(Nv * F * D);
  for (const [i, v] of videos.entries()) frames.set(v, i * F * D);
  const textMatrix = new Float32Array(Nt * D);
  for (const [i, t] of texts.entries()) textMatrix.set(t, i * D);
  return {
    videos,
    texts,
    embeddings: { texts: textMatrix, frames, textCount: Nt, videoCount: Nv, frameCount: F, dim: D },
  };
}

/** The pair score by calling the pooling module directly, one pair at a time. */
function pairScore(method: PoolingMethod, text: Float32Array, frames: Float32Array): number {
  const x = l2NormalizeRows(frames, F, D);
  switch (method) {
    case 'mean': {
      const cos = new Float64Array(2 * F);
      for (let f = 0; f < F; f++) cos[f] = cosine(text, x.subarray(f * D, (f + 1) * D));
      return meanFromCosines(cos, F, gramMatrix(x, F, D), 0);
    }
    case 'attention':
      return scoreAttention(text, x, gramMatrix(x, F, D), F, D, 0.05);
    case 'topk':
      return scoreTopK(text, x, gramMatrix(x, F, D), F, D, 2);
    case 'max':
      return scoreMax(text, x, F, D);
    case 'xpool': {
      const { means, variances } = frameStatistics(frames, F, D);
      const terms = buildXPoolCompactCache(head, frames, F);
      return scoreXPoolCompact(prepareXPoolCompactQuery(head, text), frames, means, variances, terms);
    }
  }
}

function expectCode(fn: () => unknown, code: string, message: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(isReelError(error, code)).toBe(true);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('similarityMatrix', () => {
  const { videos, texts, embeddings } = data();

  for (const method of ['mean', 'attention', 'topk', 'max', 'xpool'] as const) {
    it(`${method}: every entry equals the pooling function called on that pair`, () => {
      const progress: string[] = [];
      const sims = similarityMatrix(embeddings, {
        pooling: method,
        tau: 0.05,
        topK: 2,
        head,
        onProgress: (phase, done, total) => progress.push(`${phase} ${done}/${total}`),
      });
      expect(sims.length).toBe(Nt * Nv);
      for (let t = 0; t < Nt; t++)
        for (let v = 0; v < Nv; v++)
          expect(sims[t * Nv + v]).toBe(Math.fround(pairScore(method, texts[t]!, videos[v]!)));
      expect(progress).toEqual([
        ...Array.from({ length: Nv }, (_, i) => `videos ${i + 1}/${Nv}`),
        ...Array.from({ length: Nt }, (_, i) => `texts ${i + 1}/${Nt}`),
      ]);
      // scores differ across videos: the matrix is not a constant
      expect(new Set(sims).size).toBeGreaterThan(Nv);
    });
  }

  it('holds to the float64 references within 1e-4 on held-out data: X-Pool, mean, attention, top-k', () => {
    // other seeds and sizes than the rest of this file, and D = 512 as CLIP ViT-B/32
    const r = rng(907);
    const [nt, nv, f, d] = [6, 5, 12, 512];
    const heldOutHead = randomHead(rng(908), d, 4321);
    const videos = Array.from({ length: nv }, () => clipLikeFrames(r, f, d));
    const texts = Array.from({ length: nt }, (_, t) => clipLikeText(r, videos[t % nv]!, f, d));
    const frames = new Float32Array(nv * f * d);
    for (const [i, v] of videos.entries()) frames.set(v, i * f * d);
    const textMatrix = new Float32Array(nt * d);
    for (const [i, t] of texts.entries()) textMatrix.set(t, i * d);
    const heldOut = { texts: textMatrix, frames, textCount: nt, videoCount: nv, frameCount: f, dim: d };
    const references: [PoolingMethod, (t: Float32Array, v: Float32Array) => number][] = [
      ['xpool', (t, v) => refXPool(heldOutHead, t, v, f).score],
      ['mean', (t, v) => refMean(t, v, f, d).score],
      ['attention', (t, v) => refAttention(t, v, f, d, 0.01).score],
      ['topk', (t, v) => refTopK(t, v, f, d, 3).score],
    ];
    for (const [pooling, reference] of references) {
      const sims = similarityMatrix(heldOut, { pooling, head: heldOutHead });
      let worst = 0;
      for (let t = 0; t < nt; t++)
        for (let v = 0; v < nv; v++)
          worst = Math.max(worst, Math.abs(sims[t * nv + v]! - reference(texts[t]!, videos[v]!)));
      expect(worst, pooling).toBeLessThan(1e-4);
    }
  });

  it('xpool equals the reference-shaped direct score', () => {
    const sims = similarityMatrix(embeddings, { pooling: 'xpool', head });
    for (let t = 0; t < Nt; t++)
      for (let v = 0; v < Nv; v++)
        expect(Math.abs(sims[t * Nv + v]! - xpoolDirectScore(head, texts[t]!, videos[v]!, F))).toBeLessThan(
          1e-5,
        );
  });

  it('uses the reference defaults τ = 0.01 and k = 3', () => {
    const x = l2NormalizeRows(videos[1]!, F, D);
    const g = gramMatrix(x, F, D);
    expect(similarityMatrix(embeddings, { pooling: 'attention' })[1]).toBe(
      Math.fround(scoreAttention(texts[0]!, x, g, F, D, 0.01)),
    );
    expect(similarityMatrix(embeddings, { pooling: 'topk' })[1]).toBe(
      Math.fround(scoreTopK(texts[0]!, x, g, F, D, 3)),
    );
  });

  it('rejects bad sizes, a missing or mis-sized head, and bad τ / k before preparing any video', () => {
    expectCode(
      () => similarityMatrix({ ...embeddings, frames: embeddings.frames.subarray(1) }, { pooling: 'mean' }),
      'EVAL_INPUT_INVALID',
      /frames: expected 4×6×16 = 384 values, got 383/,
    );
    expectCode(
      () => similarityMatrix({ ...embeddings, textCount: 6 }, { pooling: 'mean' }),
      'EVAL_INPUT_INVALID',
      /texts: expected 6×16 = 96 values, got 80/,
    );
    expectCode(
      () => similarityMatrix(embeddings, { pooling: 'xpool' }),
      'EVAL_INPUT_INVALID',
      /xpool pooling: expected an X-Pool head/,
    );
    expectCode(
      () => similarityMatrix(embeddings, { pooling: 'xpool', head: randomHead(rng(1), 8) }),
      'XPOOL_DIM_MISMATCH',
      /X-Pool head is for embeddings of 8, but the evaluated embeddings outputs 16/,
    );
    let prepared = 0;
    const onProgress = () => {
      prepared++;
    };
    expectCode(
      () => similarityMatrix(embeddings, { pooling: 'attention', tau: 0, onProgress }),
      'POOLING_INPUT_INVALID',
      /temperature: expected a number > 0, got 0/,
    );
    expectCode(
      () => similarityMatrix(embeddings, { pooling: 'topk', topK: 1.5, onProgress }),
      'POOLING_INPUT_INVALID',
      /top-k: expected an integer k ≥ 1, got 1.5/,
    );
    expect(prepared).toBe(0);
  });
});
