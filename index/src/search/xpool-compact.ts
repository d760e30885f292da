/**
 * Exact X-Pool scoring from the stored frames plus 3·F² + 3·F floats per video.
 *
 * `scoreXPoolCached` (pooling/xpool-cache.ts) keeps per video the keys K/√D and R (two F×D float
 * matrices, ≈ 49 KB at F = 12, D = 512): 49 GB for a million videos. Both matrices are affine maps of
 * LN1(x_f), and LN1(x_f)·a = (x_f·(γ1 ⊙ a) − μ_f Σ(γ1 ⊙ a)) / s_f + β1·a with μ_f, s_f the frame's mean
 * and sqrt(variance + eps). So per query two D-vectors replace them:
 *
 *   logit_f = k_f·q = LN1(x_f)·(W_kᵀq)/√D + const       → g = γ1 ⊙ W_kᵀq / √D   (the const cancels in
 *                                                                                 the softmax)
 *   R_f·t   = LN1(x_f)·(A_qᵀ(γ3 ⊙ t)) + c_q·(γ3 ⊙ t)   → p = γ1 ⊙ A_qᵀ(γ3 ⊙ t)
 *
 * where Q̃_f = A_q LN1(x_f) + c_q with A_q = C (I + W_l) Γ2 C W_o W_v (C centres a vector, Γ = diag(γ)),
 * and per pair x_f·g and x_f·p come from the frames the index keeps anyway (int8 in memory, shared with
 * attention pooling). The text-independent rest is the same as scoreXPoolCached's: three F×F Grams and
 * three F-vectors (1.7 KB per video at F = 12). Per pair: 2·F·D + 3·F² multiply-adds, as before.
 *
 * Building a video's terms uses two precomputed D×D matrices (A_uc = C W_o W_v and A_q) instead of four
 * projections per frame: 2·F·D² multiply-adds (≈ 5 ms at F = 12, D = 512 in JS).
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import { layerNorm, linear, softmaxInPlace } from '../pooling/vector-math.ts';
import type { XPoolHead } from '../pooling/xpool-head.ts';

/** A video's text-independent X-Pool terms in one array. */
export interface XPoolCompactCache {
  /** {@link XPoolHead.checksum} of the head it was built with. */
  headChecksum: number;
  /** F. */
  frameCount: number;
  /** 3·F² + 3·F floats: ŨŨᵀ/D, Q̃Q̃ᵀ, RRᵀ (F×F each, row-major), then Q̃c̃, R(γ3⊙c̃), Rβ3 (F each). */
  data: Float32Array;
}

/** Floats in a compact cache of F frames. */
export function xpoolCompactLength(frameCount: number): number {
  return 3 * frameCount * frameCount + 3 * frameCount;
}

/** Per-head terms shared by every video and query. */
interface HeadTerms {
  D: number;
  /** D×D row-major, C W_o W_v. */
  aUc: Float32Array;
  /** D, C (W_o b_v + b_o). */
  cUc: Float32Array;
  /** D×D row-major, C (I + W_l) Γ2 A_uc. */
  aQ: Float32Array;
  /** D, C (I + W_l) Γ2 c_uc. */
  cQ: Float32Array;
  /** c̃ = centred (I + W_l) β2 + b_l. */
  cCentred: Float32Array;
  /** γ3 ⊙ c̃. */
  gammaC: Float32Array;
  /** γ3², γ3 ⊙ β3. */
  gamma3Sq: Float32Array;
  gamma3Beta3: Float32Array;
  cc: number;
  cgc: number;
  cgb: number;
  bb: number;
}

const termsByHead = new WeakMap<XPoolHead, HeadTerms>();

/** out = A B for D×D row-major matrices (rows of B accumulated: contiguous inner loop). */
function matmul(a: Float32Array, b: Float32Array, D: number): Float32Array {
  const out = new Float32Array(D * D);
  const row = new Float64Array(D);
  for (let i = 0; i < D; i++) {
    row.fill(0);
    for (let k = 0; k < D; k++) {
      const aik = a[i * D + k]!;
      if (aik === 0) continue;
      const bk = k * D;
      for (let j = 0; j < D; j++) row[j] = row[j]! + aik * b[bk + j]!;
    }
    out.set(row, i * D);
  }
  return out;
}

/** Subtracts each column's mean over the rows (C·M for the centring matrix C). */
function centreColumns(m: Float32Array, D: number): void {
  const means = new Float64Array(D);
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) means[j] = means[j]! + m[i * D + j]!;
  for (let j = 0; j < D; j++) means[j] = means[j]! / D;
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) m[i * D + j] = m[i * D + j]! - means[j]!;
}

function centre(v: Float32Array): void {
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i]!;
  mean /= v.length;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! - mean;
}

/** y = (I + W_l) Γ2 x for a vector. */
function residualGamma2(head: XPoolHead, x: Float32Array): Float32Array {
  const D = head.dim;
  const y = new Float32Array(D);
  const gamma2 = head.layerNorm2.weight;
  for (let d = 0; d < D; d++) y[d] = gamma2[d]! * x[d]!;
  const wy = new Float32Array(D);
  linear(head.linearProj.weight, new Float32Array(D), y, 0, wy, 0, D, D);
  for (let d = 0; d < D; d++) y[d] = y[d]! + wy[d]!;
  return y;
}

function termsOf(head: XPoolHead): HeadTerms {
  const cached = termsByHead.get(head);
  if (cached !== undefined) return cached;
  const D = head.dim;
  // A_uc = C W_o W_v, c_uc = C (W_o b_v + b_o)
  const aUc = matmul(head.outProj.weight, head.vProj.weight, D);
  centreColumns(aUc, D);
  const cUc = new Float32Array(D);
  linear(head.outProj.weight, head.outProj.bias, head.vProj.bias, 0, cUc, 0, D, D);
  centre(cUc);
  // A_q = C (I + W_l) Γ2 A_uc
  const gamma2 = head.layerNorm2.weight;
  const scaled = new Float32Array(D * D);
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) scaled[i * D + j] = gamma2[i]! * aUc[i * D + j]!;
  const aQ = matmul(head.linearProj.weight, scaled, D);
  for (let i = 0; i < D * D; i++) aQ[i] = aQ[i]! + scaled[i]!;
  centreColumns(aQ, D);
  const cQ = residualGamma2(head, cUc);
  centre(cQ);
  // c = (I + W_l) β2 + b_l, centred
  const beta2 = head.layerNorm2.bias;
  const cCentred = new Float32Array(D);
  linear(head.linearProj.weight, head.linearProj.bias, beta2, 0, cCentred, 0, D, D);
  for (let d = 0; d < D; d++) cCentred[d] = cCentred[d]! + beta2[d]!;
  centre(cCentred);
  const { weight: gamma3, bias: beta3 } = head.layerNorm3;
  const gammaC = new Float32Array(D);
  const gamma3Sq = new Float32Array(D);
  const gamma3Beta3 = new Float32Array(D);
  let cc = 0;
  let cgc = 0;
  let cgb = 0;
  let bb = 0;
  for (let d = 0; d < D; d++) {
    const c = cCentred[d]!;
    gammaC[d] = gamma3[d]! * c;
    gamma3Sq[d] = gamma3[d]! * gamma3[d]!;
    gamma3Beta3[d] = gamma3[d]! * beta3[d]!;
    cc += c * c;
    cgc += gamma3Sq[d]! * c * c;
    cgb += gamma3Beta3[d]! * c;
    bb += beta3[d]! * beta3[d]!;
  }
  const terms: HeadTerms = {
    D,
    aUc,
    cUc,
    aQ,
    cQ,
    cCentred,
    gammaC,
    gamma3Sq,
    gamma3Beta3,
    cc,
    cgc,
    cgb,
    bb,
  };
  termsByHead.set(head, terms);
  return terms;
}

/**
 * out[f·D + o] = Σ_i M[o·D + i] · X[f·D + i] + bias[o] for F rows of X: each matrix row is read once
 * for all F frames (the F×D × D×D product is the build's whole cost).
 */
function projectFrames(
  m: Float32Array,
  bias: Float32Array,
  x: Float32Array,
  F: number,
  D: number,
  out: Float32Array,
): void {
  for (let o = 0; o < D; o++) {
    const mo = o * D;
    for (let f = 0; f < F; f++) {
      const xf = f * D;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let i = 0;
      for (; i + 3 < D; i += 4) {
        s0 += m[mo + i]! * x[xf + i]!;
        s1 += m[mo + i + 1]! * x[xf + i + 1]!;
        s2 += m[mo + i + 2]! * x[xf + i + 2]!;
        s3 += m[mo + i + 3]! * x[xf + i + 3]!;
      }
      for (; i < D; i++) s0 += m[mo + i]! * x[xf + i]!;
      out[xf + o] = s0 + s1 + s2 + s3 + bias[o]!;
    }
  }
}

/**
 * A video's compact X-Pool terms, at index time, from its float frames.
 *
 * @param frames F×D raw CLIP frame embeddings as the model outputs them (not normalised here).
 * @throws ReelError EMBEDDING_DIM_MISMATCH when frames are not F×D of the head's D.
 */
export function buildXPoolCompactCache(
  head: XPoolHead,
  frames: Float32Array,
  frameCount: number,
): XPoolCompactCache {
  const D = head.dim;
  const F = frameCount;
  if (!Number.isInteger(F) || F < 1 || frames.length !== F * D)
    throw new ReelError(
      IndexErrorCode.EMBEDDING_DIM_MISMATCH,
      `X-Pool cache: expected ${F} frames of the head's D = ${D} (${F * D} values), got ${frames.length} values`,
    );
  const t = termsOf(head);
  const normed = new Float32Array(F * D);
  for (let f = 0; f < F; f++)
    layerNorm(frames, f * D, head.layerNorm1.weight, head.layerNorm1.bias, head.eps, normed, f * D, D);
  const u = new Float32Array(F * D);
  const q = new Float32Array(F * D);
  projectFrames(t.aUc, t.cUc, normed, F, D, u);
  projectFrames(t.aQ, t.cQ, normed, F, D, q);
  return xpoolCompactFromProjections(head, u, q, F);
}

/**
 * The affine maps from LN1(x_f) to Ũ_f and Q̃_f: Ũ_f = A_uc LN1(x_f) + c_uc, Q̃_f = A_q LN1(x_f) + c_q
 * (D×D row-major matrices, D-vectors; computed once per head). Exposed so a caller whose frames have
 * structure (the search benchmark's synthetic frames are sums of a few fixed vectors) can project them
 * faster by linearity, then finish with {@link xpoolCompactFromProjections}.
 */
export function xpoolProjections(head: XPoolHead): {
  aUc: Float32Array;
  cUc: Float32Array;
  aQ: Float32Array;
  cQ: Float32Array;
} {
  const { aUc, cUc, aQ, cQ } = termsOf(head);
  return { aUc, cUc, aQ, cQ };
}

/**
 * The compact terms from the projected frames.
 *
 * @param u F×D, Ũ_f (centred out_proj outputs).
 * @param q F×D, Q̃_f (centred residual outputs before γ3).
 */
export function xpoolCompactFromProjections(
  head: XPoolHead,
  u: Float32Array,
  q: Float32Array,
  frameCount: number,
): XPoolCompactCache {
  const D = head.dim;
  const F = frameCount;
  const t = termsOf(head);
  const data = new Float32Array(xpoolCompactLength(F));
  const F2 = F * F;
  for (let i = 0; i < F; i++) {
    for (let j = i; j < F; j++) {
      let uu = 0;
      let zz = 0;
      let rr = 0;
      for (let d = 0; d < D; d++) {
        const qi = q[i * D + d]!;
        const qj = q[j * D + d]!;
        uu += u[i * D + d]! * u[j * D + d]!;
        zz += qi * qj;
        rr += t.gamma3Sq[d]! * qi * qj;
      }
      data[i * F + j] = data[j * F + i] = uu / D;
      data[F2 + i * F + j] = data[F2 + j * F + i] = zz;
      data[2 * F2 + i * F + j] = data[2 * F2 + j * F + i] = rr;
    }
    let zc = 0;
    let rgc = 0;
    let rb = 0;
    for (let d = 0; d < D; d++) {
      const qi = q[i * D + d]!;
      zc += qi * t.cCentred[d]!;
      rgc += qi * t.gamma3Sq[d]! * t.cCentred[d]!;
      rb += qi * t.gamma3Beta3[d]!;
    }
    data[3 * F2 + i] = zc;
    data[3 * F2 + F + i] = rgc;
    data[3 * F2 + 2 * F + i] = rb;
  }
  return { headChecksum: head.checksum, frameCount: F, data };
}

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
