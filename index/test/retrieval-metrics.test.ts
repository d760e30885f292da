import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import {
  metricsFromRanks,
  retrievalMetrics,
  textToVideoRanks,
  videoToTextRanks,
} from '../src/eval/retrieval-metrics.ts';

function matrix(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flat());
}

function expectCode(fn: () => unknown, code: string, message: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(isReelError(error, code)).toBe(true);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected an error');
}

describe('retrievalMetrics (hand-computed examples)', () => {
  it('3×3: t2v ranks 1,3,2 and v2t ranks 1,2,2', () => {
    // row = text, column = video, gt = diagonal
    const sims = matrix([
      [0.9, 0.1, 0.3], // gt .9 is best → 1
      [0.8, 0.5, 0.7], // gt .5 below .8 and .7 → 3
      [0.2, 0.6, 0.4], // gt .4 below .6 → 2
    ]);
    const result = retrievalMetrics(sims, 3, 3, [0, 1, 2]);
    expect([...result.textToVideoRanks]).toEqual([1, 3, 2]);
    expect(result.textToVideo).toEqual({
      R1: 100 / 3,
      R5: 100,
      R10: 100,
      MdR: 2,
      MnR: 2,
      queries: 3,
      tiedQueries: 0,
    });
    // columns: v0 [.9,.8,.2] → 1; v1 [.1,.5,.6] → 2; v2 [.3,.7,.4] → 2
    expect([...result.videoToTextRanks]).toEqual([1, 2, 2]);
    expect([...result.videoToTextVideos]).toEqual([0, 1, 2]);
    expect(result.videoToText.R1).toBeCloseTo(100 / 3, 12);
    expect(result.videoToText.MdR).toBe(2);
    expect(result.videoToText.MnR).toBeCloseTo(5 / 3, 12);
  });

  it('5×4 with ties: equal scores keep index order; a video with two texts takes its best rank', () => {
    const sims = matrix([
      [0.5, 0.5, 0.2, 0.1], // gt 0 ties v1 (later index) → 1
      [0.3, 0.3, 0.9, 0.3], // gt 1: v2 higher, v0 equal and earlier → 3
      [0.1, 0.2, 0.3, 0.4], // gt 2: v3 higher → 2
      [0.7, 0.6, 0.5, 0.4], // gt 3 last → 4
      [0.2, 0.8, 0.8, 0.1], // gt 1 ties v2 (later index) → 1
    ]);
    const gt = [0, 1, 2, 3, 1];
    const result = retrievalMetrics(sims, 5, 4, gt);
    expect([...result.textToVideoRanks]).toEqual([1, 3, 2, 4, 1]);
    expect(result.textToVideo).toEqual({
      R1: 40,
      R5: 100,
      R10: 100,
      MdR: 2,
      MnR: 2.2,
      queries: 5,
      tiedQueries: 3,
    });
    // v0 col [.5,.3,.1,.7,.2], text 0 (.5) below t3 → 2
    // v1 col [.5,.3,.2,.6,.8], texts 1 (.3) and 4 (.8): best is t4 → 1
    // v2 col [.2,.9,.3,.5,.8], text 2 (.3) below .9,.5,.8 → 4
    // v3 col [.1,.3,.4,.4,.1], text 3 (.4) ties t2 (earlier) → 2
    expect([...result.videoToTextRanks]).toEqual([2, 1, 4, 2]);
    expect(result.videoToText).toEqual({
      R1: 25,
      R5: 100,
      R10: 100,
      MdR: 2,
      MnR: 2.25,
      queries: 4,
      tiedQueries: 1,
    });
  });

  it('among a video’s tied texts the earlier one counts (best rank, stable)', () => {
    // video 0's texts 1 and 2 tie at .6; text 0 (gt video 1) is above them
    const sims = matrix([
      [0.9, 0.1],
      [0.6, 0.2],
      [0.6, 0.3],
    ]);
    const v2t = videoToTextRanks(sims, 3, 2, [1, 0, 0]);
    expect([...v2t.videos]).toEqual([0, 1]);
    expect([...v2t.ranks]).toEqual([2, 3]);
    expect(v2t.tiedQueries).toBe(1);
  });

  it('a perfect diagonal gives R@1 = 100, MdR = 1, MnR = 1 both ways', () => {
    const N = 12;
    const sims = new Float32Array(N * N);
    for (let t = 0; t < N; t++)
      for (let v = 0; v < N; v++) sims[t * N + v] = t === v ? 1 : 0.1 * ((t + v) % 7);
    const gt = Array.from({ length: N }, (_, i) => i);
    const result = retrievalMetrics(sims, N, N, gt);
    for (const m of [result.textToVideo, result.videoToText])
      expect(m).toMatchObject({ R1: 100, R5: 100, R10: 100, MdR: 1, MnR: 1, queries: N });
  });

  it('reversed order: the ground truth ranks t+1, so R@K = K/N and MdR = MnR = 10.5 at N = 20', () => {
    const N = 20;
    const sims = new Float32Array(N * N);
    // every row ranks videos 0,1,2,... in that order; text t's video is t
    for (let t = 0; t < N; t++) for (let v = 0; v < N; v++) sims[t * N + v] = -v;
    const gt = Array.from({ length: N }, (_, i) => i);
    const { ranks } = textToVideoRanks(sims, N, N, gt);
    expect([...ranks]).toEqual(gt.map((i) => i + 1));
    expect(retrievalMetrics(sims, N, N, gt).textToVideo).toMatchObject({
      R1: 5,
      R5: 25,
      R10: 50,
      MdR: 10.5,
      MnR: 10.5,
    });
    // every ground truth last
    for (let t = 0; t < N; t++) for (let v = 0; v < N; v++) sims[t * N + v] = v === t ? -1 : v;
    expect(retrievalMetrics(sims, N, N, gt).textToVideo).toMatchObject({ R1: 0, R10: 0, MdR: N, MnR: N });
  });

  it('NaN scores rank below every number', () => {
    const sims = matrix([
      [Number.NaN, 0.1, -5],
      [0.2, Number.NaN, Number.NaN],
    ]);
    const { ranks } = textToVideoRanks(sims, 2, 3, [0, 0]);
    expect([...ranks]).toEqual([3, 1]);
    expect([...textToVideoRanks(sims, 2, 3, [2, 2]).ranks]).toEqual([2, 3]);
  });

  it('rejects a matrix of the wrong size, a gt of the wrong length and out-of-range indices', () => {
    const sims = new Float32Array(6);
    expectCode(
      () => retrievalMetrics(sims, 2, 4, [0, 1]),
      'EVAL_INPUT_INVALID',
      /expected 2×4 = 8 values, got 6/,
    );
    expectCode(
      () => retrievalMetrics(sims, 2, 3, [0]),
      'EVAL_INPUT_INVALID',
      /one video index per text \(2\), got 1/,
    );
    expectCode(
      () => retrievalMetrics(sims, 2, 3, [0, 3]),
      'EVAL_INPUT_INVALID',
      /text 1: expected a video index in \[0, 3\), got 3/,
    );
    expectCode(() => retrievalMetrics(sims, 2, 3, [0, 1.5]), 'EVAL_INPUT_INVALID', /got 1.5/);
  });
});

describe('metricsFromRanks', () => {
  it('computes R@K as percentages, the median of an even count as the middle mean', () => {
    expect(metricsFromRanks([100, 3, 1, 2])).toEqual({
      R1: 25,
      R5: 75,
      R10: 75,
      MdR: 2.5,
      MnR: 26.5,
      queries: 4,
      tiedQueries: 0,
    });
    expect(metricsFromRanks([7, 5, 11]).MdR).toBe(7);
    expect(metricsFromRanks([10, 11]).R10).toBe(50);
  });

  it('rejects an empty list', () => {
    expectCode(() => metricsFromRanks([]), 'EVAL_INPUT_INVALID', /at least one query/);
  });
});
