/**
 * Proves onnxruntime-node's native binding loads and runs on this machine: builds a one-node ONNX model
 * (y = x + 1) in memory and runs it on the CPU.
 */
import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS: Node's ESM loader only gives its default export.
const { onnx } = onnxProto;

export type RuntimeCheck = { ok: true; version: string } | { ok: false; problem: string };

function addOneModel(): Uint8Array {
  const tensorType = (name: string) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
    });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'add-one',
      node: [{ opType: 'Add', input: ['x', 'one'], output: ['y'] }],
      initializer: [{ name: 'one', dataType: onnx.TensorProto.DataType.FLOAT, dims: [1], floatData: [1] }],
      input: [tensorType('x')],
      output: [tensorType('y')],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

export async function checkOnnxRuntime(): Promise<RuntimeCheck> {
  try {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(addOneModel());
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.of(41), [1]) });
    await session.release();
    const value = y?.data[0];
    if (value !== 42)
      return { ok: false, problem: `onnxruntime-node ran but computed ${String(value)} for 41 + 1` };
    return { ok: true, version: ort.env.versions.node ?? ort.env.versions.common };
  } catch (error) {
    return {
      ok: false,
      problem: `onnxruntime-node does not load: ${(error as Error).message.split('\n')[0]}`,
    };
  }
}
