/**
 * X-Pool scored the way the reference computes it (layer6ai-labs/xpool, modules/transformer.py), one
 * step per line: materialise q, the keys and values, the attention output, out_proj, LN2, the residual
 * linear_proj and LN3, then the cosine with the raw text, in float32 as the reference runs. Tests hold
 * the folded form (src/xpool/) to it, and the X-Pool benchmark times it as the baseline; nothing in
 * src/ uses it.
 *
 * The stages are exported so a caller can share work the way the reference batches it: keys and values
 * once per video, q once per query, and only the pooled vector per (text, video) pair (2·D² + 2·F·D
 * multiply-adds per pair, against F·2·D² more when nothing is shared).
 */
import { checkFrames, checkText, checkWeights } from '../../src/pooling/check-input.ts';
import {
  copyWeights,
  cosine,
  dot,
  layerNorm,
  linear,
  softmaxInPlace,
} from '../../src/pooling/vector-math.ts';
import type { XPoolHead } from '../../src/xpool/xpool-head.ts';

/** A video's frames through LN1 and the key/value projections (text-independent). */
export interface XPoolDirectFrames {
  frameCount: number;
  /** F×D, k_f = W_k LN1(x_f) + b_k. */
  keys: Float32Array;
  /** F×D, v_f = W_v LN1(x_f) + b_v. */
  values: Float32Array;
}

/**
 * LN1, then the key and value projections of every frame.
 *
 * @param frames F×D raw frame embeddings as the model outputs them (not normalised here).
 */
export function xpoolDirectFrames(
  head: XPoolHead,
  frames: Float32Array,
  frameCount: number,
): XPoolDirectFrames {
  const D = head.dim;
  checkFrames(frames, frameCount, D);
  const normed = new Float32Array(D);
  const keys = new Float32Array(frameCount * D);
  const values = new Float32Array(frameCount * D);
  for (let f = 0; f < frameCount; f++) {
    layerNorm(frames, f * D, head.layerNorm1.weight, head.layerNorm1.bias, head.eps, normed, 0, D);
    linear(head.kProj.weight, head.kProj.bias, normed, 0, keys, f * D, D, D);
    linear(head.vProj.weight, head.vProj.bias, normed, 0, values, f * D, D, D);
  }
  return { frameCount, keys, values };
}

/** q = W_q LN1(t) + b_q for a raw D-vector text embedding. */
export function xpoolDirectQuery(head: XPoolHead, text: Float32Array): Float32Array {
  const D = head.dim;
  checkText(text, D);
  const normed = new Float32Array(D);
  layerNorm(text, 0, head.layerNorm1.weight, head.layerNorm1.bias, head.eps, normed, 0, D);
  const q = new Float32Array(D);
  linear(head.qProj.weight, head.qProj.bias, normed, 0, q, 0, D, D);
  return q;
}

/**
 * The pooled video embedding for one query: softmax over frames of k_f·q/sqrt(D), attention = Σ w_f v_f,
 * o = W_o attention + b_o, a = LN2(o), pooled = LN3(a + W_l a + b_l). Dropout is the identity at test
 * time.
 *
 * @param q from {@link xpoolDirectQuery}.
 * @param outWeights if given, receives the F attention weights.
 * @returns the pooled D-vector.
 */
export function xpoolDirectPooled(
  head: XPoolHead,
  q: Float32Array,
  frames: XPoolDirectFrames,
  outWeights?: Float32Array,
): Float32Array {
  const D = head.dim;
  const F = frames.frameCount;
  checkWeights(outWeights, F);
  const w = new Float64Array(F);
  for (let f = 0; f < F; f++) w[f] = dot(frames.keys, f * D, q, 0, D);
  softmaxInPlace(w, F, 1 / Math.sqrt(D));
  copyWeights(w, outWeights, F);
  const attention = new Float32Array(D);
  for (let d = 0; d < D; d++) {
    let sum = 0;
    for (let f = 0; f < F; f++) sum += w[f]! * frames.values[f * D + d]!;
    attention[d] = sum;
  }
  const o = new Float32Array(D);
  linear(head.outProj.weight, head.outProj.bias, attention, 0, o, 0, D, D);
  const a = new Float32Array(D);
  layerNorm(o, 0, head.layerNorm2.weight, head.layerNorm2.bias, head.eps, a, 0, D);
  const z = new Float32Array(D);
  linear(head.linearProj.weight, head.linearProj.bias, a, 0, z, 0, D, D);
  for (let d = 0; d < D; d++) z[d] = a[d]! + z[d]!;
  const pooled = new Float32Array(D);
  layerNorm(z, 0, head.layerNorm3.weight, head.layerNorm3.bias, head.eps, pooled, 0, D);
  return pooled;
}

/**
 * The X-Pool score of one (text, video) pair, computed from scratch: cosine(raw text, pooled).
 *
 * @param text D-vector raw CLIP text embedding (normalised or not, as the caller's model gives it).
 * @param frames F×D raw CLIP frame embeddings.
 * @param outWeights if given, receives the F attention weights.
 */
export function xpoolDirectScore(
  head: XPoolHead,
  text: Float32Array,
  frames: Float32Array,
  frameCount: number,
  outWeights?: Float32Array,
): number {
  const pooled = xpoolDirectPooled(
    head,
    xpoolDirectQuery(head, text),
    xpoolDirectFrames(head, frames, frameCount),
    outWeights,
  );
  return cosine(text, pooled);
}
