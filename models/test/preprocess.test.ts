import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImagePreprocessor, normalizeRgb, planResize } from '../src/clip/preprocess.ts';
import {
  CLIP_IMAGE_MEAN,
  CLIP_IMAGE_STD,
  loadPreprocessConfig,
  type PreprocessConfig,
  parseHfPreprocessorConfig,
  parseImmichPreprocessConfig,
  videoFrameGeometry,
} from '../src/clip/preprocess-config.ts';

/** openai/clip-vit-base-patch32's preprocessor_config.json, verbatim fields. */
const OPENAI_HF = {
  crop_size: 224,
  do_center_crop: true,
  do_normalize: true,
  do_resize: true,
  feature_extractor_type: 'CLIPFeatureExtractor',
  image_mean: CLIP_IMAGE_MEAN,
  image_std: CLIP_IMAGE_STD,
  resample: 3,
  size: 224,
};
const CLIP = parseHfPreprocessorConfig(OPENAI_HF, 'preprocessor_config.json');

// ---------- float64 reference of the same math ----------

/** Keys' cubic convolution kernel with a = -0.5 (PIL's BICUBIC). */
function keysCubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/**
 * 1-D antialiased resample as PIL does it: output pixel i is centred on input (i + 0.5) * scale,
 * the kernel is stretched by max(scale, 1), taps outside the image are dropped and the weights
 * renormalised. No rounding anywhere (float64 throughout).
 */
function axisWeights(len: number, outLen: number): { start: number; w: number[] }[] {
  const scale = len / outLen;
  const fs = Math.max(scale, 1);
  const weights: { start: number; w: number[] }[] = [];
  for (let i = 0; i < outLen; i++) {
    const center = (i + 0.5) * scale;
    const start = Math.max(0, Math.floor(center - 2 * fs));
    const stop = Math.min(len, Math.ceil(center + 2 * fs));
    const w: number[] = [];
    let sum = 0;
    for (let j = start; j < stop; j++) {
      const v = keysCubic((j + 0.5 - center) / fs);
      w.push(v);
      sum += v;
    }
    weights.push({ start, w: w.map((v) => v / sum) });
  }
  return weights;
}

/** Resizes HWC float64 RGB (w×h) to (ow×oh) with a separable float64 bicubic. */
function resizeRef(img: Float64Array, w: number, h: number, ow: number, oh: number): Float64Array {
  const horiz = axisWeights(w, ow);
  const tmp = new Float64Array(ow * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      const { start, w: ws } = horiz[x]!;
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k]! * img[(y * w + start + k) * 3 + c]!;
        tmp[(y * ow + x) * 3 + c] = acc;
      }
    }
  }
  const vert = axisWeights(h, oh);
  const out = new Float64Array(ow * oh * 3);
  for (let y = 0; y < oh; y++) {
    const { start, w: ws } = vert[y]!;
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k]! * tmp[((start + k) * ow + x) * 3 + c]!;
        out[(y * ow + x) * 3 + c] = acc;
      }
    }
  }
  return out;
}

/** (x * rescale - mean) / std, HWC → CHW, in float64. */
function normalizeRef(img: ArrayLike<number>, w: number, h: number, cfg: PreprocessConfig): Float64Array {
  const out = new Float64Array(3 * w * h);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) {
      out[c * w * h + i] = (img[i * 3 + c]! * cfg.rescale - cfg.mean[c]!) / cfg.std[c]!;
    }
  }
  return out;
}

/** Full reference: shortest edge to `edge` (Transformers' int() arithmetic), centre crop `crop`, normalise. */
function pipelineRef(
  rgb: Uint8Array,
  w: number,
  h: number,
  edge: number,
  crop: number,
  cfg: PreprocessConfig,
) {
  const [rw, rh] = w <= h ? [edge, Math.floor((edge * h) / w)] : [Math.floor((edge * w) / h), edge];
  const resized = resizeRef(Float64Array.from(rgb), w, h, rw, rh);
  const left = Math.floor((rw - crop) / 2);
  const top = Math.floor((rh - crop) / 2);
  const cropped = new Float64Array(crop * crop * 3);
  for (let y = 0; y < crop; y++) {
    for (let x = 0; x < crop; x++) {
      for (let c = 0; c < 3; c++)
        cropped[(y * crop + x) * 3 + c] = resized[((y + top) * rw + x + left) * 3 + c]!;
    }
  }
  return normalizeRef(cropped, crop, crop, cfg);
}

// ---------- synthetic images ----------

function rawImage(
  w: number,
  h: number,
  pixel: (x: number, y: number) => [number, number, number],
): Uint8Array {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set(pixel(x, y), (y * w + x) * 3);
  }
  return data;
}

function png(data: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** Normalised value of one output pixel, channel c, at (x, y) of a [3, H, W] tensor. */
function at(t: Float32Array, size: number, c: number, x: number, y: number): number {
  return t[c * size * size + y * size + x]!;
}

function stats(a: ArrayLike<number>, b: ArrayLike<number>) {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

/**
 * Bitwise-equal float arrays. (vitest's toEqual on 150k-element typed arrays spends minutes building
 * a diff when they differ; this reports the first mismatch instead.)
 */
function expectSameFloats(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const i = actual.findIndex((v, k) => !Object.is(v, expected[k]));
  expect(i === -1 ? 'identical' : `first difference at ${i}: ${actual[i]} vs ${expected[i]}`).toBe(
    'identical',
  );
}

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string, ...parts: string[]) {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    error = e;
  }
  expect(isReelError(error, code), `expected ReelError ${code}, got ${String(error)}`).toBe(true);
  for (const part of parts) expect((error as Error).message).toContain(part);
}

// ---------- tests ----------

describe('normalizeRgb', () => {
  it('matches the float64 reference within 1e-6, HWC → CHW', () => {
    const w = 37;
    const h = 23;
    const rgb = rawImage(w, h, (x, y) => [(x * 7 + y) % 256, (x * y * 3) % 256, (255 - x * 5) & 255]);
    const ref = normalizeRef(rgb, w, h, CLIP);
    const got = normalizeRgb(rgb, w, h, CLIP);
    expect(got.length).toBe(3 * w * h);
    expect(stats(got, ref).max).toBeLessThanOrEqual(1e-6);
    // Spot check one value by hand: channel 1 (green) of pixel (x=2, y=1).
    expect(got[w * h + 1 * w + 2]).toBeCloseTo(
      ((2 * 1 * 3) / 255 - CLIP_IMAGE_MEAN[1]) / CLIP_IMAGE_STD[1],
      6,
    );
  });

  it('writes into a batch buffer at an offset and leaves the rest alone', () => {
    const rgb = rawImage(4, 3, () => [255, 0, 128]);
    const out = new Float32Array(2 * 36).fill(7);
    normalizeRgb(rgb, 4, 3, CLIP, out, 36);
    expect(out.slice(0, 36).every((v) => v === 7)).toBe(true);
    expect(out[36]).toBeCloseTo((1 - CLIP_IMAGE_MEAN[0]) / CLIP_IMAGE_STD[0], 6);
    expect(out[36 + 12]).toBeCloseTo(-CLIP_IMAGE_MEAN[1] / CLIP_IMAGE_STD[1], 6);
  });

  it('rejects a byte length that is not width*height*3', async () => {
    await expectCode(
      () => normalizeRgb(new Uint8Array(10), 2, 2, CLIP),
      'IMAGE_INVALID',
      '12 bytes',
      'found 10',
    );
  });
});

describe('ImagePreprocessor pixels', () => {
  const pre = new ImagePreprocessor(CLIP);

  // Why sharp differs from this float64 reference at all: sharp's `cubic` and PIL's BICUBIC are the
  // same kernel (libvips' Catmull-Rom, Mitchell-Netravali B=0 C=0.5 = Keys a=-0.5), but libvips uses
  // fixed-point weights and rounds to 8 bits after each pass, and the reference never rounds. One grey
  // level is 1/255/0.27 ≈ 0.015 in normalised units. Measured here (libvips 8.18): gradient mean 0.0033,
  // max 0.0145; stripes mean 0.0031, max 0.016. With sharp's `mitchell` the stripes give mean 0.020,
  // `lanczos3` 0.007, `linear` 0.033, so the stripes test pins the kernel choice.
  it('matches a float64 bicubic (a=-0.5) reference on a smooth gradient within tolerance', async () => {
    // Tolerance: mean |diff| ≤ 0.01, max ≤ 0.05 (about 3 grey levels) in normalised units.
    const w = 320;
    const h = 240;
    const rgb = rawImage(w, h, (x, y) => [
      Math.round((255 * x) / (w - 1)),
      Math.round((255 * y) / (h - 1)),
      Math.round(127.5 + 100 * Math.sin((2 * Math.PI * x) / w) * Math.cos((2 * Math.PI * y) / h)),
    ]);
    const got = await pre.preprocess(await png(rgb, w, h));
    const ref = pipelineRef(rgb, w, h, 224, 224, CLIP);
    expect(got.length).toBe(3 * 224 * 224);
    const { mean, max } = stats(got, ref);
    expect(mean).toBeLessThanOrEqual(0.01);
    expect(max).toBeLessThanOrEqual(0.05);

    // The same pixels handed over as a raw frame (not at crop size) go through the same sharp resize.
    const fromRaw = await pre.preprocess({ data: rgb, width: w, height: h });
    expectSameFloats(fromRaw, got);
  });

  it('uses the bicubic kernel PIL uses: fine stripes match the reference too', async () => {
    // Tolerance: mean ≤ 0.005, max ≤ 0.03 (2 grey levels); any other sharp kernel fails the mean.
    const w = 320;
    const h = 240;
    const rgb = rawImage(w, h, (x, y) => [
      Math.round(127.5 + 127 * Math.sin((2 * Math.PI * x) / 9)),
      Math.round(127.5 + 127 * Math.sin((2 * Math.PI * y) / 11)),
      128,
    ]);
    const { mean, max } = stats(
      await pre.preprocess(await png(rgb, w, h)),
      pipelineRef(rgb, w, h, 224, 224, CLIP),
    );
    expect(mean).toBeLessThanOrEqual(0.005);
    expect(max).toBeLessThanOrEqual(0.03);
  });

  it('resizes the shortest edge and centre-crops a 640x360 image: no letterbox, no squash', async () => {
    // Red for x < 160, blue after. Shortest edge 360 → 224 makes it 398 wide (floor(224*640/360));
    // the crop starts at floor((398-224)/2) = 87, so the edge at 160*398/640 = 99.5 lands at x ≈ 12.5.
    // Squashing would put it at 56; letterboxing would add black rows top and bottom.
    const rgb = rawImage(640, 360, (x) => (x < 160 ? [255, 0, 0] : [0, 0, 255]));
    expect(planResize(640, 360, CLIP)).toEqual({
      resize: { width: 398, height: 224 },
      crop: { left: 87, top: 0, width: 224, height: 224 },
    });
    const out = await pre.preprocess(await png(rgb, 640, 360));
    const redR = (1 - CLIP_IMAGE_MEAN[0]) / CLIP_IMAGE_STD[0];
    const blueR = -CLIP_IMAGE_MEAN[0] / CLIP_IMAGE_STD[0];
    const blueB = (1 - CLIP_IMAGE_MEAN[2]) / CLIP_IMAGE_STD[2];
    for (let y = 0; y < 224; y++) {
      // Colour reaches every edge: first/last rows and columns are image, not padding.
      expect(Math.abs(at(out, 224, 0, 0, y) - redR)).toBeLessThan(0.02);
      expect(Math.abs(at(out, 224, 2, 223, y) - blueB)).toBeLessThan(0.02);
    }
    for (const y of [0, 223]) {
      for (let x = 0; x < 224; x++) {
        if (x >= 10 && x <= 15) continue; // the red/blue transition
        const expected = x < 12 ? redR : blueR;
        expect(Math.abs(at(out, 224, 0, x, y) - expected)).toBeLessThan(0.02);
      }
    }
    const mid = (redR + blueR) / 2;
    let edge = 0;
    while (at(out, 224, 0, edge, 112) > mid) edge++;
    expect(edge).toBeGreaterThanOrEqual(12);
    expect(edge).toBeLessThanOrEqual(13);
  });

  it('treats "size": 224 and {"shortest_edge": 224} identically', async () => {
    const a = parseHfPreprocessorConfig({ ...OPENAI_HF, size: 224 }, 'a/preprocessor_config.json');
    const b = parseHfPreprocessorConfig(
      { ...OPENAI_HF, size: { shortest_edge: 224 }, crop_size: { height: 224, width: 224 } },
      'b/preprocessor_config.json',
    );
    expect(b).toEqual(a);
    const rgb = rawImage(300, 500, (x, y) => [x % 256, y % 256, (x + y) % 256]);
    const img = await png(rgb, 300, 500);
    const [outA, outB] = await Promise.all([
      new ImagePreprocessor(a).preprocess(img),
      new ImagePreprocessor(b).preprocess(img),
    ]);
    expectSameFloats(outB, outA);
  });

  it('applies EXIF orientation 6 (rotate 90° clockwise): the top-left red corner ends up top-right', async () => {
    // Stored 64 wide x 32 tall, red 16x16 block at the stored top-left, grey elsewhere.
    const rgb = rawImage(64, 32, (x, y) => (x < 16 && y < 16 ? [255, 0, 0] : [128, 128, 128]));
    const base = sharp(rgb, { raw: { width: 64, height: 32, channels: 3 } }).jpeg({ quality: 95 });
    const rotated = await base.clone().withMetadata({ orientation: 6 }).toBuffer();
    const plain = await base.clone().toBuffer();
    // Squash to exactly 32 wide x 64 tall (the displayed shape), no crop.
    const cfg = parseImmichPreprocessConfig({ size: [64, 32], resize_mode: 'squash' }, 'preprocess_cfg.json');
    const p = new ImagePreprocessor(cfg);
    const redAt = (t: Float32Array, x: number, y: number) =>
      t[y * 32 + x]! > 1.5 && t[2 * 64 * 32 + y * 32 + x]! < -1; // R high, B low
    const out = await p.preprocess(rotated);
    expect(redAt(out, 24, 8)).toBe(true); // top-right
    expect(redAt(out, 8, 8)).toBe(false); // top-left is grey
    expect(redAt(out, 24, 56)).toBe(false);
    // Control: without the tag the squashed image keeps red at the top-left.
    const control = await p.preprocess(plain);
    expect(redAt(control, 3, 16)).toBe(true);
    expect(redAt(control, 24, 8)).toBe(false);
  });

  it('passes a raw frame at crop size straight to normalizeRgb (no resize)', async () => {
    // With shortest edge 256 + crop 224 a resizing path would upscale 224 → 256 and crop, changing
    // every pixel; equality with normalizeRgb proves the bypass.
    const cfg = parseHfPreprocessorConfig(
      { ...OPENAI_HF, size: 256, crop_size: 224 },
      'preprocessor_config.json',
    );
    const p = new ImagePreprocessor(cfg);
    const data = rawImage(224, 224, (x, y) => [(x * 31 + y * 17) & 255, (x ^ y) & 255, (x * y) & 255]);
    const frame = { data, width: 224, height: 224 };
    const expected = normalizeRgb(data, 224, 224, cfg);
    expectSameFloats(await p.preprocess(frame), expected);
    const batch = await p.preprocessBatch([frame, frame]);
    expect(batch.dims).toEqual([2, 3, 224, 224]);
    expectSameFloats(batch.data.subarray(3 * 224 * 224), expected);
  });

  it('batches mixed inputs into [n, 3, H, W] with each item equal to its single preprocess', async () => {
    const a = await png(
      rawImage(90, 60, (x) => [x * 2, 50, 200]),
      90,
      60,
    );
    const frame = { data: rawImage(224, 224, (x, y) => [x, y, 9]), width: 224, height: 224 };
    const { data, dims } = await pre.preprocessBatch([a, frame]);
    expect(dims).toEqual([2, 3, 224, 224]);
    const per = 3 * 224 * 224;
    expectSameFloats(data.subarray(0, per), await pre.preprocess(a));
    expectSameFloats(data.subarray(per), await pre.preprocess(frame));
    expect((await pre.preprocessBatch([])).dims).toEqual([0, 3, 224, 224]);
  });

  it('honours an immich config with its own mean/std, not CLIP’s', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-preprocess-'));
    mkdirSync(path.join(dir, 'visual'));
    const file = path.join(dir, 'visual', 'preprocess_cfg.json');
    writeFileSync(
      file,
      JSON.stringify({
        size: [224, 224],
        mode: 'RGB',
        mean: [0.5, 0.5, 0.5],
        std: [0.5, 0.5, 0.5],
        interpolation: 'bicubic',
        resize_mode: 'shortest',
      }),
    );
    const cfg = await loadPreprocessConfig(file);
    expect(cfg).toMatchObject({
      size: { shortestEdge: 224 },
      crop: { height: 224, width: 224 },
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      interpolation: 'bicubic',
      defaulted: [],
    });
    const grey = await png(
      rawImage(100, 80, () => [128, 128, 128]),
      100,
      80,
    );
    const out = await new ImagePreprocessor(cfg).preprocess(grey);
    const expected = (128 / 255 - 0.5) / 0.5; // 0.0039; CLIP's would be 0.20-0.40
    expect(stats(out, new Float32Array(out.length).fill(expected)).max).toBeLessThan(1e-6);
  });
});

describe('ImagePreprocessor errors', () => {
  const pre = new ImagePreprocessor(CLIP);

  it('names an undecodable buffer, a missing file and sharp’s reason', async () => {
    await expectCode(
      pre.preprocess(Buffer.from('not an image')),
      'IMAGE_INVALID',
      'image buffer of 12 bytes',
      'unsupported image format',
    );
    const missing = path.join(tmpdir(), 'reel-no-such-image.jpg');
    await expectCode(pre.preprocess(missing), 'IMAGE_INVALID', missing, 'missing');
    const truncated = (
      await png(
        rawImage(50, 50, (x) => [x, x, x]),
        50,
        50,
      )
    ).subarray(0, 60);
    await expectCode(pre.preprocess(truncated), 'IMAGE_INVALID', 'image buffer of 60 bytes');
  });

  it('rejects a raw frame whose length is not w*h*3, alone and in a batch', async () => {
    await expectCode(
      pre.preprocess({ data: new Uint8Array(100), width: 224, height: 224 }),
      'IMAGE_INVALID',
      '224x224',
      'found 100',
    );
    const good = { data: new Uint8Array(224 * 224 * 3), width: 224, height: 224 };
    await expectCode(
      pre.preprocessBatch([good, { data: new Uint8Array(5), width: 2, height: 2 }]),
      'IMAGE_INVALID',
      'batch item 1 of 2',
    );
  });
});

describe('video frame geometry from a preprocessing config', () => {
  it("cuts frames as each family's config says", () => {
    const hf = (json: Record<string, unknown>) =>
      videoFrameGeometry(parseHfPreprocessorConfig(json, 'x.json'));
    expect(hf({ size: { shortest_edge: 224 }, crop_size: 224, resample: 3 })).toEqual({
      size: 224,
      resize: 'shortest',
      shortestEdge: 224,
      interpolation: 'bicubic',
    });
    // SigLIP: an exact resize without a crop, bilinear.
    expect(hf({ size: { height: 384, width: 384 }, resample: 2 })).toEqual({
      size: 384,
      resize: 'squash',
      interpolation: 'bilinear',
    });
    expect(hf({ size: { shortest_edge: 256 }, crop_size: 224 })).toMatchObject({
      size: 224,
      shortestEdge: 256,
    });
    const immich = (json: Record<string, unknown>) =>
      videoFrameGeometry(parseImmichPreprocessConfig(json, 'preprocess_cfg.json'));
    expect(immich({ size: [224, 224], resize_mode: 'squash', interpolation: 'bicubic' })).toMatchObject({
      resize: 'squash',
    });
    expect(immich({ size: [224, 224], resize_mode: 'shortest' })).toMatchObject({ resize: 'shortest' });
    // What a square ffmpeg cut cannot express.
    expect(hf({ size: { height: 224, width: 320 } })).toBeUndefined();
  });
});

describe('preprocess config', () => {
  it('reads the OpenAI config fully from the file (nothing defaulted)', () => {
    expect(CLIP).toEqual({
      size: { shortestEdge: 224 },
      crop: { height: 224, width: 224 },
      mean: CLIP_IMAGE_MEAN,
      std: CLIP_IMAGE_STD,
      rescale: 1 / 255,
      interpolation: 'bicubic',
      defaulted: [],
    });
  });

  it('reads a SigLIP-style config: exact size, no crop, bilinear, its own mean', () => {
    const cfg = parseHfPreprocessorConfig(
      {
        do_normalize: true,
        do_rescale: true,
        do_resize: true,
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
        resample: 2,
        rescale_factor: 0.00392156862745098,
        size: { height: 384, width: 384 },
      },
      'preprocessor_config.json',
    );
    expect(cfg).toMatchObject({
      size: { height: 384, width: 384 },
      crop: undefined,
      mean: [0.5, 0.5, 0.5],
      interpolation: 'bilinear',
      defaulted: [],
    });
  });

  it('fills absent fields with CLIP defaults and lists them', () => {
    const cfg = parseHfPreprocessorConfig({}, 'preprocessor_config.json');
    expect(cfg).toMatchObject({
      size: { shortestEdge: 224 },
      crop: { height: 224, width: 224 },
      mean: CLIP_IMAGE_MEAN,
    });
    expect(cfg.defaulted).toEqual(['size', 'crop_size', 'image_mean', 'image_std', 'resample']);
    const immich = parseImmichPreprocessConfig({ size: 256 }, 'preprocess_cfg.json');
    expect(immich).toMatchObject({ size: { shortestEdge: 256 }, crop: { height: 256, width: 256 } });
    expect(immich.defaulted).toEqual(['mean', 'std', 'interpolation']);
  });

  it('honours do_rescale / do_normalize false', () => {
    const cfg = parseHfPreprocessorConfig(
      { do_rescale: false, do_normalize: false },
      'preprocessor_config.json',
    );
    expect(cfg).toMatchObject({ rescale: 1, mean: [0, 0, 0], std: [1, 1, 1] });
    expect(normalizeRgb(new Uint8Array([200, 100, 0]), 1, 1, cfg)).toEqual(new Float32Array([200, 100, 0]));
  });

  it('rejects bad fields naming file and field', async () => {
    const f = 'models/x/preprocessor_config.json';
    const bad: [Record<string, unknown>, string][] = [
      [{ image_std: [0.5, 0, 0.5] }, 'image_std'],
      [{ image_mean: [0.5, 0.5] }, 'image_mean'],
      [{ size: -224 }, 'size'],
      [{ size: '224' }, 'size'],
      [{ size: { shortest_edge: 0 } }, 'size.shortest_edge'],
      [{ size: { longest_edge: 224 } }, 'size'],
      [{ crop_size: { height: 224 } }, 'crop_size.width'],
      [{ size: 200, crop_size: 224 }, 'crop_size'],
      [{ resample: 1 }, 'resample'],
      [{ do_resize: false }, 'do_resize'],
      [{ do_center_crop: false }, 'do_center_crop'],
      [{ do_normalize: 'yes' }, 'do_normalize'],
      [{ rescale_factor: 0 }, 'rescale_factor'],
    ];
    for (const [json, field] of bad) {
      await expectCode(
        () => parseHfPreprocessorConfig(json, f),
        'PREPROCESS_CONFIG_INVALID',
        f,
        `"${field}"`,
      );
    }
    const g = 'visual/preprocess_cfg.json';
    const badImmich: [Record<string, unknown>, string][] = [
      [{ std: [1, 1, 0] }, 'std'],
      [{ size: [224, 256] }, 'size'],
      [{ size: [224] }, 'size'],
      [{ resize_mode: 'longest' }, 'resize_mode'],
      [{ interpolation: 'lanczos' }, 'interpolation'],
      [{ mode: 'L' }, 'mode'],
    ];
    for (const [json, field] of badImmich) {
      await expectCode(
        () => parseImmichPreprocessConfig(json, g),
        'PREPROCESS_CONFIG_INVALID',
        g,
        `"${field}"`,
      );
    }
    await expectCode(() => parseHfPreprocessorConfig([1, 2], f), 'PREPROCESS_CONFIG_INVALID', 'JSON object');
  });

  it('loadPreprocessConfig: malformed JSON, missing file and unknown name', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-preprocess-'));
    const broken = path.join(dir, 'preprocessor_config.json');
    writeFileSync(broken, '{"size": 224,');
    await expectCode(loadPreprocessConfig(broken), 'PREPROCESS_CONFIG_INVALID', broken, 'expected JSON');
    const absent = path.join(dir, 'preprocess_cfg.json');
    await expectCode(loadPreprocessConfig(absent), 'PREPROCESS_CONFIG_INVALID', absent, 'cannot read');
    await expectCode(
      loadPreprocessConfig(path.join(dir, 'config.json')),
      'PREPROCESS_CONFIG_INVALID',
      'config.json',
    );
    writeFileSync(broken, JSON.stringify({ size: { shortest_edge: 224 } }));
    expect((await loadPreprocessConfig(broken)).size).toEqual({ shortestEdge: 224 });
  });
});
