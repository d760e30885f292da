/**
 * `reel models quantize`: from an fp32 model folder `<id>`, writes int8 copies beside it, each a model
 * folder of its own (its own fingerprint, so switching to one is a model change like any other):
 *
 * - `<id>-int8`: both encoders int8;
 * - `<id>-int8-image`: int8 image encoder, fp32 text encoder (the default choice when it calibrates well);
 * - `<id>-int8-text`: fp32 image encoder, int8 text encoder.
 *
 * Encoders are quantized by {@link quantizeGraph}; fp32 encoders and the tokenizer/config files are hard
 * links to the source's (copies where links are impossible). Every folder gets a `calibration.json`
 * (see calibrate.ts) measured on the caller's images and texts.
 *
 * Which layers stay fp32 is decided by measurement: an encoder is first quantized whole; if its
 * 1st-percentile cosine to fp32 misses the threshold, again with its last layer (the projection to the
 * embedding space) in fp32, then with its first and last; the first plan that passes is kept, else the
 * best one (and `auto` precision will not pick that encoder).
 */
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import onnxProto from 'onnx-proto';
import { ClipModel } from '../clip/clip-model.ts';
import { ClipImageEncoder, ClipTextEncoder, type PixelBatch, type TokenBatch } from '../clip/encoders.ts';
import type { PreprocessInput } from '../clip/preprocess.ts';
import { ModelErrorCode } from '../errors.ts';
import type { InferencePool } from '../inference/inference-pool.ts';
import { inspectModelFolder, type LayoutFiles } from '../model-layout.ts';
import {
  CALIBRATION_TEXTS,
  type Calibration,
  cosineStats,
  cosines,
  DEFAULT_CALIBRATION_THRESHOLD,
  type EncoderCalibration,
  readCalibration,
  topKAgreement,
  writeCalibration,
} from './calibrate.ts';
import { QUANTIZED_VARIANTS } from './precision.ts';
import { type QuantizedFormat, type QuantizeGraphReport, quantizeGraph } from './quantize-graph.ts';

const { ModelProto } = onnxProto.onnx;

export interface QuantizeModelOptions {
  /** Worker pool the encoders run in while calibrating. */
  pool: InferencePool;
  /** Folder the quantized folders are written to (usually `<data dir>/models`). */
  modelsDir: string;
  /** Calibration images (frames of the user's videos, or generated ones). At least 10. */
  images: readonly PreprocessInput[];
  /** Where the images came from, for the report (e.g. "64 thumbnails of indexed videos"). */
  imageSource: string;
  /** Calibration texts; default {@link CALIBRATION_TEXTS}. */
  texts?: readonly string[];
  /** Default `matmul-integer`. */
  format?: QuantizedFormat;
  /** 1st-percentile cosine an encoder must reach; default {@link DEFAULT_CALIBRATION_THRESHOLD}. */
  threshold?: number;
  /** Rewrite quantized folders that exist already. */
  force?: boolean;
  /** Progress lines (plans tried, figures). */
  log?: (message: string) => void;
}

export interface QuantizedFolder {
  id: string;
  dir: string;
  fingerprint: string;
  calibration: Calibration;
}

export interface QuantizeModelResult {
  source: { id: string; dir: string; fingerprint: string };
  /** False when the folders existed and `force` was not set (nothing was written). */
  written: boolean;
  folders: QuantizedFolder[];
}

type Encoder = 'image' | 'text';

interface Plan {
  name: string;
  keep: (index: number, count: number) => boolean;
}

const PLANS: readonly Plan[] = [
  { name: 'every layer', keep: () => false },
  { name: 'last layer in fp32', keep: (index, count) => index === count - 1 },
  { name: 'first and last layers in fp32', keep: (index, count) => index === 0 || index === count - 1 },
];

interface Tried {
  plan: Plan;
  bytes: Uint8Array;
  report: QuantizeGraphReport;
  embeddings: Float32Array[];
  cosines: number[];
}

function problem(message: string): ReelError {
  return new ReelError(ModelErrorCode.MODEL_INVALID, message);
}

/**
 * Hard-links the file `from` names (symlinks followed) to `to`, copying when a link is impossible
 * (another file system, no permission).
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  const target = await realpath(from);
  await link(target, to).catch(() => copyFile(target, to));
}

function existingResult(
  source: QuantizeModelResult['source'],
  modelsDir: string,
): QuantizedFolder[] | undefined {
  const folders: QuantizedFolder[] = [];
  for (const variant of QUANTIZED_VARIANTS) {
    const id = `${source.id}${variant.suffix}`;
    const dir = path.join(modelsDir, id);
    const calibration = readCalibration(dir);
    if (
      !calibration ||
      calibration.source.fingerprint !== source.fingerprint ||
      !inspectModelFolder(dir).ok
    ) {
      return undefined;
    }
    folders.push({ id, dir, fingerprint: '', calibration });
  }
  return folders;
}

/**
 * Quantizes the fp32 model in `sourceDir` (see the file header) and calibrates it.
 * @throws ReelError `MODEL_INVALID` when the source is not a complete fp32 model (or is itself a
 *   quantized copy), or has fewer than 10 calibration images.
 */
export async function quantizeModel(
  sourceDir: string,
  options: QuantizeModelOptions,
): Promise<QuantizeModelResult> {
  const log = options.log ?? (() => {});
  const format = options.format ?? 'matmul-integer';
  const threshold = options.threshold ?? DEFAULT_CALIBRATION_THRESHOLD;
  const texts = options.texts ?? CALIBRATION_TEXTS;
  if (options.images.length < 10) {
    throw problem(`calibration needs at least 10 images, got ${options.images.length}`);
  }
  if (readCalibration(sourceDir)) {
    throw problem(`${sourceDir} is itself a quantized copy (it has a calibration.json): quantize its source`);
  }
  const report = inspectModelFolder(sourceDir, 'fp32');
  if (!report.ok) {
    const quantizedOnly = inspectModelFolder(sourceDir, 'quantized').ok;
    throw new ReelError(
      existsSync(sourceDir) ? ModelErrorCode.MODEL_INVALID : ModelErrorCode.MODEL_NOT_FOUND,
      quantizedOnly
        ? `${sourceDir} holds only pre-quantized encoders (*_quantized.onnx): it can be used as it is, but quantizing needs the fp32 ones (reel models pull --variant fp32)`
        : report.problem,
    );
  }
  const files = report.files;
  const sourceId = path.basename(path.resolve(sourceDir));

  // fp32 reference: embeddings of every item, and the model's own preprocessing and tokenizing.
  const fp32 = await ClipModel.load(sourceDir, { pool: options.pool, variant: 'fp32' });
  const source = { id: sourceId, dir: sourceDir, fingerprint: fp32.fingerprint };
  let pixels: PixelBatch;
  let tokens: TokenBatch;
  let reference: Record<Encoder, Float32Array[]>;
  try {
    const existing = options.force ? undefined : existingResult(source, options.modelsDir);
    if (existing) {
      log(`${sourceId} is quantized already (use --force to redo it)`);
      return { source, written: false, folders: await withFingerprints(existing, options.pool) };
    }
    pixels = await fp32.preprocessor.preprocessBatch([...options.images]);
    tokens = fp32.tokenizer.encodeBatch(texts, { padToContextLength: fp32.padsToContextLength });
    reference = {
      image: await fp32.imageEncoder.encode(pixels),
      text: await fp32.textEncoder.encode(tokens),
    };
  } finally {
    await fp32.close();
  }

  const work = path.join(options.modelsDir, `.${sourceId}.quantizing.${process.pid}.tmp`);
  await rm(work, { recursive: true, force: true });
  try {
    const chosen: Record<Encoder, Tried> = {
      image: await choosePlan(
        'image',
        path.join(sourceDir, files.visionModel),
        path.join(work, files.visionModel),
      ),
      text: await choosePlan('text', path.join(sourceDir, files.textModel), path.join(work, files.textModel)),
    };
    const folders = await writeFolders(sourceDir, files, work, chosen, reference, {
      ...options,
      source,
      format,
      threshold,
      textCount: texts.length,
    });
    return { source, written: true, folders: await withFingerprints(folders, options.pool) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  async function choosePlan(encoder: Encoder, from: string, to: string): Promise<Tried> {
    const model = ModelProto.decode(await readFile(from));
    let best: Tried | undefined;
    for (const plan of PLANS) {
      const quantized = quantizeGraph(model, {
        format,
        keep: (layer, count) => plan.keep(layer.index, count),
      });
      const bytes = ModelProto.encode(quantized.model).finish();
      await mkdir(path.dirname(to), { recursive: true });
      await writeFile(to, bytes);
      const embeddings = await encodeWith(encoder, to);
      const tried = {
        plan,
        bytes,
        report: quantized.report,
        embeddings,
        cosines: cosines(reference[encoder], embeddings),
      };
      const stats = cosineStats(tried.cosines);
      log(
        `${encoder} encoder, ${plan.name} (${quantized.report.quantized.length} int8 layers): cosine mean ${stats.mean.toFixed(4)}, p1 ${stats.p1.toFixed(4)}, min ${stats.min.toFixed(4)}`,
      );
      if (!best || stats.p1 > cosineStats(best.cosines).p1) best = tried;
      if (stats.p1 >= threshold) return tried;
    }
    log(`${encoder} encoder: no plan reaches p1 ${threshold}; keeping the best (${best!.plan.name})`);
    await writeFile(to, best!.bytes);
    return best!;
  }

  async function encodeWith(encoder: Encoder, file: string): Promise<Float32Array[]> {
    if (encoder === 'image') {
      const image = await ClipImageEncoder.create(options.pool, file);
      try {
        return await image.encode(pixels);
      } finally {
        await image.close();
      }
    }
    const text = await ClipTextEncoder.create(options.pool, file);
    try {
      return await text.encode(tokens);
    } finally {
      await text.close();
    }
  }
}

function encoderCalibration(tried: Tried, threshold: number): EncoderCalibration {
  const stats = cosineStats(tried.cosines);
  return {
    ...stats,
    passed: stats.p1 >= threshold,
    quantizedLayers: tried.report.quantized.length,
    keptLayers: tried.report.kept.map((k) => ({ node: k.layer.node, reason: k.reason })),
  };
}

async function writeFolders(
  sourceDir: string,
  files: LayoutFiles,
  work: string,
  chosen: Record<Encoder, Tried>,
  reference: Record<Encoder, Float32Array[]>,
  context: QuantizeModelOptions & {
    source: QuantizeModelResult['source'];
    format: QuantizedFormat;
    threshold: number;
    textCount: number;
  },
): Promise<QuantizedFolder[]> {
  const encoderFile: Record<Encoder, string> = { image: files.visionModel, text: files.textModel };
  const others = files.all.filter((file) => file !== files.visionModel && file !== files.textModel);
  const folders: QuantizedFolder[] = [];
  for (const variant of QUANTIZED_VARIANTS) {
    const id = `${context.source.id}${variant.suffix}`;
    const dir = path.join(context.modelsDir, id);
    const tmp = path.join(context.modelsDir, `.${id}.${process.pid}.tmp`);
    await rm(tmp, { recursive: true, force: true });
    for (const file of others) await linkOrCopy(path.join(sourceDir, file), path.join(tmp, file));
    for (const encoder of ['image', 'text'] as const) {
      const file = encoderFile[encoder];
      const from = variant.precision[encoder] === 'int8' ? path.join(work, file) : path.join(sourceDir, file);
      await linkOrCopy(from, path.join(tmp, file));
    }
    const embeddings = (encoder: Encoder) =>
      variant.precision[encoder] === 'int8' ? chosen[encoder].embeddings : reference[encoder];
    const calibration: Calibration = {
      version: 1,
      source: { id: context.source.id, fingerprint: context.source.fingerprint },
      precision: { ...variant.precision },
      createdAt: new Date().toISOString(),
      format: context.format,
      threshold: context.threshold,
      items: { images: context.images.length, imageSource: context.imageSource, texts: context.textCount },
      image: encoderCalibration(chosen.image, context.threshold),
      text: encoderCalibration(chosen.text, context.threshold),
      retrieval: {
        k: 10,
        agreement: topKAgreement(
          { queries: reference.text, gallery: reference.image },
          { queries: embeddings('text'), gallery: embeddings('image') },
          10,
        ),
      },
    };
    await writeCalibration(tmp, calibration);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    folders.push({ id, dir, fingerprint: '', calibration });
  }
  return folders;
}

/** Loads each folder once (proving it works, as `reel models use` would) and fills in its fingerprint. */
async function withFingerprints(folders: QuantizedFolder[], pool: InferencePool): Promise<QuantizedFolder[]> {
  const out: QuantizedFolder[] = [];
  for (const folder of folders) {
    const model = await ClipModel.load(folder.dir, { pool });
    out.push({ ...folder, fingerprint: model.fingerprint });
    await model.close();
  }
  return out;
}
