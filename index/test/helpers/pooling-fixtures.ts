/**
 * Seeded random data for the pooling tests: CLIP-like embeddings and random X-Pool heads, plus
 * float64 references written as plain loops that follow the reference code (layer6ai-labs/xpool,
 * modules/transformer.py and modules/baseline_pooling.py) line by line.
 */
import type { XPoolHead } from '../../src/xpool/xpool-head.ts';

/** mulberry32 with Box-Muller normals: the same numbers every run. */
export function rng(seed: number): { uniform: () => number; normal: () => number } {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

export type Rng = ReturnType<typeof rng>;

export function randomVector(r: Rng, n: number, scale = 1, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + scale * r.normal();
  return out;
}

/**
 * F frames of one video at CLIP ViT-B/32 scale (raw image_embeds have norms around 10): a shared scene
 * vector plus per-frame variation, so frames are correlated the way a shot's frames are.
 */
export function clipLikeFrames(r: Rng, F: number, D: number): Float32Array {
  const scene = randomVector(r, D, 0.4);
  const out = new Float32Array(F * D);
  for (let f = 0; f < F; f++) for (let d = 0; d < D; d++) out[f * D + d] = scene[d]! + 0.25 * r.normal();
  return out;
}

/** A text embedding near one of the frames (so attention has something to find), CLIP text scale. */
export function clipLikeText(r: Rng, frames: Float32Array, F: number, D: number): Float32Array {
  const f = Math.floor(r.uniform() * F);
  const out = new Float32Array(D);
  for (let d = 0; d < D; d++) out[d] = 0.6 * frames[f * D + d]! + 0.3 * r.normal();
  return out;
}

/**
 * A random X-Pool head: projections N(0, 1/D) (scale-preserving, far from the identity init so every
 * term matters), biases N(0, 0.1), γ = 1 + N(0, 0.2), β = N(0, 0.1). `nearIdentity` makes projections
 * I + N(0, 0.09/D), closer to a head trained from the reference's identity init: the pooled vector then
 * stays near the frames and cosines with a matching text are large (≈ 0.3-0.6), not ≈ 0.
 */
export function randomHead(r: Rng, D: number, checksum = 1234, nearIdentity = false): XPoolHead {
  const linear = () => {
    const weight = randomVector(r, D * D, (nearIdentity ? 0.3 : 1) / Math.sqrt(D));
    if (nearIdentity) for (let i = 0; i < D; i++) weight[i * D + i] = weight[i * D + i]! + 1;
    return { weight, bias: randomVector(r, D, 0.1) };
  };
  const norm = () => ({ weight: randomVector(r, D, 0.2, 1), bias: randomVector(r, D, 0.1) });
  return {
    dim: D,
    eps: 1e-5,
    layerNorm1: norm(),
    qProj: linear(),
    kProj: linear(),
    vProj: linear(),
    outProj: linear(),
    layerNorm2: norm(),
    linearProj: linear(),
    layerNorm3: norm(),
    checksum,
    source: 'random',
  };
}

/** The reference's initialisation: projections W = I, b = 0, LayerNorms γ = 1, β = 0. */
export function identityHead(D: number): XPoolHead {
  const eye = () => {
    const weight = new Float32Array(D * D);
    for (let i = 0; i < D; i++) weight[i * D + i] = 1;
    return { weight, bias: new Float32Array(D) };
  };
  const norm = () => ({ weight: new Float32Array(D).fill(1), bias: new Float32Array(D) });
  return {
    dim: D,
    eps: 1e-5,
    layerNorm1: norm(),
    qProj: eye(),
    kProj: eye(),
    vProj: eye(),
    outProj: eye(),
    layerNorm2: norm(),
    linearProj: eye(),
    layerNorm3: norm(),
    checksum: 42,
    source: 'identity',
  };
}

// ---- float64 references -------------------------------------------------------------------------

function f64(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x as ArrayLike<number>);
}

function dot64(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function cos64(a: Float64Array, b: Float64Array): number {
  return dot64(a, b) / Math.sqrt(dot64(a, a) * dot64(b, b));
}

function row64(x: ArrayLike<number>, f: number, D: number): Float64Array {
  const out = new Float64Array(D);
  for (let d = 0; d < D; d++) out[d] = x[f * D + d]!;
  return out;
}

function l2n(x: Float64Array): Float64Array {
  const n = Math.sqrt(dot64(x, x));
  return x.map((v) => v / n);
}

function softmax64(x: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  const e = x.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** CLIP4Clip meanP: mean of L2-normalised frames, then cosine with the text. */
export function refMean(text: Float32Array, frames: Float32Array, F: number, D: number) {
  const pooled = new Float64Array(D);
  for (let f = 0; f < F; f++) {
    const x = l2n(row64(frames, f, D));
    for (let d = 0; d < D; d++) pooled[d] = pooled[d]! + x[d]! / F;
  }
  return { pooled, score: cos64(f64(text), pooled) };
}

/** _attention_pooling on L2-normalised text and frames: softmax(sims / τ) over frames. */
export function refAttention(text: Float32Array, frames: Float32Array, F: number, D: number, tau: number) {
  const t = l2n(f64(text));
  const xs = Array.from({ length: F }, (_, f) => l2n(row64(frames, f, D)));
  const weights = softmax64(Float64Array.from(xs, (x) => dot64(x, t) / tau));
  const pooled = new Float64Array(D);
  for (let f = 0; f < F; f++) for (let d = 0; d < D; d++) pooled[d] = pooled[d]! + weights[f]! * xs[f]![d]!;
  return { weights, score: cos64(t, pooled) };
}

/** _topk_pooling: sum of the k frames with the largest similarity (sorted, ties to the lower index). */
export function refTopK(text: Float32Array, frames: Float32Array, F: number, D: number, k: number) {
  const t = l2n(f64(text));
  const xs = Array.from({ length: F }, (_, f) => l2n(row64(frames, f, D)));
  const order = xs.map((x, f) => ({ f, s: dot64(x, t) })).sort((a, b) => b.s - a.s || a.f - b.f);
  const chosen = order.slice(0, Math.min(k, F)).map((o) => o.f);
  const pooled = new Float64Array(D);
  for (const f of chosen) for (let d = 0; d < D; d++) pooled[d] = pooled[d]! + xs[f]![d]!;
  return { chosen, score: cos64(t, pooled) };
}

/** Max over frames of the cosine. */
export function refMax(text: Float32Array, frames: Float32Array, F: number, D: number) {
  const sims = Array.from({ length: F }, (_, f) => cos64(f64(text), row64(frames, f, D)));
  const best = sims.indexOf(Math.max(...sims));
  return { best, score: sims[best]! };
}

/** nn.Linear with weight [out, in]: y = W x + b, in float64 with the weights as explicit matrices. */
function linear64(W: Float64Array, b: Float64Array, x: Float64Array): Float64Array {
  const D = x.length;
  const y = new Float64Array(b.length);
  for (let o = 0; o < b.length; o++) {
    let s = b[o]!;
    for (let i = 0; i < D; i++) s += W[o * D + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

/** nn.LayerNorm(D), eps 1e-5, biased variance. */
function layerNorm64(x: Float64Array, g: Float64Array, b: Float64Array): Float64Array {
  const D = x.length;
  const mean = x.reduce((a, v) => a + v, 0) / D;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / D;
  const inv = 1 / Math.sqrt(variance + 1e-5);
  return x.map((v, d) => g[d]! * (v - mean) * inv + b[d]!);
}

/** Transformer.forward then the score, one text and one video, following modules/transformer.py. */
export function refXPool(head: XPoolHead, text: Float32Array, frames: Float32Array, F: number) {
  const D = head.dim;
  const P = (p: { weight: Float32Array; bias: Float32Array }) => ({ W: f64(p.weight), b: f64(p.bias) });
  const ln1 = P(head.layerNorm1);
  const ln2 = P(head.layerNorm2);
  const ln3 = P(head.layerNorm3);
  const qp = P(head.qProj);
  const kp = P(head.kProj);
  const vp = P(head.vProj);
  const op = P(head.outProj);
  const lp = P(head.linearProj);
  // text_embeds = layer_norm1(text_embeds); video_embeds = layer_norm1(video_embeds)
  const t = layerNorm64(f64(text), ln1.W, ln1.b);
  const xs = Array.from({ length: F }, (_, f) => layerNorm64(row64(frames, f, D), ln1.W, ln1.b));
  // cross_attn: q = q_proj(t); k = k_proj(x); v = v_proj(x)
  const q = linear64(qp.W, qp.b, t);
  const ks = xs.map((x) => linear64(kp.W, kp.b, x));
  const vs = xs.map((x) => linear64(vp.W, vp.b, x));
  // attention_logits = k @ q / sqrt(head_dim); softmax over frames
  const weights = softmax64(Float64Array.from(ks, (k) => dot64(k, q) / Math.sqrt(D)));
  // attention = v @ weights; o = out_proj(attention)
  const attention = new Float64Array(D);
  for (let f = 0; f < F; f++)
    for (let d = 0; d < D; d++) attention[d] = attention[d]! + weights[f]! * vs[f]![d]!;
  const o = linear64(op.W, op.b, attention);
  // attn_out = layer_norm2(attn_out); out = attn_out + linear_proj(attn_out); out = layer_norm3(out)
  const a = layerNorm64(o, ln2.W, ln2.b);
  const l = linear64(lp.W, lp.b, a);
  const pooled = layerNorm64(
    a.map((v, d) => v + l[d]!),
    ln3.W,
    ln3.b,
  );
  return { weights, pooled, score: cos64(f64(text), pooled) };
}
