/**
 * Dynamic int8 quantization of an ONNX graph, in TypeScript: every MatMul (and Gemm) whose weight is a
 * constant 2-D float tensor becomes, as onnxruntime's own `quantize_dynamic` writes it,
 *
 *   DynamicQuantizeLinear(x) → (x_q uint8, x_scale, x_zero_point)
 *   MatMulInteger(x_q, W_q int8 [K,N], x_zero_point) → int32
 *   Cast(float) · (x_scale × w_scale[N]) (+ bias)
 *
 * with weights quantized symmetrically per output channel to 7 bits (column n: scale = max|W[:,n]| / 63,
 * zero point 0; see {@link WEIGHT_QMAX}). Activations are quantized per tensor, on the fly, at every run. onnxruntime's optimizer
 * ('extended' level and up) fuses that pattern into its `DynamicQuantizeMatMul` kernel, which uses
 * AVX-512 VNNI / AVX-VNNI where the CPU has them. The `dynamic-quantize-matmul` format writes the fused
 * com.microsoft op directly instead.
 *
 * Before that, `Transpose` nodes of constant initializers are folded (the weight is stored transposed),
 * so exports that keep `W` as [N,K] behind a Transpose are quantized too. A patch-embedding Conv
 * (kernel = stride, no padding: ViT's first layer) is a MatMul of the image's flattened patches, and is
 * quantized as one: Reshape/Transpose to patches, the int8 product, back to the Conv's layout (the patch
 * grid is read from the input's shape at run time). Nothing else changes: node
 * order (so topological order), names of every tensor the rest of the graph reads, inputs and outputs.
 * Pure: works on a decoded `ModelProto` and returns a new one; the input is not modified.
 */
import { ReelError } from '@reel/infra';
import type { onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import { ModelErrorCode } from '../errors.ts';

// onnx-proto is CommonJS whose `onnx` namespace Node cannot see as a named ESM export.
const { TensorProto, AttributeProto } = onnxProto.onnx;
const DT = TensorProto.DataType;

/** How the quantized layers are written. */
export const QUANTIZED_FORMATS = ['matmul-integer', 'dynamic-quantize-matmul'] as const;
export type QuantizedFormat = (typeof QUANTIZED_FORMATS)[number];

/**
 * A layer the pass can quantize: a MatMul/Gemm by a constant 2-D weight, or a patch-embedding Conv
 * (kernel = stride, no padding, dilation or groups), seen as a MatMul of the flattened patches.
 */
export interface QuantizableLayer {
  /** Node name (or `<opType>#<index>` when the node has none). */
  node: string;
  opType: 'MatMul' | 'Gemm' | 'Conv';
  /** Name of the weight initializer (after transpose folding, the folded tensor's name). */
  weight: string;
  /** Inner dimension K (weight rows). */
  inputs: number;
  /** Output channels N (weight columns). */
  outputs: number;
  /** Position among the graph's quantizable layers, 0-based, in node order. */
  index: number;
}

export interface QuantizeGraphOptions {
  /** Default `matmul-integer` (standard ONNX ops, fused by onnxruntime's optimizer). */
  format?: QuantizedFormat;
  /**
   * Layers to leave in fp32 (e.g. a final projection measured to lose too much). Called once per
   * quantizable layer; `true` keeps it.
   */
  keep?: (layer: QuantizableLayer, count: number) => boolean;
  /**
   * Layers whose inner dimension is below this stay fp32 (default 16): such products gain nothing
   * from int8 kernels and are where hand-built or tiny layers live.
   */
  minInputs?: number;
}

export interface QuantizeGraphReport {
  quantized: QuantizableLayer[];
  /** Quantizable layers left in fp32, with why. */
  kept: { layer: QuantizableLayer; reason: string }[];
  /** Transposes of constants folded into initializers. */
  foldedTransposes: number;
  /** Weight bytes before (fp32) and after (int8 + scales) for the quantized layers. */
  weightBytes: { before: number; after: number };
}

/** Smallest default-domain opset with DynamicQuantizeLinear (11) and MatMulInteger (10). */
const MIN_OPSET = 11;
const MS_DOMAIN = 'com.microsoft';

function invalid(message: string): ReelError {
  return new ReelError(ModelErrorCode.MODEL_INVALID, message);
}

function dimsOf(tensor: onnx.ITensorProto): number[] {
  return (tensor.dims ?? []).map((d) => Number(d));
}

/** The float32 values of a constant tensor, or undefined if it is not float32 or is stored externally. */
export function floatValues(tensor: onnx.ITensorProto): Float32Array | undefined {
  if (tensor.dataType !== DT.FLOAT) return undefined;
  if (tensor.dataLocation === TensorProto.DataLocation.EXTERNAL) {
    throw invalid(
      `tensor ${tensor.name} is stored as external data, which reel's quantizer does not read: export the model as a single .onnx file`,
    );
  }
  const count = dimsOf(tensor).reduce((a, b) => a * b, 1);
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    // Copy: raw_data views into the decoded file are not 4-byte aligned.
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(raw.subarray(0, count * 4));
    return out;
  }
  if (tensor.floatData && tensor.floatData.length === count) return Float32Array.from(tensor.floatData);
  return count === 0 ? new Float32Array(0) : undefined;
}

function rawTensor(
  name: string,
  dataType: number,
  dims: readonly number[],
  data: Float32Array | Int8Array | BigInt64Array,
): onnx.ITensorProto {
  return {
    name,
    dims: [...dims],
    dataType,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function attr(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

function intAttr(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a?.i === undefined || a.i === null ? fallback : Number(a.i);
}

function floatAttr(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a?.f === undefined || a.f === null ? fallback : a.f;
}

/** W [rows, cols] → Wᵀ [cols, rows]. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  }
  return out;
}

/**
 * Largest weight magnitude written: 7 bits, not 8 (onnxruntime's `reduce_range`). On x86 CPUs without
 * VNNI (AVX2 only), onnxruntime's u8×s8 kernels add pairs of products in int16 with saturation
 * (`vpmaddubsw`): with full-range weights the sums overflow and the outputs come out wrong (relative error
 * 0.2-0.27, embeddings at cosine 0.72 to fp32 on an AMD EPYC with AVX2 only, where a VNNI machine gave
 * ≥ 0.99). 255 × 63 × 2 fits in int16, so the same files are right on every CPU.
 */
export const WEIGHT_QMAX = 63;

/**
 * Symmetric per-column int8 quantization of W [K, N]: q = round(W / s), s[n] = max|W[:,n]| / WEIGHT_QMAX
 * (1 for an all-zero column), so the dequantized weight is q·s. `scale` multiplies every s (Gemm's alpha).
 */
export function quantizeWeights(
  weights: Float32Array,
  inputs: number,
  outputs: number,
  scale = 1,
): { values: Int8Array; scales: Float32Array } {
  const max = new Float32Array(outputs);
  for (let k = 0; k < inputs; k++) {
    const row = k * outputs;
    for (let n = 0; n < outputs; n++) {
      const v = Math.abs(weights[row + n]!);
      if (v > max[n]!) max[n] = v;
    }
  }
  const scales = new Float32Array(outputs);
  const inverse = new Float32Array(outputs);
  for (let n = 0; n < outputs; n++) {
    const s = max[n]! > 0 ? max[n]! / WEIGHT_QMAX : 1;
    scales[n] = s * scale;
    inverse[n] = 1 / s;
  }
  const values = new Int8Array(weights.length);
  for (let k = 0; k < inputs; k++) {
    const row = k * outputs;
    for (let n = 0; n < outputs; n++) {
      const q = Math.round(weights[row + n]! * inverse[n]!);
      values[row + n] = q > WEIGHT_QMAX ? WEIGHT_QMAX : q < -WEIGHT_QMAX ? -WEIGHT_QMAX : q;
    }
  }
  return { values, scales };
}

interface Candidate {
  nodeIndex: number;
  layer: QuantizableLayer;
  weights: Float32Array;
  /** Gemm: alpha folded into the weight scales. */
  alpha: number;
  /** Gemm: constant bias (already × beta), or a tensor name to add × beta; Conv: its bias. */
  bias?: { values: Float32Array } | { tensor: string; beta: number };
  /** Conv: input channels and kernel; the weights are then [channels·kh·kw, outputs]. */
  conv?: { channels: number; kernel: [number, number] };
}

/** Static dims of a graph input or value-info tensor, where known (a symbolic dim is undefined). */
function declaredDims(graph: onnx.IGraphProto, name: string): (number | undefined)[] | undefined {
  const info = [...(graph.input ?? []), ...(graph.valueInfo ?? [])].find((v) => v.name === name);
  return info?.type?.tensorType?.shape?.dim?.map((d) =>
    d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0
      ? Number(d.dimValue)
      : undefined,
  );
}

/**
 * A Conv that is a per-patch linear map (CLIP's patch embedding): constant 4-D weight, kernel = stride,
 * no padding, dilation 1, one group. Returns its patch matrix [C·kh·kw, O] and shape facts.
 */
function convCandidate(
  graph: onnx.IGraphProto,
  node: onnx.INodeProto,
  known: Map<string, onnx.ITensorProto>,
):
  | { weights: Float32Array; inputs: number; outputs: number; conv: NonNullable<Candidate['conv']> }
  | undefined {
  const [x, w] = node.input ?? [];
  const tensor = w ? known.get(w) : undefined;
  if (!x || !tensor || known.has(x) || dimsOf(tensor).length !== 4) return undefined;
  const [outputs, channels, kh, kw] = dimsOf(tensor) as [number, number, number, number];
  const ints = (name: string) => attr(node, name)?.ints?.map(Number);
  const kernel = ints('kernel_shape') ?? [kh, kw];
  const strides = ints('strides') ?? [1, 1];
  const autoPad = new TextDecoder().decode(attr(node, 'auto_pad')?.s ?? new Uint8Array());
  const plain =
    kernel[0] === kh &&
    kernel[1] === kw &&
    strides[0] === kh &&
    strides[1] === kw &&
    (ints('pads') ?? []).every((p) => p === 0) &&
    (ints('dilations') ?? []).every((d) => d === 1) &&
    intAttr(node, 'group', 1) === 1 &&
    ['', 'NOTSET', 'VALID'].includes(autoPad);
  if (!plain) return undefined;
  // Where the input's size is declared, it must be whole patches (Conv would drop a remainder).
  const dims = declaredDims(graph, x);
  if (dims && ((dims[2] ?? 0) % kh !== 0 || (dims[3] ?? 0) % kw !== 0)) return undefined;
  const data = floatValues(tensor);
  if (!data) return undefined;
  const inputs = channels * kh * kw;
  return {
    weights: transpose2d(data, outputs, inputs),
    inputs,
    outputs,
    conv: { channels, kernel: [kh, kw] },
  };
}

/** Constant tensors of a graph: initializers and `Constant` nodes' `value` tensors, by name. */
function constants(graph: onnx.IGraphProto): Map<string, onnx.ITensorProto> {
  const map = new Map<string, onnx.ITensorProto>();
  for (const tensor of graph.initializer ?? []) map.set(tensor.name ?? '', tensor);
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Constant' || (node.domain ?? '') !== '') continue;
    const value = attr(node, 'value');
    if (value?.t && node.output?.[0]) map.set(node.output[0], value.t);
  }
  return map;
}

/** Replaces each Transpose of a constant float 2-D tensor by an initializer under its output's name. */
function foldConstantTransposes(graph: onnx.IGraphProto): number {
  const known = constants(graph);
  const nodes: onnx.INodeProto[] = [];
  const added: onnx.ITensorProto[] = [];
  for (const node of graph.node ?? []) {
    const source =
      node.opType === 'Transpose' && (node.domain ?? '') === ''
        ? known.get(node.input?.[0] ?? '')
        : undefined;
    const dims = source ? dimsOf(source) : [];
    const perm = node.attribute?.find((a) => a.name === 'perm')?.ints?.map(Number) ?? [1, 0];
    const data =
      source && dims.length === 2 && perm[0] === 1 && perm[1] === 0 ? floatValues(source) : undefined;
    if (!data || !node.output?.[0]) {
      nodes.push(node);
      continue;
    }
    const folded = rawTensor(
      node.output[0],
      DT.FLOAT,
      [dims[1]!, dims[0]!],
      transpose2d(data, dims[0]!, dims[1]!),
    );
    added.push(folded);
    known.set(folded.name!, folded);
  }
  graph.node = nodes;
  graph.initializer = [...(graph.initializer ?? []), ...added];
  return added.length;
}

function findCandidates(graph: onnx.IGraphProto): Candidate[] {
  const known = constants(graph);
  const candidates: Candidate[] = [];
  (graph.node ?? []).forEach((node, nodeIndex) => {
    if ((node.domain ?? '') !== '') return;
    const name = node.name || `${node.opType}#${nodeIndex}`;
    if (node.opType === 'Conv') {
      const conv = convCandidate(graph, node, known);
      if (!conv) return;
      const bias = node.input?.[2];
      const constant = bias && known.get(bias) ? floatValues(known.get(bias)!) : undefined;
      candidates.push({
        nodeIndex,
        layer: {
          node: name,
          opType: 'Conv',
          weight: node.input![1]!,
          inputs: conv.inputs,
          outputs: conv.outputs,
          index: candidates.length,
        },
        weights: conv.weights,
        alpha: 1,
        conv: conv.conv,
        ...(bias ? { bias: constant ? { values: constant } : { tensor: bias, beta: 1 } } : {}),
      });
      return;
    }
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm') return;
    const [a, b, c] = node.input ?? [];
    if (!a || !b || known.has(a)) return;
    const tensor = known.get(b);
    if (!tensor || dimsOf(tensor).length !== 2) return;
    let weights = floatValues(tensor);
    if (!weights) return;
    let [inputs, outputs] = dimsOf(tensor) as [number, number];
    let alpha = 1;
    let bias: Candidate['bias'];
    if (node.opType === 'Gemm') {
      if (intAttr(node, 'transA', 0) !== 0) return;
      if (intAttr(node, 'transB', 0) !== 0) {
        weights = transpose2d(weights, inputs, outputs);
        [inputs, outputs] = [outputs, inputs];
      }
      alpha = floatAttr(node, 'alpha', 1);
      const beta = floatAttr(node, 'beta', 1);
      if (c) {
        const constant = known.get(c);
        const values = constant ? floatValues(constant) : undefined;
        if (values && (values.length === outputs || values.length === 1)) {
          const full = values.length === outputs ? values : new Float32Array(outputs).fill(values[0]!);
          bias = { values: full.map((v) => v * beta) };
        } else bias = { tensor: c, beta };
      }
    }
    candidates.push({
      nodeIndex,
      layer: { node: name, opType: node.opType, weight: b, inputs, outputs, index: candidates.length },
      weights,
      alpha,
      ...(bias ? { bias } : {}),
    });
  });
  return candidates;
}

/** The layers {@link quantizeGraph} would consider, in node order (after folding constant transposes). */
export function listQuantizableLayers(model: onnx.IModelProto): QuantizableLayer[] {
  const graph = structuredClone(model.graph ?? {}) as onnx.IGraphProto;
  foldConstantTransposes(graph);
  return findCandidates(graph).map((c) => c.layer);
}

/**
 * Returns a copy of `model` with its constant-weight MatMul/Gemm layers (and patch Convs) dynamically
 * quantized (see the file header), and what was done.
 * @throws ReelError `MODEL_INVALID` for a model without a graph, with a default-domain opset below 11,
 *   or whose weights are stored as external data.
 */
export function quantizeGraph(
  model: onnx.IModelProto,
  options: QuantizeGraphOptions = {},
): { model: onnx.IModelProto; report: QuantizeGraphReport } {
  if (!model.graph) throw invalid('the model has no graph');
  const opsets = (model.opsetImport ?? []).map((o) => ({
    domain: o.domain ?? '',
    version: Number(o.version),
  }));
  const onnxOpset = opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  if (onnxOpset < MIN_OPSET) {
    throw invalid(
      `the model's ONNX opset is ${onnxOpset}; quantization needs opset ${MIN_OPSET} or newer (DynamicQuantizeLinear)`,
    );
  }
  // Shallow copies of the graph's lists: nodes and tensors we do not touch are shared, not copied.
  const graph: onnx.IGraphProto = {
    ...model.graph,
    node: [...(model.graph.node ?? [])],
    initializer: [...(model.graph.initializer ?? [])],
  };
  const foldedTransposes = foldConstantTransposes(graph);
  const format = options.format ?? 'matmul-integer';
  const minInputs = options.minInputs ?? 16;
  const candidates = findCandidates(graph);
  const report: QuantizeGraphReport = {
    quantized: [],
    kept: [],
    foldedTransposes,
    weightBytes: { before: 0, after: 0 },
  };

  const used = new Set<string>([
    ...(graph.input ?? []).map((t) => t.name ?? ''),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...(graph.node ?? []).flatMap((n) => n.output ?? []),
  ]);
  let counter = 0;
  const fresh = (base: string): string => {
    let name: string;
    do {
      counter += 1;
      name = `${base}_q${counter}`;
    } while (used.has(name));
    used.add(name);
    return name;
  };

  const replacements = new Map<number, onnx.INodeProto[]>();
  const added: onnx.ITensorProto[] = [];
  /** Quantized weights by (source weight, alpha): a weight shared by several layers is stored once. */
  const shared = new Map<string, { values: string; scales: string }>();
  for (const candidate of candidates) {
    const { layer } = candidate;
    if (layer.inputs < minInputs) {
      report.kept.push({ layer, reason: `inner dimension ${layer.inputs} < ${minInputs}` });
      continue;
    }
    if (options.keep?.(layer, candidates.length)) {
      report.kept.push({ layer, reason: 'kept in fp32 by request' });
      continue;
    }
    const node = graph.node![candidate.nodeIndex]!;
    const base = (node.name || layer.weight).replace(/[^A-Za-z0-9_.]/g, '_');
    const key = `${layer.weight}|${candidate.alpha}|${layer.inputs}x${layer.outputs}`;
    let weights = shared.get(key);
    if (!weights) {
      const q = quantizeWeights(candidate.weights, layer.inputs, layer.outputs, candidate.alpha);
      weights = { values: fresh(`${layer.weight}_int8`), scales: fresh(`${layer.weight}_scale`) };
      added.push(rawTensor(weights.values, DT.INT8, [layer.inputs, layer.outputs], q.values));
      added.push(rawTensor(weights.scales, DT.FLOAT, [layer.outputs], q.scales));
      shared.set(key, weights);
      report.weightBytes.after += q.values.byteLength + q.scales.byteLength;
    }
    report.weightBytes.before += candidate.weights.byteLength;

    let x = node.input![0]!;
    const output = node.output![0]!;
    let biasName: string | undefined;
    const replaced: onnx.INodeProto[] = [];
    // A patch Conv: x [B,C,H,W] → patches [B, (H/kh)(W/kw), C·kh·kw], multiplied as a MatMul below,
    // then put back into the Conv's [B,O,H/kh,W/kw] by `finish`.
    let finish: (() => void) | undefined;
    const layerOutput = candidate.conv ? fresh(`${base}_patch_embeds`) : output;
    if (candidate.conv) {
      const { channels, kernel } = candidate.conv;
      const [kh, kw] = kernel;
      const int64s = (suffix: string, values: number[]) => {
        const tensorName = fresh(`${base}_${suffix}`);
        added.push(rawTensor(tensorName, DT.INT64, [values.length], BigInt64Array.from(values, BigInt)));
        return tensorName;
      };
      const add = (opType: string, input: string[], attribute: onnx.IAttributeProto[] = []): string => {
        const out = fresh(`${base}_${opType.toLowerCase()}_out`);
        replaced.push({
          name: fresh(`${base}_${opType.toLowerCase()}`),
          opType,
          input,
          output: [out],
          attribute,
        });
        return out;
      };
      const axis0 = [{ name: 'axis', type: AttributeProto.AttributeType.INT, i: 0 }];
      const perm = (values: number[]) => [
        { name: 'perm', type: AttributeProto.AttributeType.INTS, ints: values },
      ];
      const size = add('Slice', [add('Shape', [x]), int64s('from', [2]), int64s('to', [4])]); // [H, W]
      const grid = add('Div', [size, int64s('kernel', [kh, kw])]); // [H/kh, W/kw]
      const gridH = add('Slice', [grid, int64s('zero', [0]), int64s('one', [1])]);
      const gridW = add('Slice', [grid, int64s('one', [1]), int64s('two', [2])]);
      const split = add(
        'Concat',
        [int64s('lead', [0, channels]), gridH, int64s('kh', [kh]), gridW, int64s('kw', [kw])],
        axis0,
      );
      const blocks = add('Transpose', [add('Reshape', [x, split])], perm([0, 2, 4, 1, 3, 5]));
      x = add('Reshape', [blocks, int64s('patches_shape', [0, -1, channels * kh * kw])]);
      finish = () => {
        const channelsFirst = add('Transpose', [layerOutput], perm([0, 2, 1]));
        const shape = add('Concat', [int64s('out_lead', [0, layer.outputs]), grid], axis0);
        replaced.push({
          name: fresh(`${base}_reshape`),
          opType: 'Reshape',
          input: [channelsFirst, shape],
          output: [output],
        });
      };
    }
    if (candidate.bias && 'values' in candidate.bias) {
      biasName = fresh(`${base}_bias`);
      added.push(rawTensor(biasName, DT.FLOAT, [layer.outputs], candidate.bias.values));
    } else if (candidate.bias) {
      biasName = candidate.bias.tensor;
      if (candidate.bias.beta !== 1) {
        const beta = fresh(`${base}_beta`);
        added.push(rawTensor(beta, DT.FLOAT, [], Float32Array.of(candidate.bias.beta)));
        const scaled = fresh(`${base}_bias_scaled`);
        replaced.push({
          name: fresh(`${base}_bias_mul`),
          opType: 'Mul',
          input: [biasName, beta],
          output: [scaled],
        });
        biasName = scaled;
      }
    }
    const product = biasName ? fresh(`${base}_product`) : layerOutput;
    if (format === 'dynamic-quantize-matmul') {
      replaced.push({
        name: fresh(`${base}_dqmm`),
        opType: 'DynamicQuantizeMatMul',
        domain: MS_DOMAIN,
        input: [x, weights.values, weights.scales],
        output: [product],
      });
    } else {
      const [xq, xScale, xZero, integer, asFloat, scale] = [
        'x_uint8',
        'x_scale',
        'x_zero_point',
        'int32',
        'float',
        'scale',
      ].map((suffix) => fresh(`${base}_${suffix}`)) as [string, string, string, string, string, string];
      replaced.push(
        {
          name: fresh(`${base}_quantize`),
          opType: 'DynamicQuantizeLinear',
          input: [x],
          output: [xq, xScale, xZero],
        },
        {
          name: fresh(`${base}_matmul_integer`),
          opType: 'MatMulInteger',
          input: [xq, weights.values, xZero],
          output: [integer],
        },
        {
          name: fresh(`${base}_cast`),
          opType: 'Cast',
          input: [integer],
          output: [asFloat],
          attribute: [{ name: 'to', type: AttributeProto.AttributeType.INT, i: DT.FLOAT }],
        },
        { name: fresh(`${base}_scale`), opType: 'Mul', input: [xScale, weights.scales], output: [scale] },
        { name: fresh(`${base}_dequantize`), opType: 'Mul', input: [asFloat, scale], output: [product] },
      );
    }
    if (biasName) {
      replaced.push({
        name: fresh(`${base}_bias_add`),
        opType: 'Add',
        input: [product, biasName],
        output: [layerOutput],
      });
    }
    finish?.();
    replacements.set(candidate.nodeIndex, replaced);
    report.quantized.push(layer);
  }

  graph.node = (graph.node ?? []).flatMap((node, index) => replacements.get(index) ?? [node]);
  graph.initializer = [...(graph.initializer ?? []), ...added];
  // Drop float weights (and folded or Constant tensors) nothing reads any more.
  const read = new Set((graph.node ?? []).flatMap((n) => n.input ?? []));
  for (const output of graph.output ?? []) read.add(output.name ?? '');
  graph.initializer = graph.initializer.filter((t) => read.has(t.name ?? ''));
  graph.node = graph.node.filter(
    (n) => n.opType !== 'Constant' || (n.output ?? []).some((output) => read.has(output)),
  );

  const opsetImport = [...(model.opsetImport ?? [])];
  if (
    format === 'dynamic-quantize-matmul' &&
    report.quantized.length > 0 &&
    !opsets.some((o) => o.domain === MS_DOMAIN)
  ) {
    opsetImport.push({ domain: MS_DOMAIN, version: 1 });
  }
  return { model: { ...model, opsetImport, graph }, report };
}
