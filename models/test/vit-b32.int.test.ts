import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClipTextEncoder, writeVitB32Vision } from '../src/synthetic/vit-b32.ts';

// Building, writing (~350 MB + ~254 MB) and loading both encoders takes about 5-10 s on 2 busy cores.
const TIMEOUT = 120_000;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'reel-vit-b32-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Counts initializer elements of an ONNX file, read back independently of the builder. */
async function countParameters(file: string): Promise<number> {
  const model = onnxProto.onnx.ModelProto.decode(await readFile(file));
  const graph = model.graph as onnx.GraphProto;
  return graph.initializer.reduce(
    (sum, t) => sum + (t.dims ?? []).reduce<number>((p, d) => p * Number(d), 1),
    0,
  );
}

function finiteNonZeroRows(data: Float32Array, rows: number): void {
  const width = data.length / rows;
  for (let r = 0; r < rows; r++) {
    const row = data.subarray(r * width, (r + 1) * width);
    expect(row.every(Number.isFinite)).toBe(true);
    expect(Math.hypot(...row)).toBeGreaterThan(1e-3);
  }
}

describe('random-weight CLIP ViT-B/32 encoders', () => {
  it(
    'vision: ~87.8M parameters, pixel_values [batch,3,224,224] → finite image_embeds [batch,512]',
    async () => {
      const started = performance.now();
      const info = await writeVitB32Vision(path.join(dir, 'vision.onnx'));
      const written = performance.now();
      expect(info.bytes).toBe((await stat(info.file)).size);
      expect(info.bytes).toBeGreaterThan(350e6);
      const parameters = await countParameters(info.file);
      expect(parameters).toBe(info.parameters);
      expect(Math.abs(parameters - 87.8e6) / 87.8e6).toBeLessThan(0.01);

      const session = await ort.InferenceSession.create(info.file, { intraOpNumThreads: 2 });
      const loaded = performance.now();
      try {
        expect(session.inputMetadata).toEqual([
          { name: 'pixel_values', isTensor: true, type: 'float32', shape: ['batch', 3, 224, 224] },
        ]);
        const pixels = Float32Array.from({ length: 2 * 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001) * 2);
        const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [2, 3, 224, 224]) });
        const embeds = out.image_embeds!;
        expect(embeds.dims).toEqual([2, 512]);
        finiteNonZeroRows(embeds.data as Float32Array, 2);
      } finally {
        await session.release();
      }
      console.info(
        `vit-b32 vision: build+write ${(written - started).toFixed(0)} ms, load ${(loaded - written).toFixed(0)} ms, ` +
          `run ${(performance.now() - loaded).toFixed(0)} ms`,
      );
      await rm(info.file);
    },
    TIMEOUT,
  );

  it(
    'text: input_ids/attention_mask [batch,seq] → finite text_embeds [batch,512], pooled at EOS with causal and padding masks',
    async () => {
      const started = performance.now();
      const info = await writeClipTextEncoder(path.join(dir, 'text.onnx'));
      const written = performance.now();
      const session = await ort.InferenceSession.create(info.file, { intraOpNumThreads: 2 });
      const loaded = performance.now();
      try {
        expect(session.inputNames).toEqual(['input_ids', 'attention_mask']);
        expect(session.outputMetadata).toEqual([
          { name: 'text_embeds', isTensor: true, type: 'float32', shape: ['batch', 512] },
        ]);
        const run = async (rows: number[][], masks: number[][]) => {
          const length = rows[0]!.length;
          const out = await session.run({
            input_ids: new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [
              rows.length,
              length,
            ]),
            attention_mask: new ort.Tensor('int64', BigInt64Array.from(masks.flat(), BigInt), [
              rows.length,
              length,
            ]),
          });
          expect(out.text_embeds!.dims).toEqual([rows.length, 512]);
          return out.text_embeds!.data as Float32Array;
        };
        const sentence = [49406, 320, 1125, 539, 320, 2368, 49407];
        const ones = sentence.map(() => 1);
        // Row 0: the sentence then padding (mask 0). Row 1: the sentence then other tokens the mask
        // keeps, which only positions after EOS can see, so causal attention hides them from EOS.
        const both = await run(
          [
            [...sentence, 49407, 49407, 49407],
            [...sentence, 1929, 2368, 320],
          ],
          [
            [...ones, 0, 0, 0],
            [...ones, 1, 1, 1],
          ],
        );
        finiteNonZeroRows(both, 2);
        const alone = await run([sentence], [ones]);
        for (let i = 0; i < 512; i++) {
          expect(Math.abs(both[i]! - alone[i]!)).toBeLessThan(1e-4);
          expect(Math.abs(both[512 + i]! - alone[i]!)).toBeLessThan(1e-4);
        }
        // A different sentence gives a different embedding (the EOS state depends on the tokens)...
        const otherWord = [49406, 320, 1125, 539, 320, 1929, 49407];
        const other = await run([otherWord], [ones]);
        expect(Math.max(...other.map((v, i) => Math.abs(v - alone[i]!)))).toBeGreaterThan(1e-3);
        // ...unless the differing token is masked out (padding mask before EOS).
        const holed = ones.map((m, i) => (i === 5 ? 0 : m));
        const masked = await run([sentence, otherWord], [holed, holed]);
        for (let i = 0; i < 512; i++) expect(Math.abs(masked[i]! - masked[512 + i]!)).toBeLessThan(1e-4);
        // The full 77-token context runs.
        const full = Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : i === 76 ? 49407 : 320 + i));
        finiteNonZeroRows(await run([full], [full.map(() => 1)]), 1);
      } finally {
        await session.release();
      }
      console.info(
        `clip text: ${info.parameters} parameters, build+write ${(written - started).toFixed(0)} ms, ` +
          `load ${(loaded - written).toFixed(0)} ms, run ${(performance.now() - loaded).toFixed(0)} ms`,
      );
      await rm(info.file);
    },
    TIMEOUT,
  );
});
