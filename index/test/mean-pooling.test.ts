import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { meanPool, scoreMean } from '../src/pooling/mean-pooling.ts';
import { clipLikeFrames, clipLikeText, refMean, rng } from './helpers/pooling-fixtures.ts';

const F = 12;
const D = 512;

describe('meanPool / scoreMean', () => {
  it('matches the float64 mean of L2-normalised frames and its cosine (tolerance 1e-6)', () => {
    const r = rng(1);
    for (let video = 0; video < 10; video++) {
      const frames = clipLikeFrames(r, F, D);
      const text = clipLikeText(r, frames, F, D);
      const ref = refMean(text, frames, F, D);
      const pooled = meanPool(frames, F, D);
      let maxDiff = 0;
      for (let d = 0; d < D; d++) maxDiff = Math.max(maxDiff, Math.abs(pooled[d]! - ref.pooled[d]!));
      expect(maxDiff).toBeLessThan(1e-7);
      const weights = new Float32Array(F);
      expect(Math.abs(scoreMean(text, pooled, F, weights) - ref.score)).toBeLessThan(1e-6);
      expect(Array.from(weights)).toEqual(new Array(F).fill(Math.fround(1 / F)));
    }
  });

  it('is the unit frame itself when all frames point the same way, whatever their norms', () => {
    const frames = new Float32Array([3, 4, 0, 0.6, 0.8, 0]);
    expect(Array.from(meanPool(frames, 2, 3))).toEqual([Math.fround(0.6), Math.fround(0.8), 0]);
  });

  it('skips all-zero frames instead of producing NaN', () => {
    const frames = new Float32Array([0, 0, 2, 0]);
    expect(Array.from(meanPool(frames, 2, 2))).toEqual([0.5, 0]);
  });

  it('rejects frames that are not F×D with POOLING_INPUT_INVALID', () => {
    expect(() => meanPool(new Float32Array(10), 3, 4)).toThrow('frames: expected 3×4 = 12 values, got 10');
    try {
      scoreMean(new Float32Array(3), new Float32Array(4), 1);
      expect.unreachable();
    } catch (error) {
      expect(isReelError(error, 'POOLING_INPUT_INVALID')).toBe(true);
      expect((error as Error).message).toBe('text embedding: expected 4 values, got 3');
    }
  });
});
