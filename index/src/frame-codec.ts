/**
 * Compact frame embeddings. A million videos of 12 float32 frames of 512 values are 24.6 GB, which does
 * not fit beside anything else; int8 with one scale per frame is 6.1 GB and changes scores by about 1e-3
 * (the search benchmark checks the ranking), fp16 is 12.3 GB and nearly lossless. Either way the
 * statistics that exact rescoring needs (each frame's L2 norm, and the mean and variance X-Pool's first
 * LayerNorm takes) are computed from the float frames before they are rounded, so only the frame
 * directions carry rounding error.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from './errors.ts';

/** How frame values are stored. */
export const FrameCodec = {
  /** value ≈ scale_f · q, q an integer in [−127, 127], scale_f = max |x_f| / 127 per frame. */
  int8: 'int8',
  /** IEEE 754 half precision (round to nearest even), scale 1. */
  fp16: 'fp16',
} as const;
export type FrameCodec = (typeof FrameCodec)[keyof typeof FrameCodec];

/** F×D frames in a compact codec, with per-frame statistics of the original float frames. */
export interface CompactFrames {
  codec: FrameCodec;
  /** F. */
  frameCount: number;
  /** D. */
  dim: number;
  /** F×D row-major: int8 values (codec int8) or half-precision bit patterns (codec fp16). */
  data: Int8Array | Uint16Array;
  /** F dequantisation scales: x ≈ scale · stored value (1 for fp16). */
  scales: Float32Array;
  /** F L2 norms of the original frames. */
  norms: Float32Array;
  /** F means of each original frame's D values. */
  means: Float32Array;
  /** F biased variances (mean squared deviation) of each original frame's D values. */
  variances: Float32Array;
}

function fail(message: string): never {
  throw new ReelError(IndexErrorCode.EMBEDDINGS_INVALID, message);
}

/** Checks F ≥ 1, D ≥ 1, `frames` holds F×D finite values. */
function checkFloatFrames(frames: Float32Array, frameCount: number, dim: number): void {
  if (!Number.isInteger(frameCount) || frameCount < 1)
    fail(`frame count: expected an integer ≥ 1, got ${frameCount}`);
  if (!Number.isInteger(dim) || dim < 1) fail(`embedding size: expected an integer ≥ 1, got ${dim}`);
  if (frames.length !== frameCount * dim)
    fail(`frames: expected ${frameCount}×${dim} = ${frameCount * dim} values, got ${frames.length}`);
  for (let i = 0; i < frames.length; i++)
    if (!Number.isFinite(frames[i]!))
      fail(
        `frames: expected finite values, got ${frames[i]} at frame ${Math.floor(i / dim)}, index ${i % dim}`,
      );
}

/** Per-frame statistics of F×D float frames, as the index keeps them (see {@link CompactFrames}). */
export interface FrameStatistics {
  /** F L2 norms. */
  norms: Float32Array;
  /** F means over the D values (X-Pool's LN1). */
  means: Float32Array;
  /** F biased variances over the D values (X-Pool's LN1). */
  variances: Float32Array;
  /** F largest absolute values (the int8 scale is this / 127). */
  maxAbs: Float32Array;
}

/** Each frame's norm, mean, biased variance and largest absolute value (sums in doubles). */
export function frameStatistics(frames: Float32Array, frameCount: number, dim: number): FrameStatistics {
  const norms = new Float32Array(frameCount);
  const means = new Float32Array(frameCount);
  const variances = new Float32Array(frameCount);
  const maxAbs = new Float32Array(frameCount);
  for (let f = 0; f < frameCount; f++) {
    const offset = f * dim;
    let sum = 0;
    let squares = 0;
    let largest = 0;
    for (let d = 0; d < dim; d++) {
      const v = frames[offset + d]!;
      sum += v;
      squares += v * v;
      const a = Math.abs(v);
      if (a > largest) largest = a;
    }
    const mean = sum / dim;
    let deviations = 0;
    for (let d = 0; d < dim; d++) {
      const centred = frames[offset + d]! - mean;
      deviations += centred * centred;
    }
    norms[f] = Math.sqrt(squares);
    means[f] = mean;
    variances[f] = deviations / dim;
    maxAbs[f] = largest;
  }
  return { norms, means, variances, maxAbs };
}

/**
 * Encodes F×D float frames.
 *
 * @param frames F×D row-major raw frame embeddings (any norm), all finite.
 * @throws ReelError EMBEDDINGS_INVALID on a size mismatch or a non-finite value.
 */
export function encodeFrames(
  frames: Float32Array,
  frameCount: number,
  dim: number,
  codec: FrameCodec = FrameCodec.int8,
): CompactFrames {
  checkFloatFrames(frames, frameCount, dim);
  const { norms, means, variances, maxAbs } = frameStatistics(frames, frameCount, dim);
  const scales =
    codec === FrameCodec.int8 ? maxAbs.map((m) => m / 127) : new Float32Array(frameCount).fill(1);
  if (codec === FrameCodec.int8) {
    const data = new Int8Array(frameCount * dim);
    quantizeInt8(frames, frameCount, dim, scales, data);
    return { codec, frameCount, dim, data, scales, norms, means, variances };
  }
  if (codec !== FrameCodec.fp16) fail(`frame codec: expected int8 or fp16, got ${String(codec)}`);
  const data = new Uint16Array(new Float16Array(frames.subarray(0, frameCount * dim)).buffer);
  return { codec, frameCount, dim, data, scales, norms, means, variances };
}

function quantizeInt8(
  frames: Float32Array,
  frameCount: number,
  dim: number,
  scales: Float32Array,
  out: Int8Array,
): void {
  for (let f = 0; f < frameCount; f++) {
    const scale = scales[f]!;
    // an all-zero frame keeps scale 0 and zero values: there is nothing to scale
    const inv = scale > 0 ? 1 / scale : 0;
    const offset = f * dim;
    for (let d = 0; d < dim; d++) {
      const q = Math.round(frames[offset + d]! * inv);
      out[offset + d] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
}

/** The F×D float frames back (int8: scale · q; fp16: the half values widened). */
export function decodeFrames(frames: CompactFrames): Float32Array {
  const { frameCount, dim, data, scales } = frames;
  const out = new Float32Array(frameCount * dim);
  if (frames.codec === FrameCodec.int8) {
    const q = data as Int8Array;
    for (let f = 0; f < frameCount; f++) {
      const scale = scales[f]!;
      const offset = f * dim;
      for (let d = 0; d < dim; d++) out[offset + d] = scale * q[offset + d]!;
    }
  } else {
    const h = data as Uint16Array;
    out.set(new Float16Array(h.buffer, h.byteOffset, out.length));
  }
  return out;
}

/**
 * The frames as int8 with per-frame scales, whatever their codec (fp16 frames are re-quantised): the
 * in-memory rescoring store keeps int8 only.
 */
export function toInt8Frames(frames: CompactFrames): { data: Int8Array; scales: Float32Array } {
  if (frames.codec === FrameCodec.int8) return { data: frames.data as Int8Array, scales: frames.scales };
  const floats = decodeFrames(frames);
  const scales = new Float32Array(frames.frameCount);
  for (let f = 0; f < frames.frameCount; f++) {
    let maxAbs = 0;
    for (let d = 0; d < frames.dim; d++) maxAbs = Math.max(maxAbs, Math.abs(floats[f * frames.dim + d]!));
    scales[f] = maxAbs / 127;
  }
  const data = new Int8Array(floats.length);
  quantizeInt8(floats, frames.frameCount, frames.dim, scales, data);
  return { data, scales };
}

/** Bytes per stored frame value. */
export function codecBytesPerValue(codec: FrameCodec): number {
  return codec === FrameCodec.int8 ? 1 : 2;
}

/** The stored values as bytes (little-endian for fp16), a view when possible. */
export function frameDataBytes(frames: CompactFrames): Uint8Array {
  const { data } = frames;
  if (frames.codec === FrameCodec.int8 || littleEndianHost)
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setUint16(2 * i, data[i]!, true);
  return out;
}

/**
 * Stored bytes → values of `codec` (the inverse of {@link frameDataBytes}); copies only when the bytes
 * are misaligned for fp16 or the host is big-endian.
 *
 * @throws ReelError EMBEDDINGS_INVALID when the length is not F×D values.
 */
export function frameDataFromBytes(
  codec: FrameCodec,
  bytes: Uint8Array,
  frameCount: number,
  dim: number,
): Int8Array | Uint16Array {
  const expected = frameCount * dim * codecBytesPerValue(codec);
  if (bytes.byteLength !== expected)
    fail(
      `stored frames (${codec}): expected ${frameCount}×${dim} values = ${expected} bytes, got ${bytes.byteLength}`,
    );
  if (codec === FrameCodec.int8) return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (codec !== FrameCodec.fp16) fail(`frame codec: expected int8 or fp16, got ${String(codec)}`);
  if (littleEndianHost && bytes.byteOffset % 2 === 0)
    return new Uint16Array(bytes.buffer, bytes.byteOffset, frameCount * dim);
  const out = new Uint16Array(frameCount * dim);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Half floats are Node 24's Float16Array (round to nearest even, subnormals, ±Infinity, NaN).
const halfScratch = new Float16Array(1);
const halfScratchBits = new Uint16Array(halfScratch.buffer);

/** float32 → IEEE half bits, round to nearest even; overflow → ±Infinity, tiny values → subnormals or ±0. */
export function float32ToHalf(value: number): number {
  halfScratch[0] = value;
  return halfScratchBits[0]!;
}

/** IEEE half bits → number. */
export function halfToFloat32(bits: number): number {
  halfScratchBits[0] = bits;
  return halfScratch[0]!;
}
