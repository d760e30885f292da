import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import {
  decodeFrames,
  encodeFrames,
  FrameCodec,
  float32ToHalf,
  frameDataBytes,
  frameDataFromBytes,
  halfToFloat32,
  toInt8Frames,
} from '../src/frame-codec.ts';
import { clipLikeFrames, rng } from './helpers/pooling-fixtures.ts';

const F = 12;
const D = 512;

describe('int8 frame codec', () => {
  const frames = clipLikeFrames(rng(1), F, D);
  const encoded = encodeFrames(frames, F, D);

  it('stores one byte per value with scale = max|x| / 127 per frame', () => {
    expect(encoded.codec).toBe('int8');
    expect(encoded.data).toBeInstanceOf(Int8Array);
    expect(encoded.data.length).toBe(F * D);
    for (let f = 0; f < F; f++) {
      let maxAbs = 0;
      for (let d = 0; d < D; d++) maxAbs = Math.max(maxAbs, Math.abs(frames[f * D + d]!));
      expect(encoded.scales[f]).toBeCloseTo(maxAbs / 127, 6);
    }
    // the largest value of each frame maps to ±127 exactly
    const q = encoded.data as Int8Array;
    for (let f = 0; f < F; f++)
      expect(Math.max(...Array.from(q.subarray(f * D, (f + 1) * D), Math.abs))).toBe(127);
  });

  it('round-trips within half a quantisation step', () => {
    const decoded = decodeFrames(encoded);
    for (let f = 0; f < F; f++)
      for (let d = 0; d < D; d++)
        expect(Math.abs(decoded[f * D + d]! - frames[f * D + d]!)).toBeLessThanOrEqual(
          encoded.scales[f]! / 2 + 1e-7,
        );
  });

  it('computes norms, means and biased variances of the original floats', () => {
    for (const f of [0, 5, 11]) {
      let sum = 0;
      let squares = 0;
      for (let d = 0; d < D; d++) {
        sum += frames[f * D + d]!;
        squares += frames[f * D + d]! ** 2;
      }
      const mean = sum / D;
      let dev = 0;
      for (let d = 0; d < D; d++) dev += (frames[f * D + d]! - mean) ** 2;
      expect(encoded.norms[f]).toBeCloseTo(Math.sqrt(squares), 4);
      expect(encoded.means[f]).toBeCloseTo(mean, 6);
      expect(encoded.variances[f]).toBeCloseTo(dev / D, 6);
    }
  });

  it('keeps an all-zero frame at scale 0 and zero values', () => {
    const withBlank = frames.slice();
    withBlank.fill(0, 3 * D, 4 * D);
    const e = encodeFrames(withBlank, F, D);
    expect(e.scales[3]).toBe(0);
    expect(e.norms[3]).toBe(0);
    expect(Array.from(decodeFrames(e).subarray(3 * D, 4 * D)).every((v) => v === 0)).toBe(true);
  });

  it('round-trips through stored bytes', () => {
    const bytes = frameDataBytes(encoded);
    expect(bytes.byteLength).toBe(F * D);
    const back = frameDataFromBytes('int8', bytes, F, D);
    expect(Array.from(back)).toEqual(Array.from(encoded.data));
  });

  it('rejects sizes that disagree and non-finite values with EMBEDDINGS_INVALID', () => {
    expect(() => encodeFrames(frames, F, D + 1)).toThrow(/expected 12×513 = 6156 values, got 6144/);
    const bad = frames.slice();
    bad[7] = Number.NaN;
    try {
      encodeFrames(bad, F, D);
      expect.unreachable();
    } catch (error) {
      expect(isReelError(error, 'EMBEDDINGS_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(/finite values, got NaN at frame 0, index 7/);
    }
    expect(() => frameDataFromBytes('int8', new Uint8Array(10), F, D)).toThrow(/6144 bytes, got 10/);
  });
});

describe('fp16 frame codec', () => {
  it('converts golden half-precision values', () => {
    expect(float32ToHalf(1)).toBe(0x3c00);
    expect(float32ToHalf(-2)).toBe(0xc000);
    expect(float32ToHalf(0.1)).toBe(0x2e66);
    expect(float32ToHalf(65504)).toBe(0x7bff); // largest half
    expect(float32ToHalf(65520)).toBe(0x7c00); // rounds up to infinity
    expect(float32ToHalf(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToHalf(2 ** -26)).toBe(0x0000); // below half of it
    expect(float32ToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even
    expect(float32ToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie rounds to even (up)
    expect(halfToFloat32(0x3c00)).toBe(1);
    expect(halfToFloat32(0x2e66)).toBeCloseTo(0.0999755859375, 12);
    expect(halfToFloat32(0x0001)).toBe(2 ** -24);
    expect(halfToFloat32(0x7c00)).toBe(Number.POSITIVE_INFINITY);
  });

  it('round-trips frames within half precision and converts to int8 for the rescore cache', () => {
    const frames = clipLikeFrames(rng(2), F, D);
    const e = encodeFrames(frames, F, D, FrameCodec.fp16);
    expect(e.data).toBeInstanceOf(Uint16Array);
    const decoded = decodeFrames(e);
    for (let i = 0; i < frames.length; i++)
      expect(Math.abs(decoded[i]! - frames[i]!)).toBeLessThanOrEqual(Math.abs(frames[i]!) * 2 ** -11 + 1e-7);
    const bytes = frameDataBytes(e);
    expect(bytes.byteLength).toBe(2 * F * D);
    expect(Array.from(frameDataFromBytes('fp16', bytes, F, D))).toEqual(Array.from(e.data));
    const int8 = toInt8Frames(e);
    const direct = encodeFrames(frames, F, D);
    let differing = 0;
    for (let i = 0; i < int8.data.length; i++) if (int8.data[i] !== direct.data[i]) differing++;
    // half rounding moves a value across an int8 rounding boundary only rarely
    expect(differing / int8.data.length).toBeLessThan(0.02);
  });
});
