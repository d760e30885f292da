/**
 * X-Pool's score: a query prepared once (≈ 3·D² multiply-adds), then per (query, video) pair the frame
 * products x_f·g and x_f·p and one assembly of the video's terms (see xpool-terms.ts for the algebra).
 * {@link scoreXPoolFromProducts} is that assembly, the one place X-Pool's final score is computed: the
 * search calls it on int8 frames scored in place, {@link scoreXPoolCompact} (and so `reel eval`) on
 * float frames.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import { layerNorm, linear, softmaxInPlace } from '../pooling/vector-math.ts';
import type { XPoolHead } from './xpool-head.ts';
import { termsOf, type XPoolCompactCache, xpoolCompactLength } from './xpool-terms.ts';

/** A query prepared for compact X-Pool scoring (≈ 3·D² multiply-adds, once per query). */
export interface XPoolCompactQuery {
  dim: number;
  headChecksum: number;
  eps: number;
  /** γ1 ⊙ W_kᵀq / √D: frame logits are (x_f·g − μ_f·gSum) / s_f. */
  g: Float32Array;
  gSum: number;
  /** γ1 ⊙ A_qᵀ(γ3 ⊙ t): R_f·t = (x_f·p − μ_f·pSum) / s_f + rConst. */
  p: Float32Array;
  pSum: number;
  rConst: number;
  /** The raw text (a copy), its norm and the products with γ3 ⊙ c̃ and β3. */
  text: Float32Array;
  textNorm: number;
  textGammaC: number;
  textBeta3: number;
  cc: number;
  cgc: number;
  cgb: number;
  bb: number;
}

/**
 * Prepares a raw CLIP text embedding for {@link scoreXPoolCompact}.
 *
 * @throws ReelError EMBEDDING_DIM_MISMATCH when the text is not D values.
 */
export function prepareXPoolCompactQuery(head: XPoolHead, text: Float32Array): XPoolCompactQuery {
  const D = head.dim;
  if (text.length !== D)
    throw new ReelError(
      IndexErrorCode.EMBEDDING_DIM_MISMATCH,
      `X-Pool query: expected a text embedding of the head's D = ${D}, got ${text.length} values`,
    );
  const t = termsOf(head);
  const gamma1 = head.layerNorm1.weight;
  const beta1 = head.layerNorm1.bias;
  const normed = new Float32Array(D);
  layerNorm(text, 0, gamma1, beta1, head.eps, normed, 0, D);
  const q = new Float32Array(D);
  linear(head.qProj.weight, head.qProj.bias, normed, 0, q, 0, D, D);
  // a = W_kᵀ q / √D and h = A_qᵀ (γ3 ⊙ t), by accumulating rows (contiguous)
  const a = new Float64Array(D);
  const h = new Float64Array(D);
  const gamma3 = head.layerNorm3.weight;
  const wk = head.kProj.weight;
  let rConst = 0;
  for (let o = 0; o < D; o++) {
    const qo = q[o]!;
    const uo = gamma3[o]! * text[o]!;
    rConst += t.cQ[o]! * uo;
    const row = o * D;
    for (let i = 0; i < D; i++) {
      a[i] = a[i]! + wk[row + i]! * qo;
      h[i] = h[i]! + t.aQ[row + i]! * uo;
    }
  }
  const g = new Float32Array(D);
  const p = new Float32Array(D);
  const scale = 1 / Math.sqrt(D);
  let gSum = 0;
  let pSum = 0;
  let textNorm2 = 0;
  let textGammaC = 0;
  let textBeta3 = 0;
  const beta3 = head.layerNorm3.bias;
  for (let d = 0; d < D; d++) {
    g[d] = gamma1[d]! * a[d]! * scale;
    p[d] = gamma1[d]! * h[d]!;
    gSum += g[d]!;
    pSum += p[d]!;
    rConst += beta1[d]! * h[d]!;
    textNorm2 += text[d]! * text[d]!;
    textGammaC += t.gammaC[d]! * text[d]!;
    textBeta3 += beta3[d]! * text[d]!;
  }
  return {
    dim: D,
    headChecksum: head.checksum,
    eps: head.eps,
    g,
    gSum,
    p,
    pSum,
    rConst,
    text: Float32Array.from(text),
    textNorm: Math.sqrt(textNorm2),
    textGammaC,
    textBeta3,
    cc: t.cc,
    cgc: t.cgc,
    cgb: t.cgb,
    bb: t.bb,
  };
}

/**
 * The X-Pool score once the per-frame products are known.
 *
 * @param w 2F doubles: [0, F) x_f·g, [F, 2F) x_f·p on entry (raw frames, dequantised); overwritten.
 * @param means F frame means μ_f, read at `meansOffset + f·statsStride`.
 * @param variances F frame variances, read at `variancesOffset + f·statsStride`.
 * @param cache compact terms of F frames, read from `cacheOffset`.
 * @param outWeights if given, receives the F attention weights.
 * @returns the cosine between the raw text and X-Pool's pooled video embedding.
 */
export function scoreXPoolFromProducts(
  query: XPoolCompactQuery,
  w: Float64Array,
  frameCount: number,
  means: Float32Array,
  meansOffset: number,
  variances: Float32Array,
  variancesOffset: number,
  statsStride: number,
  cache: Float32Array,
  cacheOffset: number,
  outWeights?: Float32Array,
): number {
  const F = frameCount;
  const F2 = F * F;
  for (let f = 0; f < F; f++) {
    const mu = means[meansOffset + f * statsStride]!;
    const inv = 1 / Math.sqrt(variances[variancesOffset + f * statsStride]! + query.eps);
    w[f] = (w[f]! - mu * query.gSum) * inv;
    w[F + f] = (w[F + f]! - mu * query.pSum) * inv + query.rConst;
  }
  softmaxInPlace(w, F, 1);
  const gU = cacheOffset;
  const gZ = cacheOffset + F2;
  const gR = cacheOffset + 2 * F2;
  const vz = cacheOffset + 3 * F2;
  let wRt = 0;
  let wZc = 0;
  let wRgc = 0;
  let wRb = 0;
  let diagU = 0;
  let diagZ = 0;
  let diagR = 0;
  let offU = 0;
  let offZ = 0;
  let offR = 0;
  for (let i = 0; i < F; i++) {
    const wi = w[i]!;
    wRt += wi * w[F + i]!;
    wZc += wi * cache[vz + i]!;
    wRgc += wi * cache[vz + F + i]!;
    wRb += wi * cache[vz + 2 * F + i]!;
    const row = i * F;
    const wi2 = wi * wi;
    diagU += wi2 * cache[gU + row + i]!;
    diagZ += wi2 * cache[gZ + row + i]!;
    diagR += wi2 * cache[gR + row + i]!;
    let accU = 0;
    let accZ = 0;
    let accR = 0;
    for (let j = i + 1; j < F; j++) {
      const wj = w[j]!;
      accU += wj * cache[gU + row + j]!;
      accZ += wj * cache[gZ + row + j]!;
      accR += wj * cache[gR + row + j]!;
    }
    offU += wi * accU;
    offZ += wi * accZ;
    offR += wi * accR;
  }
  const invS = 1 / Math.sqrt(diagU + 2 * offU + query.eps);
  const invS2 = invS * invS;
  const zHat2 = (diagZ + 2 * offZ) * invS2 + 2 * wZc * invS + query.cc;
  const invS3 = 1 / Math.sqrt(zHat2 / query.dim + query.eps);
  const gammaZHat2 = (diagR + 2 * offR) * invS2 + 2 * wRgc * invS + query.cgc;
  const betaGammaZHat = wRb * invS + query.cgb;
  const pooled2 = gammaZHat2 * invS3 * invS3 + 2 * betaGammaZHat * invS3 + query.bb;
  const textDotPooled = (wRt * invS + query.textGammaC) * invS3 + query.textBeta3;
  if (outWeights !== undefined) for (let f = 0; f < F; f++) outWeights[f] = w[f]!;
  const denominator = query.textNorm * Math.sqrt(pooled2);
  return denominator > 0 ? textDotPooled / denominator : 0;
}

/**
 * Checks a compact cache belongs to the query's head and has F frames.
 *
 * @throws ReelError XPOOL_CACHE_INVALID otherwise.
 */
export function checkXPoolCompactCache(query: XPoolCompactQuery, cache: XPoolCompactCache): void {
  if (cache.headChecksum !== query.headChecksum || cache.data.length !== xpoolCompactLength(cache.frameCount))
    throw new ReelError(
      IndexErrorCode.XPOOL_CACHE_INVALID,
      `X-Pool compact cache: expected head ${query.headChecksum.toString(16)} and ${xpoolCompactLength(cache.frameCount)} values, got head ${cache.headChecksum.toString(16)} and ${cache.data.length} values (rebuild the cache)`,
    );
}

/**
 * Exact X-Pool score of a prepared query against a video's float frames and compact cache (the
 * reference for tests; the search scores int8 frames in place through {@link scoreXPoolFromProducts}).
 *
 * @param frames F×D raw frame embeddings.
 * @param means F frame means; `variances` F frame variances (biased), as {@link encodeFrames} computes.
 */
export function scoreXPoolCompact(
  query: XPoolCompactQuery,
  frames: Float32Array,
  means: Float32Array,
  variances: Float32Array,
  cache: XPoolCompactCache,
  outWeights?: Float32Array,
): number {
  checkXPoolCompactCache(query, cache);
  const F = cache.frameCount;
  const D = query.dim;
  if (frames.length !== F * D)
    throw new ReelError(
      IndexErrorCode.EMBEDDING_DIM_MISMATCH,
      `X-Pool frames: expected ${F}×${D} values, got ${frames.length}`,
    );
  const w = new Float64Array(2 * F);
  for (let f = 0; f < F; f++) {
    let xg = 0;
    let xp = 0;
    for (let d = 0; d < D; d++) {
      xg += frames[f * D + d]! * query.g[d]!;
      xp += frames[f * D + d]! * query.p[d]!;
    }
    w[f] = xg;
    w[F + f] = xp;
  }
  return scoreXPoolFromProducts(query, w, F, means, 0, variances, 0, 1, cache.data, 0, outWeights);
}
