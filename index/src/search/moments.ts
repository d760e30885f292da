/**
 * The moment of a video that matched a query, from the per-frame weights the pooling used.
 *
 * Rule: take the top frame (the highest weight; the caller may name it, e.g. the best cosine among
 * top-k's equal weights); grow a run of consecutive frames around it while each neighbour's weight is
 * at least half the top weight; the moment spans from half-way between the run's first frame and the
 * frame before it, to half-way between its last frame and the frame after it. At the video's ends the
 * spacing to the one neighbour is mirrored, and the span is clamped to [0, duration]. A video of one
 * frame spans [0, duration].
 *
 * With X-Pool's sampling (the middle frame of each of F equal intervals) a run of frames i..j spans
 * exactly the intervals i..j: [i·d/F, (j+1)·d/F].
 */

/** The matched segment of a video. */
export interface MomentSpan {
  /** Seconds from the start, ≥ 0. */
  start: number;
  /** Seconds from the start, ≤ the duration when it is known. */
  end: number;
  /** The top frame's index (its thumbnail illustrates the moment). */
  frameIndex: number;
  /** First and last frame index of the run. */
  firstFrame: number;
  lastFrame: number;
}

/** Share of the top weight a neighbouring frame needs to join the run. */
export const MOMENT_WEIGHT_RATIO = 0.5;

/**
 * The best run of frames.
 *
 * @param weights F frame weights (any non-negative scale: only ratios to the top weight matter).
 * @param timestamps F frame times in seconds, increasing.
 * @param durationSeconds the video's length, or null when unknown (the end is then not clamped).
 * @param topFrame the frame to grow the run from; defaults to the first frame of highest weight.
 */
export function findMoment(
  weights: ArrayLike<number>,
  timestamps: ArrayLike<number>,
  durationSeconds: number | null,
  topFrame?: number,
): MomentSpan {
  const frameCount = Math.min(weights.length, timestamps.length);
  if (frameCount === 0)
    return { start: 0, end: durationSeconds ?? 0, frameIndex: 0, firstFrame: 0, lastFrame: 0 };
  let top = topFrame ?? -1;
  if (top < 0 || top >= frameCount) {
    top = 0;
    for (let f = 1; f < frameCount; f++) if (weights[f]! > weights[top]!) top = f;
  }
  const threshold = weights[top]! * MOMENT_WEIGHT_RATIO;
  let first = top;
  let last = top;
  while (first > 0 && weights[first - 1]! >= threshold) first--;
  while (last < frameCount - 1 && weights[last + 1]! >= threshold) last++;
  return {
    ...frameSpan(timestamps, frameCount, first, last, durationSeconds),
    frameIndex: top,
    firstFrame: first,
    lastFrame: last,
  };
}

/** [start, end] seconds of frames first..last under the half-spacing rule above. */
export function frameSpan(
  timestamps: ArrayLike<number>,
  frameCount: number,
  first: number,
  last: number,
  durationSeconds: number | null,
): { start: number; end: number } {
  const t = (i: number) => timestamps[i]!;
  let start: number;
  let end: number;
  if (frameCount === 1) {
    start = 0;
    end = durationSeconds ?? t(0);
  } else {
    const before = first > 0 ? (t(first) - t(first - 1)) / 2 : (t(1) - t(0)) / 2;
    const after =
      last < frameCount - 1 ? (t(last + 1) - t(last)) / 2 : (t(frameCount - 1) - t(frameCount - 2)) / 2;
    start = t(first) - before;
    end = t(last) + after;
  }
  start = Math.max(0, start);
  if (durationSeconds !== null) end = Math.min(durationSeconds, end);
  return { start, end: Math.max(start, end) };
}

/** A moment among several of one video, with its score. */
export interface ScoredMoment extends MomentSpan {
  /** Its best frame's cosine with the query. */
  score: number;
}

/** A video whose frames spread less than this (best − least cosine) has one moment: its best run. */
export const FLAT_SPREAD = 0.01;

/**
 * Every moment of a video that matches, best first: runs of consecutive frames whose cosine with the
 * query reaches half-way from the video's least matching frame to its best one (a frame of another
 * scene stays below it, however many frames each scene has). Each run spans as {@link frameSpan} says; its score is its best frame's cosine. A video
 * whose frames hardly differ (spread under {@link FLAT_SPREAD}) has one moment, the best run.
 *
 * @param cosines F per-frame cosines with the query.
 * @param limit most moments returned.
 */
export function findMoments(
  cosines: ArrayLike<number>,
  timestamps: ArrayLike<number>,
  durationSeconds: number | null,
  limit = 5,
): ScoredMoment[] {
  const frameCount = Math.min(cosines.length, timestamps.length);
  if (frameCount === 0) return [];
  let best = cosines[0]!;
  let least = cosines[0]!;
  for (let f = 1; f < frameCount; f++) {
    best = Math.max(best, cosines[f]!);
    least = Math.min(least, cosines[f]!);
  }
  const flat = best - least < FLAT_SPREAD;
  const threshold = flat ? best : (best + least) / 2;
  const moments: ScoredMoment[] = [];
  for (let f = 0; f < frameCount; f++) {
    if (cosines[f]! < threshold) continue;
    let last = f;
    while (last + 1 < frameCount && cosines[last + 1]! >= threshold) last++;
    let top = f;
    for (let g = f; g <= last; g++) if (cosines[g]! > cosines[top]!) top = g;
    moments.push({
      ...frameSpan(timestamps, frameCount, f, last, durationSeconds),
      frameIndex: top,
      firstFrame: f,
      lastFrame: last,
      score: cosines[top]!,
    });
    f = last;
  }
  moments.sort((a, b) => b.score - a.score || a.start - b.start);
  return flat ? moments.slice(0, 1) : moments.slice(0, limit);
}
