/**
 * A CLIP model loaded from its folder (Hugging Face / Transformers.js or immich layout): tokenizer,
 * image preprocessor and both encoders, validated together, with the fingerprint that is stored beside
 * every embedding it makes. Loading reports everything wrong with a folder in one message.
 */
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from '../errors.ts';
import type { InferencePool } from '../inference/inference-pool.ts';
import { detectModelFamily, type ModelFamily, refineFamily } from '../model-family.ts';
import { modelFingerprint } from '../model-fingerprint.ts';
import {
  inspectModelFolder,
  type LayoutFiles,
  type ModelLayout,
  type ModelVariant,
  modelFiles,
} from '../model-layout.ts';
import { HfTokenizer } from '../tokenizers/hf-tokenizer.ts';
import { loadTextTokenizer, type TextTokenizer } from '../tokenizers/text-tokenizer.ts';
import { ClipImageEncoder, ClipTextEncoder } from './encoders.ts';
import { ImagePreprocessor, type PreprocessInput } from './preprocess.ts';
import { loadPreprocessConfig, type PreprocessConfig } from './preprocess-config.ts';
import { ClipTokenizer, DEFAULT_CONTEXT_LENGTH } from './tokenizer.ts';

export interface LoadClipModelOptions {
  /** Worker pool the encoders run in (shared by every model of the process). */
  pool: InferencePool;
  /** Which encoder weights of an HF folder; default: fp32 if present, else quantized. */
  variant?: ModelVariant;
  /** Images per encoder call (default 8). */
  maxImageBatch?: number;
  /** Texts per encoder call (default 32). */
  maxTextBatch?: number;
  /** Told about preprocessing fields the folder left out (filled with CLIP's defaults). */
  warn?: (message: string) => void;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class ClipModel {
  readonly dir: string;
  readonly layout: ModelLayout;
  readonly variant: ModelVariant;
  readonly files: LayoutFiles;
  /** `sha256:<hex>` over the files the layout uses: vectors of different fingerprints never mix. */
  readonly fingerprint: string;
  /** Embedding size shared by text and image embeddings. */
  readonly dim: number;
  /** The family the folder's config names: decides cleaning, context length and padding. */
  readonly family: ModelFamily;
  /** ONNX external-data files the encoders name (relative paths), part of the fingerprint. */
  readonly externalFiles: readonly string[];
  readonly tokenizer: TextTokenizer;
  readonly preprocessor: ImagePreprocessor;
  readonly textEncoder: ClipTextEncoder;
  readonly imageEncoder: ClipImageEncoder;

  private constructor(fields: {
    dir: string;
    layout: ModelLayout;
    variant: ModelVariant;
    files: LayoutFiles;
    fingerprint: string;
    dim: number;
    family: ModelFamily;
    externalFiles: readonly string[];
    tokenizer: TextTokenizer;
    preprocessor: ImagePreprocessor;
    textEncoder: ClipTextEncoder;
    imageEncoder: ClipImageEncoder;
  }) {
    this.dir = fields.dir;
    this.layout = fields.layout;
    this.variant = fields.variant;
    this.files = fields.files;
    this.fingerprint = fields.fingerprint;
    this.dim = fields.dim;
    this.family = fields.family;
    this.externalFiles = fields.externalFiles;
    this.tokenizer = fields.tokenizer;
    this.preprocessor = fields.preprocessor;
    this.textEncoder = fields.textEncoder;
    this.imageEncoder = fields.imageEncoder;
  }

  /**
   * Loads and validates the model in `dir`: files present, both encoders look like CLIP encoders, the
   * tokenizer and preprocessing configs parse, text and image embeddings have the same size, and the
   * preprocessor's output fits the image encoder. Runs one text and one image through the encoders.
   * @throws ReelError `MODEL_NOT_FOUND` (no folder) or `MODEL_INVALID` listing every problem found.
   */
  static async load(dir: string, options: LoadClipModelOptions): Promise<ClipModel> {
    const report = inspectModelFolder(dir, options.variant);
    if (!report.ok) {
      const code = report.problem.includes('does not exist')
        ? ModelErrorCode.MODEL_NOT_FOUND
        : ModelErrorCode.MODEL_INVALID;
      throw new ReelError(code, report.problem, { details: { dir } });
    }
    const { files, layout, variant } = report;
    // The family first: a folder reel cannot run is refused before its encoders are loaded.
    const detected = await detectModelFamily(dir, layout);
    // External weights are checked before onnxruntime opens anything: a location outside the folder
    // would have it read any file on the machine.
    const used = await modelFiles(dir, files);
    const at = (file: string) => path.join(dir, file);
    const [text, image, preprocess, fingerprint] = await Promise.allSettled([
      ClipTextEncoder.create(options.pool, at(files.textModel), { maxBatch: options.maxTextBatch ?? 32 }),
      ClipImageEncoder.create(options.pool, at(files.visionModel), { maxBatch: options.maxImageBatch ?? 8 }),
      loadPreprocessConfig(at(files.preprocess)),
      modelFingerprint(dir, used.all),
    ]);
    const problems: string[] = [];
    for (const result of [text, image, preprocess, fingerprint]) {
      if (result.status === 'rejected') problems.push(message(result.reason));
    }

    const textEncoder = text.status === 'fulfilled' ? text.value : undefined;
    const imageEncoder = image.status === 'fulfilled' ? image.value : undefined;
    const contextLength = textEncoder?.contextLength ?? detected.contextLength ?? DEFAULT_CONTEXT_LENGTH;
    let tokenizer: TextTokenizer | undefined;
    try {
      tokenizer = await loadTextTokenizer(at(files.tokenizer), {
        contextLength,
        cleaning: detected.cleaning,
      });
    } catch (error) {
      problems.push(message(error));
    }
    const family = tokenizer
      ? refineFamily(
          detected,
          tokenizer instanceof ClipTokenizer,
          tokenizer instanceof HfTokenizer ? tokenizer.kind : undefined,
        )
      : detected;

    let preprocessor: ImagePreprocessor | undefined;
    if (preprocess.status === 'fulfilled') {
      const config: PreprocessConfig = preprocess.value;
      if (config.defaulted.length > 0) {
        options.warn?.(
          `${at(files.preprocess)} does not set ${config.defaulted.join(', ')}: using CLIP's defaults`,
        );
      }
      preprocessor = new ImagePreprocessor(config);
      const size = imageEncoder?.imageSize;
      if (size && (size.height !== preprocessor.height || size.width !== preprocessor.width)) {
        problems.push(
          `${at(files.preprocess)} makes ${preprocessor.width}×${preprocessor.height} images but ${at(files.visionModel)} takes ${size.width}×${size.height}`,
        );
      }
    }

    let dim: number | undefined;
    if (problems.length === 0 && tokenizer && preprocessor && textEncoder && imageEncoder) {
      // One real run of each encoder: proves the graphs execute and gives the output sizes of models
      // whose embedding dimension is symbolic.
      try {
        const [textProbe] = await textEncoder.encode(
          tokenizer.encodeBatch(['a photo'], {
            padToContextLength: family.padToContextLength || textEncoder.contextLength !== undefined,
          }),
        );
        const pixels = new Float32Array(3 * preprocessor.height * preprocessor.width);
        const [imageProbe] = await imageEncoder.encode({
          data: pixels,
          dims: [1, 3, preprocessor.height, preprocessor.width],
        });
        if (textProbe?.length !== imageProbe?.length) {
          problems.push(
            `text embeddings have ${textProbe?.length} dimensions (${at(files.textModel)}) but image embeddings have ${imageProbe?.length} (${at(files.visionModel)}): not a CLIP pair`,
          );
        }
        dim = textProbe?.length;
      } catch (error) {
        problems.push(message(error));
      }
    }

    if (
      problems.length > 0 ||
      !tokenizer ||
      !preprocessor ||
      !textEncoder ||
      !imageEncoder ||
      dim === undefined
    ) {
      await Promise.allSettled([textEncoder?.close(), imageEncoder?.close()]);
      throw new ReelError(
        ModelErrorCode.MODEL_INVALID,
        `model folder ${dir} cannot be used:\n  ${problems.join('\n  ')}`,
        { details: { dir, problems } },
      );
    }
    return new ClipModel({
      dir,
      layout,
      variant,
      files,
      fingerprint: (fingerprint as PromiseFulfilledResult<string>).value,
      dim,
      family,
      externalFiles: used.external,
      tokenizer,
      preprocessor,
      textEncoder,
      imageEncoder,
    });
  }

  /** Whether text batches are padded to the context length (the family asks, or the graph fixes it). */
  get padsToContextLength(): boolean {
    return this.family.padToContextLength || this.textEncoder.contextLength !== undefined;
  }

  /**
   * How a text fits the model's context: the tokens it needs and the most the model reads (a text
   * needing more is cut at a token boundary, the closing special token kept).
   */
  textFit(text: string): { tokens: number; contextLength: number } {
    return { tokens: this.tokenizer.countTokens(text), contextLength: this.tokenizer.contextLength };
  }

  /** One L2-normalised embedding per text (`dim` floats each), in order. */
  async encodeTexts(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const batch = this.tokenizer.encodeBatch(texts, { padToContextLength: this.padsToContextLength });
    return this.textEncoder.encode(batch);
  }

  /** One L2-normalised embedding per image (encoded bytes, a file path, or a raw RGB frame), in order. */
  async encodeImages(inputs: readonly PreprocessInput[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    // One tensor per model batch, each handed to the pool without a copy (nothing else holds it).
    const batch = this.imageEncoder.maxBatch;
    const parts = await Promise.all(
      Array.from({ length: Math.ceil(inputs.length / batch) }, async (_, k) =>
        this.imageEncoder.encode(
          await this.preprocessor.preprocessBatch(inputs.slice(k * batch, (k + 1) * batch)),
          { transfer: true },
        ),
      ),
    );
    return parts.flat();
  }

  /** Unloads both encoders from the pool (the pool itself belongs to the caller). */
  async close(): Promise<void> {
    await Promise.allSettled([this.textEncoder.close(), this.imageEncoder.close()]);
  }
}
