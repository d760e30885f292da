/**
 * Each sampling precision with the real ffmpeg on generated videos: frames land within the distance
 * their precision promises, `fast` never hands over a corrupt frame on any codec the installed ffmpeg
 * encodes (each frame compared with the exact decode of the same timestamp), and `keyframes` falls back
 * to `fast`, saying so, when keyframes are too sparse for the targets.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SampledFrame, type SampleVideoOptions, sampleVideo } from '../src/sample-frames.ts';
import { fastSkipsFrames, promisedOffset } from '../src/sampling-precision.ts';
import { ffmpeg, tempDir } from './helpers/videos.ts';

const FPS = 25;
const SECONDS = 8;
const base = {
  limits: { maxVideoSeconds: 3600, maxVideoPixels: 7680 * 4320, maxVideoBytes: 2 ** 40 },
  binaries: { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
  timeoutMs: 120_000,
  size: 64,
  decoderThreads: 1,
} satisfies Partial<SampleVideoOptions>;
const uniform = { kind: 'uniform', count: 12 } as const;

let dir: string;
const encoders = (() => {
  try {
    return execFileSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' });
  } catch {
    return '';
  }
})();
const has = (encoder: string) => new RegExp(`^\\s*V\\S*\\s+${encoder}\\s`, 'm').test(encoders);

/** Moving detail with noise, so every frame differs and deblocking has edges to smooth. */
const SOURCE = `testsrc2=size=320x180:rate=${FPS}:duration=${SECONDS},noise=alls=10:allf=t`;

interface Recipe {
  name: string;
  file: string;
  args: string[];
  available: boolean;
}

/** One video per codec reel may meet, with the frame types that make skipping matter. */
const recipes = (): Recipe[] => [
  {
    name: 'H.264 High, 3 B-frames, B-pyramid',
    file: 'h264-bpyramid.mp4',
    args: ['-c:v', 'libx264', '-preset', 'fast', '-profile:v', 'high', '-bf', '3', '-g', '250'],
    available: has('libx264'),
  },
  {
    name: 'H.264 Baseline, no B-frames',
    file: 'h264-baseline.mp4',
    args: ['-c:v', 'libx264', '-preset', 'fast', '-profile:v', 'baseline', '-g', '250'],
    available: has('libx264'),
  },
  {
    name: 'H.264, 3 B-frames without a pyramid',
    file: 'h264-flat-b.mp4',
    args: ['-c:v', 'libx264', '-preset', 'fast', '-bf', '3', '-x264-params', 'b-pyramid=none', '-g', '250'],
    available: has('libx264'),
  },
  {
    name: 'HEVC with B-frames',
    file: 'hevc.mp4',
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
    available: has('libx265'),
  },
  {
    name: 'VP9 with alt-ref frames',
    file: 'vp9.webm',
    args: [
      '-c:v',
      'libvpx-vp9',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      '500k',
      '-auto-alt-ref',
      '1',
      '-lag-in-frames',
      '16',
      '-g',
      '250',
    ],
    available: has('libvpx-vp9'),
  },
  {
    name: 'MPEG-2 with B-frames',
    file: 'mpeg2.mpg',
    args: ['-c:v', 'mpeg2video', '-bf', '2', '-b:v', '2M', '-g', '50'],
    available: has('mpeg2video'),
  },
  {
    name: 'MPEG-4 Part 2 with B-frames',
    file: 'mpeg4.mp4',
    args: ['-c:v', 'mpeg4', '-bf', '2', '-q:v', '4', '-g', '250'],
    available: has('mpeg4'),
  },
  {
    name: 'AV1',
    file: 'av1.mp4',
    args: ['-c:v', 'libaom-av1', '-cpu-used', '8', '-row-mt', '1', '-b:v', '400k', '-g', '250'],
    available: has('libaom-av1'),
  },
];

const file = (name: string) => path.join(dir, name);

/** Every frame of the video, decoded exactly, by timestamp (ms). */
async function everyFrame(name: string): Promise<Map<number, SampledFrame>> {
  const all = await sampleVideo(file(name), {
    ...base,
    precision: 'exact',
    plan: 'single-pass',
    strategy: { kind: 'fps', every: 1 / FPS, max: FPS * SECONDS + 10 },
  });
  // 200 targets in one select expression (a flat sum that long was more than ffmpeg parses).
  expect(new Set(all.frames.map((f) => f.timestamp)).size).toBe(FPS * SECONDS);
  return new Map(all.frames.map((f) => [Math.round(f.timestamp * 1000), f]));
}

/** Peak signal-to-noise ratio of two rgb24 frames, dB. */
function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  const mse = sum / a.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

beforeAll(() => {
  dir = tempDir('reel-precision-');
  for (const recipe of recipes()) {
    if (!recipe.available) continue;
    ffmpeg(['-f', 'lavfi', '-i', SOURCE, ...recipe.args, '-pix_fmt', 'yuv420p', file(recipe.file)]);
  }
  // Keyframes every 5 frames (0.2 s): dense enough for 12 targets 0.67 s apart.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    SOURCE,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '5',
    '-keyint_min',
    '5',
    '-sc_threshold',
    '0',
    '-pix_fmt',
    'yuv420p',
    file('dense-keys.mp4'),
  ]);
}, 300_000);

describe('sampling precision, per codec (real ffmpeg)', () => {
  for (const recipe of recipes()) {
    it.skipIf(!recipe.available)(
      `${recipe.name}: exact lands within half a frame; fast within one more frame, never a corrupt frame`,
      async () => {
        const exact = await sampleVideo(file(recipe.file), {
          ...base,
          precision: 'exact',
          strategy: uniform,
        });
        const fast = await sampleVideo(file(recipe.file), { ...base, precision: 'fast', strategy: uniform });
        const reference = await everyFrame(recipe.file);
        expect(exact.precision).toBe('exact');
        expect(fast.precision).toBe('fast');
        for (const result of [exact, fast]) {
          expect(result.frames).toHaveLength(12);
          const limit = promisedOffset(result.precision as 'exact' | 'fast', result.info);
          for (const frame of result.frames) {
            expect(frame.target).toBeDefined();
            expect(frame.timestamp - frame.target!).toBeGreaterThanOrEqual(-1 / FPS / 2 - 1e-6);
            expect(frame.timestamp - frame.target!).toBeLessThanOrEqual(limit + 1e-6);
          }
        }
        // Exact's frames are the reference decode's own; fast's are that frame, or nearly (no deblocking).
        for (const frame of exact.frames) {
          expect(Buffer.compare(frame.data, reference.get(Math.round(frame.timestamp * 1000))!.data)).toBe(0);
        }
        const worst = Math.min(
          ...fast.frames.map((frame) => {
            const same = reference.get(Math.round(frame.timestamp * 1000));
            expect(same, `a frame at ${frame.timestamp} s exists in the exact decode`).toBeDefined();
            return psnr(frame.data, same!.data);
          }),
        );
        expect(worst).toBeGreaterThanOrEqual(
          fastSkipsFrames(exact.info.codec) ? 32 : Number.POSITIVE_INFINITY,
        );
      },
      120_000,
    );
  }

  it.skipIf(!has('libx264'))(
    'fast decodes again exactly the targets a run of unreferenced B-frames moved too far',
    async () => {
      const fast = await sampleVideo(file('h264-flat-b.mp4'), {
        ...base,
        precision: 'fast',
        strategy: uniform,
      });
      // Without a pyramid, three B-frames in a row are all unreferenced: skipping them moves a target up
      // to three frames, more than fast promises, so some targets took the exact path.
      expect(fast.redecoded).toBeGreaterThan(0);
      const limit = promisedOffset('fast', fast.info);
      for (const frame of fast.frames)
        expect(frame.timestamp - frame.target!).toBeLessThanOrEqual(limit + 1e-6);
    },
    60_000,
  );
});

describe('keyframes precision', () => {
  it('takes the nearest keyframe per target when each target has one of its own within half the spacing', async () => {
    const result = await sampleVideo(file('dense-keys.mp4'), {
      ...base,
      precision: 'keyframes',
      strategy: uniform,
    });
    expect(result.precision).toBe('keyframes');
    expect(result.plan).toBe('keyframes');
    expect(result.warnings).toEqual([]);
    const spacing = (result.targets[1]! - result.targets[0]!) / 2;
    for (const frame of result.frames) {
      expect(Math.abs(frame.timestamp - frame.target!)).toBeLessThanOrEqual(spacing + 1e-6);
      // On a keyframe: every fifth frame.
      expect(Math.round(frame.timestamp * FPS) % 5).toBe(0);
    }
    expect(new Set(result.frames.map((f) => f.timestamp)).size).toBe(12);
  }, 60_000);

  it.skipIf(!has('libx264'))(
    'falls back to fast, and says why, when the keyframes are too sparse for the targets',
    async () => {
      // One keyframe in 8 s (GOP 250): 12 targets cannot each have one.
      const result = await sampleVideo(file('h264-bpyramid.mp4'), {
        ...base,
        precision: 'keyframes',
        strategy: uniform,
      });
      expect(result.precision).toBe('fast');
      expect(result.plan).not.toBe('keyframes');
      expect(result.warnings.join('\n')).toMatch(/keyframe.*sampled at fast precision instead/);
      expect(new Set(result.frames.map((f) => f.timestamp)).size).toBe(12);
      const limit = promisedOffset('fast', result.info);
      for (const frame of result.frames)
        expect(frame.timestamp - frame.target!).toBeLessThanOrEqual(limit + 1e-6);
    },
    60_000,
  );
});

describe('fast precision on a video shorter than its targets need', () => {
  it('gives every target the frame exact would when skipping left two targets on one frame', async () => {
    // 2 s at 8 fps with B-frames: 16 frames for 12 targets, closer together than the frames fast skips.
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=96x72:rate=8:duration=2',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      file('short.mp4'),
    ]);
    const exact = await sampleVideo(file('short.mp4'), { ...base, precision: 'exact', strategy: uniform });
    const fast = await sampleVideo(file('short.mp4'), { ...base, precision: 'fast', strategy: uniform });
    expect(new Set(fast.frames.map((f) => f.timestamp)).size).toBe(
      new Set(exact.frames.map((f) => f.timestamp)).size,
    );
    expect(fast.warnings).toEqual(exact.warnings);
  }, 60_000);
});
