import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipModel } from '../src/clip/clip-model.ts';
import { createInferencePool, type InferencePool } from '../src/inference/inference-pool.ts';
import { FINGERPRINT_CACHE_FILE } from '../src/model-fingerprint.ts';
import { resolveActiveModel, saveActiveModel } from '../src/model-registry.ts';
import {
  CALIBRATION_FILE,
  type Calibration,
  cosineStats,
  cosines,
  generatedCalibrationImages,
} from '../src/quantize/calibrate.ts';
import { resolvePrecision } from '../src/quantize/precision.ts';
import { type QuantizeModelResult, quantizeModel } from '../src/quantize/quantize-model.ts';
import { writeSyntheticClip } from '../src/synthetic/synthetic-clip.ts';

const ID = 'reel-synthetic-clip';
let root: string;
let modelsDir: string;
let source: string;
let pool: InferencePool;
let result: QuantizeModelResult;
const logs: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'reel-quantize-'));
  modelsDir = path.join(root, 'models');
  source = path.join(modelsDir, ID);
  await writeSyntheticClip(source);
  pool = createInferencePool({ size: 1 });
  result = await quantizeModel(source, {
    pool,
    modelsDir,
    images: generatedCalibrationImages(32),
    imageSource: '32 generated images',
    log: (m) => logs.push(m),
  });
}, 120_000);

afterAll(async () => {
  await pool?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('quantizeModel on the synthetic CLIP (real onnxruntime-node)', () => {
  it('writes three int8 copies, each a complete model folder with its own fingerprint and calibration', async () => {
    expect(result.written).toBe(true);
    expect(result.folders.map((f) => f.id)).toEqual([`${ID}-int8`, `${ID}-int8-image`, `${ID}-int8-text`]);
    const fingerprints = new Set([result.source.fingerprint, ...result.folders.map((f) => f.fingerprint)]);
    expect(fingerprints.size).toBe(4);
    for (const folder of result.folders) {
      const written = JSON.parse(
        readFileSync(path.join(folder.dir, CALIBRATION_FILE), 'utf8'),
      ) as Calibration;
      expect(written).toEqual(folder.calibration);
      expect(written).toMatchObject({
        version: 1,
        source: { id: ID, fingerprint: result.source.fingerprint },
        format: 'matmul-integer',
        threshold: 0.99,
        items: { images: 32, imageSource: '32 generated images', texts: 32 },
        retrieval: { k: 10 },
      });
      for (const encoder of ['image', 'text'] as const) {
        const c = written[encoder];
        expect(c.count).toBe(32);
        expect(c.min).toBeLessThanOrEqual(c.p1);
        expect(c.p1).toBeLessThanOrEqual(c.mean);
        expect(c.p1).toBeGreaterThanOrEqual(0.99);
        expect(c.passed).toBe(true);
        expect(c.quantizedLayers).toBeGreaterThan(0);
      }
      expect(written.retrieval.agreement).toBeGreaterThan(0.9);
      expect(written.retrieval.agreement).toBeLessThanOrEqual(1);
    }
    // The image encoder's colour-prototype product (inner dimension 3) stays fp32.
    expect(result.folders[0]!.calibration.image.keptLayers).toEqual([
      expect.objectContaining({ reason: 'inner dimension 3 < 16' }),
    ]);
    // fp32 encoders of the mixed copies are hard links to the source's, not copies.
    const text = (dir: string) => statSync(path.join(dir, 'onnx', 'text_model.onnx'));
    expect(text(path.join(modelsDir, `${ID}-int8-image`)).ino).toBe(text(source).ino);
    expect(logs[0]).toMatch(/^image encoder, every layer \(\d+ int8 layers\): cosine mean/);
  });

  it('the int8 model loads with ClipModel and its embeddings stay within cosine 0.99 of fp32', async () => {
    const fp32 = await ClipModel.load(source, { pool });
    const int8 = await ClipModel.load(path.join(modelsDir, `${ID}-int8`), { pool });
    try {
      expect(int8.fingerprint).toBe(result.folders[0]!.fingerprint);
      expect(int8.dim).toBe(fp32.dim);
      // Items the calibration did not see.
      const images = generatedCalibrationImages(48).slice(32);
      const texts = ['a red square on the left', 'dark blue everywhere', 'a green frame', 'white at the top'];
      const imageCos = cosineStats(cosines(await fp32.encodeImages(images), await int8.encodeImages(images)));
      const textCos = cosineStats(cosines(await fp32.encodeTexts(texts), await int8.encodeTexts(texts)));
      expect(imageCos.min).toBeGreaterThanOrEqual(0.99);
      expect(textCos.min).toBeGreaterThanOrEqual(0.99);
      expect(imageCos.min).toBeLessThan(1); // really quantized
      // Retrieval still works: "red" ranks the red image above the blue one.
      const red = { data: new Uint8Array(224 * 224 * 3).fill(0), width: 224, height: 224 };
      const blue = { data: new Uint8Array(224 * 224 * 3).fill(0), width: 224, height: 224 };
      for (let i = 0; i < 224 * 224; i++) {
        red.data.set([230, 25, 25], i * 3);
        blue.data.set([25, 50, 230], i * 3);
      }
      const [query] = await int8.encodeTexts(['red']);
      const [r, b] = await int8.encodeImages([red, blue]);
      const [redScore, blueScore] = cosines([query!, query!], [r!, b!]);
      expect(redScore!).toBeGreaterThan(blueScore! + 0.2);
    } finally {
      await Promise.all([fp32.close(), int8.close()]);
    }
  });

  it('resolves precision settings to the matching copy, with the reason', async () => {
    const auto = resolveActiveModel(undefined, modelsDir); // defaults: image auto, text fp32
    expect(auto.configuredDir).toBe(source);
    expect(auto.dir).toBe(path.join(modelsDir, `${ID}-int8-image`));
    expect(auto.precision.image).toEqual({
      precision: 'int8',
      reason: expect.stringMatching(
        /^REEL_IMAGE_PRECISION=auto: calibration p1 cosine 0\.99\d+, top-10 agreement [01]\.\d{3} \(≥ 0\.99 and ≥ 0\.95\)$/,
      ),
    });
    expect(auto.precision.text).toEqual({ precision: 'fp32', reason: 'REEL_TEXT_PRECISION=fp32' });

    expect(resolvePrecision(source, modelsDir, { image: 'fp32', text: 'fp32' }).dir).toBe(source);
    expect(resolvePrecision(source, modelsDir, { image: 'int8', text: 'int8' }).dir).toBe(
      path.join(modelsDir, `${ID}-int8`),
    );
    expect(resolvePrecision(source, modelsDir, { image: 'fp32', text: 'auto' }).dir).toBe(
      path.join(modelsDir, `${ID}-int8-text`),
    );

    // Naming a quantized copy wins over the settings.
    await saveActiveModel(modelsDir, `${ID}-int8`);
    const named = resolveActiveModel(undefined, modelsDir, { image: 'fp32', text: 'fp32' });
    expect(named.dir).toBe(path.join(modelsDir, `${ID}-int8`));
    expect(named.precision.text.precision).toBe('int8');
    expect(named.precision.image.reason).toContain(`quantized copy of ${ID}`);
    await rm(path.join(modelsDir, 'active-model.json'));
  });

  it('auto stays fp32 when the calibration misses the threshold, and int8 without a copy is unmet', async () => {
    const copy = path.join(modelsDir, `${ID}-int8`);
    const original = readFileSync(path.join(copy, CALIBRATION_FILE), 'utf8');
    try {
      const failing = JSON.parse(original) as Calibration;
      failing.image.p1 = 0.95;
      await writeFile(path.join(copy, CALIBRATION_FILE), JSON.stringify(failing));
      const auto = resolvePrecision(source, modelsDir, { image: 'auto', text: 'fp32' });
      expect(auto.dir).toBe(source);
      expect(auto.image.reason).toBe(
        'REEL_IMAGE_PRECISION=auto: p1 cosine 0.9500 < 0.99, int8 would lose too much',
      );
      // Cosines fine, but searches would come back in another order: auto keeps fp32 (it picked int8
      // at a top-10 agreement of 0.87 before)
      const reordering = JSON.parse(original) as Calibration;
      reordering.retrieval = { k: 10, agreement: 0.87 };
      await writeFile(path.join(copy, CALIBRATION_FILE), JSON.stringify(reordering));
      const kept = resolvePrecision(source, modelsDir, { image: 'auto', text: 'fp32' });
      expect(kept.dir).toBe(source);
      expect(kept.image.reason).toBe(
        'REEL_IMAGE_PRECISION=auto: top-10 agreement 0.870 < 0.95, int8 would change search results',
      );
    } finally {
      await writeFile(path.join(copy, CALIBRATION_FILE), original);
    }

    const other = path.join(root, 'elsewhere', 'other-model');
    await writeSyntheticClip(other);
    const unmet = resolvePrecision(other, modelsDir, { image: 'int8', text: 'fp32' });
    expect(unmet.dir).toBe(other);
    expect(unmet.image).toEqual({
      precision: 'fp32',
      reason:
        'REEL_IMAGE_PRECISION=int8 but other-model has no int8 copy (make one with: npx reel models quantize other-model)',
      unmet: true,
    });
  });

  it('a copy made from other files than the source has now is stale; a second run reuses the copies', async () => {
    const cache = path.join(source, FINGERPRINT_CACHE_FILE);
    const original = readFileSync(cache, 'utf8');
    try {
      await writeFile(cache, JSON.stringify({ ...JSON.parse(original), fingerprint: 'sha256:changed' }));
      const stale = resolvePrecision(source, modelsDir, { image: 'auto', text: 'fp32' });
      expect(stale.dir).toBe(source);
      expect(stale.image.reason).toContain('its int8 copy was made from other files than it has now');
    } finally {
      await writeFile(cache, original);
    }

    const again = await quantizeModel(source, {
      pool,
      modelsDir,
      images: generatedCalibrationImages(16),
      imageSource: 'generated',
    });
    expect(again.written).toBe(false);
    expect(again.folders.map((f) => f.fingerprint)).toEqual(result.folders.map((f) => f.fingerprint));
    expect(again.folders[0]!.calibration.items.images).toBe(32); // the first run's calibration
  });

  it('refuses to quantize a quantized copy, a missing folder, or with too few images', async () => {
    const options = { pool, modelsDir, images: generatedCalibrationImages(16), imageSource: 'generated' };
    await expect(quantizeModel(path.join(modelsDir, `${ID}-int8`), options)).rejects.toThrow(
      /is itself a quantized copy/,
    );
    await expect(quantizeModel(path.join(root, 'nope'), options)).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
    await expect(
      quantizeModel(source, { ...options, images: generatedCalibrationImages(3) }),
    ).rejects.toThrow(/at least 10 images, got 3/);
    expect(existsSync(path.join(modelsDir, `.${ID}.quantizing.${process.pid}.tmp`))).toBe(false);
  });
});
