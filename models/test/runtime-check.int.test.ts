import { describe, expect, it } from 'vitest';
import { checkOnnxRuntime } from '../src/runtime-check.ts';

describe('checkOnnxRuntime (real onnxruntime-node)', () => {
  it('runs a model on the CPU and reports the version', async () => {
    const result = await checkOnnxRuntime();
    expect(result).toEqual({ ok: true, version: expect.stringMatching(/^1\.\d+\.\d+/) });
  });
});
