import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { l2NormalizeRows } from '../src/pooling/vector-math.ts';
import {
  buildXPoolCache,
  deserializeXPoolCache,
  prepareXPoolQuery,
  scoreXPoolCached,
  serializeXPoolCache,
  xpoolCacheByteLength,
} from '../src/pooling/xpool-cache.ts';
import {
  xpoolDirectFrames,
  xpoolDirectPooled,
  xpoolDirectQuery,
  xpoolDirectScore,
} from '../src/pooling/xpool-direct.ts';
import type { XPoolHead } from '../src/pooling/xpool-head.ts';
import {
  clipLikeFrames,
  clipLikeText,
  identityHead,
  randomHead,
  refXPool,
  rng,
} from './helpers/pooling-fixtures.ts';

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

describe('scoreXPoolCached (fast exact form)', () => {
  function compare(h: XPoolHead, videos: Float32Array[], texts: Float32Array[], frameCount: number) {
    const caches = videos.map((frames) => buildXPoolCache(h, frames, frameCount));
    const directFrames = videos.map((frames) => xpoolDirectFrames(h, frames, frameCount));
    let maxScoreDiff = 0;
    let maxWeightDiff = 0;
    let maxAbsScore = 0;
    const a = new Float32Array(frameCount);
    const b = new Float32Array(frameCount);
    for (const text of texts) {
      const query = prepareXPoolQuery(h, text);
      const q = xpoolDirectQuery(h, text);
      for (let v = 0; v < videos.length; v++) {
        const cached = scoreXPoolCached(query, caches[v]!, a);
        const pooled = xpoolDirectPooled(h, q, directFrames[v]!, b);
        let dotTP = 0;
        let tt = 0;
        let pp = 0;
        for (let d = 0; d < h.dim; d++) {
          dotTP += text[d]! * pooled[d]!;
          tt += text[d]! * text[d]!;
          pp += pooled[d]! * pooled[d]!;
        }
        maxScoreDiff = Math.max(maxScoreDiff, Math.abs(cached - dotTP / Math.sqrt(tt * pp)));
        maxAbsScore = Math.max(maxAbsScore, Math.abs(cached));
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
      const cache = buildXPoolCache(head, frames, F);
      for (const text of texts) {
        const ref = refXPool(head, text, frames, F);
        expect(
          Math.abs(scoreXPoolCached(prepareXPoolQuery(head, text), cache, weights) - ref.score),
        ).toBeLessThan(1e-5);
        expect(weights.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 6);
      }
    }
  });

  it('reuses the query scratch buffer across pairs (no per-pair allocation)', () => {
    const { videos, texts } = data(108, 3, 1);
    const query = prepareXPoolQuery(head, texts[0]!);
    const scratch = query.scratch;
    for (const frames of videos) scoreXPoolCached(query, buildXPoolCache(head, frames, F));
    expect(query.scratch).toBe(scratch);
  });

  it('refuses a cache built with another head or size (XPOOL_CACHE_INVALID)', () => {
    const { videos, texts } = data(109, 1, 1);
    const cache = buildXPoolCache(head, videos[0]!, F);
    const other = { ...head, checksum: 0xdeadbeef };
    try {
      scoreXPoolCached(prepareXPoolQuery(other, texts[0]!), cache);
      expect.unreachable();
    } catch (error) {
      expect(isReelError(error, 'XPOOL_CACHE_INVALID')).toBe(true);
      expect((error as Error).message).toBe(
        'X-Pool cache: expected head deadbeef with D = 512, got head 000004d2 with D = 512 (rebuild the cache)',
      );
    }
  });
});

describe('serializeXPoolCache / deserializeXPoolCache', () => {
  const { videos, texts } = data(110, 2, 2);
  const cache = buildXPoolCache(head, videos[0]!, F);
  const bytes = serializeXPoolCache(cache);

  it('round-trips to identical arrays and identical scores, aligned or not', () => {
    expect(bytes.length).toBe(xpoolCacheByteLength(F, D));
    expect(bytes.length).toBe(20 + 4 * (2 * F * D + 3 * F * F + 3 * F));
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    const query = prepareXPoolQuery(head, texts[0]!);
    const expected = scoreXPoolCached(query, cache);
    for (const input of [bytes, shifted]) {
      const back = deserializeXPoolCache(input);
      expect(back.frameCount).toBe(F);
      expect(back.dim).toBe(D);
      expect(back.headChecksum).toBe(head.checksum);
      for (const key of ['keys', 'proj', 'gramU', 'gramZ', 'gramR', 'zc', 'rgc', 'rb'] as const)
        expect(back[key]).toEqual(cache[key]);
      expect(scoreXPoolCached(query, back)).toBe(expected);
    }
    // aligned input is viewed, not copied
    expect(deserializeXPoolCache(bytes).keys.buffer).toBe(bytes.buffer);
  });

  it('rejects a wrong magic, a truncated buffer and a too-short header', () => {
    const badMagic = bytes.slice();
    badMagic[0] = 0;
    expect(() => deserializeXPoolCache(badMagic)).toThrow(
      'X-Pool cache bytes: expected magic XPC1 (0x31435058), got 0x31435000',
    );
    expect(() => deserializeXPoolCache(bytes.subarray(0, bytes.length - 4))).toThrow(
      `X-Pool cache bytes: F = 12, D = 512 needs ${bytes.length} bytes, got ${bytes.length - 4}`,
    );
    try {
      deserializeXPoolCache(bytes.subarray(0, 7));
      expect.unreachable();
    } catch (error) {
      expect(isReelError(error, 'XPOOL_CACHE_INVALID')).toBe(true);
      expect((error as Error).message).toBe('X-Pool cache bytes: expected at least 20 bytes, got 7');
    }
  });
});
