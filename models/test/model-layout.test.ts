import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModelFolder, layoutFiles, resolveModelDir } from '../src/model-layout.ts';

function folderWith(files: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'reel-layout-'));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), 'x');
  }
  return dir;
}

describe('inspectModelFolder', () => {
  it('recognises a complete Hugging Face folder', () => {
    const dir = folderWith(layoutFiles('hf').all);
    expect(inspectModelFolder(dir)).toMatchObject({ ok: true, layout: 'hf', variant: 'fp32' });
  });

  it('recognises a quantized-only Hugging Face folder', () => {
    const dir = folderWith(layoutFiles('hf', 'quantized').all);
    const report = inspectModelFolder(dir);
    expect(report).toMatchObject({ ok: true, layout: 'hf', variant: 'quantized' });
    if (report.ok) expect(report.files.visionModel).toBe('onnx/vision_model_quantized.onnx');
  });

  it('recognises an immich folder', () => {
    const dir = folderWith(layoutFiles('immich').all);
    expect(inspectModelFolder(dir)).toMatchObject({ ok: true, layout: 'immich' });
  });

  it('lists exactly the missing files', () => {
    const dir = folderWith(layoutFiles('immich').all.filter((f) => f !== 'visual/preprocess_cfg.json'));
    const report = inspectModelFolder(dir);
    expect(report.ok).toBe(false);
    if (!report.ok) {
      expect(report.problem).toContain('immich');
      expect(report.problem).toMatch(/missing or empty visual\/preprocess_cfg\.json$/);
    }
  });

  it('treats empty files as missing and names a missing folder', () => {
    const dir = folderWith(layoutFiles('hf').all.filter((f) => f !== 'tokenizer.json'));
    writeFileSync(path.join(dir, 'tokenizer.json'), '');
    const report = inspectModelFolder(dir, 'fp32');
    expect(report.ok === false && report.problem).toMatch(/missing or empty tokenizer\.json$/);
    expect(inspectModelFolder(path.join(dir, 'nope'))).toMatchObject({
      ok: false,
      problem: expect.stringContaining('does not exist'),
    });
  });
});

describe('resolveModelDir', () => {
  it('maps ids under the models folder and keeps paths', () => {
    expect(resolveModelDir('reel-synthetic-clip', '/data/models', '/w')).toBe(
      '/data/models/reel-synthetic-clip',
    );
    expect(resolveModelDir('./my-model', '/data/models', '/w')).toBe('/w/my-model');
    expect(resolveModelDir('/opt/clip', '/data/models', '/w')).toBe('/opt/clip');
  });
});
