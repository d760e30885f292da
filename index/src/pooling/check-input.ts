/**
 * Size checks shared by the pooling functions. They run once per call (a handful of integer compares),
 * so a caller that mixes up F and D gets a coded error naming the argument instead of silently reading
 * past a frame or returning NaN.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';

function fail(message: string): never {
  throw new ReelError(IndexErrorCode.POOLING_INPUT_INVALID, message);
}

/** Checks F ≥ 1 and D ≥ 1 are integers and `frames` holds exactly F×D values. */
export function checkFrames(frames: Float32Array, frameCount: number, dim: number): void {
  if (!Number.isInteger(frameCount) || frameCount < 1)
    fail(`frame count: expected an integer ≥ 1, got ${frameCount}`);
  if (!Number.isInteger(dim) || dim < 1) fail(`embedding size: expected an integer ≥ 1, got ${dim}`);
  if (frames.length !== frameCount * dim)
    fail(`frames: expected ${frameCount}×${dim} = ${frameCount * dim} values, got ${frames.length}`);
}

/** Checks a text embedding has D values. */
export function checkText(text: Float32Array, dim: number): void {
  if (text.length !== dim) fail(`text embedding: expected ${dim} values, got ${text.length}`);
}

/** Checks a frame Gram matrix is F×F. */
export function checkGram(gram: Float32Array, frameCount: number): void {
  if (gram.length !== frameCount * frameCount)
    fail(
      `frame Gram matrix: expected ${frameCount}×${frameCount} = ${frameCount * frameCount} values, got ${gram.length}`,
    );
}

/** Checks an output weight buffer can hold F weights. */
export function checkWeights(outWeights: Float32Array | undefined, frameCount: number): void {
  if (outWeights !== undefined && outWeights.length < frameCount)
    fail(`output weights: expected room for ${frameCount} frames, got ${outWeights.length}`);
}

/** Throws POOLING_INPUT_INVALID with `message` (for parameter checks such as τ and k). */
export function failPoolingInput(message: string): never {
  fail(message);
}

let scratch = new Float64Array(64);

/**
 * A module-wide double scratch buffer of at least `n` values, grown (never shrunk) on demand. Scoring is
 * synchronous, so one buffer serves every call without allocation in the per-candidate loop.
 */
export function scratchBuffer(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}
