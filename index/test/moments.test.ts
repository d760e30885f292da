import { describe, expect, it } from 'vitest';
import { FLAT_SPREAD, findMoment, findMoments, frameSpan } from '../src/search/moments.ts';

/** X-Pool's sampling: the middle of each of 12 equal intervals of a 60 s video (2.5, 7.5, …, 57.5). */
const times = Array.from({ length: 12 }, (_, f) => 5 * f + 2.5);

describe('findMoment', () => {
  it('grows a run around the top frame while weights stay ≥ half the top weight', () => {
    const w = [0.01, 0.02, 0.1, 0.3, 0.4, 0.21, 0.19, 0.5, 0.01, 0, 0, 0].map((x) => x / 1.74);
    // top is frame 7 (0.5): frame 6 (0.19) < 0.25 and frame 8 (0.01) < 0.25 → run is frame 7 alone
    expect(findMoment(w, times, 60)).toEqual({
      start: 35,
      end: 40,
      frameIndex: 7,
      firstFrame: 7,
      lastFrame: 7,
    });
  });

  it('spans exactly the sampling intervals of the run under uniform sampling', () => {
    const w = [0, 0, 0.1, 0.22, 0.4, 0.2, 0.08, 0, 0, 0, 0, 0];
    // top frame 4 (0.4), threshold 0.2: frames 3 (0.22) and 5 (0.2, equal counts) join, 2 and 6 do not
    expect(findMoment(w, times, 60)).toEqual({
      start: 15,
      end: 30,
      frameIndex: 4,
      firstFrame: 3,
      lastFrame: 5,
    });
  });

  it('clamps at 0 and at the duration, mirroring the spacing at the ends', () => {
    const w = [0.5, 0.4, 0, 0, 0, 0, 0, 0, 0, 0, 0.3, 0.6];
    expect(findMoment(w, times, 60)).toMatchObject({ start: 50, end: 60, frameIndex: 11 });
    expect(findMoment(w, times, 58)).toMatchObject({ start: 50, end: 58 }); // clamped at the duration
    const early = [1, 0, 0];
    const m = findMoment(early, [0.2, 3, 6], 9);
    expect(m).toMatchObject({ start: 0, frameIndex: 0 });
    expect(m.end).toBeCloseTo(1.6, 12);
  });

  it('does not clamp the end when the duration is unknown', () => {
    expect(findMoment([0, 0, 1], [1, 3, 5], null)).toMatchObject({ start: 4, end: 6 });
  });

  it('uses the given top frame (e.g. the best of top-k equal weights)', () => {
    const w = [0, 1 / 3, 1 / 3, 0, 1 / 3, 0];
    const t = [1, 3, 5, 7, 9, 11];
    expect(findMoment(w, t, 12)).toMatchObject({ frameIndex: 1, start: 2, end: 6 });
    expect(findMoment(w, t, 12, 4)).toMatchObject({ frameIndex: 4, start: 8, end: 10 });
  });

  it('spans the whole video for a single frame, ties go to the first frame', () => {
    expect(findMoment([1], [4], 10)).toMatchObject({ start: 0, end: 10, frameIndex: 0 });
    expect(findMoment([0.5, 0.5, 0], [1, 3, 5], 6)).toMatchObject({ frameIndex: 0, start: 0, end: 4 });
  });
});

describe('frameSpan', () => {
  it('uses half the gap to each neighbour for non-uniform times', () => {
    expect(frameSpan([0, 2, 10, 11], 4, 1, 2, 12)).toEqual({ start: 1, end: 10.5 });
  });
});

describe('findMoments', () => {
  it('finds every run half-way or more from the least matching frame to the best, best first, each scored by its best frame', () => {
    // Scene A (frames 0-3), scene B (4-7), scene A again (8-11): a query for A.
    const c = [0.5, 0.52, 0.5, 0.49, 0.1, 0.11, 0.1, 0.09, 0.48, 0.5, 0.51, 0.5];
    const moments = findMoments(c, times, 60);
    expect(moments.map((m) => [m.start, m.end, m.frameIndex, m.score])).toEqual([
      [0, 20, 1, 0.52],
      [40, 60, 10, 0.51],
    ]);
    expect(findMoments(c, times, 60, 1)).toHaveLength(1);
  });

  it('gives a video whose frames hardly differ one moment: its best run', () => {
    const flat = times.map((_, f) => 0.3 + (f === 6 ? FLAT_SPREAD / 2 : 0));
    expect(findMoments(flat, times, 60)).toEqual([
      expect.objectContaining({ frameIndex: 6, firstFrame: 6, lastFrame: 6, start: 30, end: 35 }),
    ]);
    expect(findMoments([], [], 10)).toEqual([]);
  });
});
