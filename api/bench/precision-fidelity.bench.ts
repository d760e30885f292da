/**
 * `precision-fidelity`: does `fast` sampling change what the model sees? The rule for REEL_SAMPLING_PRECISION's
 * default (issue 23): `fast` if its frames' embeddings have cosine ≥ 0.99 to `exact`'s at the 1st
 * percentile with the ViT-B/32-shaped encoder, and the demo's colour corpus ranks identically; else `exact`.
 *
 *   npm run bench -- precision-fidelity
 *
 * 1. Realistic videos (made once into `<repo>/.reel/bench-videos/fidelity/`, gitignored): 10 s 1280×720
 *    25 fps, panned testsrc2 under temporal grain; H.264 x264 medium High with 3 B-frames (B-pyramid),
 *    GOP 250 (one keyframe: deblocking skipped over the longest run); the same with `b-pyramid=none`
 *    (runs of unreferenced frames: fast re-decodes some targets); a 1080p 30 fps phone-like GOP 60; HEVC
 *    (libx265) and MPEG-2 with B-frames. Each sampled with `exact` and with `fast` (12 uniform frames at
 *    224 px), frame i against frame i, through the ViT-B/32-shaped random-weight image encoder
 *    (`workers/bench/bench-model.ts`: CLIP ViT-B/32's compute, weights mean nothing, so this measures how
 *    far the input moved through a network of that shape, not semantics).
 * 2. The demo's colour corpus (`reel demo`'s videos) sampled both ways and embedded by the synthetic
 *    model (colour-meaningful embeddings); each demo search ranks the videos by mean-pooled cosine: the
 *    orders must be identical.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Benchmark } from '@reel/infra';
import { colourVideoArgs, renderVideo, type SampleVideoResult, sampleVideo } from '@reel/ingest';
import { ClipModel, createInferencePool, writeSyntheticClip } from '@reel/models';
// The ViT-B/32-shaped model folder the workers benchmarks build once (bench code, not a package export).
import { benchModel } from '../../workers/bench/bench-model.ts';
import { DEMO_SEARCHES, DEMO_VIDEOS } from '../src/cli/commands/demo.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const VIDEO_DIR = path.join(ROOT, '.reel', 'bench-videos', 'fidelity');
const GOAL_P1 = 0.99;

const CONTENT = (w: number, h: number, fps: number) =>
  `testsrc2=size=${2 * w}x${2 * h}:rate=${fps}:duration=10,crop=${w}:${h}:x='(iw-ow)/2*(1+sin(t/3))':y='(ih-oh)/2*(1+cos(t/4))',noise=alls=6:allf=t`;

const RECIPES = [
  {
    name: 'h264-high-bpyramid-720p.mp4',
    source: CONTENT(1280, 720, 25),
    args: [
      '-c:v',
      'libx264',
      '-preset',
      'medium',
      '-profile:v',
      'high',
      '-bf',
      '3',
      '-g',
      '250',
      '-maxrate',
      '4M',
      '-bufsize',
      '8M',
    ],
  },
  {
    name: 'h264-flat-b-720p.mp4',
    source: CONTENT(1280, 720, 25),
    args: ['-c:v', 'libx264', '-preset', 'medium', '-bf', '3', '-x264-params', 'b-pyramid=none', '-g', '250'],
  },
  {
    name: 'h264-phone-1080p.mp4',
    source: CONTENT(1920, 1080, 30),
    args: [
      '-c:v',
      'libx264',
      '-preset',
      'faster',
      '-profile:v',
      'high',
      '-bf',
      '3',
      '-g',
      '60',
      '-maxrate',
      '16M',
      '-bufsize',
      '32M',
    ],
  },
  {
    name: 'hevc-720p.mp4',
    source: CONTENT(1280, 720, 25),
    args: [
      '-c:v',
      'libx265',
      '-preset',
      'fast',
      '-x265-params',
      'log-level=error:keyint=250',
      '-tag:v',
      'hvc1',
    ],
  },
  {
    name: 'mpeg2-720p.mkv',
    source: CONTENT(1280, 720, 25),
    args: ['-c:v', 'mpeg2video', '-bf', '2', '-b:v', '6M', '-g', '250'],
  },
];

const OPTIONS = {
  limits: { maxVideoSeconds: 86_400, maxVideoPixels: 8192 * 8192, maxVideoBytes: 2 ** 40 },
  binaries: { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
  timeoutMs: 600_000,
  decoderThreads: 1,
};

async function makeVideos(): Promise<{ files: string[]; seconds: number }> {
  mkdirSync(VIDEO_DIR, { recursive: true });
  const started = performance.now();
  const files: string[] = [];
  for (const recipe of RECIPES) {
    const file = path.join(VIDEO_DIR, recipe.name);
    files.push(file);
    if (existsSync(file)) continue;
    const partial = path.join(VIDEO_DIR, `.${recipe.name}.partial${path.extname(recipe.name)}`);
    await run('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-nostdin',
      '-f',
      'lavfi',
      '-i',
      recipe.source,
      ...recipe.args,
      '-pix_fmt',
      'yuv420p',
      partial,
    ]);
    renameSync(partial, file);
  }
  return { files, seconds: (performance.now() - started) / 1000 };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function meanPooled(vectors: Float32Array[]): Float32Array {
  const out = new Float32Array(vectors[0]!.length);
  for (const v of vectors) for (let i = 0; i < v.length; i++) out[i]! += v[i]! / vectors.length;
  return out;
}

const benchmark: Benchmark = {
  name: 'precision-fidelity',
  async run() {
    const videos = await makeVideos();
    const pool = createInferencePool({ size: 1 });
    const notes: string[] = [];
    const rows = [];
    try {
      // 1. Realistic codecs through the ViT-B/32-shaped encoder.
      const vit = await ClipModel.load(await benchModel(), { pool });
      const all: number[] = [];
      try {
        for (const file of videos.files) {
          const sampled: Record<'exact' | 'fast', SampleVideoResult> = {
            exact: await sampleVideo(file, {
              ...OPTIONS,
              strategy: { kind: 'uniform', count: 12 },
              precision: 'exact',
            }),
            fast: await sampleVideo(file, {
              ...OPTIONS,
              strategy: { kind: 'uniform', count: 12 },
              precision: 'fast',
            }),
          };
          const [exact, fast] = [
            await vit.encodeImages(sampled.exact.frames),
            await vit.encodeImages(sampled.fast.frames),
          ];
          const cosines = exact.map((e, i) => cosine(e, fast[i]!));
          all.push(...cosines);
          const moved = sampled.fast.frames.filter(
            (f, i) => f.timestamp !== sampled.exact.frames[i]!.timestamp,
          ).length;
          rows.push({
            case: `${path.basename(file)}: cosine fast vs exact, min of 12`,
            value: Math.min(...cosines),
            unit: 'cosine',
          });
          notes.push(
            `${path.basename(file)} (${sampled.exact.info.codec} ${sampled.exact.info.width}×${sampled.exact.info.height}): plan exact ${sampled.exact.plan} / fast ${sampled.fast.plan}, ${moved} of 12 fast frames at another timestamp, ${sampled.fast.redecoded} re-decoded exactly; cosines ${cosines.map((c) => c.toFixed(4)).join(' ')}`,
          );
        }
      } finally {
        await vit.close();
      }
      const p1 = percentile(all, 0.01);
      rows.unshift({
        case: `all ${all.length} frames: cosine fast vs exact, 1st percentile`,
        value: p1,
        unit: 'cosine',
      });

      // 2. The demo's colour corpus with the synthetic model: identical rankings?
      const work = mkdtempSync(path.join(os.tmpdir(), 'reel-fidelity-'));
      let identical = 0;
      try {
        await writeSyntheticClip(path.join(work, 'model'));
        const synthetic = await ClipModel.load(path.join(work, 'model'), { pool });
        try {
          const pooled: Record<'exact' | 'fast', Map<string, Float32Array>> = {
            exact: new Map(),
            fast: new Map(),
          };
          for (const [name, segments] of Object.entries(DEMO_VIDEOS)) {
            const file = path.join(work, `${name}.mp4`);
            await renderVideo(colourVideoArgs(file, segments), { ...OPTIONS, file });
            for (const precision of ['exact', 'fast'] as const) {
              const sampled = await sampleVideo(file, {
                ...OPTIONS,
                strategy: { kind: 'uniform', count: 12 },
                size: 224,
                precision,
              });
              pooled[precision].set(name, meanPooled(await synthetic.encodeImages(sampled.frames)));
            }
          }
          for (const search of DEMO_SEARCHES) {
            const [query] = await synthetic.encodeTexts([search.query]);
            const order = (precision: 'exact' | 'fast') =>
              [...pooled[precision].entries()]
                .map(([name, v]) => ({ name, score: cosine(query!, v) }))
                .sort((a, b) => b.score - a.score)
                .map((r) => r.name);
            const same = order('exact').join(',') === order('fast').join(',');
            if (same) identical++;
            notes.push(
              `demo "${search.query}": exact ${order('exact').slice(0, 4).join(' > ')}; fast ${same ? 'the same order' : order('fast').slice(0, 4).join(' > ')}`,
            );
          }
        } finally {
          await synthetic.close();
        }
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      rows.push({
        case: `demo searches ranked identically (of ${DEMO_SEARCHES.length})`,
        value: identical,
        unit: 'searches',
      });
      const verdict = p1 >= GOAL_P1 && identical === DEMO_SEARCHES.length;
      notes.unshift(
        `verdict: ${verdict ? 'fast' : 'exact'} as the default (p1 cosine ${p1.toFixed(4)} against ≥ ${GOAL_P1}; demo rankings identical ${identical}/${DEMO_SEARCHES.length})`,
        `videos made in ${videos.seconds.toFixed(1)} s (0 when they were there); ViT-B/32-shaped random-weight encoder from workers/bench/bench-model.ts`,
      );
    } finally {
      await pool.close();
    }
    return [{ name: 'precision-fidelity', rows, notes }];
  },
};

export default benchmark;
