/**
 * Parameter-free text-conditioned pooling, the baselines of X-Pool's reference code
 * (layer6ai-labs/xpool, modules/baseline_pooling.py). They work with any off-the-shelf CLIP: nothing is
 * trained. All of them take the video's frames already L2-normalised (as the reference assumes) and a
 * per-video F×F Gram matrix G = X̂X̂ᵀ computed once at index time, so no per-pair D-vector is
 * materialised: ‖Σ w_f x̂_f‖ = sqrt(wᵀGw) costs F² instead of F·D. Per pair that is F·D (the frame
 * cosines) + F² instead of 2·F·D + 2·D.
 *
 * Every scorer returns the score and, through `outWeights`, the frame weights the score used (the moment
 * finder reads them to locate the matched moment). Scoring does not allocate: it reuses a module-wide
 * scratch buffer. After the input checks and the cosines, each is the search's own kernel
 * (pooling-kernels.ts), so what is evaluated is what is searched.
 */
import {
  checkFrames,
  checkGram,
  checkText,
  checkWeights,
  failPoolingInput,
  scratchBuffer,
} from './check-input.ts';
import { attentionFromCosines, maxFromCosines, topKFromCosines } from './pooling-kernels.ts';
import { copyWeights, dot, norm, softmaxInPlace } from './vector-math.ts';

/** The reference's attention temperature (`attention_temperature`). */
export const DEFAULT_ATTENTION_TEMPERATURE = 0.01;
/** The reference's default k for top-k pooling. */
export const DEFAULT_TOP_K = 3;

/** Fills `sims[0..F)` with cos(text, x̂_f) and returns ‖text‖ (0 for a zero text). */
export function frameCosines(
  text: Float32Array,
  frames: Float32Array,
  frameCount: number,
  dim: number,
  sims: Float64Array,
) {
  const textNorm = norm(text, 0, dim);
  const inv = textNorm > 0 ? 1 / textNorm : 0;
  for (let f = 0; f < frameCount; f++) sims[f] = dot(text, 0, frames, f * dim, dim) * inv;
  return textNorm;
}

/**
 * Attention pooling: w = softmax_f(cos(text, x̂_f) / τ), pooled = Σ_f w_f x̂_f, score = cos(text, pooled),
 * computed as Σ w_f cos_f / sqrt(wᵀGw).
 *
 * @param text D-vector text embedding (any norm).
 * @param frames F×D L2-normalised frames ({@link l2NormalizeRows}).
 * @param gram F×F Gram matrix of `frames` ({@link gramMatrix}).
 * @param tau softmax temperature > 0 (0.01 by default, as the reference).
 * @param outWeights if given, receives the F attention weights (they sum to 1).
 * @returns the cosine score in [-1, 1].
 */
export function scoreAttention(
  text: Float32Array,
  frames: Float32Array,
  gram: Float32Array,
  frameCount: number,
  dim: number,
  tau: number = DEFAULT_ATTENTION_TEMPERATURE,
  outWeights?: Float32Array,
): number {
  checkFrames(frames, frameCount, dim);
  checkText(text, dim);
  checkGram(gram, frameCount);
  checkWeights(outWeights, frameCount);
  if (!(tau > 0)) failPoolingInput(`attention temperature: expected a number > 0, got ${tau}`);
  const cos = scratchBuffer(2 * frameCount);
  frameCosines(text, frames, frameCount, dim, cos);
  return attentionFromCosines(cos, frameCount, gram, 0, tau, outWeights);
}

/**
 * Attention pooling the way the reference computes it: materialise pooled = Σ w_f x̂_f (F·D), then its
 * cosine with the text. Same result as {@link scoreAttention}; kept as the baseline the Gram form is
 * benchmarked against and as a cross-check.
 */
export function scoreAttentionNaive(
  text: Float32Array,
  frames: Float32Array,
  frameCount: number,
  dim: number,
  tau: number = DEFAULT_ATTENTION_TEMPERATURE,
  outWeights?: Float32Array,
): number {
  checkFrames(frames, frameCount, dim);
  checkText(text, dim);
  checkWeights(outWeights, frameCount);
  if (!(tau > 0)) failPoolingInput(`attention temperature: expected a number > 0, got ${tau}`);
  const buffer = scratchBuffer(frameCount + dim);
  const textNorm = frameCosines(text, frames, frameCount, dim, buffer);
  softmaxInPlace(buffer, frameCount, 1 / tau);
  // pooled lives after the weights in the same scratch buffer
  buffer.fill(0, frameCount, frameCount + dim);
  for (let f = 0; f < frameCount; f++) {
    const wf = buffer[f]!;
    const offset = f * dim;
    for (let d = 0; d < dim; d++) buffer[frameCount + d] = buffer[frameCount + d]! + wf * frames[offset + d]!;
  }
  let textDotPooled = 0;
  let pooledNorm2 = 0;
  for (let d = 0; d < dim; d++) {
    const p = buffer[frameCount + d]!;
    textDotPooled += text[d]! * p;
    pooledNorm2 += p * p;
  }
  copyWeights(buffer, outWeights, frameCount);
  const denominator = textNorm * Math.sqrt(pooledNorm2);
  return denominator > 0 ? textDotPooled / denominator : 0;
}

/**
 * Top-k pooling: the sum of the k frames most similar to the text, score = cos(text, sum), computed as
 * Σ_{i∈S} cos_i / sqrt(Σ_{i,j∈S} G_ij). Ties go to the earlier frame.
 *
 * @param k number of frames, an integer ≥ 1 (3 by default, as the reference); clamped to F.
 * @param outWeights if given, receives 1/k on the chosen frames and 0 elsewhere.
 */
export function scoreTopK(
  text: Float32Array,
  frames: Float32Array,
  gram: Float32Array,
  frameCount: number,
  dim: number,
  k: number = DEFAULT_TOP_K,
  outWeights?: Float32Array,
): number {
  checkFrames(frames, frameCount, dim);
  checkText(text, dim);
  checkGram(gram, frameCount);
  checkWeights(outWeights, frameCount);
  if (!Number.isInteger(k) || k < 1) failPoolingInput(`top-k: expected an integer k ≥ 1, got ${k}`);
  const cos = scratchBuffer(2 * frameCount);
  frameCosines(text, frames, frameCount, dim, cos);
  return topKFromCosines(cos, frameCount, gram, 0, k, outWeights);
}

/**
 * Max pooling: the largest cosine between the text and a frame.
 *
 * @param frames F×D L2-normalised frames.
 * @param outWeights if given, receives 1 on the best frame (the first of equals) and 0 elsewhere.
 */
export function scoreMax(
  text: Float32Array,
  frames: Float32Array,
  frameCount: number,
  dim: number,
  outWeights?: Float32Array,
): number {
  checkFrames(frames, frameCount, dim);
  checkText(text, dim);
  checkWeights(outWeights, frameCount);
  const cos = scratchBuffer(frameCount);
  frameCosines(text, frames, frameCount, dim, cos);
  return maxFromCosines(cos, frameCount, outWeights);
}
