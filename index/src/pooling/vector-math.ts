/**
 * Small dense-vector helpers for the pooling code. Vectors and matrices are row-major `Float32Array`s
 * (what the models emit and what LanceDB stores); sums accumulate in JS doubles. The hot loops keep to
 * `Float32Array` operands only, so V8 sees one element kind per call site (monomorphic), and use four
 * independent accumulators because JS never reassociates floating-point adds: one accumulator would
 * serialise every add behind the previous one.
 */

/** Σ a[aOffset+i]·b[bOffset+i] for i < length, accumulated in double precision. */
export function dot(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  length: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  const end4 = length - (length & 3);
  for (; i < end4; i += 4) {
    s0 += a[aOffset + i]! * b[bOffset + i]!;
    s1 += a[aOffset + i + 1]! * b[bOffset + i + 1]!;
    s2 += a[aOffset + i + 2]! * b[bOffset + i + 2]!;
    s3 += a[aOffset + i + 3]! * b[bOffset + i + 3]!;
  }
  for (; i < length; i++) s0 += a[aOffset + i]! * b[bOffset + i]!;
  return s0 + s1 + s2 + s3;
}

/** Euclidean norm of `length` values of `a` from `offset`. */
export function norm(a: Float32Array, offset: number, length: number): number {
  return Math.sqrt(dot(a, offset, a, offset, length));
}

/** Cosine of two D-vectors; 0 when either is all zeros (no direction to compare). */
export function cosine(a: Float32Array, b: Float32Array): number {
  const denominator = norm(a, 0, a.length) * norm(b, 0, b.length);
  return denominator > 0 ? dot(a, 0, b, 0, a.length) / denominator : 0;
}

/**
 * A copy of `x` (rows × dim) with every row scaled to unit L2 norm. An all-zero row stays zero: it has
 * no direction, and dividing would turn it into NaNs that poison every score it touches.
 */
export function l2NormalizeRows(x: Float32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const offset = r * dim;
    const n = norm(x, offset, dim);
    const inv = n > 0 ? 1 / n : 0;
    for (let d = 0; d < dim; d++) out[offset + d] = x[offset + d]! * inv;
  }
  return out;
}

/** Gram matrix X Xᵀ (rows × rows, symmetric) of `x` (rows × dim). */
export function gramMatrix(x: Float32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = i; j < rows; j++) {
      const value = dot(x, i * dim, x, j * dim, dim);
      out[i * rows + j] = value;
      out[j * rows + i] = value;
    }
  }
  return out;
}

/**
 * y = W x + b for a PyTorch `Linear(inDim, outDim)`: `weight` is [outDim, inDim] row-major as PyTorch
 * stores it, `x` is read from `xOffset`, `out` written from `outOffset`.
 */
export function linear(
  weight: Float32Array,
  bias: Float32Array,
  x: Float32Array,
  xOffset: number,
  out: Float32Array,
  outOffset: number,
  outDim: number,
  inDim: number,
): void {
  for (let o = 0; o < outDim; o++) out[outOffset + o] = dot(weight, o * inDim, x, xOffset, inDim) + bias[o]!;
}

/**
 * PyTorch `LayerNorm(dim)` of one vector: γ ⊙ (x − mean) / sqrt(var + eps) + β, with the biased
 * variance (mean of squared deviations) as PyTorch computes it.
 */
export function layerNorm(
  x: Float32Array,
  xOffset: number,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
  out: Float32Array,
  outOffset: number,
  dim: number,
): void {
  let sum = 0;
  for (let d = 0; d < dim; d++) sum += x[xOffset + d]!;
  const mean = sum / dim;
  let squares = 0;
  for (let d = 0; d < dim; d++) {
    const centred = x[xOffset + d]! - mean;
    squares += centred * centred;
  }
  const inv = 1 / Math.sqrt(squares / dim + eps);
  for (let d = 0; d < dim; d++) out[outOffset + d] = gamma[d]! * (x[xOffset + d]! - mean) * inv + beta[d]!;
}

/**
 * In-place softmax of `values[0..n)` after multiplying by `scale`; the maximum is subtracted first so
 * logits of 100 (cosine / 0.01) do not overflow `exp`.
 */
export function softmaxInPlace(values: Float64Array, n: number, scale: number): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = values[i]! * scale;
    values[i] = v;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(values[i]! - max);
    values[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) values[i] = values[i]! * inv;
}

/** wᵀ G w for a symmetric n × n `G`, using the upper triangle only. */
export function symmetricQuadraticForm(gram: Float32Array, w: Float64Array, n: number): number {
  let diagonal = 0;
  let offDiagonal = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    const row = i * n;
    diagonal += wi * wi * gram[row + i]!;
    let acc = 0;
    for (let j = i + 1; j < n; j++) acc += w[j]! * gram[row + j]!;
    offDiagonal += wi * acc;
  }
  return diagonal + 2 * offDiagonal;
}

/** Copies `n` values of a double scratch buffer into a caller's Float32Array (when one was given). */
export function copyWeights(from: Float64Array, to: Float32Array | undefined, n: number): void {
  if (to === undefined) return;
  for (let i = 0; i < n; i++) to[i] = from[i]!;
}
