/**
 * The parameter-free poolings scored from a text's cosines with a video's frames and the video's F×F
 * Gram of L2-normalised frames, so no pooled D-vector is ever materialised. The search calls these on
 * cosines read from int8 frames (search/rescore-cache.ts), the pooling functions and `reel eval` on
 * cosines of float frames (text-conditioned-pooling.ts, eval/similarity-matrix.ts): one kernel each.
 *
 * - mean:      pooled = Σ x̂_f / F          score = Σ cos_f / sqrt(Σ_ij G_ij)
 * - attention: w = softmax(cos / τ)       score = Σ w_f cos_f / sqrt(wᵀGw)
 * - top-k:     S = the k best frames       score = Σ_S cos_f / sqrt(Σ_{i,j∈S} G_ij)
 * - max:       score = max_f cos_f
 *
 * Each is the cosine between the text and the pooled (normalised-frame) vector, so it lies in [−1, 1]
 * and a `minScore` means the same for every pooling. `cos` is 2F doubles: the cosines in [0, F), scratch
 * in [F, 2F).
 */

/** Σ_ij G_ij over the F×F block at `offset`. */
function gramSum(gram: Float32Array, offset: number, F: number): number {
  let s = 0;
  for (let i = 0; i < F * F; i++) s += gram[offset + i]!;
  return s;
}

/** Mean pooling from cosines: Σ cos_f / sqrt(Σ G). */
export function meanFromCosines(
  cos: Float64Array,
  F: number,
  gram: Float32Array,
  gramOffset: number,
): number {
  let numerator = 0;
  for (let f = 0; f < F; f++) numerator += cos[f]!;
  const norm2 = gramSum(gram, gramOffset, F);
  return norm2 > 0 ? numerator / Math.sqrt(norm2) : 0;
}

/**
 * Attention pooling from cosines.
 *
 * @param cos F cosines in [0, F); [F, 2F) is scratch (the weights are computed there).
 * @param outWeights if given, receives the F softmax weights.
 */
export function attentionFromCosines(
  cos: Float64Array,
  F: number,
  gram: Float32Array,
  gramOffset: number,
  tau: number,
  outWeights?: Float32Array,
): number {
  // weights in [F, 2F): softmax(cos / τ), max subtracted first (cos / 0.01 reaches 100)
  const scale = 1 / tau;
  let max = Number.NEGATIVE_INFINITY;
  for (let f = 0; f < F; f++) if (cos[f]! > max) max = cos[f]!;
  let sum = 0;
  for (let f = 0; f < F; f++) {
    const e = Math.exp((cos[f]! - max) * scale);
    cos[F + f] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let f = 0; f < F; f++) cos[F + f] = cos[F + f]! * inv;
  let numerator = 0;
  let diagonal = 0;
  let offDiagonal = 0;
  for (let i = 0; i < F; i++) {
    const wi = cos[F + i]!;
    numerator += wi * cos[i]!;
    const row = gramOffset + i * F;
    diagonal += wi * wi * gram[row + i]!;
    let acc = 0;
    for (let j = i + 1; j < F; j++) acc += cos[F + j]! * gram[row + j]!;
    offDiagonal += wi * acc;
  }
  if (outWeights !== undefined) for (let f = 0; f < F; f++) outWeights[f] = cos[F + f]!;
  const norm2 = diagonal + 2 * offDiagonal;
  return norm2 > 0 ? numerator / Math.sqrt(norm2) : 0;
}

/**
 * Top-k pooling from cosines (ties to the earlier frame).
 *
 * @param cos F cosines in [0, F); [F, 2F) is scratch (selection mask).
 * @param outWeights if given, receives 1/k on the chosen frames and 0 elsewhere.
 */
export function topKFromCosines(
  cos: Float64Array,
  F: number,
  gram: Float32Array,
  gramOffset: number,
  k: number,
  outWeights?: Float32Array,
): number {
  const kk = Math.min(k, F);
  cos.fill(0, F, 2 * F);
  let numerator = 0;
  for (let pass = 0; pass < kk; pass++) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let f = 0; f < F; f++) {
      if (cos[F + f] === 0 && cos[f]! > bestValue) {
        bestValue = cos[f]!;
        best = f;
      }
    }
    if (best < 0) best = cos.indexOf(0, F) - F; // all remaining are NaN: take the first
    cos[F + best] = 1;
    numerator += cos[best]!;
  }
  let norm2 = 0;
  for (let i = 0; i < F; i++) {
    if (cos[F + i] === 0) continue;
    const row = gramOffset + i * F;
    for (let j = 0; j < F; j++) if (cos[F + j] === 1) norm2 += gram[row + j]!;
  }
  if (outWeights !== undefined) for (let f = 0; f < F; f++) outWeights[f] = cos[F + f] === 1 ? 1 / kk : 0;
  return norm2 > 0 ? numerator / Math.sqrt(norm2) : 0;
}

/** Max pooling from cosines; `outWeights` gets 1 on the best frame (the first of equals), 0 elsewhere. */
export function maxFromCosines(cos: Float64Array, F: number, outWeights?: Float32Array): number {
  let best = 0;
  for (let f = 1; f < F; f++) if (cos[f]! > cos[best]!) best = f;
  if (outWeights !== undefined) {
    outWeights.fill(0, 0, F);
    outWeights[best] = 1;
  }
  return cos[best]!;
}
