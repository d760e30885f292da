/**
 * Text-agnostic pooling, CLIP4Clip's meanP: the mean of a video's L2-normalised frame embeddings,
 * computed once per video at index time and compared with a query by cosine. It is the fast first
 * stage of the search (one D-vector per video, fits any vector index).
 */
import { checkFrames, checkText, checkWeights } from './check-input.ts';
import { cosine, norm } from './vector-math.ts';

/**
 * Mean of the L2-normalised frames.
 *
 * @param frames F×D row-major frame embeddings as the image encoder outputs them (any norm).
 * @returns a D-vector, not renormalised (the score is a cosine, so its length does not matter; keeping
 *   it lets a caller see how consistent the frames are: the length is 1 for identical frames).
 */
export function meanPool(frames: Float32Array, frameCount: number, dim: number): Float32Array {
  checkFrames(frames, frameCount, dim);
  const out = new Float32Array(dim);
  const sums = new Float64Array(dim);
  for (let f = 0; f < frameCount; f++) {
    const offset = f * dim;
    const n = norm(frames, offset, dim);
    if (n === 0) continue; // a blank frame has no direction; it adds nothing
    const inv = 1 / n;
    for (let d = 0; d < dim; d++) sums[d] = sums[d]! + frames[offset + d]! * inv;
  }
  for (let d = 0; d < dim; d++) out[d] = sums[d]! / frameCount;
  return out;
}

/**
 * Score of a query against a mean-pooled video: cosine(text, mean).
 *
 * @param text D-vector text embedding (any norm).
 * @param pooled D-vector from {@link meanPool}.
 * @param frameCount F, only used to fill `outWeights`.
 * @param outWeights if given, receives the uniform frame weights 1/F in [0, F) (mean pooling has no
 *   preferred moment; the moment finder then falls back to the whole video).
 */
export function scoreMean(
  text: Float32Array,
  pooled: Float32Array,
  frameCount: number,
  outWeights?: Float32Array,
): number {
  checkText(text, pooled.length);
  checkWeights(outWeights, frameCount);
  if (outWeights !== undefined) outWeights.fill(1 / frameCount, 0, frameCount);
  return cosine(text, pooled);
}
