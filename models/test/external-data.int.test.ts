/**
 * ONNX external data, as exporters write models over 2 GB: the real onnxruntime-node loads what the
 * builder writes, `externalDataFiles` lists the files a model names without reading its weights, and a
 * hostile location (absolute, or climbing out of the folder) is refused.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { ClipModel } from '../src/clip/clip-model.ts';
import { createInferencePool } from '../src/inference/inference-pool.ts';
import { externalDataFiles } from '../src/onnx/external-data.ts';
import { GraphBuilder, withExternalData } from '../src/onnx/graph-builder.ts';
import { writeSyntheticMultilingual } from '../src/synthetic/synthetic-multilingual.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'reel-external-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** y = x · W + b with a 64×64 W (16 KiB, external) and a 64-float b (256 B, kept inside). */
function graph(): GraphBuilder {
  const g = new GraphBuilder('external_test');
  const x = g.input('x', 'float32', ['batch', 64]);
  const w = g.floats(
    Float32Array.from({ length: 64 * 64 }, (_, i) => ((i * 7) % 13) / 13 - 0.5),
    [64, 64],
    'weight',
  );
  const b = g.floats(
    Float32Array.from({ length: 64 }, (_, i) => i / 64),
    [64],
    'bias',
  );
  g.op('Add', [g.op('MatMul', [x, w]), b], {}, 'y');
  g.output('y', 'float32', ['batch', 64]);
  return g;
}

async function run(file: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
      [1, 64],
    );
    return (await session.run({ x })).y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('external data', () => {
  it('writes models onnxruntime loads with their weights beside them, giving the same outputs', async () => {
    const inline = path.join(dir, 'inline.onnx');
    writeFileSync(inline, graph().serialize());
    const folder = path.join(dir, 'visual');
    mkdirSync(folder, { recursive: true });
    const { model, data } = graph().serializeWithExternalData('model.onnx_data');
    writeFileSync(path.join(folder, 'model.onnx'), model);
    writeFileSync(path.join(folder, 'model.onnx_data'), data);
    expect(model.length).toBeLessThan(2048);
    expect(data.length).toBeGreaterThanOrEqual(64 * 64 * 4);
    expect(Array.from(await run(path.join(folder, 'model.onnx')))).toEqual(Array.from(await run(inline)));

    expect(await externalDataFiles(inline)).toEqual([]);
    expect(await externalDataFiles(path.join(folder, 'model.onnx'))).toEqual(['model.onnx_data']);
    // Relative to the model folder's root, as pull and the fingerprint name files.
    expect(await externalDataFiles(path.join(folder, 'model.onnx'), dir)).toEqual(['visual/model.onnx_data']);
  });

  it('refuses locations that are absolute or leave the folder, and says which', async () => {
    for (const location of ['../../etc/passwd', '/etc/passwd', 'a/../../outside.bin', 'sub\\..\\..\\x']) {
      const file = path.join(dir, 'hostile.onnx');
      writeFileSync(file, graph().serializeWithExternalData(location).model);
      const error = await externalDataFiles(file).catch((e: unknown) => e);
      expect(isReelError(error, 'MODEL_INVALID'), location).toBe(true);
      expect((error as Error).message).toContain(JSON.stringify(location));
    }
    // A location that stays inside after normalising is fine.
    const file = path.join(dir, 'inside.onnx');
    writeFileSync(file, graph().serializeWithExternalData('./weights/../data.bin').model);
    expect(await externalDataFiles(file)).toEqual(['data.bin']);
  });

  it('reports a truncated or non-ONNX file as MODEL_INVALID naming it', async () => {
    const { model } = graph().serializeWithExternalData('model.onnx_data');
    const truncated = path.join(dir, 'truncated.onnx');
    writeFileSync(truncated, model.subarray(0, model.length - 40));
    const error = await externalDataFiles(truncated).catch((e: unknown) => e);
    expect(isReelError(error, 'MODEL_INVALID')).toBe(true);
    expect((error as Error).message).toContain(truncated);
  });
});

describe('a model folder whose vision weights are external (the shape of immich ViT-H-14 and larger)', () => {
  const pool = createInferencePool({ size: 1 });
  afterAll(() => pool.close());

  async function folder(location = 'model.onnx_data'): Promise<string> {
    const root = mkdtempSync(path.join(dir, 'immich-'));
    await writeSyntheticMultilingual(root);
    const visual = path.join(root, 'visual', 'model.onnx');
    const { model, data } = withExternalData(readFileSync(visual), location);
    writeFileSync(visual, model);
    writeFileSync(path.join(root, 'visual', 'model.onnx_data'), data);
    return root;
  }

  it('loads, embeds as the inline model does, and fingerprints the data file too', async () => {
    const inline = mkdtempSync(path.join(dir, 'inline-'));
    await writeSyntheticMultilingual(inline);
    const external = await folder();
    const a = await ClipModel.load(inline, { pool });
    const b = await ClipModel.load(external, { pool });
    const frame = { data: new Uint8Array(224 * 224 * 3).fill(200), width: 224, height: 224 };
    const [ea] = await a.encodeImages([frame]);
    const [eb] = await b.encodeImages([frame]);
    expect(Array.from(eb!)).toEqual(Array.from(ea!));
    const before = b.fingerprint;
    await a.close();
    await b.close();

    // Same graph, other weights in the data file: another fingerprint.
    const copy = mkdtempSync(path.join(dir, 'changed-'));
    cpSync(external, copy, { recursive: true });
    rmSync(path.join(copy, '.reel-fingerprint.json'), { force: true });
    const dataFile = path.join(copy, 'visual', 'model.onnx_data');
    const bytes = readFileSync(dataFile);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1]! + 1) % 256;
    writeFileSync(dataFile, bytes);
    const c = await ClipModel.load(copy, { pool });
    expect(c.fingerprint).not.toBe(before);
    await c.close();
  });

  it('names a missing data file instead of failing inside onnxruntime', async () => {
    const root = await folder();
    rmSync(path.join(root, 'visual', 'model.onnx_data'));
    const error = await ClipModel.load(root, { pool }).catch((e: unknown) => e);
    expect(isReelError(error, 'MODEL_INVALID')).toBe(true);
    expect((error as Error).message).toContain('visual/model.onnx_data');
  });

  it('refuses a data location outside the folder before onnxruntime reads it', async () => {
    // The attack: a model whose weights "live" in a file elsewhere on the machine (here one the test
    // plants above the encoder's folder). onnxruntime 1.30 refuses it deep in its loader too; reel
    // refuses before any session opens, names the location, and pull never fetches it.
    const root = await folder('../secret.bin');
    writeFileSync(path.join(root, 'secret.bin'), readFileSync(path.join(root, 'visual', 'model.onnx_data')));
    const error = await ClipModel.load(root, { pool }).catch((e: unknown) => e);
    expect(isReelError(error, 'MODEL_INVALID')).toBe(true);
    expect((error as Error).message).toContain('points outside');
  });
});
