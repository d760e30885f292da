/**
 * ClipTextEncoder / ClipImageEncoder on real onnxruntime-node workers, with tiny models built in a temp
 * dir: embeddings against a JS reference (1e-5), unit norm, batch splitting and order, model validation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ClipImageEncoder, ClipTextEncoder } from '../src/clip/encoders.ts';
import { createInferencePool, type InferencePool } from '../src/inference/inference-pool.ts';
import {
  flattenModel,
  quantizationGridPixels,
  randomFloats,
  type TinyText,
  textModel,
  textReference,
  visionModel,
  visionReference,
  writeModel,
} from './helpers/tiny-onnx.ts';

const SIZE = 4;
const DIM = 8;
const PER_IMAGE = 3 * SIZE * SIZE;

let dir: string;
let pool: InferencePool;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'reel-encoders-'));
  pool = createInferencePool({ size: 2 });
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

function normalised(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

function expectVectors(actual: Float32Array[], reference: Float32Array[]): void {
  expect(actual).toHaveLength(reference.length);
  actual.forEach((v, i) => {
    const expected = normalised(reference[i]!);
    expect(v).toBeInstanceOf(Float32Array);
    expect(v.length).toBe(expected.length);
    for (let j = 0; j < v.length; j++) expect(Math.abs(v[j]! - expected[j]!)).toBeLessThan(1e-5);
    expect(Math.abs(Math.hypot(...v) - 1)).toBeLessThan(1e-5);
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('ClipImageEncoder', () => {
  test('19 images with maxBatch 8 run as 3 batches over 2 workers and come back in order', async () => {
    const model = visionModel({ size: SIZE, dim: DIM, seed: 21 });
    const file = writeModel(dir, 'vision_model.onnx', model.bytes);
    const encoder = await ClipImageEncoder.create(pool, file, { maxBatch: 8 });
    expect(encoder.dim).toBe(DIM);
    expect(encoder.imageSize).toEqual({ height: SIZE, width: SIZE });
    expect(encoder.maxBatch).toBe(8);
    expect(encoder.output.name).toBe('image_embeds');

    const before = pool.stats().reduce((sum, s) => sum + s.runs, 0);
    const data = randomFloats(19 * PER_IMAGE, 99);
    const vectors = await encoder.encode({ data, dims: [19, 3, SIZE, SIZE] });
    const after = pool.stats();
    expect(after.reduce((sum, s) => sum + s.runs, 0) - before).toBe(3);
    expect(after.every((s) => s.runs > 0)).toBe(true);
    expectVectors(vectors, visionReference(data, 19, model.weights, DIM));
    expect(data.length).toBe(19 * PER_IMAGE);
    await expect(encoder.encode({ data: new Float32Array(0), dims: [0, 3, SIZE, SIZE] })).resolves.toEqual(
      [],
    );
    await encoder.close();
  });

  test('with transfer, a whole-buffer batch goes without a copy (the buffer is detached) and gives the same vectors', async () => {
    const model = visionModel({ size: SIZE, dim: DIM, seed: 24 });
    const encoder = await ClipImageEncoder.create(pool, writeModel(dir, 'transfer.onnx', model.bytes), {
      maxBatch: 8,
    });
    const data = randomFloats(5 * PER_IMAGE, 41);
    const expected = visionReference(data, 5, model.weights, DIM);
    const given = data.slice();
    expectVectors(
      await encoder.encode({ data: given, dims: [5, 3, SIZE, SIZE] }, { transfer: true }),
      expected,
    );
    expect(given.length).toBe(0);
    // Several batches are views of one buffer: each is copied, and the caller's data stays whole.
    const many = randomFloats(11 * PER_IMAGE, 42);
    const kept = many.slice();
    expectVectors(
      await encoder.encode({ data: many, dims: [11, 3, SIZE, SIZE] }, { transfer: true }),
      visionReference(kept, 11, model.weights, DIM),
    );
    expect(many).toEqual(kept);
    await encoder.close();
  });

  test('a dynamically quantized export (uint8 weights, MatMulInteger) works the same way', async () => {
    const model = visionModel({ size: SIZE, dim: DIM, seed: 22, quantized: true });
    const file = writeModel(dir, 'vision_model_quantized.onnx', model.bytes);
    const encoder = await ClipImageEncoder.create(pool, file);
    expect(encoder.input.type).toBe('float32');
    const data = quantizationGridPixels(3 * PER_IMAGE, 7);
    expectVectors(
      await encoder.encode({ data, dims: [3, 3, SIZE, SIZE] }),
      visionReference(data, 3, model.weights, DIM),
    );
    await encoder.close();
  });

  test('a fixed batch of 4 is padded, and a symbolic embedding size is learned on the first run', async () => {
    const model = visionModel({ size: SIZE, dim: DIM, seed: 23, batch: 4 });
    const file = writeModel(dir, 'fixed-batch.onnx', model.bytes);
    const encoder = await ClipImageEncoder.create(pool, file, { maxBatch: 8 });
    expect(encoder.maxBatch).toBe(4);
    const data = randomFloats(6 * PER_IMAGE, 8);
    expectVectors(
      await encoder.encode({ data, dims: [6, 3, SIZE, SIZE] }),
      visionReference(data, 6, model.weights, DIM),
    );
    await encoder.close();

    const learning = await ClipImageEncoder.create(pool, writeModel(dir, 'flatten.onnx', flattenModel()));
    expect(learning.output.dims[1]).toBeTypeOf('string');
    expect(learning.dim).toBeUndefined();
    expect(learning.imageSize).toBeUndefined();
    const two = randomFloats(2 * 3 * 2 * 5, 10);
    const vectors = await learning.encode({ data: two, dims: [2, 3, 2, 5] });
    expectVectors(vectors, [two.slice(0, 30), two.slice(30)]);
    expect(learning.dim).toBe(30);
    await learning.close();
  });

  test('immich naming (input image, output embedding) is accepted', async () => {
    const model = visionModel({
      size: SIZE,
      dim: DIM,
      seed: 24,
      inputName: 'image',
      outputName: 'embedding',
    });
    const file = writeModel(dir, 'visual-model.onnx', model.bytes);
    const encoder = await ClipImageEncoder.create(pool, file);
    expect([encoder.input.name, encoder.output.name]).toEqual(['image', 'embedding']);
    const data = randomFloats(2 * PER_IMAGE, 9);
    expectVectors(
      await encoder.encode({ data, dims: [2, 3, SIZE, SIZE] }),
      visionReference(data, 2, model.weights, DIM),
    );
    await encoder.close();
  });

  test('images of the wrong size are INFERENCE_FAILED with the file and the dims', async () => {
    const file = writeModel(dir, 'vision-dims.onnx', visionModel({ size: SIZE, dim: DIM }).bytes);
    const encoder = await ClipImageEncoder.create(pool, file);
    const error = await rejection(
      encoder.encode({ data: new Float32Array(2 * 3 * 5 * 5), dims: [2, 3, 5, 5] }),
    );
    expect(isReelError(error, 'INFERENCE_FAILED')).toBe(true);
    expect(error.message).toContain(file);
    expect(error.message).toContain('[2,3,5,5]');
    const short = await rejection(encoder.encode({ data: new Float32Array(10), dims: [1, 3, SIZE, SIZE] }));
    expect(isReelError(short, 'INFERENCE_FAILED')).toBe(true);
    await encoder.close();
  });

  test('wrong files are MODEL_INVALID saying what was expected and what the file has', async () => {
    const renamed = writeModel(
      dir,
      'renamed.onnx',
      visionModel({ size: SIZE, dim: DIM, inputName: 'image_tensor', outputName: 'features' }).bytes,
    );
    const error = await rejection(ClipImageEncoder.create(pool, renamed));
    expect(isReelError(error, 'MODEL_INVALID')).toBe(true);
    expect(error.message).toContain(renamed);
    expect(error.message).toContain(`expected a float32 input 'pixel_values' [batch, 3, height, width]`);
    expect(error.message).toContain(
      'inputs image_tensor float32 [batch,3,4,4] and outputs features float32 [batch,8]',
    );

    const text = writeModel(dir, 'text-as-image.onnx', textModel({ vocab: 10, hidden: 4, dim: 4 }).bytes);
    const textError = await rejection(ClipImageEncoder.create(pool, text));
    expect(isReelError(textError, 'MODEL_INVALID')).toBe(true);
    expect(textError.message).toContain('input_ids int64 [batch,sequence]');

    const junk = path.join(dir, 'junk.onnx');
    writeFileSync(junk, '<html>not a model</html>');
    const junkError = await rejection(ClipImageEncoder.create(pool, junk));
    expect(isReelError(junkError, 'MODEL_INVALID')).toBe(true);
    expect(junkError.message).toContain(junk);
  });
});

describe('ClipTextEncoder', () => {
  function tokens(batch: number, length: number, vocab: number, seed: number) {
    const ids = new BigInt64Array(batch * length);
    const mask = new BigInt64Array(batch * length);
    const noise = randomFloats(batch * length, seed);
    for (let b = 0; b < batch; b++) {
      const real = 2 + (b % (length - 1)); // varying text lengths, the rest padding
      for (let t = 0; t < length; t++) {
        ids[b * length + t] = t < real ? BigInt(Math.floor(((noise[b * length + t]! + 1) / 2) * vocab)) : 0n;
        mask[b * length + t] = t < real ? 1n : 0n;
      }
    }
    return { ids, mask };
  }

  let model: TinyText;
  let file: string;
  beforeAll(() => {
    model = textModel({ vocab: 30, hidden: 6, dim: 5, seed: 31 });
    file = writeModel(dir, 'text_model.onnx', model.bytes);
  });

  test('picks text_embeds over last_hidden_state and matches the masked embedding-bag reference', async () => {
    const encoder = await ClipTextEncoder.create(pool, file, { maxBatch: 2 });
    expect(encoder.inputIds).toEqual({ name: 'input_ids', type: 'int64', dims: ['batch', 'sequence'] });
    expect(encoder.attentionMask?.name).toBe('attention_mask');
    expect(encoder.output.name).toBe('text_embeds');
    expect(encoder.dim).toBe(5);
    expect(encoder.contextLength).toBeUndefined();
    const { ids, mask } = tokens(5, 7, 30, 41);
    const vectors = await encoder.encode({ inputIds: ids, attentionMask: mask, batchSize: 5, length: 7 });
    expectVectors(vectors, textReference(model, ids, mask, 5, 7));
    // Padding must not count: a text and the same text with more padding embed the same.
    const short = await encoder.encode({
      inputIds: ids.slice(0, 7),
      attentionMask: mask.slice(0, 7),
      batchSize: 1,
      length: 7,
    });
    expectVectors(short, textReference(model, ids.slice(0, 7), mask.slice(0, 7), 1, 7));
    await encoder.close();
  });

  test('immich naming: int32 `text` input, no mask, fixed length 7, single 2-D output', async () => {
    const immich = textModel({
      vocab: 30,
      hidden: 6,
      dim: 5,
      seed: 32,
      idsType: 'int32',
      idsName: 'text',
      withMask: false,
      outputName: 'embedding',
      length: 7,
    });
    const immichFile = writeModel(dir, 'textual-model.onnx', immich.bytes);
    const encoder = await ClipTextEncoder.create(pool, immichFile);
    expect(encoder.attentionMask).toBeUndefined();
    expect(encoder.output.name).toBe('embedding');
    expect(encoder.contextLength).toBe(7);
    const { ids, mask } = tokens(3, 7, 30, 42);
    const vectors = await encoder.encode({ inputIds: ids, attentionMask: mask, batchSize: 3, length: 7 });
    expectVectors(vectors, textReference(immich, ids, undefined, 3, 7));
    const wrongLength = await rejection(
      encoder.encode({
        inputIds: new BigInt64Array(5),
        attentionMask: new BigInt64Array(5),
        batchSize: 1,
        length: 5,
      }),
    );
    expect(isReelError(wrongLength, 'INFERENCE_FAILED')).toBe(true);
    expect(wrongLength.message).toContain('expects int32 [batch,7], got int32 [1,5]');
    await encoder.close();
  });

  test('an image model is MODEL_INVALID naming the expected input and the inputs it has', async () => {
    const vision = writeModel(dir, 'image-as-text.onnx', visionModel({ size: SIZE, dim: DIM }).bytes);
    const error = await rejection(ClipTextEncoder.create(pool, vision));
    expect(isReelError(error, 'MODEL_INVALID')).toBe(true);
    expect(error.message).toContain(
      `${vision} is not a CLIP text encoder: expected an int64 input 'input_ids'`,
    );
    expect(error.message).toContain('pixel_values float32 [batch,3,4,4]');
  });

  test('mismatched array lengths are INFERENCE_FAILED', async () => {
    const encoder = await ClipTextEncoder.create(pool, file);
    const error = await rejection(
      encoder.encode({
        inputIds: new BigInt64Array(6),
        attentionMask: new BigInt64Array(6),
        batchSize: 2,
        length: 4,
      }),
    );
    expect(isReelError(error, 'INFERENCE_FAILED')).toBe(true);
    expect(error.message).toContain('batchSize × length = 8');
    await encoder.close();
  });
});
