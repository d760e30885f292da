/**
 * Adapter over one onnxruntime-node `InferenceSession`: reads input/output names, element types and dims
 * from the session's own metadata, checks feeds against them before running (so a wrong name, type or
 * shape is reported with the model file and the dims involved instead of onnxruntime's bare message), and
 * turns onnxruntime tensors into plain {@link TensorData} that can cross a worker boundary.
 *
 * The types and `describe*` helpers are pure and used by the main thread; onnxruntime-node is imported
 * lazily by {@link OnnxSession.load}, which runs inside the inference workers, so importing this file does
 * not load the native binding.
 */
import { stat } from 'node:fs/promises';
import { ReelError } from '@reel/infra';
import type * as ort from 'onnxruntime-node';
import { ModelErrorCode } from '../errors.ts';
import type { CpuSessionOptions } from './session-options.ts';

/** Numeric element types onnxruntime-node can feed and fetch (strings and 4-bit types are not supported). */
export type TensorType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool';

/** The typed arrays that carry tensor data (`float16` travels as raw `Uint16Array` bits, `bool` as `Uint8Array`). */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A dense row-major tensor: `data.length` equals the product of `dims`. */
export interface TensorData {
  type: TensorType;
  data: TypedArray;
  dims: number[];
}

/** Named tensors: feeds to a model or outputs from it. */
export type TensorMap = Record<string, TensorData>;

/**
 * One model input or output as the session's metadata declares it. `type` is the element type, or
 * `'non-tensor'` for sequences and maps; `dims` holds a number for a fixed dimension and a string (the
 * symbolic name, `'?'` when unnamed) for a free one, e.g. `['batch', 3, 224, 224]`.
 */
export interface TensorInfo {
  name: string;
  type: TensorType | 'string' | 'int4' | 'uint4' | 'non-tensor';
  dims: (number | string)[];
}

const ARRAY_FOR_TYPE: Record<TensorType, string[]> = {
  float32: ['Float32Array'],
  float64: ['Float64Array'],
  float16: ['Uint16Array', 'Float16Array'],
  int8: ['Int8Array'],
  uint8: ['Uint8Array'],
  int16: ['Int16Array'],
  uint16: ['Uint16Array'],
  int32: ['Int32Array'],
  uint32: ['Uint32Array'],
  int64: ['BigInt64Array'],
  uint64: ['BigUint64Array'],
  bool: ['Uint8Array'],
};

/** `float32 [batch,3,224,224]`: how tensors are named in messages. */
export function describeTensor(info: { type: string; dims: readonly (number | string)[] }): string {
  return `${info.type} [${info.dims.join(',')}]`;
}

/** `pixel_values float32 [2,3,224,224], ...`: the feeds or outputs of a call, for error messages. */
export function describeTensors(
  tensors: Record<string, { type: string; dims: readonly (number | string)[] }>,
) {
  const parts = Object.entries(tensors).map(([name, t]) => `${name} ${describeTensor(t)}`);
  return parts.length === 0 ? '(none)' : parts.join(', ');
}

/** `input_ids int64 [batch,sequence]; ...`: a model's declared inputs or outputs, for error messages. */
export function describeInfos(infos: readonly TensorInfo[]): string {
  return infos.length === 0 ? '(none)' : infos.map((i) => `${i.name} ${describeTensor(i)}`).join(', ');
}

let runtime: typeof ort | undefined;

async function loadRuntime(): Promise<typeof ort> {
  runtime ??= await import('onnxruntime-node');
  return runtime;
}

function toInfo(meta: ort.InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', dims: [] };
  const dims = meta.shape.map((d) =>
    typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : '?',
  );
  return { name: meta.name, type: meta.type as TensorInfo['type'], dims };
}

function oneLine(message: string): string {
  return message.replace(/\s+/g, ' ').trim();
}

function inferenceError(file: string, feeds: TensorMap, problem: string, cause?: unknown): ReelError {
  return new ReelError(
    ModelErrorCode.INFERENCE_FAILED,
    `model ${file}: ${problem} (inputs given: ${describeTensors(feeds)})`,
    {
      details: { file, inputs: Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.dims])) },
      cause,
    },
  );
}

/**
 * A loaded ONNX model with guarded runs. Create with {@link OnnxSession.load}; one instance per thread
 * (onnxruntime's `run()` blocks the thread that calls it, so this lives in inference workers).
 */
export class OnnxSession {
  /** Absolute or caller-given path of the `.onnx` file, used in every error message. */
  readonly file: string;
  /** Declared inputs, in the model's order. */
  readonly inputs: readonly TensorInfo[];
  /** Declared outputs, in the model's order. */
  readonly outputs: readonly TensorInfo[];
  readonly #session: ort.InferenceSession;
  readonly #ort: typeof ort;

  private constructor(file: string, session: ort.InferenceSession, runtime: typeof ort) {
    this.file = file;
    this.#session = session;
    this.#ort = runtime;
    this.inputs = session.inputMetadata.map(toInfo);
    this.outputs = session.outputMetadata.map(toInfo);
  }

  /**
   * Loads `file` with `options`. Throws `MODEL_NOT_FOUND` when the file is missing and `MODEL_INVALID`
   * when onnxruntime cannot parse or initialise it (not ONNX, unsupported operator, ...).
   */
  static async load(file: string, options: CpuSessionOptions): Promise<OnnxSession> {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new ReelError(
        ModelErrorCode.MODEL_NOT_FOUND,
        `model file ${file} does not exist or is not a file`,
      );
    }
    const runtime = await loadRuntime();
    let session: ort.InferenceSession;
    try {
      session = await runtime.InferenceSession.create(file, { ...options, executionProviders: ['cpu'] });
    } catch (error) {
      throw new ReelError(
        ModelErrorCode.MODEL_INVALID,
        `model file ${file} is not a loadable ONNX model: ${oneLine((error as Error).message)}`,
        { cause: error },
      );
    }
    return new OnnxSession(file, session, runtime);
  }

  /**
   * Checks `feeds` against the declared inputs (every input present, no unknown names, element type,
   * rank, fixed dims, data length), runs, and returns the requested outputs (all when `outputNames` is
   * omitted). Any problem, found here or by onnxruntime, is a `ReelError` `INFERENCE_FAILED` naming the
   * file and the dims given.
   */
  async run(feeds: TensorMap, outputNames?: readonly string[]): Promise<TensorMap> {
    this.#check(feeds, outputNames);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new this.#ort.Tensor(t.type, t.data as never, t.dims);
    }
    let result: ort.InferenceSession.ReturnType;
    try {
      result = outputNames
        ? await this.#session.run(ortFeeds, outputNames)
        : await this.#session.run(ortFeeds);
    } catch (error) {
      throw inferenceError(
        this.file,
        feeds,
        `onnxruntime failed: ${oneLine((error as Error).message)}`,
        error,
      );
    }
    const out: TensorMap = {};
    for (const [name, value] of Object.entries(result)) {
      const tensor = value as ort.Tensor;
      if (tensor.location !== 'cpu' || !(tensor.type in ARRAY_FOR_TYPE)) {
        throw inferenceError(this.file, feeds, `output '${name}' has unsupported type ${tensor.type}`);
      }
      out[name] = {
        type: tensor.type as TensorType,
        data: tensor.data as TypedArray,
        dims: [...tensor.dims],
      };
    }
    return out;
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.#session.release();
  }

  #check(feeds: TensorMap, outputNames: readonly string[] | undefined): void {
    const fail = (problem: string) => inferenceError(this.file, feeds, problem);
    const declared = new Map(this.inputs.map((i) => [i.name, i]));
    const missing = this.inputs.filter((i) => !(i.name in feeds)).map((i) => i.name);
    const unknown = Object.keys(feeds).filter((name) => !declared.has(name));
    if (missing.length > 0 || unknown.length > 0) {
      const parts = [
        missing.length > 0 ? `missing input(s) ${missing.join(', ')}` : '',
        unknown.length > 0 ? `unknown input(s) ${unknown.join(', ')}` : '',
      ].filter(Boolean);
      throw fail(`${parts.join('; ')}; the model takes ${describeInfos(this.inputs)}`);
    }
    for (const name of outputNames ?? []) {
      if (!this.outputs.some((o) => o.name === name)) {
        throw fail(`no output '${name}'; the model has ${describeInfos(this.outputs)}`);
      }
    }
    for (const [name, t] of Object.entries(feeds)) {
      const info = declared.get(name)!;
      const expected = `input '${name}' expects ${describeTensor(info)}, got ${describeTensor(t)}`;
      if (t.type !== info.type) throw fail(expected);
      const arrayName = t.data?.constructor?.name ?? typeof t.data;
      if (!ARRAY_FOR_TYPE[t.type]?.includes(arrayName)) {
        throw fail(
          `input '${name}' of type ${t.type} needs a ${ARRAY_FOR_TYPE[t.type]?.[0]}, got ${arrayName}`,
        );
      }
      if (t.dims.length !== info.dims.length) throw fail(expected);
      if (info.dims.some((d, i) => typeof d === 'number' && d !== t.dims[i])) throw fail(expected);
      if (t.dims.some((d) => !Number.isInteger(d) || d < 0)) throw fail(`input '${name}' has invalid dims`);
      const size = t.dims.reduce((a, b) => a * b, 1);
      if (t.data.length !== size) {
        throw fail(
          `input '${name}' has ${t.data.length} elements but dims [${t.dims.join(',')}] need ${size}`,
        );
      }
    }
  }
}
