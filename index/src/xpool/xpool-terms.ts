/**
 * X-Pool's text-independent terms: per head (folded matrices and constants, computed once) and per video
 * (three F×F Grams and three F-vectors, computed at index time). `xpool-score.ts` scores a query with
 * them; the search and `reel eval` both score through it, and the float64 reference computation lives
 * in the tests (test/helpers/pooling-fixtures.ts, and the step-by-step float32 form in
 * test/helpers/xpool-direct.ts).
 *
 * Exact X-Pool, folded. The reference pools every (text, video) pair through out_proj and linear_proj (≈ 2·D² multiply-adds a
 * pair). Everything after the softmax is affine or a LayerNorm and the attention weights w sum to 1, so
 * all of it folds into per-video terms computed at index time. With raw frames x_f, text t, weights w
 * (F values, Σw = 1) and γ_i, β_i the LayerNorm parameters:
 *
 *   u_f = W_o (W_v LN1(x_f) + b_v) + b_o        then  o = W_o Σ w_f v_f + b_o = Σ w_f u_f   (Σw = 1)
 *   ũ_f = u_f − mean(u_f)·𝟙                     then  o − mean(o)·𝟙 = Σ w_f ũ_f,
 *                                                     var(o) = wᵀ (ŨŨᵀ / D) w,  s = sqrt(var(o) + eps)
 *   LN2: a = γ2 ⊙ (o − mean(o)) / s + β2
 *   z = a + W_l a + b_l = (1/s) Σ w_f Q_f + c,  with Q_f = (I + W_l)(γ2 ⊙ ũ_f),  c = (I + W_l) β2 + b_l
 *   centring Q_f and c per vector (Q̃_f, c̃) centres z:  ẑ = z − mean(z) = (1/s) Q̃ᵀw + c̃
 *   LN3: pooled = γ3 ⊙ ẑ / s3 + β3,  s3 = sqrt(‖ẑ‖²/D + eps)
 *
 * and the score cos(t, pooled) needs only
 *
 *   ‖ẑ‖²        = wᵀ(Q̃Q̃ᵀ)w / s² + 2 w·(Q̃c̃) / s + c̃·c̃
 *   ‖γ3 ⊙ ẑ‖²   = wᵀ(Q̃ΓQ̃ᵀ)w / s² + 2 w·(Q̃Γc̃) / s + c̃Γc̃            (Γ = diag(γ3²))
 *   β3·(γ3 ⊙ ẑ) = w·(Q̃(γ3⊙β3)) / s + c̃·(γ3⊙β3)
 *   ‖pooled‖²   = ‖γ3 ⊙ ẑ‖² / s3² + 2 β3·(γ3 ⊙ ẑ) / s3 + β3·β3
 *   t·pooled    = (w·(R t) / s + (γ3⊙c̃)·t) / s3 + t·β3,   R = Q̃ diag(γ3)
 *
 * Per pair: logits K q and R t (F·D each) and three quadratic forms (3·F²), ≈ 12.7k multiply-adds at
 * F = 12, D = 512 instead of ≈ 537k, with no allocation. Centring ũ and Q before storing keeps the
 * variances free of the E[x²] − E[x]² cancellation; sums accumulate in doubles.
 *
 * Stored per video, the keys K/√D and R would be two F×D float matrices (≈ 49 KB at F = 12, D = 512):
 * 49 GB for a million videos. Both matrices are affine maps of LN1(x_f), and LN1(x_f)·a = (x_f·(γ1 ⊙ a) − μ_f Σ(γ1 ⊙ a)) / s_f + β1·a with μ_f, s_f the frame's mean
 * and sqrt(variance + eps). So per query two D-vectors replace them:
 *
 *   logit_f = k_f·q = LN1(x_f)·(W_kᵀq)/√D + const       → g = γ1 ⊙ W_kᵀq / √D   (the const cancels in
 *                                                                                 the softmax)
 *   R_f·t   = LN1(x_f)·(A_qᵀ(γ3 ⊙ t)) + c_q·(γ3 ⊙ t)   → p = γ1 ⊙ A_qᵀ(γ3 ⊙ t)
 *
 * where Q̃_f = A_q LN1(x_f) + c_q with A_q = C (I + W_l) Γ2 C W_o W_v (C centres a vector, Γ = diag(γ)),
 * and per pair x_f·g and x_f·p come from the frames the index keeps anyway (int8 in memory, shared with
 * attention pooling). The text-independent rest is three F×F Grams and three F-vectors (1.7 KB per
 * video at F = 12). Per pair: 2·F·D + 3·F² multiply-adds, as before.
 *
 * Building a video's terms uses two precomputed D×D matrices (A_uc = C W_o W_v and A_q) instead of four
 * projections per frame: 2·F·D² multiply-adds (≈ 5 ms at F = 12, D = 512 in JS).
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import { layerNorm, linear } from '../pooling/vector-math.ts';
import type { XPoolHead } from './xpool-head.ts';

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
export interface HeadTerms {
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

/** The head's folded terms, computed on first use and kept while the head lives. */
export function termsOf(head: XPoolHead): HeadTerms {
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
