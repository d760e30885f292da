import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import {
  scoreAttention,
  scoreAttentionNaive,
  scoreMax,
  scoreTopK,
} from '../src/pooling/text-conditioned-pooling.ts';
import { gramMatrix, l2NormalizeRows } from '../src/pooling/vector-math.ts';
import {
  clipLikeFrames,
  clipLikeText,
  refAttention,
  refMax,
  refTopK,
  rng,
} from './helpers/pooling-fixtures.ts';

const F = 12;
const D = 512;

function videos(seed: number, count: number) {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const raw = clipLikeFrames(r, F, D);
    const frames = l2NormalizeRows(raw, F, D);
    return { raw, frames, gram: gramMatrix(frames, F, D), text: clipLikeText(r, raw, F, D) };
  });
}

describe('scoreAttention (Gram form)', () => {
  it('matches the float64 reference score (1e-6) and weights (1e-5) at τ = 0.01, 0.05 and 1', () => {
    for (const tau of [0.01, 0.05, 1]) {
      for (const { raw, frames, gram, text } of videos(2, 20)) {
        const ref = refAttention(text, raw, F, D, tau);
        const weights = new Float32Array(F);
        const score = scoreAttention(text, frames, gram, F, D, tau, weights);
        expect(Math.abs(score - ref.score)).toBeLessThan(1e-6);
        for (let f = 0; f < F; f++) expect(Math.abs(weights[f]! - ref.weights[f]!)).toBeLessThan(1e-5);
        expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      }
    }
  });

  it('gives the same score and weights as the naive form (1e-6)', () => {
    for (const { frames, gram, text } of videos(3, 20)) {
      const a = new Float32Array(F);
      const b = new Float32Array(F);
      const gramScore = scoreAttention(text, frames, gram, F, D, 0.01, a);
      const naiveScore = scoreAttentionNaive(text, frames, F, D, 0.01, b);
      expect(Math.abs(gramScore - naiveScore)).toBeLessThan(1e-6);
      for (let f = 0; f < F; f++) expect(Math.abs(a[f]! - b[f]!)).toBeLessThan(1e-6);
    }
  });

  it('defaults τ to 0.01 and tends to max pooling as τ → 0', () => {
    const [{ frames, gram, text }] = videos(4, 1) as [ReturnType<typeof videos>[number]];
    expect(scoreAttention(text, frames, gram, F, D)).toBe(scoreAttention(text, frames, gram, F, D, 0.01));
    const w = new Float32Array(F);
    const sharp = scoreAttention(text, frames, gram, F, D, 1e-6, w);
    expect(Math.abs(sharp - scoreMax(text, frames, F, D))).toBeLessThan(1e-6);
    expect(Math.max(...w)).toBeCloseTo(1, 6);
  });

  it('rejects τ ≤ 0 and a Gram matrix of the wrong size', () => {
    const [{ frames, gram, text }] = videos(5, 1) as [ReturnType<typeof videos>[number]];
    expect(() => scoreAttention(text, frames, gram, F, D, 0)).toThrow(
      'attention temperature: expected a number > 0, got 0',
    );
    expect(() => scoreAttention(text, frames, gram.subarray(1), F, D)).toThrow(
      'frame Gram matrix: expected 12×12 = 144 values, got 143',
    );
    expect(() => scoreAttention(text, frames, gram, F, D, 0.01, new Float32Array(3))).toThrow(
      'output weights: expected room for 12 frames, got 3',
    );
  });
});

describe('scoreTopK', () => {
  it('matches the float64 reference (1e-6) for k = 1, 3 (default), 5, 12 and k > F (clamped)', () => {
    for (const k of [1, 3, 5, 12, 40]) {
      for (const { raw, frames, gram, text } of videos(6, 10)) {
        const ref = refTopK(text, raw, F, D, k);
        const weights = new Float32Array(F);
        const score = scoreTopK(text, frames, gram, F, D, k, weights);
        expect(Math.abs(score - ref.score)).toBeLessThan(1e-6);
        const chosen = Array.from(weights.keys()).filter((f) => weights[f]! > 0);
        expect(chosen).toEqual([...ref.chosen].sort((a, b) => a - b));
        for (const f of chosen) expect(weights[f]).toBe(Math.fround(1 / Math.min(k, F)));
      }
    }
    const [{ frames, gram, text }] = videos(7, 1) as [ReturnType<typeof videos>[number]];
    expect(scoreTopK(text, frames, gram, F, D)).toBe(scoreTopK(text, frames, gram, F, D, 3));
  });

  it('rejects k that is not an integer ≥ 1', () => {
    const [{ frames, gram, text }] = videos(8, 1) as [ReturnType<typeof videos>[number]];
    for (const k of [0, 1.5, -2]) {
      try {
        scoreTopK(text, frames, gram, F, D, k);
        expect.unreachable();
      } catch (error) {
        expect(isReelError(error, 'POOLING_INPUT_INVALID')).toBe(true);
        expect((error as Error).message).toBe(`top-k: expected an integer k ≥ 1, got ${k}`);
      }
    }
  });
});

describe('scoreMax', () => {
  it('matches the float64 reference (1e-6) and marks the best frame one-hot', () => {
    for (const { raw, frames, text } of videos(9, 20)) {
      const ref = refMax(text, raw, F, D);
      const weights = new Float32Array(F).fill(7);
      expect(Math.abs(scoreMax(text, frames, F, D, weights) - ref.score)).toBeLessThan(1e-6);
      expect(Array.from(weights)).toEqual(Array.from({ length: F }, (_, f) => (f === ref.best ? 1 : 0)));
    }
  });

  it('finds the frame a hand-made text points at', () => {
    const frames = l2NormalizeRows(new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]), 3, 3);
    const weights = new Float32Array(3);
    expect(scoreMax(new Float32Array([0.1, 0.2, 2]), frames, 3, 3, weights)).toBeCloseTo(
      2 / Math.sqrt(4.05),
      6,
    );
    expect(Array.from(weights)).toEqual([0, 0, 1]);
  });
});
