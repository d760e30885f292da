/**
 * int8 against fp32 encoders, in one run, on the random-weight models with the compute of CLIP ViT-B/32
 * (the files encoders.bench builds) and on the synthetic model:
 *
 * 1. `reel models quantize` on a model folder holding the ViT-B/32-shaped encoders (the synthetic
 *    model's tokenizer and configs): wall time, and the calibration it writes (cosine of int8 to fp32
 *    embeddings over 64 generated images and 32 texts: mean, 1st percentile, min; top-10 agreement).
 *    Same on the synthetic model. Goal: 1st-percentile cosine ≥ 0.99 on both.
 * 2. image encoding, images/s at batch 8, bare onnxruntime-node sessions with the pool's options:
 *    fp32, int8 as written by reel (MatMulInteger, fused by onnxruntime), and int8 written directly as
 *    com.microsoft DynamicQuantizeMatMul. Rounds alternate between the models, so load from other
 *    processes on the shared cores weighs on each alike. Goal: int8 ≥ 3× fp32.
 * 3. text-query latency (a 5-word query, 7 tokens, dynamic padding), fp32 against int8.
 *
 * Not measured here: end-to-end ingest videos/min with each precision, which workers/bench/ingest.bench.ts
 * (`npm run bench -- pipeline-ingest`) measures for fp32 and int8 in one run.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Benchmark, BenchReport } from '@reel/infra';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { createInferencePool } from '../src/inference/inference-pool.ts';
import { cpuSessionOptions } from '../src/inference/session-options.ts';
import { type Calibration, generatedCalibrationImages } from '../src/quantize/calibrate.ts';
import { quantizeGraph } from '../src/quantize/quantize-graph.ts';
import { quantizeModel } from '../src/quantize/quantize-model.ts';
import { syntheticClipFiles, writeSyntheticClip } from '../src/synthetic/synthetic-clip.ts';
import { writeClipTextEncoder, writeVitB32Vision } from '../src/synthetic/vit-b32.ts';
import { median, pixels } from './bench-inputs.ts';

const { ModelProto } = onnxProto.onnx;
const DIR = path.resolve(import.meta.dirname, '../../.reel/bench-models');
const SOURCE = path.join(DIR, 'vit-b32-clip');
const QUANTIZED = path.join(DIR, 'quantized');
const BATCH = 8;
const ROUNDS = 12;

/** An HF-layout folder: the ViT-B/32-shaped encoders (hard links) with the synthetic tokenizer and configs. */
async function sourceFolder(): Promise<string> {
  mkdirSync(DIR, { recursive: true });
  const vision = path.join(DIR, 'vit-b32-vision.onnx');
  const text = path.join(DIR, 'clip-text-encoder.onnx');
  if (!existsSync(vision)) await writeVitB32Vision(vision);
  if (!existsSync(text)) await writeClipTextEncoder(text);
  rmSync(SOURCE, { recursive: true, force: true });
  mkdirSync(path.join(SOURCE, 'onnx'), { recursive: true });
  linkSync(vision, path.join(SOURCE, 'onnx', 'vision_model.onnx'));
  linkSync(text, path.join(SOURCE, 'onnx', 'text_model.onnx'));
  for (const [file, bytes] of syntheticClipFiles()) {
    if (!file.startsWith('onnx/')) writeFileSync(path.join(SOURCE, file), bytes);
  }
  return SOURCE;
}

/** One warm-up each, then `rounds` rounds running every function once in turn; median seconds each. */
async function alternate(rounds: number, fns: (() => Promise<unknown>)[]): Promise<number[]> {
  for (const fn of fns) await fn();
  const times = fns.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, fn] of fns.entries()) {
      const start = performance.now();
      await fn();
      times[i]!.push((performance.now() - start) / 1000);
    }
  }
  return times.map(median);
}

function calibrationRows(label: string, c: Calibration) {
  return [
    { case: `${label} image: cosine mean`, value: c.image.mean, unit: 'cosine' },
    { case: `${label} image: cosine p1`, value: c.image.p1, unit: 'cosine' },
    { case: `${label} image: cosine min`, value: c.image.min, unit: 'cosine' },
    { case: `${label} text: cosine mean`, value: c.text.mean, unit: 'cosine' },
    { case: `${label} text: cosine p1`, value: c.text.p1, unit: 'cosine' },
    { case: `${label} text: cosine min`, value: c.text.min, unit: 'cosine' },
    { case: `${label} both int8: top-10 agreement`, value: c.retrieval.agreement, unit: 'fraction' },
  ];
}

const benchmark: Benchmark = {
  name: 'int8-encoders',
  async run(): Promise<BenchReport[]> {
    const source = await sourceFolder();
    const pool = createInferencePool({ size: 1 });
    const images = generatedCalibrationImages(64);

    // 1. Quantize and calibrate: the ViT-B/32-shaped folder, then the synthetic model.
    const started = performance.now();
    const vit = await quantizeModel(source, {
      pool,
      modelsDir: QUANTIZED,
      images,
      imageSource: '64 generated images',
      force: true,
    });
    const quantizeSeconds = (performance.now() - started) / 1000;
    const synthDir = path.join(tmpdir(), `reel-bench-synthetic-${process.pid}`);
    await writeSyntheticClip(path.join(synthDir, 'reel-synthetic-clip'));
    const synth = await quantizeModel(path.join(synthDir, 'reel-synthetic-clip'), {
      pool,
      modelsDir: synthDir,
      images,
      imageSource: '64 generated images',
    });
    rmSync(synthDir, { recursive: true, force: true });
    await pool.close();

    // The same vision encoder written as com.microsoft DynamicQuantizeMatMul.
    const fp32Vision = path.join(source, 'onnx', 'vision_model.onnx');
    const int8Vision = path.join(vit.folders[0]!.dir, 'onnx', 'vision_model.onnx');
    const dqmmVision = path.join(QUANTIZED, 'vision-dynamic-quantize-matmul.onnx');
    writeFileSync(
      dqmmVision,
      ModelProto.encode(
        quantizeGraph(ModelProto.decode(readFileSync(fp32Vision)), { format: 'dynamic-quantize-matmul' })
          .model,
      ).finish(),
    );

    // 2. Image throughput at batch 8, alternating models.
    const options = cpuSessionOptions({ poolSize: 1 });
    const feeds = { pixel_values: new ort.Tensor('float32', pixels(BATCH), [BATCH, 3, 224, 224]) };
    const visionSessions = await Promise.all(
      [fp32Vision, int8Vision, dqmmVision].map((file) => ort.InferenceSession.create(file, options)),
    );
    const [fp32Seconds, int8Seconds, dqmmSeconds] = await alternate(
      ROUNDS,
      visionSessions.map((session) => () => session.run(feeds)),
    );
    for (const session of visionSessions) await session.release();

    // 3. Text latency for a 5-word query (BOS + 5 + EOS = 7 tokens).
    const ids = BigInt64Array.from([49406n, 320n, 1125n, 539n, 320n, 2368n, 49407n]);
    const textFeeds = {
      input_ids: new ort.Tensor('int64', ids, [1, 7]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(7).fill(1n), [1, 7]),
    };
    const textSessions = await Promise.all(
      [
        path.join(source, 'onnx', 'text_model.onnx'),
        path.join(vit.folders[0]!.dir, 'onnx', 'text_model.onnx'),
      ].map((file) => ort.InferenceSession.create(file, options)),
    );
    const [fp32Text, int8Text] = await alternate(
      30,
      textSessions.map((session) => () => session.run(textFeeds)),
    );
    for (const session of textSessions) await session.release();

    const speedup = fp32Seconds! / int8Seconds!;
    const vitCalibration = vit.folders[0]!.calibration;
    const synthCalibration = synth.folders[0]!.calibration;
    const p1 = Math.min(
      vitCalibration.image.p1,
      vitCalibration.text.p1,
      synthCalibration.image.p1,
      synthCalibration.text.p1,
    );
    return [
      {
        name: 'int8-image-encoder-throughput',
        baseline: 'fp32, batch 8',
        rows: [
          { case: 'fp32, batch 8', value: BATCH / fp32Seconds!, unit: 'images/s' },
          {
            case: 'int8 (MatMulInteger, reel default), batch 8',
            value: BATCH / int8Seconds!,
            unit: 'images/s',
          },
          { case: 'int8 (DynamicQuantizeMatMul), batch 8', value: BATCH / dqmmSeconds!, unit: 'images/s' },
        ],
        notes: [
          `ViT-B/32-shaped random weights, bare sessions, ${options.intraOpNumThreads} intra-op threads, median of ${ROUNDS} alternating rounds`,
          `int8 layers: ${vitCalibration.image.quantizedLayers} quantized, ${vitCalibration.image.keptLayers.length} kept in fp32`,
          `int8 ${speedup.toFixed(2)}× fp32 (goal ≥ 3×): ${speedup >= 3 ? 'met' : 'NOT met'}`,
        ],
      },
      {
        name: 'int8-text-encoder-latency',
        baseline: 'fp32',
        rows: [
          { case: 'fp32', value: fp32Text! * 1000, unit: 'ms' },
          { case: 'int8', value: int8Text! * 1000, unit: 'ms' },
        ],
        notes: [
          '5-word query (7 tokens, dynamic padding), CLIP text-encoder-shaped random weights, median of 30',
        ],
      },
      {
        name: 'int8-calibration',
        rows: [
          {
            case: 'reel models quantize, ViT-B/32-shaped (quantize + calibrate, wall)',
            value: quantizeSeconds,
            unit: 's',
          },
          ...calibrationRows('ViT-B/32-shaped random weights', vitCalibration),
          ...calibrationRows('synthetic model', synthCalibration),
        ],
        notes: [
          '64 generated images, 32 texts; int8 against fp32 embeddings of the same items',
          `lowest 1st-percentile cosine ${p1.toFixed(4)} (goal ≥ 0.99): ${p1 >= 0.99 ? 'met' : 'NOT met'}`,
        ],
      },
    ];
  },
};

export default benchmark;
