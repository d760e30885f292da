/**
 * Videos for the workers benchmarks, made once by the real ffmpeg into `<repo>/.reel/bench-videos/`
 * (gitignored) and reused by later runs. Each is lavfi `testsrc2` (moving pattern, colour bars, a frame
 * counter) with its hue turned by 7° per index, so every file has different pixels and bytes: the
 * pipeline dedupes by content hash, and identical files would be indexed once. H.264 (libx264
 * `ultrafast`, CRF 23), yuv420p, a keyframe every 250 frames, `+faststart`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What to generate. */
export interface BenchVideoSpec {
  /** Folder the files go to (created if absent). */
  dir: string;
  /** Files in the set; file `i` has its hue turned by `7·i` degrees (distinct for `count` ≤ 51). */
  count: number;
  seconds: number;
  width: number;
  height: number;
  fps: number;
  /** First index (a warm-up file can use an index outside the measured set). Default 0. */
  firstIndex?: number;
}

/** The set's files, and how long making the missing ones took. */
export interface BenchVideoSet {
  files: string[];
  /** Files that had to be made in this call (0 when all were there). */
  generated: number;
  /** Wall seconds spent making them. */
  generationSeconds: number;
}

function fileName(spec: BenchVideoSpec, index: number): string {
  return `testsrc2-${spec.width}x${spec.height}-${spec.fps}fps-${spec.seconds}s-h264-${String(index).padStart(2, '0')}.mp4`;
}

async function generate(spec: BenchVideoSpec, index: number, file: string): Promise<void> {
  // Written under a hidden name, then renamed: an interrupted run never leaves a truncated file that a
  // later run would take for a finished one.
  const partial = path.join(spec.dir, `.${path.basename(file)}.partial`);
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-nostdin',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${spec.width}x${spec.height}:rate=${spec.fps}:duration=${spec.seconds},hue=h=${(index * 7) % 360}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '23',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '250',
    '-keyint_min',
    '250',
    '-sc_threshold',
    '0',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    partial,
  ]);
  renameSync(partial, file);
}

/**
 * Returns the set's files, making the missing ones first (as many ffmpeg processes at once as there
 * are cores). Existing files are trusted: delete the folder to make them again.
 */
export async function benchVideos(spec: BenchVideoSpec): Promise<BenchVideoSet> {
  mkdirSync(spec.dir, { recursive: true });
  const first = spec.firstIndex ?? 0;
  const files = Array.from({ length: spec.count }, (_, i) => path.join(spec.dir, fileName(spec, first + i)));
  const made = await makeMissing(
    files.map((file, i) => ({ file, index: first + i })),
    (index, file) => generate(spec, index, file),
  );
  return { files, ...made };
}

/**
 * Makes the files of `wanted` that do not exist yet with `make`, as many at once as there are cores;
 * returns how many it made and the wall seconds it took.
 */
export async function makeMissing(
  wanted: { file: string; index: number }[],
  make: (index: number, file: string) => Promise<void>,
): Promise<{ generated: number; generationSeconds: number }> {
  const missing = wanted.filter(({ file }) => !existsSync(file));
  const started = performance.now();
  const lanes = Math.max(1, Math.min(os.availableParallelism(), missing.length));
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < missing.length) {
        const item = missing[next++]!;
        await make(item.index, item.file);
      }
    }),
  );
  return { generated: missing.length, generationSeconds: (performance.now() - started) / 1000 };
}
