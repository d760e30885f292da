/**
 * CLIP text and image encoders running in an {@link InferencePool}. `create()` loads the ONNX file in the
 * pool and checks, from the session's own metadata, that it looks like the encoder asked for; `encode()`
 * splits work into batches, runs them in the pool (several in flight when the pool has several workers)
 * and returns one L2-normalised embedding per text or image, in input order.
 *
 * Conventions accepted (names and element types are read from the session, nothing else is assumed):
 * - text: an `input_ids` input (immich/open_clip exports call it `text`), int64 or int32, [batch, sequence];
 *   an optional `attention_mask` of the same kind; output `text_embeds`, else the single 2-D float output
 *   (HF exports also output `last_hidden_state` [batch, sequence, hidden], which is never picked).
 * - image: a `pixel_values` input (immich: `image`), float32 [batch, 3, H, W]; output `image_embeds`, else
 *   the single 2-D float output.
 * Quantized exports work the same way: their inputs and outputs are still float32 / int64.
 */
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from '../errors.ts';
import type { InferencePool, ModelHandle } from '../inference/inference-pool.ts';
import {
  describeInfos,
  type TensorData,
  type TensorInfo,
  type TensorMap,
} from '../inference/onnx-session.ts';

/** Options of {@link ClipTextEncoder.create}. */
export interface ClipTextEncoderOptions {
  /** Texts per model call. Default 32. A model with a fixed batch dimension uses that instead. */
  maxBatch?: number;
  /** Output to read instead of the conventional choice. */
  output?: string;
}

/** Options of {@link ClipImageEncoder.create}. */
export interface ClipImageEncoderOptions {
  /** Images per model call. Default 8. A model with a fixed batch dimension uses that instead. */
  maxBatch?: number;
  /** Output to read instead of the conventional choice. */
  output?: string;
}

/** Tokenised texts, row-major [batchSize, length], already padded/truncated by the tokenizer. */
export interface TokenBatch {
  inputIds: BigInt64Array;
  /** 1 for real tokens, 0 for padding; ignored when the model takes no `attention_mask`. */
  attentionMask: BigInt64Array;
  batchSize: number;
  length: number;
}

/** Preprocessed images, float32 row-major [n, 3, H, W]. */
export interface PixelBatch {
  data: Float32Array;
  dims: readonly [number, number, number, number];
}

const TEXT_ID_NAMES = ['input_ids', 'text'];
const IMAGE_INPUT_NAMES = ['pixel_values', 'image'];
const INT_TYPES = ['int64', 'int32'];

function invalid(file: string, what: string, expected: string, handle: ModelHandle): ReelError {
  return new ReelError(
    ModelErrorCode.MODEL_INVALID,
    `${file} is not a CLIP ${what} encoder: expected ${expected}; the file has inputs ` +
      `${describeInfos(handle.inputs)} and outputs ${describeInfos(handle.outputs)}`,
    { details: { file, inputs: handle.inputs, outputs: handle.outputs } },
  );
}

function badInput(file: string, problem: string): ReelError {
  return new ReelError(ModelErrorCode.INFERENCE_FAILED, `model ${file}: ${problem}`);
}

function checkBatchOption(value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ReelError(
      ModelErrorCode.INFERENCE_OPTIONS_INVALID,
      `maxBatch must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

/** The embedding output: `preferred` by name, else the only 2-D float32 output. */
function pickOutput(
  handle: ModelHandle,
  preferred: string,
  forced: string | undefined,
): TensorInfo | undefined {
  const isEmbedding = (o: TensorInfo) => o.type === 'float32' && o.dims.length === 2;
  if (forced !== undefined) return handle.outputs.find((o) => o.name === forced && isEmbedding(o));
  const named = handle.outputs.find((o) => o.name === preferred);
  if (named) return isEmbedding(named) ? named : undefined;
  const candidates = handle.outputs.filter(isEmbedding);
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** Unit-length copies of the first `rows` rows of a [batch, dim] float32 output (zero rows stay zero). */
function normalisedRows(
  file: string,
  out: TensorData | undefined,
  name: string,
  rows: number,
): Float32Array[] {
  if (out?.type !== 'float32' || out.dims.length !== 2 || (out.dims[0] ?? 0) < rows) {
    throw badInput(
      file,
      `output '${name}' should be float32 [${rows},dim], got ${out ? `${out.type} [${out.dims}]` : 'nothing'}`,
    );
  }
  const dim = out.dims[1]!;
  const data = out.data as Float32Array;
  const vectors: Float32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const v = data.slice(r * dim, (r + 1) * dim);
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += v[i]! * v[i]!;
    const norm = Math.sqrt(sum);
    if (norm > 0) for (let i = 0; i < dim; i++) v[i] = v[i]! / norm;
    vectors.push(v);
  }
  return vectors;
}

/** Embedding size learned from a run, checked against what was known before. */
function learnDim(file: string, known: number | undefined, vectors: Float32Array[]): number | undefined {
  const got = vectors[0]?.length;
  if (got === undefined) return known;
  if (known !== undefined && known !== got) {
    throw badInput(file, `embedding size changed from ${known} to ${got}`);
  }
  return got;
}

/** Batch sizes to run: chunks of `step` (the last one shorter). */
function chunks(total: number, step: number): { start: number; rows: number }[] {
  const out: { start: number; rows: number }[] = [];
  for (let start = 0; start < total; start += step) out.push({ start, rows: Math.min(step, total - start) });
  return out;
}

/** A CLIP text encoder (HF `text_model.onnx`, immich `textual/model.onnx`) running in an inference pool. */
export class ClipTextEncoder {
  readonly pool: InferencePool;
  readonly handle: ModelHandle;
  /** The token-id input as declared, e.g. `input_ids int64 [batch, sequence]`. */
  readonly inputIds: TensorInfo;
  /** The attention-mask input, when the model takes one. */
  readonly attentionMask: TensorInfo | undefined;
  /** The embedding output, e.g. `text_embeds float32 [batch, 512]`. */
  readonly output: TensorInfo;
  /** Texts per model call. */
  readonly maxBatch: number;
  /** Token length the model requires when its sequence dimension is fixed (e.g. 77), else undefined. */
  readonly contextLength: number | undefined;
  readonly #fixedBatch: number | undefined;
  #dim: number | undefined;

  private constructor(
    pool: InferencePool,
    handle: ModelHandle,
    ids: TensorInfo,
    mask: TensorInfo | undefined,
    output: TensorInfo,
    maxBatch: number,
  ) {
    this.pool = pool;
    this.handle = handle;
    this.inputIds = ids;
    this.attentionMask = mask;
    this.output = output;
    this.#fixedBatch = typeof ids.dims[0] === 'number' ? ids.dims[0] : undefined;
    this.maxBatch = this.#fixedBatch ?? maxBatch;
    this.contextLength = typeof ids.dims[1] === 'number' ? ids.dims[1] : undefined;
    this.#dim = typeof output.dims[1] === 'number' ? output.dims[1] : undefined;
  }

  /**
   * Loads `file` in `pool` and checks it is a CLIP text encoder; `MODEL_INVALID` (listing the file's
   * inputs and outputs) when it isn't, `MODEL_NOT_FOUND` when it is missing.
   */
  static async create(
    pool: InferencePool,
    file: string,
    options: ClipTextEncoderOptions = {},
  ): Promise<ClipTextEncoder> {
    const maxBatch = checkBatchOption(options.maxBatch ?? 32);
    const handle = await pool.load(file);
    const fail = (expected: string) => {
      void pool.unload(handle);
      return invalid(handle.file, 'text', expected, handle);
    };
    const ids = handle.inputs.find((i) => TEXT_ID_NAMES.includes(i.name));
    if (!ids || !INT_TYPES.includes(ids.type) || ids.dims.length !== 2) {
      throw fail(`an int64 input 'input_ids' [batch, sequence]`);
    }
    const mask = handle.inputs.find((i) => i.name === 'attention_mask');
    if (mask && (!INT_TYPES.includes(mask.type) || mask.dims.length !== 2)) {
      throw fail(`'attention_mask' to be int64 [batch, sequence]`);
    }
    const extra = handle.inputs.filter((i) => i !== ids && i !== mask);
    if (extra.length > 0) {
      throw fail(
        `only inputs '${ids.name}' and 'attention_mask', not ${extra.map((i) => `'${i.name}'`).join(', ')}`,
      );
    }
    const output = pickOutput(handle, 'text_embeds', options.output);
    if (!output) {
      throw fail(
        `a float32 output '${options.output ?? 'text_embeds'}' [batch, dim] (or a single 2-D float32 output)`,
      );
    }
    return new ClipTextEncoder(pool, handle, ids, mask, output, maxBatch);
  }

  /** Absolute path of the model file. */
  get file(): string {
    return this.handle.file;
  }

  /** Embedding size, from the output's declared dims or, when those are symbolic, from the first run. */
  get dim(): number | undefined {
    return this.#dim;
  }

  /**
   * Embeds `batch.batchSize` tokenised texts; returns one unit-length Float32Array of {@link dim} floats
   * per text, in order. `INFERENCE_FAILED` when the arrays don't hold batchSize × length ids or the model
   * rejects the length.
   */
  async encode(batch: TokenBatch): Promise<Float32Array[]> {
    const { batchSize, length, inputIds, attentionMask } = batch;
    if (!Number.isInteger(batchSize) || !Number.isInteger(length) || batchSize < 0 || length < 1) {
      throw badInput(
        this.file,
        `batchSize and length must be integers ≥ 0 and ≥ 1, got ${batchSize} and ${length}`,
      );
    }
    if (
      inputIds.length !== batchSize * length ||
      (this.attentionMask && attentionMask.length !== batchSize * length)
    ) {
      throw badInput(
        this.file,
        `inputIds (${inputIds.length}) and attentionMask (${attentionMask.length}) must hold batchSize × length = ${batchSize * length} ids`,
      );
    }
    const parts = await Promise.all(
      chunks(batchSize, this.maxBatch).map(async ({ start, rows }) => {
        const feedRows = this.#fixedBatch ?? rows;
        const feeds: TensorMap = {
          [this.inputIds.name]: this.#tensor(this.inputIds, inputIds, start, rows, feedRows, length),
        };
        if (this.attentionMask) {
          feeds[this.attentionMask.name] = this.#tensor(
            this.attentionMask,
            attentionMask,
            start,
            rows,
            feedRows,
            length,
          );
        }
        const out = await this.pool.run(this.handle, feeds, { outputs: [this.output.name] });
        return normalisedRows(this.file, out[this.output.name], this.output.name, rows);
      }),
    );
    const vectors = parts.flat();
    this.#dim = learnDim(this.file, this.#dim, vectors);
    return vectors;
  }

  /** Unloads the model from the pool (the pool itself stays open). */
  async close(): Promise<void> {
    await this.pool.unload(this.handle);
  }

  /** Rows [start, start+rows) as the model's int type, zero-padded to `feedRows` rows for a fixed batch. */
  #tensor(
    info: TensorInfo,
    source: BigInt64Array,
    start: number,
    rows: number,
    feedRows: number,
    length: number,
  ): TensorData {
    const view = source.subarray(start * length, (start + rows) * length);
    const dims = [feedRows, length];
    if (info.type === 'int32') {
      const data = new Int32Array(feedRows * length);
      for (let i = 0; i < view.length; i++) data[i] = Number(view[i]);
      return { type: 'int32', data, dims };
    }
    if (feedRows === rows) return { type: 'int64', data: view, dims };
    const data = new BigInt64Array(feedRows * length);
    data.set(view);
    return { type: 'int64', data, dims };
  }
}

/** A CLIP image encoder (HF `vision_model.onnx`, immich `visual/model.onnx`) running in an inference pool. */
export class ClipImageEncoder {
  readonly pool: InferencePool;
  readonly handle: ModelHandle;
  /** The pixel input as declared, e.g. `pixel_values float32 [batch, 3, 224, 224]`. */
  readonly input: TensorInfo;
  /** The embedding output, e.g. `image_embeds float32 [batch, 512]`. */
  readonly output: TensorInfo;
  /** Images per model call. */
  readonly maxBatch: number;
  /** Input height and width in pixels when the model fixes them, else undefined. */
  readonly imageSize: { height: number; width: number } | undefined;
  readonly #fixedBatch: number | undefined;
  #dim: number | undefined;

  private constructor(
    pool: InferencePool,
    handle: ModelHandle,
    input: TensorInfo,
    output: TensorInfo,
    maxBatch: number,
  ) {
    this.pool = pool;
    this.handle = handle;
    this.input = input;
    this.output = output;
    this.#fixedBatch = typeof input.dims[0] === 'number' ? input.dims[0] : undefined;
    this.maxBatch = this.#fixedBatch ?? maxBatch;
    const [, , height, width] = input.dims;
    this.imageSize = typeof height === 'number' && typeof width === 'number' ? { height, width } : undefined;
    this.#dim = typeof output.dims[1] === 'number' ? output.dims[1] : undefined;
  }

  /**
   * Loads `file` in `pool` and checks it is a CLIP image encoder; `MODEL_INVALID` (listing the file's
   * inputs and outputs) when it isn't, `MODEL_NOT_FOUND` when it is missing.
   */
  static async create(
    pool: InferencePool,
    file: string,
    options: ClipImageEncoderOptions = {},
  ): Promise<ClipImageEncoder> {
    const maxBatch = checkBatchOption(options.maxBatch ?? 8);
    const handle = await pool.load(file);
    const fail = (expected: string) => {
      void pool.unload(handle);
      return invalid(handle.file, 'image', expected, handle);
    };
    const input = handle.inputs.find((i) => IMAGE_INPUT_NAMES.includes(i.name));
    const channels = input?.dims[1];
    if (
      input?.type !== 'float32' ||
      input.dims.length !== 4 ||
      (typeof channels === 'number' && channels !== 3)
    ) {
      throw fail(`a float32 input 'pixel_values' [batch, 3, height, width]`);
    }
    const extra = handle.inputs.filter((i) => i !== input);
    if (extra.length > 0) {
      throw fail(`only input '${input.name}', not ${extra.map((i) => `'${i.name}'`).join(', ')}`);
    }
    const output = pickOutput(handle, 'image_embeds', options.output);
    if (!output) {
      throw fail(
        `a float32 output '${options.output ?? 'image_embeds'}' [batch, dim] (or a single 2-D float32 output)`,
      );
    }
    return new ClipImageEncoder(pool, handle, input, output, maxBatch);
  }

  /** Absolute path of the model file. */
  get file(): string {
    return this.handle.file;
  }

  /** Embedding size, from the output's declared dims or, when those are symbolic, from the first run. */
  get dim(): number | undefined {
    return this.#dim;
  }

  /**
   * Embeds `pixels.dims[0]` images (float32 [n, 3, H, W]) in batches of {@link maxBatch}, all sent to the
   * pool at once; returns one unit-length Float32Array of {@link dim} floats per image, in input order.
   * `INFERENCE_FAILED` (model file and dims in the message) when the dims don't fit the model.
   * With `transfer` the caller gives `pixels.data` up: a batch that is the whole buffer goes to the
   * pool without a copy and leaves it detached (see {@link RunOptions.transfer}).
   */
  async encode(pixels: PixelBatch, options: { transfer?: boolean } = {}): Promise<Float32Array[]> {
    const dims = [...pixels.dims];
    const [n, c, h, w] = dims;
    const valid = dims.length === 4 && dims.every((d) => Number.isInteger(d) && d >= 0);
    if (!valid || n === undefined || c === undefined || h === undefined || w === undefined) {
      throw badInput(this.file, `pixels.dims must be 4 integers [n,3,height,width], got [${dims.join(',')}]`);
    }
    const perImage = c * h * w;
    if (pixels.data.length !== n * perImage) {
      throw badInput(
        this.file,
        `pixels.data holds ${pixels.data.length} floats but dims [${dims.join(',')}] need ${n * perImage}`,
      );
    }
    const parts = await Promise.all(
      chunks(n, this.maxBatch).map(async ({ start, rows }) => {
        const feedRows = this.#fixedBatch ?? rows;
        let data = pixels.data.subarray(start * perImage, (start + rows) * perImage);
        if (feedRows !== rows) {
          const padded = new Float32Array(feedRows * perImage);
          padded.set(data);
          data = padded;
        }
        const feeds: TensorMap = { [this.input.name]: { type: 'float32', data, dims: [feedRows, c, h, w] } };
        const out = await this.pool.run(this.handle, feeds, {
          outputs: [this.output.name],
          ...(options.transfer ? { transfer: true } : {}),
        });
        return normalisedRows(this.file, out[this.output.name], this.output.name, rows);
      }),
    );
    const vectors = parts.flat();
    this.#dim = learnDim(this.file, this.#dim, vectors);
    return vectors;
  }

  /** Unloads the model from the pool (the pool itself stays open). */
  async close(): Promise<void> {
    await this.pool.unload(this.handle);
  }
}
