/**
 * CLIP image preprocessing with sharp: encoded images or raw RGB frames in, `[3, H, W]` float32
 * (NCHW per image) out, following the model folder's {@link PreprocessConfig}:
 * EXIF orientation, resize the shortest edge (or to an exact size), centre crop, `x * rescale`,
 * `(x - mean) / std`. This file is the sharp adapter for @reel/models; {@link normalizeRgb} is the
 * pure hot path.
 *
 * Raw frames whose size already equals the output size are taken as already resized and cropped
 * (ingest does that inside ffmpeg) and go straight to {@link normalizeRgb}: no sharp, no re-encoding.
 *
 * Resampling versus the reference (PIL, used by Transformers and immich): sharp's `cubic` kernel is
 * libvips' Mitchell-Netravali filter with B = 0, C = 0.5, i.e. Catmull-Rom, which is exactly Keys'
 * cubic with a = -0.5, the same function as PIL's BICUBIC (sharp's `mitchell`, B = C = 1/3, is the
 * different, blurrier one). Both widen the kernel by the downscale factor (antialiasing). Outputs
 * still differ by about one grey level because of what surrounds the kernel: libvips uses
 * fixed-point weights, its own tap count (2*rint(2*shrink)+1) and 8-bit rounding after each pass, and
 * for downscales beyond about 2x it box-shrinks by an integer factor first. Measured against a
 * float64 PIL-style reference (test/preprocess.test.ts): mean |diff| 0.003 normalised units (one grey
 * level ≈ 0.015) for 320x240 → 224, about 0.007 for 2000x1500 → 224 stripes; `mitchell` gives 0.02-0.04.
 * JPEG/WebP shrink-on-load (DCT-domain downscaling) would add more, so it is turned off.
 */
import { ReelError } from '@reel/infra';
import sharp, { type KernelEnum, type Sharp } from 'sharp';
import { ModelErrorCode } from '../errors.ts';
import { type Interpolation, type PreprocessConfig, preprocessOutputSize } from './preprocess-config.ts';

/** A decoded video frame from ingest: rgb24, row-major HWC, `data.length === width * height * 3`. */
export interface RawFrame {
  data: Uint8Array;
  /** px */
  width: number;
  /** px */
  height: number;
}

/** An encoded image (JPEG/PNG/WebP/... bytes or a file path) or a raw RGB frame. */
export type PreprocessInput = Buffer | Uint8Array | string | RawFrame;

/** Largest picture an encoded image may decode to (width × height). */
export const MAX_INPUT_PIXELS = 40_000_000;

/** Image formats a search by image accepts, told by their first bytes. */
export type ImageFormat = 'jpeg' | 'png' | 'webp';

/**
 * The format of an encoded image from its signature, or undefined: JPEG (FF D8 FF), PNG (89 50 4E 47
 * 0D 0A 1A 0A), WebP (RIFF … WEBP). Anything else (SVG, which may fetch what it names; GIF; HEIC; a
 * text) is refused before any decoder sees it.
 */
export function sniffImage(bytes: Uint8Array): ImageFormat | undefined {
  const at = (i: number, ...values: number[]) => values.every((v, j) => bytes[i + j] === v);
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  return undefined;
}

/** Geometry of one preprocessing: resize to `resize`, then cut `crop` out of it (px). */
export interface ResizePlan {
  resize: { width: number; height: number };
  crop: { left: number; top: number; width: number; height: number } | undefined;
}

const SHARP_KERNEL: Record<Interpolation, keyof KernelEnum> = {
  bicubic: 'cubic',
  bilinear: 'linear',
  nearest: 'nearest',
};

/**
 * Where an image of `width`×`height` px is resized to and cropped, with Transformers' arithmetic:
 * the long side becomes `floor(shortestEdge * long / short)`, and the crop's top-left corner is
 * `floor((resized - crop) / 2)` on each axis.
 */
export function planResize(width: number, height: number, config: PreprocessConfig): ResizePlan {
  let rw: number;
  let rh: number;
  if ('shortestEdge' in config.size) {
    const s = config.size.shortestEdge;
    if (width <= height) {
      rw = s;
      rh = Math.floor((s * height) / width);
    } else {
      rh = s;
      rw = Math.floor((s * width) / height);
    }
  } else {
    rw = config.size.width;
    rh = config.size.height;
  }
  const c = config.crop;
  const crop = c && {
    left: Math.floor((rw - c.width) / 2),
    top: Math.floor((rh - c.height) / 2),
    width: c.width,
    height: c.height,
  };
  return { resize: { width: rw, height: rh }, crop };
}

/**
 * HWC uint8 RGB → CHW float32 `(x * rescale - mean[c]) / std[c]`, in one pass with the per-channel
 * scale and offset folded together (computed in float64, rounded once to float32).
 * @param rgb `width * height * 3` bytes, row-major, R G B per pixel.
 * @param out Optional destination (e.g. a batch tensor); written at `outOffset .. outOffset + 3*H*W`.
 * @returns `out` (or a new array) holding `[3, height, width]` at `outOffset`.
 * @throws ReelError `IMAGE_INVALID` if `rgb.length !== width * height * 3`.
 */
export function normalizeRgb(
  rgb: Uint8Array,
  width: number,
  height: number,
  config: PreprocessConfig,
  out?: Float32Array,
  outOffset = 0,
): Float32Array {
  const plane = width * height;
  if (rgb.length !== plane * 3) {
    throw new ReelError(
      ModelErrorCode.IMAGE_INVALID,
      `raw RGB frame: expected ${width}*${height}*3 = ${plane * 3} bytes, found ${rgb.length}`,
    );
  }
  const dst = out ?? new Float32Array(plane * 3);
  if (outOffset + plane * 3 > dst.length) {
    throw new RangeError(`normalizeRgb: output holds ${dst.length} floats, needs ${outOffset + plane * 3}`);
  }
  const { mean, std, rescale } = config;
  const s0 = rescale / std[0];
  const s1 = rescale / std[1];
  const s2 = rescale / std[2];
  const b0 = -mean[0] / std[0];
  const b1 = -mean[1] / std[1];
  const b2 = -mean[2] / std[2];
  let r = outOffset;
  let g = outOffset + plane;
  let b = outOffset + 2 * plane;
  const end = outOffset + plane;
  for (let j = 0; r < end; j += 3) {
    dst[r++] = rgb[j]! * s0 + b0;
    dst[g++] = rgb[j + 1]! * s1 + b1;
    dst[b++] = rgb[j + 2]! * s2 + b2;
  }
  return dst;
}

/**
 * Turns images into CLIP `pixel_values` for one config. Stateless apart from the config; safe to
 * share. sharp work runs on libuv's thread pool, so batches decode in parallel.
 */
export class ImagePreprocessor {
  readonly config: PreprocessConfig;
  /** Output size in px: the crop, or the exact resize target. */
  readonly height: number;
  readonly width: number;

  constructor(config: PreprocessConfig) {
    this.config = config;
    const size = preprocessOutputSize(config);
    this.height = size.height;
    this.width = size.width;
  }

  /**
   * One image → `[3, H, W]` float32 (channel-major, H×W = the output size).
   * @throws ReelError `IMAGE_INVALID` naming the input when it cannot be decoded or a raw frame is malformed.
   */
  async preprocess(input: PreprocessInput): Promise<Float32Array> {
    const rgb = await this.#toRgb(input);
    return normalizeRgb(rgb, this.width, this.height, this.config);
  }

  /**
   * Several images → one `[n, 3, H, W]` float32 tensor (row-major), ready for `pixel_values`.
   * Raw frames at the output size are normalised straight into the batch buffer.
   * @throws ReelError `IMAGE_INVALID` naming the batch index and input of the first bad image.
   */
  async preprocessBatch(
    inputs: readonly PreprocessInput[],
  ): Promise<{ data: Float32Array; dims: [number, 3, number, number] }> {
    const n = inputs.length;
    const per = 3 * this.height * this.width;
    const data = new Float32Array(n * per);
    await Promise.all(
      inputs.map(async (input, i) => {
        let rgb: Uint8Array;
        try {
          rgb = await this.#toRgb(input);
        } catch (error) {
          if (error instanceof ReelError) {
            throw new ReelError(error.code, `batch item ${i} of ${n}: ${error.message}`, {
              details: { ...error.details, index: i },
              cause: error,
            });
          }
          throw error;
        }
        normalizeRgb(rgb, this.width, this.height, this.config, data, i * per);
      }),
    );
    return { data, dims: [n, 3, this.height, this.width] };
  }

  /** HWC uint8 RGB at the output size. */
  async #toRgb(input: PreprocessInput): Promise<Uint8Array> {
    if (typeof input === 'string' || input instanceof Uint8Array) return this.#decode(input);
    const { data, width, height } = input;
    if (
      !(data instanceof Uint8Array) ||
      !Number.isInteger(width) ||
      !Number.isInteger(height) ||
      width <= 0 ||
      height <= 0 ||
      data.length !== width * height * 3
    ) {
      throw new ReelError(
        ModelErrorCode.IMAGE_INVALID,
        `raw RGB frame: expected width*height*3 bytes for ${width}x${height}, found ${data?.length ?? 'no data'}`,
      );
    }
    // Ingest already resized and cropped in ffmpeg: the hot path never touches sharp.
    if (width === this.width && height === this.height) return data;
    const image = sharp(data, { raw: { width, height, channels: 3 } });
    return this.#resize(image, width, height, `raw RGB frame ${width}x${height}`);
  }

  async #decode(input: string | Uint8Array): Promise<Uint8Array> {
    const name = typeof input === 'string' ? `image file ${input}` : `image buffer of ${input.length} bytes`;
    try {
      // A small file can claim a huge picture (a decompression bomb): at most 40 Mpx are decoded.
      const image = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS });
      const meta = await image.metadata();
      // Dimensions after EXIF orientation (orientations 5-8 swap width and height).
      const { width, height } = meta.autoOrient;
      return await this.#resize(image.autoOrient(), width, height, name);
    } catch (error) {
      if (error instanceof ReelError) throw error;
      throw new ReelError(
        ModelErrorCode.IMAGE_INVALID,
        `${name}: expected a decodable image, sharp says: ${(error as Error).message}`,
        { details: { input: typeof input === 'string' ? input : undefined }, cause: error },
      );
    }
  }

  async #resize(image: Sharp, width: number, height: number, name: string): Promise<Uint8Array> {
    const plan = planResize(width, height, this.config);
    let pipeline = image.resize(plan.resize.width, plan.resize.height, {
      fit: 'fill',
      kernel: SHARP_KERNEL[this.config.interpolation],
      // DCT-domain JPEG/WebP downscaling is faster but departs further from PIL's output.
      fastShrinkOnLoad: false,
    });
    if (plan.crop) pipeline = pipeline.extract(plan.crop);
    // Transformers' convert_to_rgb composites transparency onto white; greyscale/CMYK become sRGB.
    const { data, info } = await pipeline
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== this.width || info.height !== this.height) {
      throw new ReelError(
        ModelErrorCode.IMAGE_INVALID,
        `${name}: expected ${this.width}x${this.height} RGB after resizing, sharp gave ${info.width}x${info.height}x${info.channels}`,
      );
    }
    return data;
  }
}
