import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { decodeFrames, encodeFrames } from '../src/frame-codec.ts';
import { prepareXPoolCompactQuery, scoreXPoolCompact } from '../src/xpool/xpool-score.ts';
import { buildXPoolCompactCache, xpoolCompactLength } from '../src/xpool/xpool-terms.ts';
import { clipLikeFrames, clipLikeText, identityHead, randomHead, rng } from './helpers/pooling-fixtures.ts';
import { xpoolDirectScore } from './helpers/xpool-direct.ts';

describe('compact X-Pool (frames + 3F² + 3F floats per video)', () => {
  const D = 64;
  const F = 12;
  const r = rng(11);
  const head = randomHead(r, D);
  const videos = Array.from({ length: 6 }, () => clipLikeFrames(r, F, D));

  it('stores 3·F² + 3·F floats', () => {
    const cache = buildXPoolCompactCache(head, videos[0]!, F);
    expect(cache.data.length).toBe(xpoolCompactLength(F));
    expect(xpoolCompactLength(12)).toBe(468);
    expect(cache.headChecksum).toBe(head.checksum);
  });

  it('gives the exact X-Pool score and weights of the reference computation on float frames', () => {
    for (let v = 0; v < videos.length; v++) {
      const frames = videos[v]!;
      const text = clipLikeText(r, frames, F, D);
      const stats = encodeFrames(frames, F, D);
      const compact = buildXPoolCompactCache(head, frames, F);
      const query = prepareXPoolCompactQuery(head, text);
      const weights = new Float32Array(F);
      const score = scoreXPoolCompact(query, frames, stats.means, stats.variances, compact, weights);
      const refWeights = new Float32Array(F);
      const reference = xpoolDirectScore(head, text, frames, F, refWeights);
      expect(Math.abs(score - reference)).toBeLessThan(1e-5);
      for (let f = 0; f < F; f++) expect(Math.abs(weights[f]! - refWeights[f]!)).toBeLessThan(1e-5);
    }
  });

  it('stays within 2e-3 of the exact score on int8 frames', () => {
    let worst = 0;
    for (const frames of videos) {
      const text = clipLikeText(r, frames, F, D);
      const stats = encodeFrames(frames, F, D);
      const compact = buildXPoolCompactCache(head, frames, F);
      const query = prepareXPoolCompactQuery(head, text);
      const exact = scoreXPoolCompact(query, frames, stats.means, stats.variances, compact);
      const int8 = scoreXPoolCompact(query, decodeFrames(stats), stats.means, stats.variances, compact);
      worst = Math.max(worst, Math.abs(exact - int8));
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(2e-3);
  });

  it('works with the reference initialisation (identity head)', () => {
    const id = identityHead(D);
    const frames = videos[1]!;
    const text = clipLikeText(r, frames, F, D);
    const stats = encodeFrames(frames, F, D);
    const score = scoreXPoolCompact(
      prepareXPoolCompactQuery(id, text),
      frames,
      stats.means,
      stats.variances,
      buildXPoolCompactCache(id, frames, F),
    );
    expect(Math.abs(score - xpoolDirectScore(id, text, frames, F))).toBeLessThan(1e-5);
  });

  it('refuses terms of another head (XPOOL_CACHE_INVALID) and mis-sized input (EMBEDDING_DIM_MISMATCH)', () => {
    const other = randomHead(rng(5), D, 777);
    const frames = videos[0]!;
    const stats = encodeFrames(frames, F, D);
    const query = prepareXPoolCompactQuery(head, clipLikeText(r, frames, F, D));
    expect(() =>
      scoreXPoolCompact(
        query,
        frames,
        stats.means,
        stats.variances,
        buildXPoolCompactCache(other, frames, F),
      ),
    ).toThrow(/expected head 4d2 .* got head 309/);
    try {
      prepareXPoolCompactQuery(head, new Float32Array(D + 1));
      expect.unreachable();
    } catch (error) {
      expect(isReelError(error, 'EMBEDDING_DIM_MISMATCH')).toBe(true);
    }
    expect(() => buildXPoolCompactCache(head, frames, F + 1)).toThrow(
      /expected 13 frames of the head's D = 64/,
    );
  });
});
