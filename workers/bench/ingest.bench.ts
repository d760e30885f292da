/**
 * End-to-end ingest throughput, fp32 against int8 image encoder, in one run: 50 generated 30 s 1280×720
 * H.264 videos through the whole pipeline (submit → BullMQ → ffmpeg samples 12 frames per video →
 * ViT-B/32-shaped random image encoder in the inference pool → LanceDB), in this process with the
 * default concurrency (ingest 2, embed 2, index 2), once with `REEL_IMAGE_PRECISION=fp32` and once with
 * `REEL_IMAGE_PRECISION=int8` (the `-int8-image` copy `quantizeModel` makes of the model, which the
 * worker picks itself from its models folder; each pass checks the worker's "active model" log line and
 * the model folder its batch names). Against the ceiling each encoder alone sets, measured in the same
 * run: a bare onnxruntime-node session on the same vision model with the pool's options
 * (`cpuSessionOptions({ poolSize: 1 })`) encoding the same 600 frames (random CLIP-normalised pixels) in
 * batches of 8. Goal (fp32): the pipeline reaches ≥ 85% of that ceiling.
 *
 * The machine is shared: load from other processes that rises or falls over the run must weigh on both
 * precisions alike. So the run is a palindrome: bare fp32 and bare int8 on the first half of the frames;
 * the pipeline on videos 1-25 fp32, 1-25 int8, 26-50 int8, 26-50 fp32; bare int8 and bare fp32 on the
 * second half. Each precision's figure is its two halves together (50 videos, 600 frames). Every pipeline
 * pass has its own worker, data folder and queue prefix, and indexes a 2 s warm-up video first (model
 * load, first LanceDB table; not counted).
 *
 * Also reported, per precision: per-stage wall time from the batch status (each video's stage start and
 * end), and CPU time per stage, split by who spent it (cpu-usage.ts, shared with decode-floor.bench.ts):
 * - ffmpeg/ffprobe children: `cutime + cstime` of /proc/self/stat (CPU of reaped children; Node reaps
 *   every child it spawns), before and after.
 * - threads of this process: utime + stime of each /proc/self/task/<tid>/stat, grouped by thread name.
 *   The inference pool's worker thread is named `reel-inference-0` and onnxruntime's intra-op threads,
 *   created from it, inherit the name, so that group is the encoder. A thread that exits inside the
 *   window is missing from the second snapshot: its time shows as "unattributed" (the process total
 *   from `process.cpuUsage()` minus the threads seen).
 * - the rest of the machine: busy time of /proc/stat minus ours: other processes' load on the shared
 *   cores, which slows both measurements.
 *
 * Inputs are made once and reused: the videos in `<repo>/.reel/bench-videos/ingest/` (about 1.2 GB,
 * 3-4 min to make on 2 cores, timed apart), and the model folder `<repo>/.reel/bench-models/vit-b32-hf/`
 * with its int8 copies beside it (bench-model.ts; quantizing takes 10-30 s, timed apart). The data
 * folders and the Redis keys of the run are removed after it.
 */

import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Benchmark,
  type BenchReport,
  type BenchRow,
  createLogger,
  loadConfig,
  type ReelConfig,
} from '@reel/infra';
import { cpuSessionOptions, readCalibration } from '@reel/models';
import type { BatchStatus } from '../src/batch-progress.ts';
import { QueueName, STAGES } from '../src/jobs.ts';
import { type Pipeline, type RunningWorker, startPipelineWorker } from '../src/pipeline.ts';
import { benchInt8Copies, benchModel } from './bench-model.ts';
import { deleteKeys } from './bench-redis.ts';
import { benchVideos } from './bench-videos.ts';
import {
  addWindows,
  BATCH,
  bareEncoder,
  type CpuWindow,
  cpuBetween,
  type EncoderRun,
  snapshot,
} from './cpu-usage.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const VIDEO_DIR = path.join(ROOT, '.reel', 'bench-videos', 'ingest');

/** Videos per precision: the issue's figure (the fp32 pipeline takes about 70 s of them on 2 cores). */
const VIDEO_COUNT = 50;
const VIDEO = { seconds: 30, width: 1280, height: 720, fps: 25 } as const;
/** Frames sampled per video: the pipeline's default (REEL_FRAMES_PER_VIDEO). */
const FRAMES_PER_VIDEO = 12;
const GOAL = 0.85;
/** A batch that has not finished by then has a problem no figure would show. */
const BATCH_TIMEOUT_MS = 30 * 60_000;
/** Share of the machine other processes may use in a window before the verdict is flagged unreliable. */
const FOREIGN_LIMIT = 0.1;
/** A cron pattern that never fires during a run: no sweep or upkeep job competes for the cores. */
const NEVER = '0 0 1 1 *';

type Precision = 'fp32' | 'int8';

/** Polls the batch until `reached` holds (by default: the batch finished), or fails after the timeout. */
async function finished(
  pipeline: Pipeline,
  batchId: string,
  progress: boolean,
  reached: (status: BatchStatus) => boolean = (status) => status.finishedAt !== undefined,
): Promise<BatchStatus> {
  const deadline = Date.now() + BATCH_TIMEOUT_MS;
  let lastReport = Date.now();
  for (;;) {
    const status = await pipeline.service.status(batchId);
    if (status !== undefined && reached(status)) return status;
    if (Date.now() > deadline) {
      throw new Error(
        `batch ${batchId} did not get there within ${BATCH_TIMEOUT_MS / 1000} s (${status?.done ?? 0}/${status?.total ?? '?'} done)`,
      );
    }
    if (progress && Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      console.log(
        `  ${status?.done ?? 0}/${status?.total ?? '?'} done (ingest ${status?.stages.ingest.done}, embed ${status?.stages.embed.done})`,
      );
    }
    await sleep(250);
  }
}

function addRuns(a: EncoderRun, b: EncoderRun): EncoderRun {
  return {
    frames: a.frames + b.frames,
    seconds: a.seconds + b.seconds,
    cpuSeconds: a.cpuSeconds + b.cpuSeconds,
    foreignSeconds: a.foreignSeconds + b.foreignSeconds,
  };
}

interface StageTimes {
  sum: number;
  mean: number;
  count: number;
  /** First start to last end within each batch, summed over the batches, s. */
  span: number;
}

function stageTimes(statuses: readonly BatchStatus[]): Record<(typeof STAGES)[number], StageTimes> {
  return Object.fromEntries(
    STAGES.map((stage) => {
      let sum = 0;
      let count = 0;
      let span = 0;
      for (const status of statuses) {
        const spans = status.videos
          .map((video) => video.stages?.[stage])
          .filter((s): s is { startedAt: number; endedAt: number } => s?.endedAt !== undefined);
        if (spans.length === 0) continue;
        sum += spans.reduce((total, s) => total + (s.endedAt - s.startedAt), 0) / 1000;
        count += spans.length;
        span +=
          (Math.max(...spans.map((s) => s.endedAt)) - Math.min(...spans.map((s) => s.startedAt))) / 1000;
      }
      return [stage, { sum, mean: count ? sum / count : 0, count, span }];
    }),
  ) as Record<(typeof STAGES)[number], StageTimes>;
}

const f1 = (x: number) => x.toFixed(1);

/** One pipeline pass: a worker of its own on a fresh data folder and queue prefix. */
interface PassResult {
  precision: Precision;
  /** Which videos, 1-based, e.g. "1-25". */
  videos: string;
  status: BatchStatus;
  /** Submit → batch finished, s. */
  wallSeconds: number;
  /** Enqueued (files hashed) → batch finished, s. */
  fromEnqueueSeconds: number;
  /** Hashing the files inside submit, s. */
  submitSeconds: number;
  workerStartSeconds: number;
  warmupSeconds: number;
  /** Submit → finished seen. */
  cpu: CpuWindow;
  concurrency: { ingest: number; embed: number; index: number };
  /** The worker's own log line naming the model folder and the precision of each encoder. */
  activeModel: string;
  /**
   * `full`: one worker runs every stage. `split`: an ingest-only worker samples the whole batch first
   * (timed as `ingestOnlySeconds`), then an embed + index worker is started and timed from its start to
   * the batch's end (`wallSeconds`, model load included): the encoder's share when decoding happens on
   * other machines (`reel worker --queues ingest`).
   */
  mode: 'full' | 'split';
  ingestOnlySeconds?: number;
  /** Split mode: starting the embed + index worker (counted in `wallSeconds`), s. */
  embedWorkerStartSeconds?: number;
}

/** The worker's start-up line (pipeline.ts), as pino writes it. */
interface ActiveModelLine {
  level: number;
  msg: string;
  dir?: string;
  image?: { precision?: string };
}

async function pipelinePass(options: {
  precision: Precision;
  /** The fp32 model folder (REEL_MODEL). */
  modelDir: string;
  /** Its int8 copies, linked into the worker's models folder, where `reel models quantize` puts them. */
  int8Dirs: readonly string[];
  files: readonly string[];
  videos: string;
  warmupFile: string;
  mode?: 'full' | 'split';
}): Promise<PassResult> {
  const mode = options.mode ?? 'full';
  const { precision } = options;
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'reel-bench-ingest-'));
  let config: ReelConfig | undefined;
  let worker: RunningWorker | undefined;
  try {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      REEL_DATA_DIR: path.join(dataRoot, 'data'),
      REEL_QUEUE_PREFIX: `{bench-${randomUUID().slice(0, 8)}}`,
      REEL_MODEL: options.modelDir,
      // Both passes see the same folders: the setting alone decides which the worker loads.
      REEL_IMAGE_PRECISION: precision,
      REEL_TEXT_PRECISION: 'fp32',
      REEL_LOG_LEVEL: 'warn',
      REEL_SWEEP_CRON: NEVER,
      REEL_UPKEEP_CRON: NEVER,
      ...(process.env.REEL_REDIS_URL ? { REEL_REDIS_URL: process.env.REEL_REDIS_URL } : {}),
    };
    config = loadConfig(env, dataRoot);
    mkdirSync(config.paths.models, { recursive: true });
    for (const dir of options.int8Dirs) symlinkSync(dir, path.join(config.paths.models, path.basename(dir)));
    // Info level for the worker's "active model" line; only warnings and errors reach the console, as
    // with REEL_LOG_LEVEL=warn (the pipeline logs no info line per job).
    const activeLines: ActiveModelLine[] = [];
    const logger = createLogger({
      level: 'info',
      name: 'bench',
      destination: {
        write(line: string) {
          const entry = JSON.parse(line) as ActiveModelLine;
          if (entry.msg.startsWith('active model')) activeLines.push(entry);
          if (entry.level >= 40) process.stderr.write(line);
        },
      },
    });
    const startedWorker = performance.now();
    worker = await startPipelineWorker(config, logger);
    const workerStartSeconds = (performance.now() - startedWorker) / 1000;
    const { pipeline } = worker;
    const active = activeLines[0];
    if (active?.image?.precision !== precision) {
      throw new Error(
        `the worker runs its image encoder at ${active?.image?.precision ?? '(no "active model" log line)'}, not ${precision}: ${active?.msg}`,
      );
    }
    // The folder every embed job of the batch loads (ClipEmbedders, keyed by it).
    const model = await pipeline.searchModel();
    const folderPrecision = readCalibration(model.dir)?.precision.image ?? 'fp32';
    if (model.dir !== active.dir || folderPrecision !== precision) {
      throw new Error(
        `batches name model ${model.dir} (image encoder ${folderPrecision}), the worker log ${active.dir}: expected one ${precision} folder`,
      );
    }

    const warmStart = performance.now();
    const warm = await pipeline.service.submit({
      tenant: 'warmup',
      model,
      files: [{ path: options.warmupFile }],
    });
    const warmStatus = await finished(pipeline, warm.batchId, false);
    if (warmStatus.counts.indexed !== 1) {
      throw new Error(`warm-up video not indexed: ${JSON.stringify(warmStatus.videos)}`);
    }
    const warmupSeconds = (performance.now() - warmStart) / 1000;

    let before = snapshot();
    let startEpoch = Date.now();
    let ingestOnlySeconds: number | undefined;
    let embedWorkerStartSeconds: number | undefined;
    if (mode === 'split') {
      await worker.close(60_000);
      worker = await startPipelineWorker(config, logger, { queues: [QueueName.batch, QueueName.ingest] });
    }
    const submitted = await (mode === 'split' ? worker.pipeline : pipeline).service.submit({
      tenant: 'bench',
      model,
      files: options.files.map((file) => ({ path: file })),
    });
    const submitSeconds = (Date.now() - startEpoch) / 1000;
    if (mode === 'split') {
      // every video sampled, none embedded (no worker takes embed jobs yet); then the embed + index worker
      await finished(
        worker.pipeline,
        submitted.batchId,
        true,
        (status) => status.stages.ingest.done >= options.files.length,
      );
      ingestOnlySeconds = (Date.now() - startEpoch) / 1000;
      await worker.close(60_000);
      before = snapshot();
      startEpoch = Date.now();
      worker = await startPipelineWorker(config, logger, {
        queues: [QueueName.batch, QueueName.embed, QueueName.index],
      });
      embedWorkerStartSeconds = (Date.now() - startEpoch) / 1000;
    }
    const status = await finished(worker.pipeline, submitted.batchId, true);
    const cpu = cpuBetween(before, snapshot());
    if (status.counts.indexed !== options.files.length) {
      const failed = status.videos
        .filter((v) => v.status !== 'indexed')
        .map((v) => `${v.name}: ${v.status} ${v.code ?? ''}`);
      throw new Error(
        `${status.counts.indexed}/${options.files.length} videos indexed; others: ${failed.join('; ')}`,
      );
    }
    return {
      precision,
      videos: options.videos,
      status,
      wallSeconds: (status.finishedAt! - startEpoch) / 1000,
      fromEnqueueSeconds: (status.finishedAt! - status.createdAt) / 1000,
      submitSeconds,
      workerStartSeconds,
      warmupSeconds,
      cpu,
      concurrency: {
        ingest: config.ingestConcurrency,
        embed: config.embedConcurrency,
        index: config.indexConcurrency,
      },
      activeModel: active.msg,
      mode,
      ...(ingestOnlySeconds === undefined ? {} : { ingestOnlySeconds }),
      ...(embedWorkerStartSeconds === undefined ? {} : { embedWorkerStartSeconds }),
    };
  } finally {
    await worker?.close(60_000);
    if (config) await deleteKeys(config.redisUrl, config.queuePrefix);
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

/** One precision's figures: its two bare-encoder halves and its two pipeline passes together. */
interface Measured {
  precision: Precision;
  bare: EncoderRun;
  bareHalves: EncoderRun[];
  /** Videos/min the bare encoder alone would allow. */
  ceilingPerMinute: number;
  passes: PassResult[];
  wallSeconds: number;
  fromEnqueueSeconds: number;
  submitSeconds: number;
  perMinute: number;
  cpu: CpuWindow;
  stages: Record<(typeof STAGES)[number], StageTimes>;
  /** Other processes' highest share of the machine in one of this precision's windows. */
  foreignShare: number;
}

function measure(precision: Precision, bareHalves: EncoderRun[], all: readonly PassResult[]): Measured {
  const passes = all.filter((pass) => pass.precision === precision && pass.mode === 'full');
  const bare = bareHalves.reduce(addRuns);
  const wallSeconds = passes.reduce((total, pass) => total + pass.wallSeconds, 0);
  const cores = os.availableParallelism();
  return {
    precision,
    bare,
    bareHalves,
    ceilingPerMinute: (bare.frames / bare.seconds / FRAMES_PER_VIDEO) * 60,
    passes,
    wallSeconds,
    fromEnqueueSeconds: passes.reduce((total, pass) => total + pass.fromEnqueueSeconds, 0),
    submitSeconds: passes.reduce((total, pass) => total + pass.submitSeconds, 0),
    perMinute: (VIDEO_COUNT / wallSeconds) * 60,
    cpu: passes.map((pass) => pass.cpu).reduce(addWindows),
    stages: stageTimes(passes.map((pass) => pass.status)),
    foreignShare:
      Math.max(
        ...bareHalves.map((run) => run.foreignSeconds / run.seconds),
        ...passes.map((pass) => pass.cpu.foreignSeconds / pass.cpu.wallSeconds),
      ) / cores,
  };
}

const coresOf = (seconds: number, over: number) => `${((seconds / over) * 100).toFixed(0)}%`;
const fps = (n: number, s: number) => (n / s).toFixed(2);

function cpuReport(m: Measured): BenchReport {
  const { cpu, bare } = m;
  const totalCpu = cpu.processSeconds + cpu.childrenSeconds;
  const others = [...cpu.otherNames.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${f1(s)} s`)
    .join(', ');
  const rows: BenchRow[] = [
    { case: 'all: this process + its ffmpeg/ffprobe children', value: totalCpu, unit: 'CPU s' },
    { case: 'ingest: ffmpeg + ffprobe (child processes)', value: cpu.childrenSeconds, unit: 'CPU s' },
    {
      case: 'ingest: sharp WebP thumbnails (libuv + libvips threads)',
      value: cpu.groups.sharp,
      unit: 'CPU s',
    },
    {
      case: 'embed: onnxruntime (inference worker + its intra-op threads)',
      value: cpu.groups.encoder,
      unit: 'CPU s',
    },
    { case: 'index: LanceDB (tokio + lance threads)', value: cpu.groups.lancedb, unit: 'CPU s' },
    {
      case: 'all stages: main thread (BullMQ, handlers, Redis, sha256, pixel normalisation)',
      value: cpu.groups.main,
      unit: 'CPU s',
    },
    { case: 'V8 platform threads (GC, compiler)', value: cpu.groups.v8, unit: 'CPU s' },
    {
      case: 'other threads, and threads that exited in the window',
      value: cpu.groups.other + cpu.unattributed,
      unit: 'CPU s',
    },
    {
      case: `bare ${m.precision} encoder, same ${bare.frames} frames (for comparison)`,
      value: bare.cpuSeconds,
      unit: 'CPU s',
    },
  ];
  const cores = os.availableParallelism();
  return {
    name: m.precision === 'fp32' ? 'pipeline-ingest-cpu' : `pipeline-ingest-cpu-${m.precision}`,
    baseline: 'all: this process + its ffmpeg/ffprobe children',
    rows,
    notes: [
      `${m.precision} image encoder, both passes (${m.passes.map((p) => `videos ${p.videos}`).join(', ')})`,
      `window ${f1(cpu.wallSeconds)} s (submit → finished seen), ${cores} cores = ${f1(cpu.wallSeconds * cores)} CPU s; the pipeline used ${f1(totalCpu)} (${coresOf(totalCpu, cpu.wallSeconds)} of one core), other processes ${f1(cpu.foreignSeconds)}`,
      `share of one core over the window: ffmpeg ${coresOf(cpu.childrenSeconds, cpu.wallSeconds)}, onnxruntime ${coresOf(cpu.groups.encoder, cpu.wallSeconds)}, main thread ${coresOf(cpu.groups.main, cpu.wallSeconds)}, sharp ${coresOf(cpu.groups.sharp, cpu.wallSeconds)}, LanceDB ${coresOf(cpu.groups.lancedb, cpu.wallSeconds)}`,
      `per video: all ${(totalCpu / VIDEO_COUNT).toFixed(2)} CPU s, ffmpeg ${(cpu.childrenSeconds / VIDEO_COUNT).toFixed(2)}, onnxruntime ${(cpu.groups.encoder / VIDEO_COUNT).toFixed(2)} (bare: ${(bare.cpuSeconds / VIDEO_COUNT).toFixed(2)})`,
      `other threads: ${others || 'none'}; exited in the window: ${f1(cpu.unattributed)} s`,
      "how: process.cpuUsage() for the process; cutime+cstime of /proc/self/stat for reaped children (ffmpeg, ffprobe); utime+stime of /proc/self/task/*/stat grouped by thread name (onnxruntime's threads inherit the inference worker's name); 10 ms ticks. Stages overlap in time, so CPU is split by who spent it, not by the stage windows; the main thread's share is not split by stage",
    ],
  };
}

const benchmark: Benchmark = {
  name: 'pipeline-ingest',
  async run(): Promise<BenchReport[]> {
    const modelDir = await benchModel();
    const int8 = await benchInt8Copies(modelDir);
    if (int8.quantizeSeconds > 0) {
      console.log(
        `  quantized ${path.basename(modelDir)} to int8 in ${f1(int8.quantizeSeconds)} s (not counted)`,
      );
    }
    const vision: Record<Precision, string> = {
      fp32: path.join(modelDir, 'onnx', 'vision_model.onnx'),
      int8: path.join(int8.imageDir, 'onnx', 'vision_model.onnx'),
    };
    const videos = await benchVideos({ dir: VIDEO_DIR, count: VIDEO_COUNT, ...VIDEO });
    // A short extra file outside the set warms each worker up (model load, first LanceDB table).
    const warmup = await benchVideos({ dir: VIDEO_DIR, count: 1, firstIndex: 50, ...VIDEO, seconds: 2 });
    const generated = videos.generated + warmup.generated;
    if (generated > 0) {
      console.log(
        `  generated ${generated} video(s) in ${f1(videos.generationSeconds + warmup.generationSeconds)} s (not counted)`,
      );
    }
    const frames = VIDEO_COUNT * FRAMES_PER_VIDEO;
    const loadAtStart = os.loadavg()[0]!;

    // The palindrome of the file header: every measurement has its mirror image on the other side of
    // the middle, so load that rises or falls steadily weighs on both precisions alike.
    const firstHalf = Math.min(frames, Math.ceil(frames / BATCH / 2) * BATCH);
    const bareHalves: Record<Precision, EncoderRun[]> = { fp32: [], int8: [] };
    /** Other processes' share of one core in each window, in order, for the notes. */
    const windows: string[] = [];
    const bare = async (precision: Precision, n: number, which: string) => {
      const run = await bareEncoder(vision[precision], n);
      bareHalves[precision].push(run);
      windows.push(`bare ${precision} ${coresOf(run.foreignSeconds, run.seconds)}`);
      console.log(`  bare ${precision} encoder, ${which} half: ${run.frames} frames in ${f1(run.seconds)} s`);
    };
    await bare('fp32', firstHalf, 'first');
    await bare('int8', firstHalf, 'first');
    const perPass = VIDEO_COUNT / 2;
    const passes: PassResult[] = [];
    let split: PassResult | undefined;
    for (const [precision, half] of [
      ['fp32', 0],
      ['int8', 0],
      ['int8', 1],
      ['fp32', 1],
    ] as const) {
      if (precision === 'int8' && half === 1) {
        // the middle of the palindrome: fp32 with the decoding done first, on all the videos
        console.log(
          '  pipeline fp32, decoding first (ingest-only worker, then embed + index): all videos...',
        );
        split = await pipelinePass({
          precision: 'fp32',
          modelDir,
          int8Dirs: int8.dirs,
          files: videos.files,
          videos: `1-${VIDEO_COUNT}`,
          warmupFile: warmup.files[0]!,
          mode: 'split',
        });
        windows.push(`split fp32 ${coresOf(split.cpu.foreignSeconds, split.cpu.wallSeconds)}`);
        console.log(
          `  pipeline fp32 split: sampled in ${f1(split.ingestOnlySeconds!)} s, embedded + indexed in ${f1(split.wallSeconds)} s`,
        );
      }
      const range = `${half * perPass + 1}-${(half + 1) * perPass}`;
      console.log(`  pipeline ${precision}: videos ${range}...`);
      const pass = await pipelinePass({
        precision,
        modelDir,
        int8Dirs: int8.dirs,
        files: videos.files.slice(half * perPass, (half + 1) * perPass),
        videos: range,
        warmupFile: warmup.files[0]!,
      });
      passes.push(pass);
      windows.push(`pipeline ${precision} ${coresOf(pass.cpu.foreignSeconds, pass.cpu.wallSeconds)}`);
      console.log(`  pipeline ${precision}: videos ${range} in ${f1(pass.wallSeconds)} s`);
    }
    await bare('int8', frames - firstHalf, 'second');
    await bare('fp32', frames - firstHalf, 'second');

    if (split === undefined) throw new Error('the split pass did not run');
    const fp32 = measure('fp32', bareHalves.fp32, passes);
    const splitPerMinute = (VIDEO_COUNT / split.wallSeconds) * 60;
    const splitCpu = split.cpu.processSeconds + split.cpu.childrenSeconds;
    const q8 = measure('int8', bareHalves.int8, passes);
    const speedup = q8.perMinute / fp32.perMinute;
    const bareSpeedup = q8.ceilingPerMinute / fp32.ceilingPerMinute;
    const concurrency = passes[0]!.concurrency;
    const bareNote = (m: Measured) =>
      `bare ${m.precision} encoder: ${m.bare.frames} frames in ${f1(m.bare.seconds)} s = ${fps(m.bare.frames, m.bare.seconds)} frames/s (${m.bareHalves.map((run) => fps(run.frames, run.seconds)).join(' and ')} in its two halves) → ${f1(m.ceilingPerMinute)} videos/min`;
    const pipelineNote = (m: Measured) =>
      `pipeline ${m.precision}: ${m.passes.map((p) => `videos ${p.videos} in ${f1(p.wallSeconds)} s`).join(', ')} submit → finished (${f1(m.submitSeconds)} s of it hashing the files in submit) = ${fps(frames, m.wallSeconds)} frames/s`;
    const ceilingNote = (m: Measured, goal: boolean) => {
      const ratio = m.perMinute / m.ceilingPerMinute;
      const verdict = goal ? ` (goal ≥ ${GOAL}): ${ratio >= GOAL ? 'met' : 'NOT met'}` : ' (no goal)';
      const skewed =
        m.foreignShare > FOREIGN_LIMIT
          ? ` — but other processes took ${(m.foreignShare * 100).toFixed(0)}% of the machine in one of its windows, which skews the wall-clock ratio: rerun on an idle machine, and see the CPU-normalised ratio`
          : '';
      return `${m.precision} pipeline ÷ its bare encoder ${ratio.toFixed(3)}${verdict}${skewed}`;
    };
    const cpuNote = (m: Measured) => {
      const total = m.cpu.processSeconds + m.cpu.childrenSeconds;
      return `${m.precision} CPU cost: the bare encoder spent ${f1(m.bare.cpuSeconds)} CPU s on these frames, the pipeline ${f1(total)} on the whole batch: CPU-normalised ratio ${(m.bare.cpuSeconds / total).toFixed(3)}`;
    };
    const calibration = int8.calibration.image;

    return [
      {
        name: 'pipeline-ingest',
        baseline: 'reel pipeline fp32, submit → batch finished',
        rows: [
          { case: 'reel pipeline fp32, submit → batch finished', value: fp32.perMinute, unit: 'videos/min' },
          {
            case: 'reel pipeline int8 image encoder, submit → batch finished',
            value: q8.perMinute,
            unit: 'videos/min',
          },
          {
            case: 'bare encoder ceiling fp32 (onnxruntime session, batch 8)',
            value: fp32.ceilingPerMinute,
            unit: 'videos/min',
          },
          {
            case: 'bare encoder ceiling int8 (onnxruntime session, batch 8)',
            value: q8.ceilingPerMinute,
            unit: 'videos/min',
          },
          {
            case: 'reel embed + index stages fp32, frames sampled beforehand (worker start → finished)',
            value: splitPerMinute,
            unit: 'videos/min',
          },
          {
            case: 'reel ingest stage alone (ffmpeg sampling, thumbnails), all cores',
            value: (VIDEO_COUNT / split.ingestOnlySeconds!) * 60,
            unit: 'videos/min',
          },
          {
            case: 'reel pipeline fp32, enqueued (files hashed) → batch finished',
            value: (VIDEO_COUNT / fp32.fromEnqueueSeconds) * 60,
            unit: 'videos/min',
          },
          {
            case: 'reel pipeline int8, enqueued (files hashed) → batch finished',
            value: (VIDEO_COUNT / q8.fromEnqueueSeconds) * 60,
            unit: 'videos/min',
          },
        ],
        notes: [
          `int8 ÷ fp32: pipeline ${speedup.toFixed(3)}, bare encoder ${bareSpeedup.toFixed(3)}`,
          `${VIDEO_COUNT} videos per precision, ${VIDEO.seconds} s ${VIDEO.width}×${VIDEO.height} H.264 ${VIDEO.fps} fps (GOP 250), ${FRAMES_PER_VIDEO} frames each = ${frames} frames; ViT-B/32-shaped random encoder, ${cpuSessionOptions({ poolSize: 1 }).intraOpNumThreads} intra-op threads, batch ${BATCH}`,
          `int8: ${path.basename(int8.imageDir)} (quantizeModel, ${int8.calibration.format}, ${calibration.quantizedLayers} int8 layers, ${calibration.keptLayers.length} kept fp32; image cosine to fp32 over ${int8.calibration.items.images} generated images: p1 ${calibration.p1.toFixed(4)}), picked by the worker from REEL_IMAGE_PRECISION=int8; the worker's log: "${q8.passes[0]!.activeModel}"`,
          `order (a palindrome, so load that rises or falls steadily weighs on both precisions alike): bare fp32 and bare int8 on ${firstHalf} frames; pipeline fp32 videos 1-${perPass}, int8 1-${perPass}, int8 ${perPass + 1}-${VIDEO_COUNT}, fp32 ${perPass + 1}-${VIDEO_COUNT} (each pass its own worker, data folder and queue prefix, batch of ${perPass}); bare int8 and bare fp32 on ${frames - firstHalf} frames`,
          bareNote(fp32),
          bareNote(q8),
          pipelineNote(fp32),
          pipelineNote(q8),
          ceilingNote(fp32, true),
          `decoding elsewhere (split pass, fp32, all ${VIDEO_COUNT} videos): an ingest-only worker sampled them in ${f1(split.ingestOnlySeconds!)} s; then an embed + index worker (${f1(split.embedWorkerStartSeconds!)} s to start, counted) embedded and indexed them in ${f1(split.wallSeconds)} s = ${f1(splitPerMinute)} videos/min, ${(splitPerMinute / fp32.ceilingPerMinute).toFixed(3)} of the fp32 ceiling (goal ≥ ${GOAL} for the whole pipeline); CPU ${f1(splitCpu)} s against the bare encoder's ${f1(fp32.bare.cpuSeconds)} (onnxruntime ${f1(split.cpu.groups.encoder)}, LanceDB ${f1(split.cpu.groups.lancedb)}, main thread ${f1(split.cpu.groups.main)}). What the embed stage reaches when \`reel worker --queues ingest\` runs on other cores or machines`,
          ceilingNote(q8, false),
          `${cpuNote(fp32)}; ${cpuNote(q8)} (what the ratio would be if both kept the cores equally busy: on a shared machine the pipeline's many threads win a larger share of the cores than the encoder's two)`,
          `concurrency ingest ${concurrency.ingest}, embed ${concurrency.embed}, index ${concurrency.index}; per pass, worker start ${passes.map((p) => f1(p.workerStartSeconds)).join(' / ')} s and a 2 s warm-up video ${passes.map((p) => f1(p.warmupSeconds)).join(' / ')} s before the timed batch (model load, first LanceDB table), not counted`,
          `shared machine: other processes used, of one core, ${windows.join(', ')}; 1-min load average ${loadAtStart.toFixed(2)} at the start, ${os.loadavg()[0]!.toFixed(2)} at the end`,
        ],
      },
      {
        name: 'pipeline-ingest-stages',
        rows: STAGES.flatMap((stage) =>
          [fp32, q8].flatMap((m) => [
            { case: `${stage}: mean per video, ${m.precision}`, value: m.stages[stage].mean, unit: 's' },
            { case: `${stage}: sum over videos, ${m.precision}`, value: m.stages[stage].sum, unit: 's' },
          ]),
        ),
        notes: [
          "from each video's stage start/end in the batch status; a stage's time includes waiting inside it (embed: for the shared encoder; all: for the cores), not the wait in the queue before it",
          ...[fp32, q8].flatMap((m) =>
            STAGES.map(
              (stage) =>
                `${m.precision} ${stage}: ${m.stages[stage].count} videos, first start → last end ${f1(m.stages[stage].span)} s over both batches; on average ${(m.stages[stage].sum / m.wallSeconds).toFixed(2)} videos in it at once over the ${f1(m.wallSeconds)} s`,
            ),
          ),
        ],
      },
      cpuReport(fp32),
      cpuReport(q8),
    ];
  },
};

export default benchmark;
