import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { frameStatistics } from '../src/frame-codec.ts';
import { l2NormalizeRows } from '../src/pooling/vector-math.ts';
import type { XPoolHead } from '../src/xpool/xpool-head.ts';
import { prepareXPoolCompactQuery, scoreXPoolCompact } from '../src/xpool/xpool-score.ts';
import { buildXPoolCompactCache } from '../src/xpool/xpool-terms.ts';
import {
  clipLikeFrames,
  clipLikeText,
  identityHead,
  randomHead,
  refXPool,
  rng,
} from './helpers/pooling-fixtures.ts';
import {
  xpoolDirectFrames,
  xpoolDirectPooled,
  xpoolDirectQuery,
  xpoolDirectScore,
} from './helpers/xpool-direct.ts';

const F = 12;
const D = 512;
const head = randomHead(rng(100), D);

function data(seed: number, videoCount: number, textCount: number, frameCount = F, dim = D) {
  const r = rng(seed);
  const videos = Array.from({ length: videoCount }, () => clipLikeFrames(r, frameCount, dim));
  const texts = Array.from({ length: textCount }, (_, i) =>
    clipLikeText(r, videos[i % videoCount]!, frameCount, dim),
  );
  return { videos, texts };
}

describe('xpoolDirectScore (reference-shaped)', () => {
  it('matches the float64 reference: score within 2e-6, pooled within 1e-4, weights within 1e-6', () => {
    const { videos, texts } = data(101, 4, 3);
    for (const frames of videos) {
      for (const text of texts) {
        const ref = refXPool(head, text, frames, F);
        const weights = new Float32Array(F);
        expect(Math.abs(xpoolDirectScore(head, text, frames, F, weights) - ref.score)).toBeLessThan(2e-6);
        for (let f = 0; f < F; f++) expect(Math.abs(weights[f]! - ref.weights[f]!)).toBeLessThan(1e-6);
        const pooled = xpoolDirectPooled(
          head,
          xpoolDirectQuery(head, text),
          xpoolDirectFrames(head, frames, F),
        );
        let maxDiff = 0;
        for (let d = 0; d < D; d++) maxDiff = Math.max(maxDiff, Math.abs(pooled[d]! - ref.pooled[d]!));
        expect(maxDiff).toBeLessThan(1e-4);
      }
    }
  });

  it('gives non-trivial attention (not uniform, not one-hot) on this random head', () => {
    const { videos, texts } = data(102, 1, 1);
    const weights = new Float32Array(F);
    xpoolDirectScore(head, texts[0]!, videos[0]!, F, weights);
    expect(Math.max(...weights)).toBeGreaterThan(1.5 / F);
    expect(Math.max(...weights)).toBeLessThan(0.99);
  });
});

/** The folded form the search and eval score with, on float frames. */
function folded(h: XPoolHead, frames: Float32Array, frameCount: number) {
  const { means, variances } = frameStatistics(frames, frameCount, h.dim);
  const terms = buildXPoolCompactCache(h, frames, frameCount);
  return (text: Float32Array, weights?: Float32Array) =>
    scoreXPoolCompact(prepareXPoolCompactQuery(h, text), frames, means, variances, terms, weights);
}

describe('the folded form (src/xpool: what search and eval score with)', () => {
  function compare(h: XPoolHead, videos: Float32Array[], texts: Float32Array[], frameCount: number) {
    const scorers = videos.map((frames) => folded(h, frames, frameCount));
    const directFrames = videos.map((frames) => xpoolDirectFrames(h, frames, frameCount));
    let maxScoreDiff = 0;
    let maxWeightDiff = 0;
    let maxAbsScore = 0;
    const a = new Float32Array(frameCount);
    const b = new Float32Array(frameCount);
    for (const text of texts) {
      const q = xpoolDirectQuery(h, text);
      for (let v = 0; v < videos.length; v++) {
        const score = scorers[v]!(text, a);
        const pooled = xpoolDirectPooled(h, q, directFrames[v]!, b);
        let dotTP = 0;
        let tt = 0;
        let pp = 0;
        for (let d = 0; d < h.dim; d++) {
          dotTP += text[d]! * pooled[d]!;
          tt += text[d]! * text[d]!;
          pp += pooled[d]! * pooled[d]!;
        }
        maxScoreDiff = Math.max(maxScoreDiff, Math.abs(score - dotTP / Math.sqrt(tt * pp)));
        maxAbsScore = Math.max(maxAbsScore, Math.abs(score));
        for (let f = 0; f < frameCount; f++) maxWeightDiff = Math.max(maxWeightDiff, Math.abs(a[f]! - b[f]!));
      }
    }
    return { maxScoreDiff, maxWeightDiff, maxAbsScore };
  }

  it('equals the direct form within 1e-4 over 240 pairs (D = 512, F = 12, random head, raw CLIP scale)', () => {
    const { videos, texts } = data(103, 24, 10);
    const { maxScoreDiff, maxWeightDiff } = compare(head, videos, texts, F);
    expect(maxScoreDiff).toBeLessThan(1e-4);
    expect(maxWeightDiff).toBeLessThan(1e-6);
    // in practice the gap is float32 rounding (≈ 1e-8), far inside the bound; scores here are small
    // (|score| < 0.1 for a head this far from the identity), so the tight bound is what catches a
    // dropped term
    expect(maxScoreDiff).toBeLessThan(1e-6);
  });

  it('equals the direct form within 1e-6 for a near-identity head, where scores are large', () => {
    const { videos, texts } = data(111, 12, 6);
    const nearIdentity = randomHead(rng(112), D, 99, true);
    const { maxScoreDiff, maxWeightDiff, maxAbsScore } = compare(nearIdentity, videos, texts, F);
    expect(maxAbsScore).toBeGreaterThan(0.3);
    expect(maxScoreDiff).toBeLessThan(1e-6);
    expect(maxWeightDiff).toBeLessThan(1e-6);
  });

  it('equals the direct form for L2-normalised inputs, the identity-initialised head, F = 1 and F = 5', () => {
    const { videos, texts } = data(104, 6, 4);
    const normalised = compare(
      head,
      videos.map((v) => l2NormalizeRows(v, F, D)),
      texts.map((t) => l2NormalizeRows(t, 1, D)),
      F,
    );
    expect(normalised.maxScoreDiff).toBeLessThan(1e-4);
    const identity = compare(identityHead(D), videos, texts, F);
    expect(identity.maxScoreDiff).toBeLessThan(1e-4);
    expect(identity.maxWeightDiff).toBeLessThan(1e-6);
    for (const frameCount of [1, 5]) {
      const small = data(105 + frameCount, 5, 3, frameCount);
      expect(compare(head, small.videos, small.texts, frameCount).maxScoreDiff).toBeLessThan(1e-4);
    }
  });

  it('matches the float64 reference too (1e-5) and returns weights that sum to 1', () => {
    const { videos, texts } = data(107, 3, 3);
    const weights = new Float32Array(F);
    for (const frames of videos) {
      const score = folded(head, frames, F);
      for (const text of texts) {
        const ref = refXPool(head, text, frames, F);
        expect(Math.abs(score(text, weights) - ref.score)).toBeLessThan(1e-5);
        expect(weights.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 6);
      }
    }
  });

  it('refuses terms built with another head (XPOOL_CACHE_INVALID)', () => {
    const { videos, texts } = data(109, 1, 1);
    const frames = videos[0]!;
    const { means, variances } = frameStatistics(frames, F, D);
    const terms = buildXPoolCompactCache(head, frames, F);
    const other = { ...head, checksum: 0xdeadbeef };
    try {
      scoreXPoolCompact(prepareXPoolCompactQuery(other, texts[0]!), frames, means, variances, terms);
      expect.unreachable();
    } catch (error) {
      expect(isReelError(error, 'XPOOL_CACHE_INVALID')).toBe(true);
      expect((error as Error).message).toBe(
        `X-Pool compact cache: expected head deadbeef and ${3 * F * F + 3 * F} values, got head 4d2 and ${3 * F * F + 3 * F} values (rebuild the cache)`,
      );
    }
  });
});
