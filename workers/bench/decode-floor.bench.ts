/**
 * `ingest-decode-floor`: how close the ingest pipeline gets to the floor that decoding and encoding set
 * on realistic videos, per sampling precision, against the code of commit 6acd0ab ("today"), in one run.
 *
 *   npm run bench -- decode-floor
 *   DECODE_FLOOR_REALISTIC=2 DECODE_FLOOR_PHONE=2 DECODE_FLOOR_LONG=1 DECODE_FLOOR_LONG_SECONDS=60 \
 *     DECODE_FLOOR_TODAY=2 npm run bench -- decode-floor
 *
 * The second is a check run: about 7 min on 2 shared cores once its videos exist (making them the first
 * time: 10-12 min, most of it the two 1080p files).
 *
 * Environment (defaults in brackets; with the defaults the run takes about 25 min on 2 cores once the
 * videos exist; making them the first time, not counted: roughly 20 min more on idle cores):
 * - `DECODE_FLOOR_TODAY` [16], `DECODE_FLOOR_REALISTIC` [16], `DECODE_FLOOR_PHONE` [4], `DECODE_FLOOR_LONG`
 *   [1]: videos per set (0 leaves a set out).
 * - `DECODE_FLOOR_LONG_SECONDS` [600]: length of the long videos (a shorter one is another file).
 * - `DECODE_FLOOR_LONG_PRESET` [faster]: x264 preset of the long videos (see below).
 * - `DECODE_FLOOR_REPS` [3]: repetitions of the decode measurement.
 * - `REEL_REDIS_URL`: the Redis of the pipeline passes (default: the config's, 127.0.0.1:6379).
 *
 * Video sets, made once (timed apart, not counted) and reused; each file's pixels differ (hue turned by
 * 7° per index) because the pipeline dedupes by content hash:
 * - "today's recipe": bench-videos.ts's files (testsrc2, 30 s 1280×720 25 fps, x264 ultrafast, GOP 250),
 *   the same files as ingest.bench.ts in `<repo>/.reel/bench-videos/ingest/`.
 * - "realistic 720p": 30 s 1280×720 25 fps, libx264 `-preset medium -profile:v high -bf 3` (x264's
 *   default B-pyramid), `-g 250`, CRF 23 capped at 4 Mbit/s (VBV); content: testsrc2 drawn larger and
 *   panned across by a moving crop (motion in every block) under temporal grain (`noise=alls=6:allf=t`).
 * - "phone 1080p": the same content at 30 s 1920×1080 30 fps, High, 3 B-frames, `-g 60`, capped at
 *   16 Mbit/s (a phone's H.264 rate).
 * - "long 720p": the realistic 720p recipe for 10 min; x264 `faster`, not `medium`: medium encodes this
 *   content at 7.6 CPU s per 4 s of video here, some 19 CPU min for the file: over 5 min of wall time on
 *   2 cores (faster: about 0.4× of that).
 * All but today's recipe are in `<repo>/.reel/bench-videos/realistic/` (gitignored), written under a
 * hidden `.partial` name and renamed.
 *
 * What is measured:
 * 1. Decode CPU per precision: for each set and each of `exact`, `fast`, `keyframes`, `sampleVideo` from
 *    @reel/ingest alone in this process (12 uniform frames at 224 px, the pipeline's decoder threads, no
 *    thumbnails), CPU of its ffmpeg/ffprobe children (cutime + cstime of /proc/self/stat, before and
 *    after) per video; `DECODE_FLOOR_REPS` repetitions interleaved (every video and precision once per
 *    round, the precisions' order rotated per round); per video the minimum and the median of its
 *    repetitions, averaged over the set.
 * 2. The pipeline end to end, per set: videos/min (submit → batch finished) and CPU seconds per video by
 *    who spent them (ffmpeg/ffprobe children; onnxruntime, the `reel-inference*` threads; the main thread;
 *    LanceDB, `tokio*`/`lance*`; sharp, libuv + libvips; V8; other), and per stage wall time from the batch
 *    status, for three versions: "today" (the worktree `<repo>/.reel/bench-baseline/6acd0ab`, made once
 *    with `git worktree add` and `ONNXRUNTIME_NODE_INSTALL=skip npm ci`, its own node_modules so its
 *    @reel/* links point at its own sources), "now-exact" (this tree, `REEL_SAMPLING_PRECISION=exact`) and
 *    "now-fast" (`REEL_SAMPLING_PRECISION=fast`). Each pass runs in a child process (pipeline-pass.ts,
 *    copied into the worktree for today, run by that tree's own node) with its own data folder, models
 *    folder (a link to the bench model), queue prefix and worker; a 2 s warm-up video first, not counted;
 *    its Redis keys and data folder are removed after. The ViT-B/32-shaped fp32 model of bench-model.ts
 *    (`REEL_IMAGE_PRECISION=fp32`). Per set the passes are a palindrome: today, now-exact, now-fast on the
 *    first half of the videos, then now-fast, now-exact, today on the second half (a set of one video: one
 *    pass each), so load that rises or falls weighs on all three alike.
 * 3. The bare encoder: one onnxruntime session with the pool's options (cpu-usage.ts's bareEncoder) on as
 *    many frames as each pass (12 per video), in the middle of each set's palindrome: CPU s per frame.
 *    Twice, no spinning either time (as the pipeline's pool): with the intra-op threads of this tree's
 *    pool (`encoderThreads`: one beside the decoder unless REEL_ENCODER_THREADS says otherwise; the floor)
 *    and with those of 6acd0ab's pool (one per core).
 * 4. Verdicts on the realistic sets for the default precision (fast): pipeline CPU per video ÷ (fast
 *    decode CPU per video + the bare encoder's CPU for 12 frames), goal ≤ 1.2; videos/min now-fast ÷
 *    today, goal ≥ 1.5; and the encoder's CPU per frame in the pipeline ÷ bare.
 */

import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Benchmark, type BenchReport, type BenchRow, loadConfig, type ReelConfig } from '@reel/infra';
import { type SampleVideoOptions, type SampleVideoResult, sampleVideo } from '@reel/ingest';
import { cpuSessionOptions } from '@reel/models';
import { decoderThreads } from '../src/adapters/ingest-sampler.ts';
import { STAGES } from '../src/jobs.ts';
import { encoderThreads } from '../src/pipeline.ts';
import { benchModel } from './bench-model.ts';
import { deleteKeys } from './bench-redis.ts';
import { benchVideos, makeMissing } from './bench-videos.ts';
import { BATCH, bareEncoder, type EncoderRun, reapedChildrenSeconds, type ThreadGroup } from './cpu-usage.ts';
import type { PassOutput, PassSpec } from './pipeline-pass.ts';

const execFileAsync = promisify(execFile);

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TODAY_DIR = path.join(ROOT, '.reel', 'bench-videos', 'ingest');
const REALISTIC_DIR = path.join(ROOT, '.reel', 'bench-videos', 'realistic');
const BASELINE_COMMIT = '6acd0ab';
const BASELINE_DIR = path.join(ROOT, '.reel', 'bench-baseline', BASELINE_COMMIT);

/** Frames sampled per video: the pipeline's default (REEL_FRAMES_PER_VIDEO). */
const FRAMES_PER_VIDEO = 12;
const FRAME_SIZE = 224;
const PRECISIONS = ['exact', 'fast', 'keyframes'] as const;
type Precision = (typeof PRECISIONS)[number];
const VARIANTS = ['today', 'now-exact', 'now-fast'] as const;
type Variant = (typeof VARIANTS)[number];
/** The bare encoder with the intra-op threads of this tree's pool, and of 6acd0ab's (no spinning in both). */
const BARE_MODES = ['now', 'today'] as const;
type BareMode = (typeof BARE_MODES)[number];
/** Goals of the verdicts. */
const FLOOR_GOAL = 1.2;
const SPEEDUP_GOAL = 1.5;
/** A pass that has not finished by then has a problem no figure would show. */
const PASS_TIMEOUT_MS = 30 * 60_000;

function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}=${raw}: expected a whole number ≥ 0`);
  return value;
}

/** A recipe of realistic videos (x264 High with B-frames, textured moving content). */
interface RealisticRecipe {
  kind: string;
  width: number;
  height: number;
  fps: number;
  seconds: number;
  gop: number;
  preset: string;
  /** VBV cap, Mbit/s (CRF 23 under it). */
  maxMbps: number;
}

function realisticName(recipe: RealisticRecipe, index: number): string {
  return `${recipe.kind}-${recipe.width}x${recipe.height}-${recipe.fps}fps-${recipe.seconds}s-g${recipe.gop}-${recipe.preset}-${recipe.maxMbps}M-${String(index).padStart(2, '0')}.mp4`;
}

/** The lavfi graph: testsrc2 a quarter larger, a crop moving over it (a pan in both axes), grain, hue. */
function realisticSource(recipe: RealisticRecipe, index: number): string {
  const w = recipe.width;
  const h = recipe.height;
  const big = `${Math.round((w * 1.25) / 2) * 2}x${Math.round((h * 1.25) / 2) * 2}`;
  return [
    `testsrc2=size=${big}:rate=${recipe.fps}:duration=${recipe.seconds}`,
    `crop=${w}:${h}:x='(iw-ow)/2*(1+sin(t*0.9))':y='(ih-oh)/2*(1+cos(t*0.6))'`,
    `noise=alls=6:allf=t:all_seed=${1000 + index}`,
    `hue=h=${(index * 7) % 360}`,
  ].join(',');
}

async function makeRealistic(recipe: RealisticRecipe, index: number, file: string): Promise<void> {
  const partial = path.join(path.dirname(file), `.${path.basename(file)}.partial`);
  await execFileAsync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-y',
      '-nostdin',
      '-f',
      'lavfi',
      '-i',
      realisticSource(recipe, index),
      '-c:v',
      'libx264',
      '-preset',
      recipe.preset,
      '-profile:v',
      'high',
      '-bf',
      '3',
      '-g',
      String(recipe.gop),
      '-crf',
      '23',
      '-maxrate',
      `${recipe.maxMbps}M`,
      '-bufsize',
      `${recipe.maxMbps * 2}M`,
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      partial,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  renameSync(partial, file);
}

/** The recipe's `count` files (indices 0..count-1), making the missing ones, one per core at a time. */
async function realisticVideos(
  recipe: RealisticRecipe,
  count: number,
): Promise<{ files: string[]; generated: number; generationSeconds: number }> {
  mkdirSync(REALISTIC_DIR, { recursive: true });
  const files = Array.from({ length: count }, (_, i) => path.join(REALISTIC_DIR, realisticName(recipe, i)));
  const made = await makeMissing(
    files.map((file, index) => ({ file, index })),
    (index, file) => makeRealistic(recipe, index, file),
  );
  return { files, ...made };
}

/** The baseline worktree at 6acd0ab with its own node_modules, made when missing. */
async function baselineTree(): Promise<{ dir: string; node: string; madeSeconds: number }> {
  const node = path.join(BASELINE_DIR, 'node_modules', '.bin', 'node');
  const started = performance.now();
  if (!existsSync(path.join(BASELINE_DIR, '.git'))) {
    mkdirSync(path.dirname(BASELINE_DIR), { recursive: true });
    await execFileAsync('git', ['-C', ROOT, 'worktree', 'add', '--detach', BASELINE_DIR, BASELINE_COMMIT]);
  }
  const head = (await execFileAsync('git', ['-C', BASELINE_DIR, 'rev-parse', 'HEAD'])).stdout.trim();
  if (!head.startsWith(BASELINE_COMMIT)) {
    throw new Error(`${BASELINE_DIR} is at ${head}, not ${BASELINE_COMMIT}: remove it (git worktree remove)`);
  }
  if (!existsSync(node) || !existsSync(path.join(BASELINE_DIR, 'node_modules', '@reel', 'workers'))) {
    console.log(
      `  installing the baseline's node_modules (npm ci in ${path.relative(ROOT, BASELINE_DIR)})...`,
    );
    await execFileAsync('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: BASELINE_DIR,
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
      maxBuffer: 64 * 1024 * 1024,
    });
  }
  // This run's pass script, in the old tree (it uses only what both versions have).
  for (const file of ['pipeline-pass.ts', 'cpu-usage.ts']) {
    copyFileSync(path.join(import.meta.dirname, file), path.join(BASELINE_DIR, 'workers', 'bench', file));
  }
  return { dir: BASELINE_DIR, node, madeSeconds: (performance.now() - started) / 1000 };
}

interface VideoSet {
  key: string;
  title: string;
  /** What the files are, for the notes. */
  recipe: string;
  files: string[];
  /** Counted in the verdicts (realistic content). */
  realistic: boolean;
}

// ---------------------------------------------------------------------------------------------------
// 1. Decode CPU per precision

interface DecodeSample {
  cpu: number;
  wall: number;
  plan: string;
  /** What the result says it did (undefined: a version of sampleVideo without `precision`). */
  precision: string | undefined;
  warnings: number;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function decodeOnce(
  file: string,
  precision: Precision,
  config: ReelConfig,
  threads: number,
): Promise<DecodeSample> {
  // As the pipeline's sampler calls it (limits, binaries, timeout, decoder threads from config), without
  // thumbnails.
  const base: SampleVideoOptions = {
    strategy: { kind: 'uniform', count: FRAMES_PER_VIDEO },
    size: FRAME_SIZE,
    limits: {
      maxVideoSeconds: config.maxVideoSeconds,
      maxVideoPixels: config.maxVideoPixels,
      maxVideoBytes: config.maxVideoBytes,
    },
    binaries: { ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath },
    timeoutMs: config.ffmpegTimeoutSeconds * 1000,
    decoderThreads: threads,
  };
  // `precision` is new in SampleVideoOptions and its result: cast, so this compiles either side of it.
  const options = { ...base, precision } as SampleVideoOptions;
  const before = reapedChildrenSeconds();
  const started = performance.now();
  const result = (await sampleVideo(file, options)) as SampleVideoResult & { precision?: string };
  const wall = (performance.now() - started) / 1000;
  const cpu = reapedChildrenSeconds() - before;
  if (result.frames.length !== FRAMES_PER_VIDEO) {
    throw new Error(`${file} (${precision}): ${result.frames.length} frames, not ${FRAMES_PER_VIDEO}`);
  }
  return { cpu, wall, plan: result.plan, precision: result.precision, warnings: result.warnings.length };
}

/** Per set and precision, per video, the samples of its repetitions. */
type DecodeResults = Map<string, Record<Precision, DecodeSample[][]>>;

async function measureDecodes(
  sets: readonly VideoSet[],
  reps: number,
  config: ReelConfig,
  threads: number,
): Promise<DecodeResults> {
  const results: DecodeResults = new Map(
    sets.map((set) => [
      set.key,
      Object.fromEntries(PRECISIONS.map((p) => [p, set.files.map(() => [] as DecodeSample[])])) as Record<
        Precision,
        DecodeSample[][]
      >,
    ]),
  );
  for (let rep = 0; rep < reps; rep++) {
    const order = PRECISIONS.map((_, i) => PRECISIONS[(i + rep) % PRECISIONS.length]!);
    const started = performance.now();
    for (const set of sets) {
      for (const [v, file] of set.files.entries()) {
        for (const precision of order)
          results.get(set.key)![precision][v]!.push(await decodeOnce(file, precision, config, threads));
      }
    }
    console.log(
      `  decode round ${rep + 1}/${reps} (${order.join(', ')}) in ${f1((performance.now() - started) / 1000)} s`,
    );
  }
  return results;
}

interface DecodeFigures {
  /** Mean over the set's videos of each video's minimum / median CPU s. */
  minCpu: number;
  medianCpu: number;
  medianWall: number;
  plans: string;
  precisions: string;
  warnings: number;
}

/** "a ×2, b ×1": how often each value occurs, in order of first appearance. */
function tally(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, n]) => `${value} ×${n}`).join(', ');
}

function decodeFigures(samples: DecodeSample[][]): DecodeFigures {
  const all = samples.flat();
  return {
    minCpu: mean(samples.map((reps) => Math.min(...reps.map((s) => s.cpu)))),
    medianCpu: mean(samples.map((reps) => median(reps.map((s) => s.cpu)))),
    medianWall: mean(samples.map((reps) => median(reps.map((s) => s.wall)))),
    plans: tally(all.map((s) => s.plan)),
    precisions: tally(all.map((s) => s.precision ?? '(not reported)')),
    warnings: all.reduce((total, s) => total + s.warnings, 0),
  };
}

// ---------------------------------------------------------------------------------------------------
// 2-3. Pipeline passes in child processes, the bare encoder between them

interface Pass extends PassOutput {
  variant: Variant;
  set: string;
}

/** Runs pipeline-pass.ts with `node` on `script`, returns its JSON line. */
function runChild(node: string, script: string, spec: PassSpec): Promise<PassOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [script, JSON.stringify(spec)], {
      cwd: path.dirname(script),
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs + 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1);
      if (code !== 0 || line === undefined) {
        reject(
          new Error(
            `${spec.label}: pass exited ${code ?? signal}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
        return;
      }
      resolve(JSON.parse(line) as PassOutput);
    });
  });
}

interface Runner {
  node: string;
  script: string;
  env: Record<string, string>;
}

async function pipelinePass(
  runner: Runner,
  variant: Variant,
  set: VideoSet,
  files: string[],
  context: { modelDir: string; warmupFile: string; redisUrl: string },
): Promise<Pass> {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'reel-bench-decode-floor-'));
  const queuePrefix = `{bench-${randomUUID().slice(0, 8)}}`;
  const label = `${set.key} ${variant} (${files.length} videos)`;
  try {
    const output = await runChild(runner.node, runner.script, {
      label,
      files,
      warmupFile: context.warmupFile,
      modelDir: context.modelDir,
      dataDir: path.join(dataRoot, 'data'),
      queuePrefix,
      env: runner.env,
      timeoutMs: PASS_TIMEOUT_MS,
    });
    console.log(
      `  ${label}: ${f1(output.wallSeconds)} s, ${f1(output.cpu.processSeconds + output.cpu.childrenSeconds)} CPU s`,
    );
    return { ...output, variant, set: set.key };
  } finally {
    await deleteKeys(context.redisUrl, queuePrefix);
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

/** One variant's passes of one set, added up. */
interface PipelineFigures {
  videos: number;
  wallSeconds: number;
  perMinute: number;
  /** CPU s per video by kind, and all of it. */
  perVideo: Record<'children' | ThreadGroup | 'unattributed' | 'all', number>;
  foreignShare: number;
  /** Mean wall s per video in each stage. */
  stageMeans: Record<string, number>;
  samplingPrecision: string;
  /** How the batch status says its videos were sampled, tallied. */
  sampling: string;
  passes: Pass[];
}

function pipelineFigures(passes: Pass[]): PipelineFigures {
  const videos = passes.reduce((n, p) => n + p.videos, 0);
  const wallSeconds = passes.reduce((n, p) => n + p.wallSeconds, 0);
  const sum = (pick: (p: Pass) => number) => passes.reduce((total, p) => total + pick(p), 0) / videos;
  const groups = ['encoder', 'main', 'sharp', 'lancedb', 'v8', 'other'] as const;
  const perVideo = {
    children: sum((p) => p.cpu.childrenSeconds),
    ...(Object.fromEntries(groups.map((g) => [g, sum((p) => p.cpu.groups[g])])) as Record<
      ThreadGroup,
      number
    >),
    unattributed: sum((p) => p.cpu.unattributed),
    all: sum((p) => p.cpu.processSeconds + p.cpu.childrenSeconds),
  };
  const stageMeans: Record<string, number> = {};
  for (const stage of STAGES) {
    const spans = passes
      .flatMap((p) => p.stages)
      .map((s) => s[stage])
      .filter(
        (s): s is { startedAt: number; endedAt: number } =>
          s?.startedAt !== undefined && s.endedAt !== undefined,
      );
    stageMeans[stage] = spans.length ? mean(spans.map((s) => (s.endedAt - s.startedAt) / 1000)) : Number.NaN;
  }
  const cpuWall = passes.reduce((n, p) => n + p.cpu.wallSeconds, 0);
  return {
    videos,
    wallSeconds,
    perMinute: (videos / wallSeconds) * 60,
    perVideo,
    foreignShare: passes.reduce((n, p) => n + p.cpu.foreignSeconds, 0) / cpuWall / os.availableParallelism(),
    stageMeans,
    samplingPrecision: [...new Set(passes.map((p) => p.samplingPrecision ?? '(no setting)'))].join('/'),
    sampling: tally(passes.flatMap((p) => p.sampling.map((s) => s ?? '(not in the status)'))),
    passes,
  };
}

// ---------------------------------------------------------------------------------------------------

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

const KIND_ROWS: { key: keyof PipelineFigures['perVideo']; title: string }[] = [
  { key: 'all', title: 'all (process + children)' },
  { key: 'children', title: 'ffmpeg/ffprobe children' },
  { key: 'encoder', title: 'onnxruntime (reel-inference*)' },
  { key: 'main', title: 'main thread' },
  { key: 'lancedb', title: 'LanceDB (tokio*/lance*)' },
  { key: 'sharp', title: 'sharp/libuv (libuv-worker, libvips)' },
  { key: 'v8', title: 'V8 platform threads' },
  { key: 'other', title: 'other threads' },
  { key: 'unattributed', title: 'threads that exited in the window' },
];

const benchmark: Benchmark = {
  name: 'ingest-decode-floor',
  async run(): Promise<BenchReport[]> {
    const counts = {
      today: envCount('DECODE_FLOOR_TODAY', 16),
      realistic: envCount('DECODE_FLOOR_REALISTIC', 16),
      phone: envCount('DECODE_FLOOR_PHONE', 4),
      long: envCount('DECODE_FLOOR_LONG', 1),
    };
    const longSeconds = envCount('DECODE_FLOOR_LONG_SECONDS', 600);
    const longPreset = process.env.DECODE_FLOOR_LONG_PRESET || 'faster';
    const reps = Math.max(1, envCount('DECODE_FLOOR_REPS', 3));
    const loadAtStart = os.loadavg()[0]!;
    const runStarted = performance.now();

    // Inputs (timed apart).
    const modelStarted = performance.now();
    const modelDir = await benchModel();
    const modelSeconds = (performance.now() - modelStarted) / 1000;
    const baseline = await baselineTree();
    const TODAY = { seconds: 30, width: 1280, height: 720, fps: 25 } as const;
    const recipes: Record<'realistic' | 'phone' | 'long', RealisticRecipe> = {
      realistic: {
        kind: 'pan-grain',
        width: 1280,
        height: 720,
        fps: 25,
        seconds: 30,
        gop: 250,
        preset: 'medium',
        maxMbps: 4,
      },
      phone: {
        kind: 'pan-grain',
        width: 1920,
        height: 1080,
        fps: 30,
        seconds: 30,
        gop: 60,
        preset: 'medium',
        maxMbps: 16,
      },
      long: {
        kind: 'pan-grain',
        width: 1280,
        height: 720,
        fps: 25,
        seconds: longSeconds,
        gop: 250,
        preset: longPreset,
        maxMbps: 4,
      },
    };
    const generation: string[] = [];
    const today = await benchVideos({ dir: TODAY_DIR, count: counts.today, ...TODAY });
    const warmup = await benchVideos({ dir: TODAY_DIR, count: 1, firstIndex: 50, ...TODAY, seconds: 2 });
    generation.push(
      `today's recipe ${today.generated + warmup.generated} in ${f1(today.generationSeconds + warmup.generationSeconds)} s`,
    );
    const made: Record<string, { files: string[] }> = {};
    for (const key of ['realistic', 'phone', 'long'] as const) {
      const set = await realisticVideos(recipes[key], counts[key]);
      made[key] = set;
      generation.push(`${key} ${set.generated} in ${f1(set.generationSeconds)} s`);
      if (set.generated > 0)
        console.log(
          `  generated ${set.generated} ${key} video(s) in ${f1(set.generationSeconds)} s (not counted)`,
        );
    }
    const recipeText = (r: RealisticRecipe) =>
      `${r.seconds} s ${r.width}×${r.height} ${r.fps} fps, x264 ${r.preset} High, 3 B-frames (b-pyramid), GOP ${r.gop}, CRF 23 ≤ ${r.maxMbps} Mbit/s, panned testsrc2 + grain`;
    const sets: VideoSet[] = [
      {
        key: 'today',
        title: "today's recipe",
        recipe: `${TODAY.seconds} s ${TODAY.width}×${TODAY.height} ${TODAY.fps} fps testsrc2, x264 ultrafast, GOP 250 (bench-videos.ts)`,
        files: today.files,
        realistic: false,
      },
      {
        key: 'realistic',
        title: 'realistic 720p',
        recipe: recipeText(recipes.realistic),
        files: made.realistic!.files,
        realistic: true,
      },
      {
        key: 'phone',
        title: 'phone 1080p',
        recipe: recipeText(recipes.phone),
        files: made.phone!.files,
        realistic: true,
      },
      {
        key: 'long',
        title: 'long 720p',
        recipe: recipeText(recipes.long),
        files: made.long!.files,
        realistic: true,
      },
    ].filter((set) => set.files.length > 0);
    if (sets.length === 0) throw new Error('every set is empty: set DECODE_FLOOR_* to at least 1');
    const inputsSeconds = (performance.now() - runStarted) / 1000;

    const config = loadConfig(
      { REEL_DATA_DIR: path.join(os.tmpdir(), 'reel-bench-decode-floor-config') },
      os.tmpdir(),
    );
    const redisUrl = process.env.REEL_REDIS_URL ?? config.redisUrl;
    const threads = decoderThreads(config);
    const bareThreads: Record<BareMode, number> = {
      now: encoderThreads(config),
      today: cpuSessionOptions({ poolSize: 1 }).intraOpNumThreads,
    };

    // 1. Decode CPU per precision.
    const decodeStarted = performance.now();
    const decodes = await measureDecodes(sets, reps, config, threads);
    const decodeSeconds = (performance.now() - decodeStarted) / 1000;
    const decodeOf = new Map(
      sets.map((set) => [
        set.key,
        Object.fromEntries(PRECISIONS.map((p) => [p, decodeFigures(decodes.get(set.key)![p])])) as Record<
          Precision,
          DecodeFigures
        >,
      ]),
    );

    // 2-3. Pipeline passes, each set a palindrome with the bare encoder in its middle.
    const runners: Record<Variant, Runner> = {
      today: {
        node: baseline.node,
        script: path.join(baseline.dir, 'workers', 'bench', 'pipeline-pass.ts'),
        env: {},
      },
      'now-exact': {
        node: path.join(ROOT, 'node_modules', '.bin', 'node'),
        script: path.join(import.meta.dirname, 'pipeline-pass.ts'),
        env: { REEL_SAMPLING_PRECISION: 'exact' },
      },
      'now-fast': {
        node: path.join(ROOT, 'node_modules', '.bin', 'node'),
        script: path.join(import.meta.dirname, 'pipeline-pass.ts'),
        env: { REEL_SAMPLING_PRECISION: 'fast' },
      },
    };
    const vision = path.join(modelDir, 'onnx', 'vision_model.onnx');
    const context = { modelDir, warmupFile: warmup.files[0]!, redisUrl };
    const passes: Pass[] = [];
    /** Per set, the bare encoder's runs with this tree's pool threads and with 6acd0ab's. */
    const bare = new Map<string, Record<BareMode, EncoderRun[]>>();
    const order: string[] = [];
    const pipelineStarted = performance.now();
    for (const set of sets) {
      const half = Math.ceil(set.files.length / 2);
      const halves = set.files.length >= 2 ? [set.files.slice(0, half), set.files.slice(half)] : [set.files];
      const runs: Record<BareMode, EncoderRun[]> = { now: [], today: [] };
      bare.set(set.key, runs);
      const steps: string[] = [];
      for (const variant of VARIANTS) {
        passes.push(await pipelinePass(runners[variant], variant, set, halves[0]!, context));
        steps.push(`${variant} 1-${halves[0]!.length}`);
      }
      for (const [i, files] of halves.entries()) {
        // Mirrored too: now, today on the first half's frames; today, now on the second's.
        for (const mode of i === 0 ? BARE_MODES : [...BARE_MODES].reverse()) {
          const run = await bareEncoder(vision, files.length * FRAMES_PER_VIDEO, {
            allowSpinning: false,
            intraOpNumThreads: bareThreads[mode],
          });
          runs[mode].push(run);
          steps.push(`bare ${mode} ${run.frames} frames`);
          console.log(
            `  ${set.key} bare encoder (${mode}): ${run.frames} frames in ${f1(run.seconds)} s, ${f1(run.cpuSeconds)} CPU s`,
          );
        }
      }
      if (halves[1]) {
        for (const variant of [...VARIANTS].reverse()) {
          passes.push(await pipelinePass(runners[variant], variant, set, halves[1], context));
          steps.push(`${variant} ${half + 1}-${set.files.length}`);
        }
      }
      order.push(`${set.key}: ${steps.join(', ')}`);
    }
    const pipelineSeconds = (performance.now() - pipelineStarted) / 1000;

    const pipe = new Map(
      sets.map((set) => [
        set.key,
        Object.fromEntries(
          VARIANTS.map((v) => [
            v,
            pipelineFigures(passes.filter((p) => p.set === set.key && p.variant === v)),
          ]),
        ) as Record<Variant, PipelineFigures>,
      ]),
    );
    const barePerFrame = (key: string, mode: BareMode = 'now') => {
      const runs = bare.get(key)![mode];
      return runs.reduce((n, r) => n + r.cpuSeconds, 0) / runs.reduce((n, r) => n + r.frames, 0);
    };

    // Reports.
    const summaryRows: BenchRow[] = [];
    const verdicts: string[] = [];
    for (const set of sets) {
      const p = pipe.get(set.key)!;
      for (const v of VARIANTS)
        summaryRows.push({
          case: `${set.title}: ${v}, submit → finished`,
          value: p[v].perMinute,
          unit: 'videos/min',
        });
      summaryRows.push({
        case: `${set.title}: now-fast ÷ today, videos/min`,
        value: p['now-fast'].perMinute / p.today.perMinute,
        unit: '×',
      });
      summaryRows.push({
        case: `${set.title}: now-exact ÷ today, videos/min`,
        value: p['now-exact'].perMinute / p.today.perMinute,
        unit: '×',
      });
      const fastDecode = decodeOf.get(set.key)!.fast.medianCpu;
      const floor = fastDecode + barePerFrame(set.key) * FRAMES_PER_VIDEO;
      const floorRatio = p['now-fast'].perVideo.all / floor;
      const encoderRatio = p['now-fast'].perVideo.encoder / FRAMES_PER_VIDEO / barePerFrame(set.key);
      summaryRows.push({
        case: `${set.title}: now-fast pipeline CPU per video ÷ (fast decode + bare encoder 12 frames)`,
        value: floorRatio,
        unit: '×',
      });
      summaryRows.push({
        case: `${set.title}: now-fast encoder CPU per frame, pipeline ÷ bare`,
        value: encoderRatio,
        unit: '×',
      });
      const speedup = p['now-fast'].perMinute / p.today.perMinute;
      const line = `${set.title}${set.realistic ? '' : ' (not a realistic set: no goal)'}: pipeline CPU ${f2(p['now-fast'].perVideo.all)} s per video ÷ floor ${f2(floor)} (fast decode ${f2(fastDecode)} + bare encoder ${f2(barePerFrame(set.key) * FRAMES_PER_VIDEO)}) = ${f3(floorRatio)}${set.realistic ? ` (goal ≤ ${FLOOR_GOAL}: ${met(floorRatio <= FLOOR_GOAL)})` : ''}; now-fast ${f1(p['now-fast'].perMinute)} ÷ today ${f1(p.today.perMinute)} videos/min = ${f3(speedup)}${set.realistic ? ` (goal ≥ ${SPEEDUP_GOAL}: ${met(speedup >= SPEEDUP_GOAL)})` : ''}; encoder per frame in the pipeline ÷ bare ${f3(encoderRatio)}`;
      verdicts.push(line);
    }
    const precisionSeen = sets.map((set) => {
      const p = pipe.get(set.key)!;
      return `${set.key}: now-exact ${p['now-exact'].samplingPrecision} (sampled ${p['now-exact'].sampling}), now-fast ${p['now-fast'].samplingPrecision} (sampled ${p['now-fast'].sampling})`;
    });
    const noSetting = passes.some((p) => p.variant !== 'today' && p.samplingPrecision === undefined);
    const cores = os.availableParallelism();
    const summary: BenchReport = {
      name: 'ingest-decode-floor',
      rows: summaryRows,
      notes: [
        ...verdicts.map((v) => `verdict, ${v}`),
        `sets: ${sets.map((s) => `${s.title} ×${s.files.length} (${s.recipe})`).join('; ')}; warm-up ${path.basename(warmup.files[0]!)} (2 s) before each pass, not counted`,
        `floor: fast decode = median over ${reps} repetition(s) of sampleVideo's ffmpeg/ffprobe CPU per video (see ingest-decode-floor-decode); bare encoder = CPU per frame of a bare onnxruntime session (ViT-B/32-shaped fp32, this tree's pool options: ${bareThreads.now} intra-op thread(s) (encoderThreads), no spinning; batch ${BATCH}) on as many frames as each pass, × ${FRAMES_PER_VIDEO}; with 6acd0ab's ${bareThreads.today} threads it spends ${sets.map((set) => `${set.key} ${f3(barePerFrame(set.key, 'today'))}`).join(', ')} CPU s per frame against ${sets.map((set) => `${f3(barePerFrame(set.key))}`).join(', ')}; today's pipeline encoder per frame ÷ that bare encoder: ${sets.map((set) => `${set.key} ${f3(pipe.get(set.key)!.today.perVideo.encoder / FRAMES_PER_VIDEO / barePerFrame(set.key, 'today'))}`).join(', ')}`,
        `long 720p encoded with x264 \`${longPreset}\`${longPreset === 'faster' ? ' (DECODE_FLOOR_LONG_PRESET), not medium: medium encodes this content at about 7.6 CPU s per 4 s of 720p here, some 19 CPU min for the 10 min file, over 5 min of wall time on 2 cores; faster takes about 0.4× of that' : ''}`,
        `today = worktree ${path.relative(ROOT, baseline.dir)} (${BASELINE_COMMIT}) run by its own node_modules; now = this tree; REEL_SAMPLING_PRECISION as the passes' config read it, and each video's sampling (precision/plan) as its batch status says: ${precisionSeen.join('; ')}${noSetting ? ' — this version of the config has no samplingPrecision setting: now-exact and now-fast ran the same sampling' : ''}`,
        `order (per set a palindrome, bare encoder in the middle): ${order.join('; ')}`,
        `times: inputs ${f1(inputsSeconds)} s (not counted: model ${f1(modelSeconds)} s, baseline worktree ${f1(baseline.madeSeconds)} s, videos made: ${generation.join(', ')}); decode measurement ${f1(decodeSeconds)} s; pipeline passes + bare encoder ${f1(pipelineSeconds)} s`,
        `shared machine (${cores} cores): other processes used ${sets.map((s) => `${s.key} ${VARIANTS.map((v) => `${v} ${(pipe.get(s.key)![v].foreignShare * 100).toFixed(0)}%`).join('/')}`).join('; ')} of the machine during the passes; 1-min load average ${loadAtStart.toFixed(2)} at the start, ${os.loadavg()[0]!.toFixed(2)} at the end`,
      ],
    };

    const decodeRows: BenchRow[] = [];
    const decodeNotes: string[] = [];
    for (const set of sets) {
      const d = decodeOf.get(set.key)!;
      for (const precision of PRECISIONS) {
        decodeRows.push({
          case: `${set.title}: ${precision}, CPU per video (median of ${reps})`,
          value: d[precision].medianCpu,
          unit: 'CPU s',
        });
        decodeRows.push({
          case: `${set.title}: ${precision}, CPU per video (min of ${reps})`,
          value: d[precision].minCpu,
          unit: 'CPU s',
        });
      }
      for (const precision of ['fast', 'keyframes'] as const) {
        decodeRows.push({
          case: `${set.title}: ${precision} ÷ exact (medians)`,
          value: d[precision].medianCpu / d.exact.medianCpu,
          unit: '×',
        });
        decodeRows.push({
          case: `${set.title}: ${precision} ÷ exact (minima)`,
          value: d[precision].minCpu / d.exact.minCpu,
          unit: '×',
        });
      }
      decodeNotes.push(
        `${set.title} (${set.files.length} videos): ${PRECISIONS.map((p) => `${p}: wall ${f2(d[p].medianWall)} s per video, plans ${d[p].plans}, precision reported ${d[p].precisions}${d[p].warnings ? `, ${d[p].warnings} warning(s)` : ''}`).join('; ')}`,
      );
    }
    const decodeReport: BenchReport = {
      name: 'ingest-decode-floor-decode',
      rows: decodeRows,
      notes: [
        `sampleVideo alone in the bench process, one at a time: ${FRAMES_PER_VIDEO} uniform frames at ${FRAME_SIZE} px, decoderThreads ${threads} (the pipeline's on ${cores} cores with ingest concurrency ${config.ingestConcurrency}), no thumbnails; CPU = cutime + cstime of /proc/self/stat around each call (its ffmpeg and ffprobe runs, reaped), 10 ms ticks; ${reps} interleaved round(s), the precisions' order rotated per round; per video min and median of its rounds, averaged over the set`,
        ...decodeNotes,
      ],
    };

    const cpuRows: BenchRow[] = [];
    for (const set of sets) {
      const p = pipe.get(set.key)!;
      for (const v of VARIANTS) {
        for (const kind of KIND_ROWS)
          cpuRows.push({
            case: `${set.title}: ${v}, ${kind.title}, per video`,
            value: p[v].perVideo[kind.key],
            unit: 'CPU s',
          });
        cpuRows.push({
          case: `${set.title}: ${v}, onnxruntime per frame`,
          value: p[v].perVideo.encoder / FRAMES_PER_VIDEO,
          unit: 'CPU s',
        });
      }
      cpuRows.push({
        case: `${set.title}: bare encoder per frame, ${bareThreads.now} thread(s) (this tree's pool)`,
        value: barePerFrame(set.key),
        unit: 'CPU s',
      });
      cpuRows.push({
        case: `${set.title}: bare encoder per frame, ${bareThreads.today} threads (6acd0ab's pool)`,
        value: barePerFrame(set.key, 'today'),
        unit: 'CPU s',
      });
    }
    const cpuReport: BenchReport = {
      name: 'ingest-decode-floor-cpu',
      rows: cpuRows,
      notes: [
        'per pass, in the pass process: utime + stime of /proc/self/task/*/stat grouped by thread name, cutime + cstime of /proc/self/stat for its ffmpeg/ffprobe children, process.cpuUsage() for the total, from submit to the batch seen finished; per video = the passes of a set and version added up ÷ their videos',
        ...sets.map((set) => {
          const p = pipe.get(set.key)!;
          const other = VARIANTS.map((v) => {
            const names = new Map<string, number>();
            for (const pass of p[v].passes)
              for (const [n, s] of Object.entries(pass.cpu.otherNames)) names.set(n, (names.get(n) ?? 0) + s);
            const top = [...names]
              .sort((a, b) => b[1] - a[1])
              .slice(0, 4)
              .map(([n, s]) => `${n} ${f1(s)} s`)
              .join(', ');
            return `${v}: ${top || 'none'}`;
          });
          return `${set.title}, other threads: ${other.join('; ')}`;
        }),
        `concurrency ingest ${passes[0]?.concurrency.ingest}, embed ${passes[0]?.concurrency.embed}, index ${passes[0]?.concurrency.index}; worker start ${passes.map((p) => f1(p.workerStartSeconds)).join('/')} s, warm-up ${passes.map((p) => f1(p.warmupSeconds)).join('/')} s (not counted); node ${[...new Set(passes.map((p) => `${p.variant} ${p.node}`))].join(', ')}`,
      ],
    };

    const stageRows: BenchRow[] = [];
    for (const set of sets) {
      const p = pipe.get(set.key)!;
      for (const stage of STAGES) {
        for (const v of VARIANTS)
          stageRows.push({
            case: `${set.title}: ${stage}, ${v}, mean per video`,
            value: p[v].stageMeans[stage]!,
            unit: 's',
          });
      }
    }
    const stageReport: BenchReport = {
      name: 'ingest-decode-floor-stages',
      rows: stageRows,
      notes: [
        "from each video's stage start/end in the batch status; a stage's time includes waiting inside it (embed: for the shared encoder; all: for the cores), not the wait in the queue before it. CPU is split by who spent it (ingest-decode-floor-cpu): ffmpeg/ffprobe and sharp work for ingest, onnxruntime for embed, LanceDB for index, the main thread for all",
      ],
    };
    return [summary, decodeReport, cpuReport, stageReport];
  },
};

export default benchmark;
