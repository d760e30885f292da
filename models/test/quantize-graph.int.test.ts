import type { onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { float, GraphBuilder } from '../src/onnx/graph-builder.ts';
import {
  listQuantizableLayers,
  QUANTIZED_FORMATS,
  quantizeGraph,
  quantizeWeights,
} from '../src/quantize/quantize-graph.ts';
import { randomFloats } from './helpers/tiny-onnx.ts';

const { ModelProto } = onnxProto.onnx;

/**
 * x [batch,4,64] → MatMul W1 [64,96] + b1 → Relu → Reshape [rows,96] → Gemm(B [48,96], transB, alpha
 * 0.5, beta 2, C [48]) → MatMul by Transpose(W3 [32,48]) → y [rows,32]; and z = MatMul(x, Constant
 * P [64,3]) → MatMul by a [3,8] weight (inner dimension 3: too small to quantize) → z [batch,4,8].
 */
function mlp(): onnx.IModelProto {
  const g = new GraphBuilder('mlp');
  const x = g.input('x', 'float32', ['batch', 4, 64]);
  const w1 = g.initializer('w1', randomFloats(64 * 96, 1, 0.2), [64, 96]);
  const b1 = g.initializer('b1', randomFloats(96, 2, 0.1), [96]);
  const h1 = g.op('Relu', [g.op('Add', [g.op('MatMul', [x, w1], {}, 'h1_product'), b1])]);
  const rows = g.op('Reshape', [h1, g.int64s([-1, 96])]);
  const b2 = g.initializer('b2', randomFloats(48 * 96, 3, 0.2), [48, 96]);
  const c2 = g.initializer('c2', randomFloats(48, 4, 0.1), [48]);
  const h2 = g.op('Gemm', [rows, b2, c2], { transB: 1, alpha: float(0.5), beta: float(2) });
  const w3 = g.initializer('w3', randomFloats(32 * 48, 5, 0.2), [32, 48]);
  g.op('MatMul', [h2, g.op('Transpose', [w3], { perm: [1, 0] })], {}, 'y');
  g.output('y', 'float32', ['rows', 32]);
  const p = g.op('Constant', [], {
    value: { tensor: g.tensor('p_value', randomFloats(64 * 3, 6, 0.3), [64, 3]) },
  });
  const small = g.initializer('small', randomFloats(3 * 8, 7, 0.5), [3, 8]);
  g.op('MatMul', [g.op('MatMul', [x, p]), small], {}, 'z');
  g.output('z', 'float32', ['batch', 4, 8]);
  return g.toModel();
}

async function run(model: onnx.IModelProto, x: Float32Array, batch: number) {
  const session = await ort.InferenceSession.create(ModelProto.encode(model).finish(), {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, [batch, 4, 64]) });
    return { y: out.y!.data as Float32Array, z: out.z!.data as Float32Array };
  } finally {
    await session.release();
  }
}

/** Largest |a − b| relative to the largest |a|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

function opTypes(model: onnx.IModelProto): string[] {
  return (model.graph?.node ?? []).map((n) => n.opType ?? '');
}

describe('quantizeGraph (real onnxruntime-node)', () => {
  it('lists the constant-weight layers after folding transposes, in node order', () => {
    const layers = listQuantizableLayers(mlp());
    expect(layers.map((l) => [l.opType, l.inputs, l.outputs, l.index])).toEqual([
      ['MatMul', 64, 96, 0],
      ['Gemm', 96, 48, 1],
      ['MatMul', 48, 32, 2],
      ['MatMul', 64, 3, 3],
      ['MatMul', 3, 8, 4],
    ]);
  });

  for (const format of QUANTIZED_FORMATS) {
    it(`${format}: quantizes MatMul, Gemm (transB, alpha, beta, bias), a folded Transpose and a Constant; outputs stay close to fp32`, async () => {
      const source = mlp();
      const { model, report } = quantizeGraph(source, { format });
      expect(report.foldedTransposes).toBe(1);
      expect(report.quantized.map((l) => l.index)).toEqual([0, 1, 2, 3]);
      expect(report.kept).toEqual([
        { layer: expect.objectContaining({ index: 4, inputs: 3 }), reason: 'inner dimension 3 < 16' },
      ]);
      // int8 weights plus one float scale per output channel: about a quarter of the fp32 bytes.
      expect(report.weightBytes.before).toBe(4 * (64 * 96 + 96 * 48 + 48 * 32 + 64 * 3));
      expect(report.weightBytes.after / report.weightBytes.before).toBeLessThan(0.3);

      const ops = opTypes(model);
      expect(ops.filter((op) => op === 'MatMul')).toHaveLength(1); // only the K=3 layer
      expect(ops).not.toContain('Gemm');
      expect(ops).not.toContain('Transpose');
      expect(ops).not.toContain('Constant');
      if (format === 'matmul-integer') {
        expect(ops.filter((op) => op === 'MatMulInteger')).toHaveLength(4);
        expect(ops.filter((op) => op === 'DynamicQuantizeLinear')).toHaveLength(4);
      } else {
        expect(ops.filter((op) => op === 'DynamicQuantizeMatMul')).toHaveLength(4);
        expect(model.opsetImport).toContainEqual({ domain: 'com.microsoft', version: 1 });
      }
      const names = new Set(model.graph?.initializer?.map((t) => t.name));
      for (const gone of ['w1', 'b2', 'w3']) expect(names.has(gone)).toBe(false);
      expect(names.has('small')).toBe(true);
      expect(names.has('b1')).toBe(true); // the Add after the MatMul still reads it
      // The input model is left as it was.
      expect(opTypes(source)).toContain('Gemm');

      const batch = 3;
      const x = randomFloats(batch * 4 * 64, 99, 1);
      const [fp32, int8] = await Promise.all([run(source, x, batch), run(model, x, batch)]);
      expect(int8.y).toHaveLength(batch * 4 * 32);
      expect(relativeError(fp32.y, int8.y)).toBeLessThan(0.03);
      expect(relativeError(fp32.z, int8.z)).toBeLessThan(0.03);
      expect(relativeError(fp32.y, int8.y)).toBeGreaterThan(0); // it really is another computation
    });
  }

  it('keeps layers in fp32 on request and quantizes a weight shared by two layers once', async () => {
    const g = new GraphBuilder('shared');
    const x = g.input('x', 'float32', ['batch', 4, 64]);
    const w = g.initializer('w', randomFloats(64 * 64, 11, 0.2), [64, 64]);
    const y = g.op('MatMul', [g.op('MatMul', [x, w]), w]);
    const last = g.initializer('last', randomFloats(64 * 16, 12, 0.2), [64, 16]);
    g.op('MatMul', [y, last], {}, 'y');
    g.output('y', 'float32', ['batch', 4, 16]);
    g.op('Identity', [x], {}, 'z');
    g.output('z', 'float32', ['batch', 4, 64]);
    const source = g.toModel();

    const { model, report } = quantizeGraph(source, { keep: (layer, count) => layer.index === count - 1 });
    expect(report.quantized).toHaveLength(2);
    expect(report.kept).toEqual([
      { layer: expect.objectContaining({ weight: 'last' }), reason: 'kept in fp32 by request' },
    ]);
    const int8 = model.graph?.initializer?.filter(
      (t) => t.dataType === onnxProto.onnx.TensorProto.DataType.INT8,
    );
    expect(int8).toHaveLength(1);
    expect(model.graph?.initializer?.map((t) => t.name)).toContain('last');

    const x0 = randomFloats(2 * 4 * 64, 13, 1);
    const [fp32, q] = await Promise.all([run(source, x0, 2), run(model, x0, 2)]);
    expect(relativeError(fp32.y, q.y)).toBeLessThan(0.03);
    expect(q.z).toEqual(x0);
  });

  it('quantizes a patch-embedding Conv (kernel = stride) as a MatMul of patches; other Convs stay', async () => {
    const g = new GraphBuilder('patches');
    const pixels = g.input('pixels', 'float32', ['batch', 3, 'height', 'width']);
    const weight = g.initializer('patch.weight', randomFloats(16 * 3 * 8 * 8, 31, 0.1), [16, 3, 8, 8]);
    const bias = g.initializer('patch.bias', randomFloats(16, 32, 0.1), [16]);
    g.op('Conv', [pixels, weight, bias], { kernel_shape: [8, 8], strides: [8, 8] }, 'embeds');
    g.output('embeds', 'float32', ['batch', 16, 'h', 'w']);
    const padded = g.initializer('padded.weight', randomFloats(4 * 3 * 8 * 8, 33, 0.1), [4, 3, 8, 8]);
    g.op('Conv', [pixels, padded], { kernel_shape: [8, 8], strides: [8, 8], pads: [1, 1, 1, 1] }, 'other');
    g.output('other', 'float32', ['batch', 4, 'h2', 'w2']);
    const source = g.toModel();

    expect(listQuantizableLayers(source)).toEqual([
      expect.objectContaining({ opType: 'Conv', weight: 'patch.weight', inputs: 192, outputs: 16 }),
    ]);
    const { model, report } = quantizeGraph(source);
    expect(report.quantized).toHaveLength(1);
    expect(opTypes(model).filter((op) => op === 'Conv')).toHaveLength(1);
    expect(opTypes(model)).toContain('MatMulInteger');

    const run = async (m: onnx.IModelProto, batch: number, size: number) => {
      const session = await ort.InferenceSession.create(ModelProto.encode(m).finish(), {
        intraOpNumThreads: 1,
      });
      try {
        const x = randomFloats(batch * 3 * size * size, 34, 1.5);
        const out = await session.run({ pixels: new ort.Tensor('float32', x, [batch, 3, size, size]) });
        return { embeds: out.embeds!, other: out.other!.data as Float32Array };
      } finally {
        await session.release();
      }
    };
    // Two image sizes: the patch grid comes from the input's shape at run time.
    for (const [batch, size] of [
      [2, 32],
      [1, 48],
    ] as const) {
      const [fp32, int8] = await Promise.all([run(source, batch, size), run(model, batch, size)]);
      expect(int8.embeds.dims).toEqual([batch, 16, size / 8, size / 8]);
      expect(relativeError(fp32.embeds.data as Float32Array, int8.embeds.data as Float32Array)).toBeLessThan(
        0.03,
      );
      expect(int8.other).toEqual(fp32.other);
    }
  });

  it('refuses a model whose ONNX opset has no DynamicQuantizeLinear', () => {
    const model = mlp();
    model.opsetImport = [{ domain: '', version: 10 }];
    expect(() => quantizeGraph(model)).toThrow(/opset is 10; quantization needs opset 11/);
  });
});

describe('quantizeWeights', () => {
  it('quantizes each column symmetrically to 7 bits within half a step, all-zero columns to scale 1', () => {
    const inputs = 50;
    const outputs = 4;
    const weights = randomFloats(inputs * outputs, 21, 1);
    for (let k = 0; k < inputs; k++) weights[k * outputs + 3] = 0;
    weights[7 * outputs + 1] = 5; // one large value sets column 1's scale
    const { values, scales } = quantizeWeights(weights, inputs, outputs, 2);
    // 7 bits (WEIGHT_QMAX 63): full-range int8 weights overflow onnxruntime's int16 pair sums on CPUs
    // without VNNI, and this suite failed on an AVX2-only machine with them.
    expect(scales[1]).toBeCloseTo((5 / 63) * 2, 6);
    expect(scales[3]).toBe(2);
    expect(values[7 * outputs + 1]).toBe(63);
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(63);
    for (let k = 0; k < inputs; k++) {
      for (let n = 0; n < outputs; n++) {
        const step = scales[n]! / 2; // scales include the factor 2
        expect(Math.abs(values[k * outputs + n]! * step - weights[k * outputs + n]!)).toBeLessThanOrEqual(
          step / 2 + 1e-7,
        );
      }
    }
  });
});
