/**
 * The X-Pool head names the CLIP it was trained with: a real server with REEL_XPOOL_HEAD tells clients
 * (GET /v1/search/poolings) when the head says nothing about its model, or names another one, and says
 * nothing when it names the model searching.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XPOOL_MODEL_FINGERPRINT_KEY, XPOOL_MODEL_NAME_KEY } from '@reel/index';
import { layoutFiles, modelFingerprint, writeSyntheticClip } from '@reel/models';
import { describe, expect, it } from 'vitest';
import { json, startApi } from './helpers/api-server.ts';
import { writeXPoolHead } from './helpers/xpool-head.ts';

async function poolings(metadata?: Record<string, string>): Promise<Record<string, unknown>> {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-xpool-pairing-'));
  const head = path.join(root, 'head.safetensors');
  writeXPoolHead(head, 128, 5, metadata);
  const api = await startApi({ root, worker: false, env: { REEL_XPOOL_HEAD: head } });
  try {
    return await json(await fetch(`${api.url}/v1/search/poolings`));
  } finally {
    await api.close();
  }
}

describe('X-Pool head pairing (real server)', () => {
  it('warns when the head does not say which CLIP it was trained with', async () => {
    const body = await poolings();
    expect(body.available).toContain('xpool');
    expect(body.xpoolWarning).toMatch(/does not say which CLIP it was trained with/);
    expect(body.xpoolWarning).toContain(XPOOL_MODEL_FINGERPRINT_KEY);
  });

  it('warns when the head names another model, and not when it names the one searching', async () => {
    const other = await poolings({
      [XPOOL_MODEL_FINGERPRINT_KEY]: `sha256:${'0'.repeat(64)}`,
      [XPOOL_MODEL_NAME_KEY]: 'openai/clip-vit-base-patch32 (fine-tuned on MSR-VTT)',
    });
    expect(other.xpoolWarning).toMatch(
      /was trained with openai\/clip-vit-base-patch32 \(fine-tuned on MSR-VTT\)/,
    );

    // The synthetic model's own fingerprint, as the server computes it.
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-xpool-model-'));
    await writeSyntheticClip(dir);
    const fingerprint = await modelFingerprint(dir, layoutFiles('hf').all);
    const same = await poolings({ [XPOOL_MODEL_FINGERPRINT_KEY]: fingerprint });
    expect(same.available).toContain('xpool');
    expect(same.xpoolWarning).toBeUndefined();
  });
});
