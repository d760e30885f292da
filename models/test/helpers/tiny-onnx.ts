/**
 * Tiny ONNX models for integration tests, built directly with onnx-proto (opset 17), plus the JS
 * reference each one computes so tests can compare onnxruntime's answers with known values.
 *
 * - {@link visionModel}: pixel_values [batch,3,S,S] → Flatten → MatMul W [3·S·S, D] → image_embeds [batch,D]
 *   (optionally dynamically quantized, uint8 weights and MatMulInteger, like a `*_quantized.onnx` export).
 * - {@link textModel}: embedding bag. input_ids [batch,seq] → Gather E [V,H] → last_hidden_state
 *   [batch,seq,H]; × attention_mask, ReduceSum over seq → MatMul P [H,D] → text_embeds [batch,D].
 * - {@link flattenModel}: image_embeds = flatten(pixel_values), with free image and embedding sizes.
 * - {@link slowModel}: x [rows,width] → `depth` MatMuls by one shared W [width,width] → y: a deliberately
 *   slow model whose run time grows with `rows`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS: Node's ESM loader only gives its default export.
const { ModelProto, TensorProto, AttributeProto } = onnxProto.onnx;

const DT = TensorProto.DataType;
const ATTR = AttributeProto.AttributeType;

/** Deterministic uniform floats in [-scale, scale) (mulberry32). */
export function randomFloats(count: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (u * 2 - 1) * scale;
  }
  return out;
}

type ElemType = 'float32' | 'int64' | 'int32' | 'uint8';
const ELEM: Record<ElemType, number> = {
  float32: DT.FLOAT,
  int64: DT.INT64,
  int32: DT.INT32,
  uint8: DT.UINT8,
};

function valueInfo(name: string, type: ElemType, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function floatInit(name: string, dims: number[], data: Float32Array): onnx.ITensorProto {
  return {
    name,
    dataType: DT.FLOAT,
    dims,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function int64Init(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dataType: DT.INT64, dims, int64Data: values };
}

function node(
  opType: string,
  input: string[],
  output: string[],
  ints: Record<string, number> = {},
): onnx.INodeProto {
  const attribute = Object.entries(ints).map(([name, i]) => ({ name, type: ATTR.INT, i }));
  return { opType, input, output, attribute, name: `${opType}_${output[0]}` };
}

function encode(graph: onnx.IGraphProto): Uint8Array {
  const model = ModelProto.create({
    irVersion: 8,
    producerName: 'reel-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  });
  return ModelProto.encode(model).finish();
}

/** Writes `bytes` to `dir/name` and returns the path. */
export function writeModel(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

export interface VisionModelOptions {
  /** Image side S in pixels (input [batch,3,S,S]). */
  size: number;
  /** Embedding size D. */
  dim: number;
  seed?: number;
  /** Batch dimension: a symbolic name (default 'batch') or a fixed size. */
  batch?: number | string;
  inputName?: string;
  outputName?: string;
  /**
   * Dynamic quantization like a quantized export: W stored as uint8, activations quantized to uint8 at run
   * time. Exact (matches {@link visionReference} with the dequantized weights) only for inputs from
   * {@link quantizationGridPixels}.
   */
  quantized?: boolean;
}

export interface TinyVision {
  bytes: Uint8Array;
  /** Effective weights W [3·S·S, D] row-major (dequantized when `quantized`). */
  weights: Float32Array;
}

/** A linear "vision encoder": image_embeds = flatten(pixel_values) · W (not normalised). */
export function visionModel(options: VisionModelOptions): TinyVision {
  const {
    size,
    dim,
    seed = 1,
    batch = 'batch',
    inputName = 'pixel_values',
    outputName = 'image_embeds',
  } = options;
  const k = 3 * size * size;
  let weights = randomFloats(k * dim, seed);
  const nodes = [node('Flatten', [inputName], ['flat'], { axis: 1 })];
  const initializer: onnx.ITensorProto[] = [];
  if (options.quantized) {
    // Like onnxruntime's quantize_dynamic (HF `*_quantized.onnx`): uint8 weights, activations quantized
    // at run time by DynamicQuantizeLinear, MatMulInteger, then rescaled to float.
    const scale = 2 / 256;
    const zeroPoint = 128;
    const q = Uint8Array.from(weights, (w) => Math.max(0, Math.min(255, Math.round(w / scale) + zeroPoint)));
    weights = Float32Array.from(q, (v) => (v - zeroPoint) * scale);
    initializer.push(
      { name: 'w_q', dataType: DT.UINT8, dims: [k, dim], rawData: q },
      floatInit('w_scale', [], Float32Array.of(scale)),
      { name: 'w_zero', dataType: DT.UINT8, dims: [], rawData: Uint8Array.of(zeroPoint) },
    );
    nodes.push(
      node('DynamicQuantizeLinear', ['flat'], ['x_q', 'x_scale', 'x_zero']),
      node('MatMulInteger', ['x_q', 'w_q', 'x_zero', 'w_zero'], ['acc']),
      node('Cast', ['acc'], ['acc_f'], { to: DT.FLOAT }),
      node('Mul', ['x_scale', 'w_scale'], ['xw_scale']),
      node('Mul', ['acc_f', 'xw_scale'], [outputName]),
    );
  } else {
    initializer.push(floatInit('w', [k, dim], weights));
    nodes.push(node('MatMul', ['flat', 'w'], [outputName]));
  }
  const bytes = encode({
    name: 'tiny-vision',
    node: nodes,
    initializer,
    input: [valueInfo(inputName, 'float32', [batch, 3, size, size])],
    output: [valueInfo(outputName, 'float32', [batch, dim])],
  });
  return { bytes, weights };
}

/**
 * image_embeds = flatten(pixel_values [batch,3,height,width]) with free height and width: neither the
 * image size nor the embedding size (3·height·width) can be read from the session.
 */
export function flattenModel(): Uint8Array {
  return encode({
    name: 'tiny-flatten',
    node: [node('Flatten', ['pixel_values'], ['image_embeds'], { axis: 1 })],
    input: [valueInfo('pixel_values', 'float32', ['batch', 3, 'height', 'width'])],
    output: [valueInfo('image_embeds', 'float32', ['batch', 'dim'])],
  });
}

/**
 * `count` floats (k - 128) / 64 with integer k in 0..255, including both ends: DynamicQuantizeLinear maps
 * them to exactly k (scale 1/64, zero point 128), so a quantized {@link visionModel} computes them exactly.
 */
export function quantizationGridPixels(count: number, seed: number): Float32Array {
  const noise = randomFloats(count, seed);
  return Float32Array.from(noise, (u, i) => {
    const k = i === 0 ? 0 : i === 1 ? 255 : Math.min(255, Math.floor((u + 1) * 128));
    return (k - 128) / 64;
  });
}

/** JS reference of {@link visionModel}: n rows of flatten(pixels) · W, each [D]. */
export function visionReference(
  pixels: Float32Array,
  n: number,
  weights: Float32Array,
  dim: number,
): Float32Array[] {
  const k = pixels.length / n;
  const rows: Float32Array[] = [];
  for (let r = 0; r < n; r++) {
    const out = new Float64Array(dim);
    for (let i = 0; i < k; i++) {
      const x = pixels[r * k + i]!;
      for (let j = 0; j < dim; j++) out[j]! += x * weights[i * dim + j]!;
    }
    rows.push(Float32Array.from(out));
  }
  return rows;
}

export interface TextModelOptions {
  vocab: number;
  hidden: number;
  dim: number;
  seed?: number;
  /** Element type of input_ids and attention_mask. Default int64. */
  idsType?: 'int64' | 'int32';
  /** Take an attention_mask input. Default true. */
  withMask?: boolean;
  /** Name of the token-id input. Default input_ids. */
  idsName?: string;
  /** Name of the pooled output. Default text_embeds. */
  outputName?: string;
  /** Fixed sequence length instead of a symbolic one. */
  length?: number;
}

export interface TinyText {
  bytes: Uint8Array;
  /** Token embeddings E [vocab, hidden]. */
  embeddings: Float32Array;
  /** Projection P [hidden, dim]. */
  projection: Float32Array;
  hidden: number;
  dim: number;
}

/**
 * An embedding-bag "text encoder": text_embeds = (Σ_t mask[t] · E[ids[t]]) · P. It also outputs
 * last_hidden_state [batch, seq, hidden] first, like HF exports, to check the encoder skips it.
 */
export function textModel(options: TextModelOptions): TinyText {
  const { vocab, hidden, dim, seed = 2, idsType = 'int64', withMask = true } = options;
  const { idsName = 'input_ids', outputName = 'text_embeds', length } = options;
  const embeddings = randomFloats(vocab * hidden, seed);
  const projection = randomFloats(hidden * dim, seed + 1);
  const seq = length ?? 'sequence';
  const nodes = [node('Gather', ['emb', idsName], ['last_hidden_state'], { axis: 0 })];
  let pooledFrom = 'last_hidden_state';
  if (withMask) {
    nodes.push(
      node('Cast', ['attention_mask'], ['mask_f'], { to: DT.FLOAT }),
      node('Unsqueeze', ['mask_f', 'axis_last'], ['mask_3']),
      node('Mul', ['last_hidden_state', 'mask_3'], ['masked']),
    );
    pooledFrom = 'masked';
  }
  nodes.push(
    node('ReduceSum', [pooledFrom, 'axis_seq'], ['pooled'], { keepdims: 0 }),
    node('MatMul', ['pooled', 'proj'], [outputName]),
  );
  const inputs = [valueInfo(idsName, idsType, ['batch', seq])];
  if (withMask) inputs.push(valueInfo('attention_mask', idsType, ['batch', seq]));
  const bytes = encode({
    name: 'tiny-text',
    node: nodes,
    initializer: [
      floatInit('emb', [vocab, hidden], embeddings),
      floatInit('proj', [hidden, dim], projection),
      int64Init('axis_last', [1], [-1]),
      int64Init('axis_seq', [1], [1]),
    ],
    input: inputs,
    output: [
      valueInfo('last_hidden_state', 'float32', ['batch', seq, hidden]),
      valueInfo(outputName, 'float32', ['batch', dim]),
    ],
  });
  return { bytes, embeddings, projection, hidden, dim };
}

/** JS reference of {@link textModel}: one [dim] row per text (mask all ones when `mask` is undefined). */
export function textReference(
  model: TinyText,
  ids: BigInt64Array,
  mask: BigInt64Array | undefined,
  batch: number,
  length: number,
): Float32Array[] {
  const { hidden: h, dim } = model;
  const rows: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const pooled = new Float64Array(h);
    for (let t = 0; t < length; t++) {
      const m = mask ? Number(mask[b * length + t]) : 1;
      const id = Number(ids[b * length + t]);
      for (let i = 0; i < h; i++) pooled[i]! += m * model.embeddings[id * h + i]!;
    }
    const out = new Float64Array(dim);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < dim; j++) out[j]! += pooled[i]! * model.projection[i * dim + j]!;
    rows.push(Float32Array.from(out));
  }
  return rows;
}

/** x [rows, width] → y = x · W^depth, W [width,width] shared by every MatMul (values stay bounded). */
export function slowModel(options: { width: number; depth: number; seed?: number }): Uint8Array {
  const { width, depth, seed = 3 } = options;
  const w = randomFloats(width * width, seed, Math.sqrt(3 / width));
  const nodes: onnx.INodeProto[] = [];
  for (let i = 0; i < depth; i++) {
    nodes.push(node('MatMul', [i === 0 ? 'x' : `h${i}`, 'w'], [i === depth - 1 ? 'y' : `h${i + 1}`]));
  }
  return encode({
    name: 'slow',
    node: nodes,
    initializer: [floatInit('w', [width, width], w)],
    input: [valueInfo('x', 'float32', ['rows', width])],
    output: [valueInfo('y', 'float32', ['rows', width])],
  });
}
