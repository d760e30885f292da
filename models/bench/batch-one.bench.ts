/**
 * Vision encoders whose batch is fixed at 1 (immich's current exports): images/s and CPU seconds per
 * image for 16 frames of a random-weight ViT-B/32-shaped model, in one run:
 *
 * - baseline: the same model with a dynamic batch, in batches of 8 on one worker with every core;
 * - batch 1 on one worker with every core (one call per frame, one after another: what a pool of one
 *   does with such a model);
 * - batch 1 on one single-threaded worker per core (what ClipEmbedders does with such a model).
 *
 * Each case runs 3 times interleaved; the median round counts. The models are built once into
 * <repo>/.reel/bench-models/ (about 700 MB with the other benchmarks', gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Benchmark, BenchReport } from '@reel/infra';
import { ClipImageEncoder } from '../src/clip/encoders.ts';
import { createInferencePool } from '../src/inference/inference-pool.ts';
import { writeVitB32Vision } from '../src/synthetic/vit-b32.ts';
import { median, pixels } from './bench-inputs.ts';

const DIR = path.resolve(import.meta.dirname, '../../.reel/bench-models');
const FRAMES = 16;
const ROUNDS = 3;

interface Case {
  name: string;
  file: string;
  size: number;
  threads: number;
  maxBatch: number;
}

async function measure(c: Case, data: Float32Array): Promise<{ seconds: number; cpu: number }> {
  const pool = createInferencePool({ size: c.size, threadsPerSession: c.threads, allowSpinning: false });
  try {
    const encoder = await ClipImageEncoder.create(pool, c.file, { maxBatch: c.maxBatch });
    await encoder.encode({ data: data.subarray(0, 2 * 3 * 224 * 224), dims: [2, 3, 224, 224] });
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    await encoder.encode({ data, dims: [FRAMES, 3, 224, 224] });
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return { seconds, cpu: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await pool.close();
  }
}

const benchmark: Benchmark = {
  name: 'batch-one',
  async run(): Promise<BenchReport[]> {
    mkdirSync(DIR, { recursive: true });
    const dynamic = path.join(DIR, 'vit-b32-vision.onnx');
    const fixed = path.join(DIR, 'vit-b32-vision-batch1.onnx');
    if (!existsSync(dynamic)) await writeVitB32Vision(dynamic);
    if (!existsSync(fixed)) await writeVitB32Vision(fixed, { batch: 1 });
    const cores = availableParallelism();
    const cases: Case[] = [
      {
        name: `dynamic batch, batches of 8, 1 worker × ${cores} threads`,
        file: dynamic,
        size: 1,
        threads: cores,
        maxBatch: 8,
      },
      { name: `batch 1, 1 worker × ${cores} threads`, file: fixed, size: 1, threads: cores, maxBatch: 1 },
      {
        name: `batch 1, ${cores} workers × 1 thread (ClipEmbedders)`,
        file: fixed,
        size: cores,
        threads: 1,
        maxBatch: 1,
      },
    ];
    const data = pixels(FRAMES);
    const results = new Map<string, { seconds: number[]; cpu: number[] }>(
      cases.map((c) => [c.name, { seconds: [], cpu: [] }]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) {
        const { seconds, cpu } = await measure(c, data);
        results.get(c.name)!.seconds.push(seconds);
        results.get(c.name)!.cpu.push(cpu);
      }
    }
    const rows = cases.flatMap((c) => {
      const r = results.get(c.name)!;
      return [{ case: c.name, value: FRAMES / median(r.seconds), unit: 'images/s' }];
    });
    return [
      {
        name: 'batch-one-vision-encoder',
        baseline: cases[0]!.name,
        rows,
        notes: [
          `ViT-B/32-shaped random weights, ${FRAMES} frames, median of ${ROUNDS} interleaved rounds`,
          ...cases.map((c) => {
            const cpu = median(results.get(c.name)!.cpu) / FRAMES;
            return `${c.name}: ${cpu.toFixed(3)} CPU s per image`;
          }),
        ],
      },
    ];
  },
};

export default benchmark;
