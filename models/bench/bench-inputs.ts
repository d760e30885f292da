/** Inputs and statistics shared by the models benchmarks. */

/** `n` deterministic images' worth of CLIP-normalised-looking pixels, [n, 3, 224, 224]. */
export function pixels(n: number): Float32Array {
  const data = new Float32Array(n * 3 * 224 * 224);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 1.5;
  return data;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
