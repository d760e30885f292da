/**
 * The model of the workers benchmarks, made once into `<repo>/.reel/bench-models/` (gitignored) and
 * reused by later runs:
 *
 * - `vit-b32-hf/`: an HF-layout folder whose encoders are symlinks to the random-weight files with the
 *   compute of CLIP ViT-B/32 that encoders.bench builds (`vit-b32-vision.onnx`, `clip-text-encoder.onnx`),
 *   and whose tokenizer and configs are the synthetic model's (its token ids, BOS/EOS included, are all
 *   below the text encoder's 49,408-row table).
 * - `vit-b32-hf-int8/`, `-int8-image/`, `-int8-text/`: the int8 copies `quantizeModel` (what
 *   `reel models quantize` runs) writes of that folder, calibrated on 64 generated images. Remade only
 *   when missing, incomplete, or made from other files than the folder has now.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type Calibration,
  createInferencePool,
  generatedCalibrationImages,
  QUANTIZED_VARIANTS,
  quantizedModelId,
  quantizeModel,
  readCalibration,
  resolvePrecision,
  syntheticClipFiles,
  VIT_B32_EMBED_DIM,
  writeClipTextEncoder,
  writeVitB32Vision,
} from '@reel/models';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SHARED_MODELS = path.join(ROOT, '.reel', 'bench-models');
const MODEL_ID = 'vit-b32-hf';
const MODEL_DIR = path.join(SHARED_MODELS, MODEL_ID);
/** Calibration images for the int8 copies: as many as `reel models quantize` takes from indexed videos. */
const CALIBRATION_IMAGES = 64;

/** Builds (once) the HF-layout folder of the ViT-B/32-shaped random model; returns its path. */
export async function benchModel(): Promise<string> {
  const vision = path.join(SHARED_MODELS, 'vit-b32-vision.onnx');
  const text = path.join(SHARED_MODELS, 'clip-text-encoder.onnx');
  if (!existsSync(vision)) await writeVitB32Vision(vision);
  if (!existsSync(text)) await writeClipTextEncoder(text);
  mkdirSync(path.join(MODEL_DIR, 'onnx'), { recursive: true });
  // Symlinks, not copies: 600 MB once. The fingerprint hashes through them (stat and read follow links).
  for (const [link, target] of [
    ['onnx/vision_model.onnx', vision],
    ['onnx/text_model.onnx', text],
  ] as const) {
    const at = path.join(MODEL_DIR, link);
    if (!existsSync(at)) symlinkSync(path.relative(path.dirname(at), target), at);
  }
  const synthetic = syntheticClipFiles();
  const config = JSON.parse(new TextDecoder().decode(synthetic.get('config.json'))) as Record<
    string,
    unknown
  > & {
    text_config: Record<string, unknown>;
    vision_config: Record<string, unknown>;
  };
  // The synthetic config with the sizes of this model (nothing reads projection_dim today; keep it true).
  const { reel_synthetic: _synthetic, reel_vocabulary: _vocabulary, ...base } = config;
  const files = new Map<string, Uint8Array>([
    ['tokenizer.json', synthetic.get('tokenizer.json')!],
    ['tokenizer_config.json', synthetic.get('tokenizer_config.json')!],
    ['preprocessor_config.json', synthetic.get('preprocessor_config.json')!],
    [
      'config.json',
      new TextEncoder().encode(
        `${JSON.stringify(
          {
            ...base,
            projection_dim: VIT_B32_EMBED_DIM,
            text_config: { ...config.text_config, projection_dim: VIT_B32_EMBED_DIM },
            vision_config: { ...config.vision_config, projection_dim: VIT_B32_EMBED_DIM, patch_size: 32 },
            description:
              'random-weight encoders with the compute of CLIP ViT-B/32 and the synthetic tokenizer: benchmarks only, the embeddings mean nothing',
          },
          null,
          2,
        )}\n`,
      ),
    ],
  ]);
  for (const [name, content] of files) {
    const file = path.join(MODEL_DIR, name);
    const bytes = Buffer.from(content);
    // Rewritten only when different: a new mtime would make the fingerprint rehash the file.
    if (!existsSync(file) || !readFileSync(file).equals(bytes)) writeFileSync(file, bytes);
  }
  return MODEL_DIR;
}

export interface BenchInt8Copies {
  /** The copies' folders (`vit-b32-hf-int8`, `-int8-image`, `-int8-text`), all beside the fp32 folder. */
  dirs: string[];
  /** The `-int8-image` copy: int8 image encoder, fp32 text encoder. */
  imageDir: string;
  calibration: Calibration;
  /** Wall seconds spent quantizing and calibrating in this call (0 when the copies were there). */
  quantizeSeconds: number;
}

/**
 * Returns the int8 copies of {@link benchModel}'s folder, making them first when they are missing or
 * stale (the same test the worker applies before it uses a copy: {@link resolvePrecision}).
 */
export async function benchInt8Copies(modelDir: string): Promise<BenchInt8Copies> {
  const modelsDir = path.dirname(modelDir);
  const sourceId = path.basename(modelDir);
  const imageDir = path.join(modelsDir, quantizedModelId(sourceId, { image: 'int8', text: 'fp32' }));
  const dirs = QUANTIZED_VARIANTS.map((variant) => path.join(modelsDir, `${sourceId}${variant.suffix}`));
  const usable = () =>
    resolvePrecision(modelDir, modelsDir, { image: 'int8', text: 'fp32' }).dir === imageDir;
  let quantizeSeconds = 0;
  if (!usable()) {
    const pool = createInferencePool({ size: 1 });
    const started = performance.now();
    try {
      await quantizeModel(modelDir, {
        pool,
        modelsDir,
        images: generatedCalibrationImages(CALIBRATION_IMAGES),
        imageSource: `${CALIBRATION_IMAGES} generated images`,
        force: true,
      });
    } finally {
      await pool.close();
    }
    quantizeSeconds = (performance.now() - started) / 1000;
    if (!usable()) throw new Error(`quantizeModel wrote ${imageDir}, but it is not usable as the int8 copy`);
  }
  const calibration = readCalibration(imageDir);
  if (!calibration) throw new Error(`${imageDir} has no calibration.json`);
  return { dirs, imageDir, calibration, quantizeSeconds };
}
