/**
 * Text↔video retrieval metrics from a similarity matrix, computed the standard way (CLIP4Clip,
 * X-Pool): R@K, MdR and MnR over 1-based ranks of the ground truth.
 *
 * Rank rule: a query's candidates are sorted by descending score and the rank is the 1-based position of
 * the ground truth in that order, as CLIP4Clip (`np.sort(-x)`) and X-Pool (`torch.argsort(descending)`)
 * compute it. Their sorts leave the order of equal scores unspecified; here it is fixed: equal scores keep
 * index order (a stable sort), so
 *
 *   rank = 1 + #{candidates with a higher score} + #{candidates with an equal score and a lower index}.
 *
 * With float scores from real models ties are rare; {@link RetrievalMetrics.tiedQueries} counts the
 * queries where one touched the ground truth, so an evaluation can see whether the rule mattered. NaN
 * scores rank below every number (a NaN ground truth ranks after all non-NaN candidates).
 *
 * Text→video: each text has one ground-truth video (`gt[t]`). Video→text: a video's ground truths are
 * every text whose `gt` is that video, and its rank is the best (lowest) rank among them (the
 * Collaborative Experts / Frozen-in-Time convention; on MSR-VTT 1k-A, with one caption per video, it is
 * the plain rank). Videos no text points to are not video→text queries.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';

/** Retrieval metrics over a set of queries. */
export interface RetrievalMetrics {
  /** Recall at 1, 5 and 10: percentage (0–100) of queries whose ground truth ranks in the top K. */
  R1: number;
  R5: number;
  R10: number;
  /** Median rank of the ground truth (1-based; the mean of the two middle ranks for an even count). */
  MdR: number;
  /** Mean rank of the ground truth (1-based). */
  MnR: number;
  /** Number of queries. */
  queries: number;
  /** Queries whose ground truth's score equals another candidate's (where the tie rule decided). */
  tiedQueries: number;
}

/** Both directions of an evaluation, with each query's rank. */
export interface RetrievalEvaluation {
  textToVideo: RetrievalMetrics;
  videoToText: RetrievalMetrics;
  /** 1-based rank of each text's ground-truth video, Nt values. */
  textToVideoRanks: Int32Array;
  /** Best 1-based rank among each video's texts, in video order; only videos some text points to. */
  videoToTextRanks: Int32Array;
  /** The video index of each entry of {@link videoToTextRanks}. */
  videoToTextVideos: Int32Array;
}

function fail(message: string): never {
  throw new ReelError(IndexErrorCode.EVAL_INPUT_INVALID, message);
}

/** True when (score a at index ia) sorts before (score b at index ib): higher first, NaN last, then index. */
function before(a: number, ia: number, b: number, ib: number): boolean {
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  if (aNaN || bNaN) return !aNaN || (bNaN && ia < ib);
  return a > b || (a === b && ia < ib);
}

/**
 * Checks the matrix is Nt×Nv and every ground truth is an integer video index in [0, Nv).
 *
 * @throws ReelError EVAL_INPUT_INVALID naming the first problem.
 */
export function checkRetrievalInput(
  sims: Float32Array,
  textCount: number,
  videoCount: number,
  gt: ArrayLike<number>,
): void {
  if (!Number.isInteger(textCount) || textCount < 1 || !Number.isInteger(videoCount) || videoCount < 1)
    fail(`similarity matrix: expected at least 1 text and 1 video, got ${textCount}×${videoCount}`);
  if (sims.length !== textCount * videoCount)
    fail(
      `similarity matrix: expected ${textCount}×${videoCount} = ${textCount * videoCount} values, got ${sims.length}`,
    );
  if (gt.length !== textCount)
    fail(`ground truth: expected one video index per text (${textCount}), got ${gt.length}`);
  for (let t = 0; t < textCount; t++) {
    const v = gt[t]!;
    if (!Number.isInteger(v) || v < 0 || v >= videoCount)
      fail(`ground truth of text ${t}: expected a video index in [0, ${videoCount}), got ${v}`);
  }
}

/**
 * 1-based rank of candidate `target` among `count` scores read at `offset + i·stride` (the rule in the
 * file header); `tied` reports whether another candidate has exactly the target's score.
 */
function rankIn(
  sims: Float32Array,
  offset: number,
  stride: number,
  count: number,
  target: number,
): { rank: number; tied: boolean } {
  const s = sims[offset + target * stride]!;
  let rank = 1;
  let tied = false;
  for (let i = 0; i < count; i++) {
    if (i === target) continue;
    const x = sims[offset + i * stride]!;
    if (x === s || (Number.isNaN(x) && Number.isNaN(s))) tied = true;
    if (before(x, i, s, target)) rank++;
  }
  return { rank, tied };
}

/**
 * R@1/5/10, MdR and MnR of 1-based ranks.
 *
 * @param tiedQueries carried into the result as is.
 * @throws ReelError EVAL_INPUT_INVALID for an empty list.
 */
export function metricsFromRanks(ranks: ArrayLike<number>, tiedQueries = 0): RetrievalMetrics {
  const n = ranks.length;
  if (n === 0) fail('ranks: expected at least one query');
  const sorted = Float64Array.from(ranks).sort();
  const recall = (k: number) => {
    let hits = 0;
    for (let i = 0; i < n; i++) if (sorted[i]! <= k) hits++;
    return (100 * hits) / n;
  };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const middle = n >> 1;
  const median = n % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return {
    R1: recall(1),
    R5: recall(5),
    R10: recall(10),
    MdR: median,
    MnR: sum / n,
    queries: n,
    tiedQueries,
  };
}

/**
 * Text→video ranks: for each text t, the rank of video `gt[t]` in row t.
 *
 * @param sims Nt×Nv row-major similarity matrix (row = text, column = video).
 * @param gt Nt ground-truth video indices.
 */
export function textToVideoRanks(
  sims: Float32Array,
  textCount: number,
  videoCount: number,
  gt: ArrayLike<number>,
): { ranks: Int32Array; tiedQueries: number } {
  checkRetrievalInput(sims, textCount, videoCount, gt);
  const ranks = new Int32Array(textCount);
  let tiedQueries = 0;
  for (let t = 0; t < textCount; t++) {
    const { rank, tied } = rankIn(sims, t * videoCount, 1, videoCount, gt[t]!);
    ranks[t] = rank;
    if (tied) tiedQueries++;
  }
  return { ranks, tiedQueries };
}

/**
 * Video→text ranks: for each video that some text points to, the best rank among its texts in column v.
 * Rank order is total (score, then index), so the best-ranked text is found first and ranked once.
 *
 * @param sims Nt×Nv row-major similarity matrix (row = text, column = video).
 * @param gt Nt ground-truth video indices.
 */
export function videoToTextRanks(
  sims: Float32Array,
  textCount: number,
  videoCount: number,
  gt: ArrayLike<number>,
): { ranks: Int32Array; videos: Int32Array; tiedQueries: number } {
  checkRetrievalInput(sims, textCount, videoCount, gt);
  const bestText = new Int32Array(videoCount).fill(-1);
  for (let t = 0; t < textCount; t++) {
    const v = gt[t]!;
    const current = bestText[v]!;
    if (current < 0 || before(sims[t * videoCount + v]!, t, sims[current * videoCount + v]!, current))
      bestText[v] = t;
  }
  const videos: number[] = [];
  for (let v = 0; v < videoCount; v++) if (bestText[v]! >= 0) videos.push(v);
  const ranks = new Int32Array(videos.length);
  let tiedQueries = 0;
  videos.forEach((v, i) => {
    const { rank, tied } = rankIn(sims, v, videoCount, textCount, bestText[v]!);
    ranks[i] = rank;
    if (tied) tiedQueries++;
  });
  return { ranks, videos: Int32Array.from(videos), tiedQueries };
}

/**
 * Text→video and video→text metrics of a similarity matrix.
 *
 * @param sims Nt×Nv row-major similarity matrix (row = text, column = video), higher = more similar.
 * @param gt Nt ground-truth video indices (`gt[t]` is the video text t describes).
 * @throws ReelError EVAL_INPUT_INVALID when sizes disagree or a ground truth is out of range.
 */
export function retrievalMetrics(
  sims: Float32Array,
  textCount: number,
  videoCount: number,
  gt: ArrayLike<number>,
): RetrievalEvaluation {
  const t2v = textToVideoRanks(sims, textCount, videoCount, gt);
  const v2t = videoToTextRanks(sims, textCount, videoCount, gt);
  return {
    textToVideo: metricsFromRanks(t2v.ranks, t2v.tiedQueries),
    videoToText: metricsFromRanks(v2t.ranks, v2t.tiedQueries),
    textToVideoRanks: t2v.ranks,
    videoToTextRanks: v2t.ranks,
    videoToTextVideos: v2t.videos,
  };
}
