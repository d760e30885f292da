/**
 * ClipEmbedders with the real onnxruntime-node: a vision encoder whose batch is fixed at 1 (immich's
 * current exports) runs its frames side by side in a pool of single-threaded workers, and embeds them
 * exactly as the same model with a dynamic batch does.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInferencePool, layoutFiles, modelFingerprint, writeSyntheticClip } from '@reel/models';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticVisionModel } from '../../models/src/synthetic/synthetic-clip.ts';
import { ClipEmbedders } from '../src/adapters/clip-embedders.ts';

const root = mkdtempSync(path.join(tmpdir(), 'reel-embedders-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Frames of solid colours, 224×224 rgb24 as the sampler hands them over. */
function frames(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8Array(224 * 224 * 3);
    for (let p = 0; p < data.length; p += 3) data.set([(i * 40) % 256, (i * 90) % 256, (i * 150) % 256], p);
    return { data, width: 224, height: 224, timestamp: i };
  });
}

describe('ClipEmbedders', () => {
  it('runs a batch-1 vision encoder over one single-threaded worker per core, with the same vectors', async () => {
    const dynamic = path.join(root, 'dynamic');
    await writeSyntheticClip(dynamic);
    const fixed = path.join(root, 'batch-one');
    cpSync(dynamic, fixed, { recursive: true });
    rmSync(path.join(fixed, '.reel-fingerprint.json'), { force: true });
    writeFileSync(path.join(fixed, 'onnx/vision_model.onnx'), syntheticVisionModel(undefined, { batch: 1 }));

    const pool = createInferencePool({ size: 1 });
    const messages: string[] = [];
    const embedders = new ClipEmbedders(pool, { cores: 2, log: (m) => messages.push(m) });
    try {
      const ref = async (dir: string) => ({
        dir,
        fingerprint: await modelFingerprint(dir, layoutFiles('hf').all),
      });
      const input = frames(6);
      const a = await (await embedders.get(await ref(dynamic))).embed(input);
      expect(messages).toEqual([]);
      const b = await (await embedders.get(await ref(fixed))).embed(input);
      expect(messages).toEqual([
        `${fixed}: its vision encoder takes one frame per call; running 2 calls at once`,
      ]);
      expect(b).toHaveLength(6);
      for (let i = 0; i < 6; i++) {
        for (let d = 0; d < a[i]!.length; d++) expect(b[i]![d]).toBeCloseTo(a[i]![d]!, 5);
      }
    } finally {
      await embedders.close();
      await pool.close();
    }
  });
});
