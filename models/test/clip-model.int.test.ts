import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isReelError, type ReelError } from '@reel/infra';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipModel } from '../src/clip/clip-model.ts';
import { createInferencePool, type InferencePool } from '../src/inference/inference-pool.ts';
import { writeSyntheticClip } from '../src/synthetic/synthetic-clip.ts';
import { visionModel } from './helpers/tiny-onnx.ts';

let pool: InferencePool;
let synthetic: string;

function solid(rgb: [number, number, number], size = 224) {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { data, width: size, height: size };
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function copyOfSynthetic(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'reel-model-copy-'));
  cpSync(synthetic, dir, { recursive: true });
  rmSync(path.join(dir, '.reel-fingerprint.json'), { force: true });
  return dir;
}

async function loadError(dir: string): Promise<ReelError> {
  try {
    await ClipModel.load(dir, { pool });
  } catch (error) {
    if (isReelError(error)) return error;
    throw error;
  }
  throw new Error(`expected ${dir} to fail to load`);
}

beforeAll(async () => {
  pool = createInferencePool({ size: 1 });
  synthetic = mkdtempSync(path.join(tmpdir(), 'reel-synthetic-'));
  await writeSyntheticClip(synthetic);
});

afterAll(async () => {
  await pool.close();
});

describe('ClipModel.load (real onnxruntime-node, synthetic model)', () => {
  it('loads the synthetic model with its layout, size and a stable fingerprint', async () => {
    const model = await ClipModel.load(synthetic, { pool });
    expect(model).toMatchObject({ layout: 'hf', variant: 'fp32', dim: 128 });
    expect(model.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    const again = await ClipModel.load(copyOfSynthetic(), { pool });
    expect(again.fingerprint).toBe(model.fingerprint);
    await Promise.all([model.close(), again.close()]);
  });

  it('changes the fingerprint when a model file changes', async () => {
    const dir = copyOfSynthetic();
    const before = await ClipModel.load(dir, { pool });
    const config = path.join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ model_type: 'clip', projection_dim: 128, edited: true }));
    const after = await ClipModel.load(dir, { pool });
    expect(after.fingerprint).not.toBe(before.fingerprint);
    await Promise.all([before.close(), after.close()]);
  });

  it('encodes texts and images (raw frames and encoded files) into one aligned space', async () => {
    const model = await ClipModel.load(synthetic, { pool });
    const [red, blue] = await model.encodeTexts(['red', 'a blue video']);
    const png = await sharp(Buffer.from(solid([20, 40, 230], 100).data), {
      raw: { width: 100, height: 100, channels: 3 },
    })
      .resize(640, 360)
      .png()
      .toBuffer();
    const [redFrame, blueFrame, bluePng] = await model.encodeImages([
      solid([230, 20, 20]),
      solid([20, 40, 230]),
      png,
    ]);
    for (const v of [red, blue, redFrame, blueFrame, bluePng]) {
      expect(v).toHaveLength(128);
      expect(Math.sqrt(dot(v!, v!))).toBeCloseTo(1, 5);
    }
    expect(dot(red!, redFrame!)).toBeGreaterThan(dot(red!, blueFrame!) + 0.1);
    expect(dot(blue!, blueFrame!)).toBeGreaterThan(dot(blue!, redFrame!) + 0.1);
    expect(dot(blue!, bluePng!)).toBeGreaterThan(dot(blue!, redFrame!) + 0.1);
    await model.close();
  });
});

describe('a synthetic model with another projection seed (a stand-in for a model upgrade)', () => {
  it('understands the same words, in a different vector space, under another fingerprint', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'reel-synthetic-b-'));
    await writeSyntheticClip(other, { projectionSeed: 7 });
    const [a, b] = await Promise.all([ClipModel.load(synthetic, { pool }), ClipModel.load(other, { pool })]);
    expect(b.fingerprint).not.toBe(a.fingerprint);
    const [redTextB] = await b.encodeTexts(['red']);
    const [redFrameB, blueFrameB] = await b.encodeImages([solid([230, 20, 20]), solid([20, 40, 230])]);
    expect(dot(redTextB!, redFrameB!)).toBeGreaterThan(dot(redTextB!, blueFrameB!) + 0.1);
    const [redFrameA] = await a.encodeImages([solid([230, 20, 20])]);
    // Mixing models would be meaningless: B's text against A's frame loses the alignment.
    expect(Math.abs(dot(redTextB!, redFrameA!))).toBeLessThan(dot(redTextB!, redFrameB!) / 2);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('ClipModel.load refuses broken folders with every problem named', () => {
  it('says when the folder does not exist', async () => {
    const error = await loadError(path.join(tmpdir(), 'reel-no-such-model'));
    expect(error.code).toBe('MODEL_NOT_FOUND');
  });

  it('lists a missing file', async () => {
    const dir = copyOfSynthetic();
    rmSync(path.join(dir, 'tokenizer.json'));
    const error = await loadError(dir);
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toContain('missing or empty tokenizer.json');
  });

  it('reports text and image embeddings of different sizes', async () => {
    const dir = copyOfSynthetic();
    writeFileSync(path.join(dir, 'onnx', 'vision_model.onnx'), visionModel({ size: 32, dim: 64 }).bytes);
    writeFileSync(
      path.join(dir, 'preprocessor_config.json'),
      JSON.stringify({
        size: { shortest_edge: 32 },
        crop_size: 32,
        do_center_crop: true,
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
      }),
    );
    const error = await loadError(dir);
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toMatch(
      /text embeddings have 128 dimensions .* but image embeddings have 64 .*not a CLIP pair/,
    );
  });

  it('reports several problems at once: a text model in the vision slot and a broken preprocessing config', async () => {
    const dir = copyOfSynthetic();
    copyFileSync(path.join(dir, 'onnx', 'text_model.onnx'), path.join(dir, 'onnx', 'vision_model.onnx'));
    writeFileSync(path.join(dir, 'preprocessor_config.json'), '{ "size": "big" }');
    const error = await loadError(dir);
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.details?.problems).toHaveLength(2);
    expect(error.message).toContain('vision_model.onnx');
    expect(error.message).toContain('preprocessor_config.json');
  });

  it('reports a vision model whose input size does not match the preprocessing', async () => {
    const dir = copyOfSynthetic();
    writeFileSync(path.join(dir, 'onnx', 'vision_model.onnx'), visionModel({ size: 32, dim: 128 }).bytes);
    const error = await loadError(dir);
    expect(error.message).toContain('makes 224×224 images but');
    expect(error.message).toContain('takes 32×32');
  });
});
