import { isReelError } from '@reel/infra';
import type { onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { float, GraphBuilder, ONNX_IR_VERSION, ONNX_OPSET } from '../src/onnx/graph-builder.ts';

const { ModelProto, TensorProto, AttributeProto } = onnxProto.onnx;

function smallGraph(): GraphBuilder {
  const g = new GraphBuilder('small');
  const x = g.input('x', 'float32', ['batch', 3]);
  const w = g.initializer('w', Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
  const y = g.op('MatMul', [x, w]);
  const scale = g.floats([1, 1], [2]);
  const bias = g.floats([0, 0], [2]);
  g.op('LayerNormalization', [y, scale, bias], { axis: -1, epsilon: float(1e-5) }, 'y');
  g.output('y', 'float32', ['batch', 2]);
  return g;
}

function expectGraphError(action: () => unknown, message: RegExp): void {
  try {
    action();
  } catch (error) {
    expect(isReelError(error, 'ONNX_GRAPH_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected ONNX_GRAPH_INVALID');
}

describe('GraphBuilder', () => {
  it('serialises a model that decodes back with IR 8, opset 17, typed I/O and raw initializers', () => {
    const model = ModelProto.decode(smallGraph().serialize({ docString: 'doc' }));
    expect(Number(model.irVersion)).toBe(ONNX_IR_VERSION);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', ONNX_OPSET]]);
    expect(model.producerName).toBe('reel');
    expect(model.docString).toBe('doc');

    const graph = model.graph as onnx.GraphProto;
    expect(graph.node.map((n) => n.opType)).toEqual(['MatMul', 'LayerNormalization']);
    const input = (graph.input[0] as onnx.ValueInfoProto).type!.tensorType!;
    expect(input.elemType).toBe(TensorProto.DataType.FLOAT);
    expect(input.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 3]);
    expect(graph.output.map((o) => o.name)).toEqual(['y']);

    const w = graph.initializer.find((t) => t.name === 'w') as onnx.TensorProto;
    expect(w.dims.map(Number)).toEqual([3, 2]);
    const raw = w.rawData;
    expect(
      Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))),
    ).toEqual([1, 2, 3, 4, 5, 6]);

    const attrs = (graph.node[1] as onnx.NodeProto).attribute;
    const axis = attrs.find((a) => a.name === 'axis')!;
    const epsilon = attrs.find((a) => a.name === 'epsilon')!;
    expect([axis.type, Number(axis.i)]).toEqual([AttributeProto.AttributeType.INT, -1]);
    expect(epsilon.type).toBe(AttributeProto.AttributeType.FLOAT);
    expect(epsilon.f).toBeCloseTo(1e-5, 10);
  });

  it('is deterministic and counts initializer elements as parameters', () => {
    const a = smallGraph();
    expect(Buffer.from(a.serialize()).equals(Buffer.from(smallGraph().serialize()))).toBe(true);
    expect(a.parameterCount).toBe(6 + 2 + 2);
  });

  it('shares small unnamed constants with equal values and dims', () => {
    const g = new GraphBuilder('shared');
    expect(g.int64s([0, -1])).toBe(g.int64s([0, -1]));
    expect(g.int64s([0, -1])).not.toBe(g.int64s([0, -1], [1, 2]));
    expect(g.floats([2], [])).toBe(g.floats([2], []));
    expect(g.floats([2], [])).not.toBe(g.floats([3], []));
    expect(g.parameterCount).toBe(2 + 2 + 1 + 1);
  });

  it('writes int64 initializers and symbolic and fixed dims', () => {
    const g = new GraphBuilder('ints');
    const ids = g.input('ids', 'int64', ['batch', 'sequence']);
    g.output(g.op('Reshape', [ids, g.int64s([0, -1], [2], 'shape')]), 'int64', ['batch', 'sequence']);
    const graph = ModelProto.decode(g.serialize()).graph as onnx.GraphProto;
    const shape = graph.initializer[0] as onnx.TensorProto;
    expect(shape.dataType).toBe(TensorProto.DataType.INT64);
    const raw = shape.rawData;
    expect(Array.from(new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 16)))).toEqual([
      0n,
      -1n,
    ]);
  });

  it('rejects undefined inputs, duplicate names, size mismatches, bad INT attributes and empty graphs', () => {
    const g = new GraphBuilder('bad');
    g.input('x', 'float32', [2]);
    expectGraphError(() => g.op('Relu', ['nope']), /Relu input nope is not defined/);
    expectGraphError(() => g.input('x', 'float32', [2]), /tensor x is defined twice/);
    expectGraphError(
      () => g.floats([1, 2, 3], [2, 2], 'w'),
      /expected 4 elements for dims \[2, 2\], found 3/,
    );
    expectGraphError(() => g.op('Softmax', ['x'], { axis: 0.5 }), /attribute axis: expected an integer/);
    expectGraphError(() => g.output('missing', 'float32', [2]), /output missing names no tensor/);
    expectGraphError(
      () => new GraphBuilder('empty').serialize(),
      /at least one input and one output, found 0 and 0/,
    );
  });
});
