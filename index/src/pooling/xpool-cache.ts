/**
 * Exact X-Pool scoring from small per-video caches.
 *
 * The reference pools every (text, video) pair through out_proj and linear_proj (≈ 2·D² multiply-adds a
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
 * Per video the cache holds the scaled keys K/√D (F×D), R (F×D), three F×F Grams (ŨŨᵀ/D, Q̃Q̃ᵀ,
 * Q̃ΓQ̃ᵀ = RRᵀ) and three F-vectors (Q̃c̃, Q̃Γc̃ = R(γ3⊙c̃), Q̃(γ3⊙β3) = Rβ3). Per query: q = W_q LN1(t) + b_q (one
 * D×D product shared by all videos) and a few scalars. Per pair: logits K q (F·D), R t (F·D) and three
 * quadratic forms (3·F²), ≈ 12.7k multiply-adds at F = 12, D = 512 instead of ≈ 537k, with no
 * allocation. Centring ũ and Q before storing keeps the variances free of the E[x²] − E[x]²
 * cancellation; sums accumulate in doubles.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import { checkFrames, checkText, checkWeights } from './check-input.ts';
import { copyWeights, dot, layerNorm, linear, softmaxInPlace } from './vector-math.ts';
import type { XPoolHead } from './xpool-head.ts';

/** A video's text-independent X-Pool terms, computed at index time by {@link buildXPoolCache}. */
export interface XPoolCache {
  /** F, number of frames. */
  frameCount: number;
  /** D, embedding size. */
  dim: number;
  /** {@link XPoolHead.checksum} of the head it was built with. */
  headChecksum: number;
  /** F×D, (W_k LN1(x_f) + b_k) / sqrt(D). */
  keys: Float32Array;
  /** F×D, R_f = γ3 ⊙ Q̃_f. */
  proj: Float32Array;
  /** F×F, ŨŨᵀ / D (LN2's variance). */
  gramU: Float32Array;
  /** F×F, Q̃Q̃ᵀ (LN3's variance). */
  gramZ: Float32Array;
  /** F×F, RRᵀ = Q̃ diag(γ3²) Q̃ᵀ. */
  gramR: Float32Array;
  /** F, Q̃_f · c̃. */
  zc: Float32Array;
  /** F, R_f · (γ3 ⊙ c̃). */
  rgc: Float32Array;
  /** F, R_f · β3. */
  rb: Float32Array;
}

/** Head terms shared by every video and query (computed once per head). */
interface HeadTerms {
  /** c̃ = c − mean(c), c = (I + W_l) β2 + b_l; D values. */
  cCentred: Float32Array;
  /** γ3 ⊙ c̃, D values. */
  gammaC: Float32Array;
  /** c̃ · c̃. */
  cc: number;
  /** Σ γ3² c̃². */
  cgc: number;
  /** Σ γ3 β3 c̃. */
  cgb: number;
  /** β3 · β3. */
  bb: number;
}

const headTerms = new WeakMap<XPoolHead, HeadTerms>();

function termsOf(head: XPoolHead): HeadTerms {
  const cached = headTerms.get(head);
  if (cached !== undefined) return cached;
  const D = head.dim;
  const beta2 = head.layerNorm2.bias;
  const { weight: gamma3, bias: beta3 } = head.layerNorm3;
  const cCentred = new Float32Array(D);
  linear(head.linearProj.weight, head.linearProj.bias, beta2, 0, cCentred, 0, D, D);
  let mean = 0;
  for (let d = 0; d < D; d++) {
    cCentred[d] = cCentred[d]! + beta2[d]!;
    mean += cCentred[d]!;
  }
  mean /= D;
  const gammaC = new Float32Array(D);
  let cc = 0;
  let cgc = 0;
  let cgb = 0;
  let bb = 0;
  for (let d = 0; d < D; d++) {
    const centred = cCentred[d]! - mean;
    cCentred[d] = centred;
    gammaC[d] = gamma3[d]! * centred;
    cc += centred * centred;
    cgc += gamma3[d]! * gamma3[d]! * centred * centred;
    cgb += gamma3[d]! * beta3[d]! * centred;
    bb += beta3[d]! * beta3[d]!;
  }
  const terms = { cCentred, gammaC, cc, cgc, cgb, bb };
  headTerms.set(head, terms);
  return terms;
}

function symmetricGram(x: Float32Array, F: number, D: number, scale: number): Float32Array {
  const out = new Float32Array(F * F);
  for (let i = 0; i < F; i++) {
    for (let j = i; j < F; j++) {
      const value = dot(x, i * D, x, j * D, D) * scale;
      out[i * F + j] = value;
      out[j * F + i] = value;
    }
  }
  return out;
}

/**
 * Computes a video's X-Pool cache at index time (≈ 3·F·D² multiply-adds: LN1, keys, values, out_proj,
 * linear_proj for each frame).
 *
 * @param frames F×D raw CLIP frame embeddings as the model outputs them (not normalised here).
 */
export function buildXPoolCache(head: XPoolHead, frames: Float32Array, frameCount: number): XPoolCache {
  const D = head.dim;
  const F = frameCount;
  checkFrames(frames, F, D);
  const { cCentred, gammaC } = termsOf(head);
  const gamma2 = head.layerNorm2.weight;
  const gamma3 = head.layerNorm3.weight;
  const beta3 = head.layerNorm3.bias;
  const zeroBias = new Float32Array(D);
  const normed = new Float32Array(D);
  const v = new Float32Array(D);
  const y = new Float32Array(D);
  const wy = new Float32Array(D);
  const keys = new Float32Array(F * D);
  const uCentred = new Float32Array(F * D);
  const qCentred = new Float32Array(F * D);
  const proj = new Float32Array(F * D);
  const keyScale = 1 / Math.sqrt(D);
  for (let f = 0; f < F; f++) {
    const row = f * D;
    layerNorm(frames, row, head.layerNorm1.weight, head.layerNorm1.bias, head.eps, normed, 0, D);
    linear(head.kProj.weight, head.kProj.bias, normed, 0, keys, row, D, D);
    for (let d = 0; d < D; d++) keys[row + d] = keys[row + d]! * keyScale;
    linear(head.vProj.weight, head.vProj.bias, normed, 0, v, 0, D, D);
    linear(head.outProj.weight, head.outProj.bias, v, 0, uCentred, row, D, D);
    let mean = 0;
    for (let d = 0; d < D; d++) mean += uCentred[row + d]!;
    mean /= D;
    for (let d = 0; d < D; d++) {
      uCentred[row + d] = uCentred[row + d]! - mean;
      y[d] = gamma2[d]! * uCentred[row + d]!;
    }
    // Q_f = y + W_l y, then centred
    linear(head.linearProj.weight, zeroBias, y, 0, wy, 0, D, D);
    let qMean = 0;
    for (let d = 0; d < D; d++) qMean += y[d]! + wy[d]!;
    qMean /= D;
    for (let d = 0; d < D; d++) {
      const centred = y[d]! + wy[d]! - qMean;
      qCentred[row + d] = centred;
      proj[row + d] = gamma3[d]! * centred;
    }
  }
  const zc = new Float32Array(F);
  const rgc = new Float32Array(F);
  const rb = new Float32Array(F);
  for (let f = 0; f < F; f++) {
    zc[f] = dot(qCentred, f * D, cCentred, 0, D);
    rgc[f] = dot(proj, f * D, gammaC, 0, D);
    rb[f] = dot(proj, f * D, beta3, 0, D);
  }
  return {
    frameCount: F,
    dim: D,
    headChecksum: head.checksum,
    keys,
    proj,
    gramU: symmetricGram(uCentred, F, D, 1 / D),
    gramZ: symmetricGram(qCentred, F, D, 1),
    gramR: symmetricGram(proj, F, D, 1),
    zc,
    rgc,
    rb,
  };
}

/**
 * A query prepared for scoring against many caches: q and the text's scalars are computed once
 * (one D×D product), and `scratch` is reused by every {@link scoreXPoolCached} call. One query object
 * must not be scored from two places at once (scoring is synchronous, so within one thread it cannot).
 */
export interface XPoolQuery {
  dim: number;
  headChecksum: number;
  eps: number;
  /** q = W_q LN1(t) + b_q, D values. */
  q: Float32Array;
  /** The raw text embedding t (a copy), D values. */
  text: Float32Array;
  textNorm: number;
  /** (γ3 ⊙ c̃) · t. */
  textGammaC: number;
  /** β3 · t. */
  textBeta3: number;
  cc: number;
  cgc: number;
  cgb: number;
  bb: number;
  /** 2F doubles: logits then weights in [0, F), R t in [F, 2F). Grown on demand. */
  scratch: Float64Array;
}

/**
 * Prepares a text for cached X-Pool scoring (≈ D² multiply-adds, once per query).
 *
 * @param text D-vector raw CLIP text embedding, as given to {@link xpoolDirectScore}.
 */
export function prepareXPoolQuery(head: XPoolHead, text: Float32Array): XPoolQuery {
  const D = head.dim;
  checkText(text, D);
  const terms = termsOf(head);
  const normed = new Float32Array(D);
  layerNorm(text, 0, head.layerNorm1.weight, head.layerNorm1.bias, head.eps, normed, 0, D);
  const q = new Float32Array(D);
  linear(head.qProj.weight, head.qProj.bias, normed, 0, q, 0, D, D);
  const copy = Float32Array.from(text);
  return {
    dim: D,
    headChecksum: head.checksum,
    eps: head.eps,
    q,
    text: copy,
    textNorm: Math.sqrt(dot(copy, 0, copy, 0, D)),
    textGammaC: dot(copy, 0, terms.gammaC, 0, D),
    textBeta3: dot(copy, 0, head.layerNorm3.bias, 0, D),
    cc: terms.cc,
    cgc: terms.cgc,
    cgb: terms.cgb,
    bb: terms.bb,
    scratch: new Float64Array(64),
  };
}

/**
 * The exact X-Pool score of a prepared query against one video's cache: the same value as
 * {@link xpoolDirectScore} (to float32 rounding), in 2·F·D + 3·F(F+1)/2 multiply-adds and no allocation.
 *
 * @param outWeights if given, receives the F attention weights (they sum to 1).
 * @throws ReelError XPOOL_CACHE_INVALID if the cache was built with another head or embedding size.
 */
export function scoreXPoolCached(query: XPoolQuery, cache: XPoolCache, outWeights?: Float32Array): number {
  if (cache.dim !== query.dim || cache.headChecksum !== query.headChecksum)
    throw new ReelError(
      IndexErrorCode.XPOOL_CACHE_INVALID,
      `X-Pool cache: expected head ${hex(query.headChecksum)} with D = ${query.dim}, got head ${hex(cache.headChecksum)} with D = ${cache.dim} (rebuild the cache)`,
    );
  const F = cache.frameCount;
  const D = cache.dim;
  checkWeights(outWeights, F);
  let w = query.scratch;
  if (w.length < 2 * F) {
    w = new Float64Array(2 * F);
    query.scratch = w;
  }
  const { keys, proj, gramU, gramZ, gramR, zc, rgc, rb } = cache;
  const { q, text } = query;
  for (let f = 0; f < F; f++) {
    w[f] = dot(keys, f * D, q, 0, D);
    w[F + f] = dot(proj, f * D, text, 0, D);
  }
  softmaxInPlace(w, F, 1);
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
    wZc += wi * zc[i]!;
    wRgc += wi * rgc[i]!;
    wRb += wi * rb[i]!;
    const row = i * F;
    const wi2 = wi * wi;
    diagU += wi2 * gramU[row + i]!;
    diagZ += wi2 * gramZ[row + i]!;
    diagR += wi2 * gramR[row + i]!;
    let accU = 0;
    let accZ = 0;
    let accR = 0;
    for (let j = i + 1; j < F; j++) {
      const wj = w[j]!;
      accU += wj * gramU[row + j]!;
      accZ += wj * gramZ[row + j]!;
      accR += wj * gramR[row + j]!;
    }
    offU += wi * accU;
    offZ += wi * accZ;
    offR += wi * accR;
  }
  const invS = 1 / Math.sqrt(diagU + 2 * offU + query.eps);
  const invS2 = invS * invS;
  const zHat2 = (diagZ + 2 * offZ) * invS2 + 2 * wZc * invS + query.cc;
  const invS3 = 1 / Math.sqrt(zHat2 / D + query.eps);
  const gammaZHat2 = (diagR + 2 * offR) * invS2 + 2 * wRgc * invS + query.cgc;
  const betaGammaZHat = wRb * invS + query.cgb;
  const pooled2 = gammaZHat2 * invS3 * invS3 + 2 * betaGammaZHat * invS3 + query.bb;
  const textDotPooled = (wRt * invS + query.textGammaC) * invS3 + query.textBeta3;
  copyWeights(w, outWeights, F);
  const denominator = query.textNorm * Math.sqrt(pooled2);
  return denominator > 0 ? textDotPooled / denominator : 0;
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** "XPC1" read as a little-endian u32. */
const MAGIC = 0x31435058;
const HEADER_BYTES = 20;

/** Float32 values in a cache of F frames and D dims: 2·F·D + 3·F² + 3·F. */
function cacheFloatCount(F: number, D: number): number {
  return 2 * F * D + 3 * F * F + 3 * F;
}

/** Bytes {@link serializeXPoolCache} writes for F frames and D dims (≈ 49 KB at F = 12, D = 512). */
export function xpoolCacheByteLength(frameCount: number, dim: number): number {
  return HEADER_BYTES + 4 * cacheFloatCount(frameCount, dim);
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Cache → bytes for a LanceDB binary column. Layout (little-endian): u32 magic "XPC1", u32 F, u32 D,
 * u32 head checksum, u32 reserved (0), then float32 keys (F·D), proj (F·D), gramU, gramZ, gramR (F² each),
 * zc, rgc, rb (F each).
 */
export function serializeXPoolCache(cache: XPoolCache): Uint8Array {
  const F = cache.frameCount;
  const D = cache.dim;
  const out = new Uint8Array(xpoolCacheByteLength(F, D));
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, F, true);
  view.setUint32(8, D, true);
  view.setUint32(12, cache.headChecksum, true);
  view.setUint32(16, 0, true);
  let offset = HEADER_BYTES;
  for (const part of [
    cache.keys,
    cache.proj,
    cache.gramU,
    cache.gramZ,
    cache.gramR,
    cache.zc,
    cache.rgc,
    cache.rb,
  ]) {
    if (littleEndianHost) out.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), offset);
    else for (let i = 0; i < part.length; i++) view.setFloat32(offset + 4 * i, part[i]!, true);
    offset += part.byteLength;
  }
  return out;
}

/**
 * Bytes → cache. The float arrays are views into `bytes` when its data is 4-byte aligned (no copy: a
 * query reads ~1000 caches), otherwise one aligned copy is made. Views keep `bytes`' buffer alive.
 *
 * @throws ReelError XPOOL_CACHE_INVALID on a wrong magic or a length that does not match F and D.
 */
export function deserializeXPoolCache(bytes: Uint8Array): XPoolCache {
  const fail = (message: string): never => {
    throw new ReelError(IndexErrorCode.XPOOL_CACHE_INVALID, `X-Pool cache bytes: ${message}`);
  };
  if (bytes.length < HEADER_BYTES) fail(`expected at least ${HEADER_BYTES} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== MAGIC) fail(`expected magic XPC1 (0x${hex(MAGIC)}), got 0x${hex(magic)}`);
  const F = view.getUint32(4, true);
  const D = view.getUint32(8, true);
  if (F < 1 || D < 1) fail(`expected F ≥ 1 and D ≥ 1, got F = ${F}, D = ${D}`);
  const expected = xpoolCacheByteLength(F, D);
  if (bytes.length !== expected) fail(`F = ${F}, D = ${D} needs ${expected} bytes, got ${bytes.length}`);
  let source = bytes;
  if (!littleEndianHost) {
    const floats = new Float32Array(cacheFloatCount(F, D));
    for (let i = 0; i < floats.length; i++) floats[i] = view.getFloat32(HEADER_BYTES + 4 * i, true);
    source = new Uint8Array(HEADER_BYTES + floats.byteLength);
    source.set(new Uint8Array(floats.buffer), HEADER_BYTES);
  } else if (bytes.byteOffset % 4 !== 0) source = bytes.slice();
  let offset = source.byteOffset + HEADER_BYTES;
  const take = (n: number): Float32Array => {
    const part = new Float32Array(source.buffer, offset, n);
    offset += 4 * n;
    return part;
  };
  return {
    frameCount: F,
    dim: D,
    headChecksum: view.getUint32(12, true),
    keys: take(F * D),
    proj: take(F * D),
    gramU: take(F * F),
    gramZ: take(F * F),
    gramR: take(F * F),
    zc: take(F),
    rgc: take(F),
    rb: take(F),
  };
}
