/**
 * A small typed helper over `onnx-proto` for building ONNX graphs in code: graph inputs/outputs with
 * symbolic dims, initializers from typed arrays, nodes with typed attributes, and serialisation to the
 * bytes of a `.onnx` file (IR version 8, default-domain opset 17, which onnxruntime 1.30 runs on CPU).
 *
 * Nodes must be added in topological order: every input has to name a graph input, an initializer or
 * an earlier node's output, which is checked as the graph is built, so a serialised model is always a
 * valid, sorted graph. Serialisation is deterministic: the same calls give the same bytes.
 */
import { ReelError } from '@reel/infra';
import type { onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import { ModelErrorCode } from '../errors.ts';

// onnx-proto is CommonJS whose `onnx` namespace Node cannot see as a named ESM export.
const { AttributeProto, ModelProto, TensorProto } = onnxProto.onnx;

/** ONNX IR version written into every model (ONNX 1.10+, read by onnxruntime ≥ 1.10). */
export const ONNX_IR_VERSION = 8;
/** Opset of the default ONNX domain written into every model. */
export const ONNX_OPSET = 17;

/** Element types the builder can declare for graph inputs, outputs and initializers. */
export type TensorElementType = 'float32' | 'int64' | 'int32' | 'bool';

/** One dimension: a fixed size, or a symbolic name such as `"batch"` (a dynamic dimension). */
export type Dim = number | string;

const ELEMENT_TYPE: Record<TensorElementType, number> = {
  float32: TensorProto.DataType.FLOAT,
  int32: TensorProto.DataType.INT32,
  int64: TensorProto.DataType.INT64,
  bool: TensorProto.DataType.BOOL,
};

/** A FLOAT attribute (a bare number means INT, so floats are marked). */
export interface FloatAttr {
  float: number;
}
/** A FLOATS attribute. */
export interface FloatsAttr {
  floats: readonly number[];
}
/** A TENSOR attribute (e.g. `Constant`'s `value`), from {@link GraphBuilder.tensor}. */
export interface TensorAttr {
  tensor: onnx.ITensorProto;
}
/** Node attribute value: a bare number is INT, a number array INTS, a string STRING. */
export type AttrValue = number | readonly number[] | string | FloatAttr | FloatsAttr | TensorAttr;

/** Marks a number as a FLOAT attribute: `{ epsilon: float(1e-5) }`. */
export function float(value: number): FloatAttr {
  return { float: value };
}

/** Typed arrays accepted as initializer data, with the element type each one becomes. */
export type InitializerData = Float32Array | BigInt64Array | Int32Array;

/** What {@link GraphBuilder.toModel} writes into the model's metadata. */
export interface ModelMeta {
  /** Free text stored as the model's `doc_string`. */
  docString?: string;
  /** `producer_name`; defaults to `"reel"`. */
  producerName?: string;
  /** `model_version`; defaults to 1. */
  modelVersion?: number;
}

function graphError(message: string): ReelError {
  return new ReelError(ModelErrorCode.ONNX_GRAPH_INVALID, message);
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

function valueInfo(name: string, type: TensorElementType, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE[type],
        shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  };
}

// Array.isArray does not narrow readonly arrays out of a union.
function isNumberArray(value: AttrValue): value is readonly number[] {
  return Array.isArray(value);
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const { AttributeType } = AttributeProto;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) {
      throw graphError(`attribute ${name}: expected an integer for an INT attribute, found ${value}`);
    }
    return { name, type: AttributeType.INT, i: value };
  }
  if (typeof value === 'string') {
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  }
  if (isNumberArray(value)) return { name, type: AttributeType.INTS, ints: [...value] };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: [...value.floats] };
  return { name, type: AttributeType.TENSOR, t: value.tensor };
}

/** Builds one ONNX graph; see the file header for the contract. */
export class GraphBuilder {
  readonly name: string;
  readonly #nodes: onnx.INodeProto[] = [];
  readonly #initializers: onnx.ITensorProto[] = [];
  readonly #inputs: onnx.IValueInfoProto[] = [];
  readonly #outputs: onnx.IValueInfoProto[] = [];
  /** Every tensor name defined so far (inputs, initializers, node outputs). */
  readonly #defined = new Set<string>();
  /** Small unnamed constants by value, so repeated shapes/axes/scalars share one initializer. */
  readonly #constants = new Map<string, string>();
  #parameters = 0;
  #counter = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** Number of elements in all initializers: the model's parameter count (constants included). */
  get parameterCount(): number {
    return this.#parameters;
  }

  /** True if a tensor of this name exists in the graph already. */
  has(name: string): boolean {
    return this.#defined.has(name);
  }

  /** A fresh tensor name `<base>_<n>`, unique in this graph. */
  uniqueName(base: string): string {
    let name: string;
    do {
      this.#counter += 1;
      name = `${base}_${this.#counter}`;
    } while (this.#defined.has(name));
    return name;
  }

  #define(name: string): string {
    if (name === '') throw graphError(`graph ${this.name}: a tensor name cannot be empty`);
    if (this.#defined.has(name)) throw graphError(`graph ${this.name}: tensor ${name} is defined twice`);
    this.#defined.add(name);
    return name;
  }

  /** Declares a graph input; `dims` may mix sizes and symbolic names. Returns the tensor name. */
  input(name: string, type: TensorElementType, dims: readonly Dim[]): string {
    this.#inputs.push(valueInfo(this.#define(name), type, dims));
    return name;
  }

  /** Declares an already defined tensor as a graph output with this type and shape. */
  output(name: string, type: TensorElementType, dims: readonly Dim[]): void {
    if (!this.#defined.has(name)) {
      throw graphError(`graph ${this.name}: output ${name} names no tensor of the graph`);
    }
    this.#outputs.push(valueInfo(name, type, dims));
  }

  /**
   * A tensor proto (not added to the graph) from a typed array, stored as little-endian `raw_data`
   * without copying. Throws if `data.length` differs from the product of `dims` (`[]` is a scalar).
   */
  tensor(name: string, data: InitializerData, dims: readonly number[]): onnx.ITensorProto {
    if (data.length !== elementCount(dims)) {
      throw graphError(
        `tensor ${name}: expected ${elementCount(dims)} elements for dims [${dims.join(', ')}], found ${data.length}`,
      );
    }
    const dataType =
      data instanceof Float32Array
        ? ELEMENT_TYPE.float32
        : data instanceof BigInt64Array
          ? ELEMENT_TYPE.int64
          : ELEMENT_TYPE.int32;
    // Typed arrays use the platform's byte order; ONNX raw_data is little-endian, as is every
    // platform onnxruntime-node ships for.
    return {
      name,
      dims: [...dims],
      dataType,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  }

  /** Adds an initializer (a weight or constant) from a typed array. Returns the tensor name. */
  initializer(name: string, data: InitializerData, dims: readonly number[]): string {
    const tensor = this.tensor(name, data, dims);
    this.#define(name);
    this.#initializers.push(tensor);
    this.#parameters += data.length;
    return name;
  }

  /**
   * A float32 initializer from plain numbers. Unnamed constants of up to 64 elements are shared: asking
   * twice for the same values and dims returns the same tensor.
   */
  floats(values: ArrayLike<number>, dims: readonly number[], name?: string): string {
    const data = Float32Array.from(values);
    if (name !== undefined) return this.initializer(name, data, dims);
    return this.#sharedConstant('const_f', data, dims);
  }

  /** An int64 initializer from plain integers (shapes, axes, indices); dims default to `[n]`. Shared like {@link floats}. */
  int64s(values: readonly number[], dims: readonly number[] = [values.length], name?: string): string {
    const data = BigInt64Array.from(values, (value) => BigInt(value));
    if (name !== undefined) return this.initializer(name, data, dims);
    return this.#sharedConstant('const_i', data, dims);
  }

  #sharedConstant(base: string, data: Float32Array | BigInt64Array, dims: readonly number[]): string {
    if (data.length > 64) return this.initializer(this.uniqueName(base), data, dims);
    const key = `${base}|${dims.join(',')}|${data.join(',')}`;
    const existing = this.#constants.get(key);
    if (existing !== undefined) return existing;
    const name = this.initializer(this.uniqueName(base), data, dims);
    this.#constants.set(key, name);
    return name;
  }

  /**
   * Adds a node. `inputs` name existing tensors (`''` for an omitted optional input). Outputs are
   * `outputs` names if given, else `count` fresh names (default 1). Returns the output names.
   */
  node(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    options: { outputs?: readonly string[]; count?: number; name?: string } = {},
  ): string[] {
    for (const input of inputs) {
      if (input !== '' && !this.#defined.has(input)) {
        throw graphError(`graph ${this.name}: ${opType} input ${input} is not defined before the node`);
      }
    }
    const base = opType.toLowerCase();
    const outputs =
      options.outputs !== undefined
        ? options.outputs.map((output) => this.#define(output))
        : Array.from({ length: options.count ?? 1 }, () => this.#define(this.uniqueName(base)));
    this.#nodes.push({
      name: options.name ?? `${base}_node_${this.#nodes.length}`,
      opType,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)),
    });
    return outputs;
  }

  /** Adds a single-output node and returns its output name (optionally `output`). */
  op(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    output?: string,
  ): string {
    const [name] = this.node(opType, inputs, attrs, output === undefined ? {} : { outputs: [output] });
    return name!;
  }

  /** The model proto: this graph, IR version {@link ONNX_IR_VERSION}, opset {@link ONNX_OPSET}. */
  toModel(meta: ModelMeta = {}): onnx.IModelProto {
    if (this.#inputs.length === 0 || this.#outputs.length === 0) {
      throw graphError(
        `graph ${this.name}: expected at least one input and one output, found ${this.#inputs.length} and ${this.#outputs.length}`,
      );
    }
    return {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: meta.producerName ?? 'reel',
      modelVersion: meta.modelVersion ?? 1,
      docString: meta.docString ?? '',
      graph: {
        name: this.name,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs,
        output: this.#outputs,
      },
    };
  }

  /** The bytes of the `.onnx` file (protobuf `ModelProto`). */
  serialize(meta: ModelMeta = {}): Uint8Array {
    return ModelProto.encode(this.toModel(meta)).finish();
  }

  /** {@link withExternalData} of this graph's model. */
  serializeWithExternalData(
    location: string,
    options: ModelMeta & { minBytes?: number } = {},
  ): { model: Uint8Array; data: Uint8Array } {
    return withExternalData(this.toModel(options), location, options.minBytes);
  }
}

/**
 * `model` with every initializer of at least `minBytes` (default 1 KiB) stored outside it, as exporters
 * write models over 2 GB: the `.onnx` bytes, whose tensors name `location` (relative to the model file)
 * with their offset and length, and the bytes of that external file (each tensor 4 KiB-aligned, as
 * `onnx.save(..., save_as_external_data=True)` lays them out). `model` may be bytes of an `.onnx` file.
 */
export function withExternalData(
  model: onnx.IModelProto | Uint8Array,
  location: string,
  minBytes = 1024,
): { model: Uint8Array; data: Uint8Array } {
  const proto = model instanceof Uint8Array ? ModelProto.decode(model) : model;
  const parts: Uint8Array[] = [];
  let offset = 0;
  const initializer = (proto.graph?.initializer ?? []).map((tensor) => {
    const raw = tensor.rawData;
    if (!raw || raw.length < minBytes) return tensor;
    const padding = (4096 - (offset % 4096)) % 4096;
    if (padding > 0) parts.push(new Uint8Array(padding));
    offset += padding;
    parts.push(raw);
    const entry: onnx.ITensorProto = {
      ...tensor,
      rawData: undefined,
      dataLocation: TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ],
    };
    offset += raw.length;
    return entry;
  });
  const data = new Uint8Array(offset);
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.length;
  }
  const encoded = ModelProto.encode({ ...proto, graph: { ...proto.graph, initializer } }).finish();
  return { model: encoded, data };
}
