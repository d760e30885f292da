/**
 * Proves onnxruntime-node's native binding loads and runs on this machine: builds a one-node ONNX model
 * (y = x + 1) in memory and runs it on the CPU.
 */
import { GraphBuilder } from './onnx/graph-builder.ts';

export type RuntimeCheck = { ok: true; version: string } | { ok: false; problem: string };

function addOneModel(): Uint8Array {
  const g = new GraphBuilder('add-one');
  const x = g.input('x', 'float32', [1]);
  g.output(g.op('Add', [x, g.floats([1], [1])], {}, 'y'), 'float32', [1]);
  return g.serialize();
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
