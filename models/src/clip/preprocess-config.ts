/**
 * Image preprocessing config from a model folder's own file, normalised into one typed
 * {@link PreprocessConfig}:
 *
 * - Hugging Face `preprocessor_config.json` (CLIPImageProcessor / SiglipImageProcessor fields).
 * - immich / open_clip `visual/preprocess_cfg.json` (`size`, `mean`, `std`, `interpolation`, `resize_mode`).
 *
 * Semantics we commit to (they differ from Transformers.js): `"size": 224` and
 * `{"shortest_edge": 224}` both mean "scale so the shortest edge is 224, keep the aspect ratio";
 * nothing is ever letterboxed. Absent fields fall back to OpenAI CLIP's values and are listed in
 * `defaulted` so the caller can warn; this module logs nothing. A malformed file or field is a
 * `PREPROCESS_CONFIG_INVALID` naming the file and the field.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from '../errors.ts';

/** Resize target: scale the shortest edge to `shortestEdge` px (aspect kept), or to exactly `height`×`width` px. */
export type PreprocessSize = { shortestEdge: number } | { height: number; width: number };

/** Resampling filter. `bicubic` is Keys' cubic with a = -0.5 (PIL's BICUBIC, libvips' `cubic`). */
export type Interpolation = 'bicubic' | 'bilinear' | 'nearest';

/** Three per-channel values in R, G, B order. */
export type Rgb = [number, number, number];

/**
 * How an image becomes a `[3, H, W]` float32 tensor: resize, centre crop, `x * rescale`, then
 * `(x - mean) / std` per channel (x in 0..255 before rescale).
 */
export interface PreprocessConfig {
  size: PreprocessSize;
  /** Centre crop in px after the resize; undefined for none (only with an exact `{height, width}` size). */
  crop: { height: number; width: number } | undefined;
  mean: Rgb;
  std: Rgb;
  /** Multiplier from 0..255 pixel values, usually 1/255; 1 when the file says `do_rescale: false`. */
  rescale: number;
  interpolation: Interpolation;
  /**
   * Keys of the source file that were absent and filled with CLIP defaults (the file's own key
   * names, e.g. `image_mean`), for the caller to warn about. Empty when the file said everything.
   */
  defaulted: string[];
}

/** OpenAI CLIP's normalisation (ImageNet-like, computed on its training set). */
export const CLIP_IMAGE_MEAN: Rgb = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_IMAGE_STD: Rgb = [0.26862954, 0.26130258, 0.27577711];
/** OpenAI CLIP's input resolution in px. */
export const CLIP_IMAGE_SIZE = 224;

const HF_FILE = 'preprocessor_config.json';
const IMMICH_FILE = 'preprocess_cfg.json';

/** PIL resample codes (`PIL.Image.Resampling`) we support: NEAREST 0, BILINEAR 2, BICUBIC 3. */
const PIL_RESAMPLE: Record<number, Interpolation> = { 0: 'nearest', 2: 'bilinear', 3: 'bicubic' };

/** Output size in px of a config: the crop if any, else the exact resize target. */
export function preprocessOutputSize(config: PreprocessConfig): { height: number; width: number } {
  if (config.crop) return config.crop;
  if ('height' in config.size) return config.size;
  // Unreachable for configs from the parsers (they reject shortest edge without a crop).
  throw new ReelError(
    ModelErrorCode.PREPROCESS_CONFIG_INVALID,
    'preprocess config: a shortest-edge resize needs a crop to give a fixed output size, found no crop',
  );
}

/**
 * Reads a model folder's preprocessing file, choosing the parser by its name:
 * `preprocessor_config.json` (Hugging Face) or `preprocess_cfg.json` (immich).
 * @throws ReelError `PREPROCESS_CONFIG_INVALID` for another name, an unreadable file, bad JSON or a bad field.
 */
export async function loadPreprocessConfig(file: string): Promise<PreprocessConfig> {
  const name = path.basename(file);
  if (name !== HF_FILE && name !== IMMICH_FILE) {
    throw invalid(file, undefined, `expected a file named ${HF_FILE} or ${IMMICH_FILE}, found ${name}`);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw invalid(file, undefined, `cannot read the file (${(error as Error).message})`, error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(file, undefined, `expected JSON, found a parse error (${(error as Error).message})`, error);
  }
  return name === HF_FILE ? parseHfPreprocessorConfig(json, file) : parseImmichPreprocessConfig(json, file);
}

/**
 * Parses a Hugging Face `preprocessor_config.json` object. `file` only names the source in errors.
 * Order of operations is CLIPImageProcessor's: resize, centre crop, rescale, normalise.
 */
export function parseHfPreprocessorConfig(json: unknown, file: string): PreprocessConfig {
  const obj = asObject(json, file);
  const defaulted: string[] = [];
  const field = new FieldReader(obj, file);

  if (field.boolean('do_resize', true) === false) {
    throw invalid(file, 'do_resize', 'expected true or absent (reel feeds images of any size), found false');
  }

  let size: PreprocessSize;
  const rawSize = obj.size;
  if (rawSize === undefined) {
    size = { shortestEdge: CLIP_IMAGE_SIZE };
    defaulted.push('size');
  } else if (typeof rawSize === 'number') {
    size = { shortestEdge: positiveInt(rawSize, file, 'size') };
  } else if (isObject(rawSize) && 'shortest_edge' in rawSize) {
    if (rawSize.longest_edge !== undefined && rawSize.longest_edge !== null) {
      throw invalid(file, 'size.longest_edge', `is not supported, found ${show(rawSize.longest_edge)}`);
    }
    size = { shortestEdge: positiveInt(rawSize.shortest_edge, file, 'size.shortest_edge') };
  } else if (isObject(rawSize) && 'height' in rawSize && 'width' in rawSize) {
    size = {
      height: positiveInt(rawSize.height, file, 'size.height'),
      width: positiveInt(rawSize.width, file, 'size.width'),
    };
  } else {
    throw invalid(
      file,
      'size',
      `expected a number, {"shortest_edge": n} or {"height": h, "width": w}, found ${show(rawSize)}`,
    );
  }

  let crop: PreprocessConfig['crop'];
  const doCrop = field.boolean('do_center_crop', undefined);
  if (doCrop === false) {
    crop = undefined;
  } else if (obj.crop_size !== undefined) {
    crop = hfCrop(obj.crop_size, file);
  } else if ('height' in size && doCrop === undefined) {
    // SigLIP-style: an exact resize with no crop fields at all needs no crop.
    crop = undefined;
  } else {
    const edge = 'shortestEdge' in size ? size.shortestEdge : CLIP_IMAGE_SIZE;
    crop = { height: edge, width: edge };
    defaulted.push('crop_size');
  }

  const rescale =
    field.boolean('do_rescale', true) === false ? 1 : field.positiveNumber('rescale_factor', 1 / 255);

  let mean: Rgb = [0, 0, 0];
  let std: Rgb = [1, 1, 1];
  if (field.boolean('do_normalize', true) !== false) {
    mean = field.rgb('image_mean', false, CLIP_IMAGE_MEAN, defaulted);
    std = field.rgb('image_std', true, CLIP_IMAGE_STD, defaulted);
  }

  let interpolation: Interpolation = 'bicubic';
  const resample = obj.resample;
  if (resample === undefined) {
    defaulted.push('resample');
  } else {
    const found = typeof resample === 'number' ? PIL_RESAMPLE[resample] : undefined;
    if (!found) {
      throw invalid(
        file,
        'resample',
        `expected a PIL code 0 (nearest), 2 (bilinear) or 3 (bicubic), found ${show(resample)}`,
      );
    }
    interpolation = found;
  }

  return checked({ size, crop, mean, std, rescale, interpolation, defaulted }, file);
}

/**
 * Parses an immich / open_clip `preprocess_cfg.json` object. `file` only names the source in errors.
 * `resize_mode` `"shortest"` (open_clip's default) scales the shortest edge then centre-crops to
 * `size`; `"squash"` resizes to exactly `size`. `"longest"` (letterboxing) is rejected.
 */
export function parseImmichPreprocessConfig(json: unknown, file: string): PreprocessConfig {
  const obj = asObject(json, file);
  const defaulted: string[] = [];
  const field = new FieldReader(obj, file);

  let height = CLIP_IMAGE_SIZE;
  let width = CLIP_IMAGE_SIZE;
  const rawSize = obj.size;
  if (rawSize === undefined) {
    defaulted.push('size');
  } else if (typeof rawSize === 'number') {
    height = width = positiveInt(rawSize, file, 'size');
  } else if (Array.isArray(rawSize) && rawSize.length === 2) {
    height = positiveInt(rawSize[0], file, 'size[0]');
    width = positiveInt(rawSize[1], file, 'size[1]');
  } else {
    throw invalid(file, 'size', `expected a number or [height, width], found ${show(rawSize)}`);
  }

  if (obj.mode !== undefined && obj.mode !== 'RGB') {
    throw invalid(file, 'mode', `expected "RGB", found ${show(obj.mode)}`);
  }

  const mode = obj.resize_mode ?? 'shortest';
  let size: PreprocessSize;
  let crop: PreprocessConfig['crop'];
  if (mode === 'shortest') {
    if (height !== width) {
      // open_clip then scales to cover [h, w] (not a shortest-edge resize); no model we load does this.
      throw invalid(
        file,
        'size',
        `expected a square size with resize_mode "shortest", found [${height}, ${width}]`,
      );
    }
    size = { shortestEdge: height };
    crop = { height, width };
  } else if (mode === 'squash') {
    size = { height, width };
    crop = undefined;
  } else {
    throw invalid(
      file,
      'resize_mode',
      `expected "shortest" or "squash" (never letterboxing), found ${show(obj.resize_mode)}`,
    );
  }

  const mean = field.rgb('mean', false, CLIP_IMAGE_MEAN, defaulted);
  const std = field.rgb('std', true, CLIP_IMAGE_STD, defaulted);

  let interpolation: Interpolation = 'bicubic';
  const rawInterp = obj.interpolation;
  if (rawInterp === undefined) {
    defaulted.push('interpolation');
  } else if (rawInterp === 'bicubic' || rawInterp === 'bilinear' || rawInterp === 'nearest') {
    interpolation = rawInterp;
  } else {
    throw invalid(
      file,
      'interpolation',
      `expected "bicubic", "bilinear" or "nearest", found ${show(rawInterp)}`,
    );
  }

  return checked({ size, crop, mean, std, rescale: 1 / 255, interpolation, defaulted }, file);
}

/** Final cross-field check: the crop must fit inside every resized image. */
function checked(config: PreprocessConfig, file: string): PreprocessConfig {
  const { size, crop } = config;
  if (!crop) {
    if ('shortestEdge' in size) {
      throw invalid(
        file,
        'do_center_crop',
        'expected a centre crop with a shortest-edge resize (else each image has its own shape), found none',
      );
    }
    return config;
  }
  // After a shortest-edge resize both sides are >= shortestEdge, so the crop fits iff both its sides do.
  const minH = 'shortestEdge' in size ? size.shortestEdge : size.height;
  const minW = 'shortestEdge' in size ? size.shortestEdge : size.width;
  if (crop.height > minH || crop.width > minW) {
    throw invalid(
      file,
      'crop_size',
      `expected a crop within the resized image (at least ${minH}x${minW} px), found ${crop.height}x${crop.width}`,
    );
  }
  return config;
}

function hfCrop(value: unknown, file: string): { height: number; width: number } {
  if (typeof value === 'number') {
    const edge = positiveInt(value, file, 'crop_size');
    return { height: edge, width: edge };
  }
  if (isObject(value)) {
    return {
      height: positiveInt(value.height, file, 'crop_size.height'),
      width: positiveInt(value.width, file, 'crop_size.width'),
    };
  }
  throw invalid(file, 'crop_size', `expected a number or {"height": h, "width": w}, found ${show(value)}`);
}

/** Typed access to optional fields of one config object, each failure naming file and field. */
class FieldReader {
  readonly #obj: Record<string, unknown>;
  readonly #file: string;

  constructor(obj: Record<string, unknown>, file: string) {
    this.#obj = obj;
    this.#file = file;
  }

  boolean<D extends boolean | undefined>(key: string, fallback: D): boolean | D {
    const value = this.#obj[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean')
      throw invalid(this.#file, key, `expected true or false, found ${show(value)}`);
    return value;
  }

  positiveNumber(key: string, fallback: number): number {
    const value = this.#obj[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw invalid(this.#file, key, `expected a positive number, found ${show(value)}`);
    }
    return value;
  }

  /**
   * Three finite numbers (strictly positive when `positive`, as a std must be); a copy of `fallback`
   * if absent, with `key` appended to `defaulted`.
   */
  rgb(key: string, positive: boolean, fallback: Rgb, defaulted: string[]): Rgb {
    const value = this.#obj[key];
    if (value === undefined) {
      defaulted.push(key);
      return [...fallback];
    }
    const ok =
      Array.isArray(value) &&
      value.length === 3 &&
      value.every((v) => typeof v === 'number' && Number.isFinite(v) && (!positive || v > 0));
    if (!ok) {
      const what = positive ? 'three positive numbers' : 'three numbers';
      throw invalid(this.#file, key, `expected ${what} [r, g, b], found ${show(value)}`);
    }
    return [value[0], value[1], value[2]];
  }
}

function positiveInt(value: unknown, file: string, key: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw invalid(file, key, `expected a positive integer size in px, found ${show(value)}`);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(json: unknown, file: string): Record<string, unknown> {
  if (!isObject(json)) throw invalid(file, undefined, `expected a JSON object, found ${show(json)}`);
  return json;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function invalid(file: string, key: string | undefined, message: string, cause?: unknown): ReelError {
  const where = key === undefined ? file : `${file}: field "${key}"`;
  return new ReelError(ModelErrorCode.PREPROCESS_CONFIG_INVALID, `${where}: ${message}`, {
    details: { file, field: key },
    cause,
  });
}

/**
 * How video frames should be cut for a model with this preprocessing, in the terms the frame sampler
 * takes: the square output side, and `shortest` (scale the shortest edge to `shortestEdge`, centre crop)
 * or `squash` (resize to size × size, aspect ignored), with the config's interpolation. Undefined for
 * what a square ffmpeg cut cannot express (non-square inputs; an exact resize followed by a crop): the
 * sampler then cuts CLIP's way at the output size and the image preprocessor takes the frames as they are.
 */
export function videoFrameGeometry(config: PreprocessConfig):
  | {
      size: number;
      resize: 'shortest' | 'squash';
      shortestEdge?: number;
      interpolation: Interpolation;
    }
  | undefined {
  const { size, crop, interpolation } = config;
  if ('shortestEdge' in size) {
    if (!crop || crop.height !== crop.width || crop.height > size.shortestEdge) return undefined;
    return { size: crop.height, resize: 'shortest', shortestEdge: size.shortestEdge, interpolation };
  }
  if (crop || size.height !== size.width) return undefined;
  return { size: size.height, resize: 'squash', interpolation };
}
