import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isReelError, type ReelError } from '@reel/infra';
import { beforeAll, describe, expect, it } from 'vitest';
import { IngestErrorCode } from '../src/errors.ts';
import { probeVideo } from '../src/probe-video.ts';
import { type SampleVideoOptions, type SampleVideoResult, sampleVideo } from '../src/sample-frames.ts';
import {
  ffmpeg,
  mean,
  pixel,
  quadrantSource,
  rampLevel,
  rampSource,
  tempDir,
  thirdsVideo,
} from './helpers/videos.ts';

const base = {
  limits: { maxVideoSeconds: 3600, maxVideoPixels: 7680 * 4320, maxVideoBytes: 2 ** 40 },
  binaries: { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
  timeoutMs: 60_000,
  size: 32,
};
type Extra = Partial<SampleVideoOptions>;
let dir: string;
const file = (name: string) => path.join(dir, name);

function sample(name: string, strategy: SampleVideoOptions['strategy'], extra: Extra = {}) {
  return sampleVideo(file(name), { ...base, strategy, ...extra });
}

async function failure(name: string, extra: Extra = {}): Promise<ReelError> {
  try {
    await sample(name, { kind: 'uniform', count: 4 }, extra);
  } catch (error) {
    if (isReelError(error)) return error;
    throw error;
  }
  throw new Error(`${name} was sampled`);
}

/** Each frame of a ramp video shows its frame number: its timestamp must match its pixels. */
function expectRampFrames(result: SampleVideoResult, fps: number, tolerance = 6): void {
  for (const frame of result.frames) {
    expect(frame.data.length).toBe(frame.width * frame.height * 3);
    const n = Math.round(frame.timestamp * fps);
    expect(Math.abs(mean(frame) - rampLevel(n)), `frame at ${frame.timestamp} s`).toBeLessThanOrEqual(
      tolerance,
    );
  }
}

/** Every frame within half a frame of its target. */
function expectOnTarget(result: SampleVideoResult, fps: number): void {
  expect(result.frames).toHaveLength(result.targets.length);
  result.frames.forEach((frame, i) => {
    expect(Math.abs(frame.timestamp - result.targets[i]!)).toBeLessThanOrEqual(0.5 / fps + 1e-6);
  });
}

function isColour(rgb: number[], expected: number[], tolerance = 40): boolean {
  return rgb.every((v, i) => Math.abs(v - expected[i]!) <= tolerance);
}

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const MAGENTA = [255, 0, 255];
const YELLOW = [255, 255, 0];
const WHITE = [255, 255, 255];

beforeAll(() => {
  dir = tempDir('sample');
  const ramp = rampSource('64x64', 10, 3);
  const encode = (name: string, ...codec: string[]) =>
    ffmpeg(['-f', 'lavfi', '-i', ramp, ...codec, file(name)]);
  encode('h264.mp4', '-c:v', 'libx264', '-g', '10');
  encode('h264.mov', '-c:v', 'libx264');
  encode('hevc.mkv', '-c:v', 'libx265', '-x265-params', 'log-level=error');
  encode('hevc10.mkv', '-c:v', 'libx265', '-pix_fmt', 'yuv420p10le', '-x265-params', 'log-level=error');
  encode('vp9.webm', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8');
  encode('av1.mkv', '-c:v', 'libsvtav1', '-preset', '12', '-crf', '10');
  encode('mpeg4.avi', '-c:v', 'mpeg4', '-q:v', '2');
  encode('mpeg2.ts', '-c:v', 'mpeg2video', '-q:v', '2');
  encode('anim.gif');
  encode('raw.h264', '-c:v', 'libx264', '-f', 'h264');
  ffmpeg(['-f', 'lavfi', '-i', rampSource('64x64', 10, 0.5), '-c:v', 'libx264', file('five-frames.mp4')]);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    rampSource('320x240', 10, 60),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '10',
    file('minute.mp4'),
  ]);
  // Upright quadrants stored turned, with display rotation metadata that turns them back.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    quadrantSource('64x48', 10, 1),
    '-vf',
    'transpose=clock',
    '-c:v',
    'libx264',
    file('turned.mp4'),
  ]);
  ffmpeg(['-i', file('turned.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file('rotated90.mp4')]);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    quadrantSource('64x48', 10, 1),
    '-vf',
    'hflip,vflip',
    '-c:v',
    'libx264',
    file('upside-down.mp4'),
  ]);
  ffmpeg([
    '-i',
    file('upside-down.mp4'),
    '-c',
    'copy',
    '-metadata:s:v:0',
    'rotate=180',
    file('rotated180.mp4'),
  ]);
  // Anamorphic: stored 64×64 in thirds (red, green, blue), pixels twice as wide as tall.
  thirdsVideo(file('anamorphic.mp4'), '64x64', 2);
  // Interlaced: each frame woven from a black and a white field (from alternate source frames).
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    "color=black:size=64x48:rate=20:duration=1,format=gray,geq=lum='if(mod(N,2),255,0)',interlace",
    '-c:v',
    'mpeg2video',
    '-flags',
    '+ildct+ilme',
    '-top',
    '1',
    '-q:v',
    '2',
    file('interlaced.ts'),
  ]);
  // Variable frame rate: frames from 1.0 to 1.9 s are missing.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    ramp,
    '-vf',
    "select='not(between(t,1,1.95))'",
    '-fps_mode',
    'vfr',
    '-c:v',
    'libx264',
    file('vfr.mkv'),
  ]);
  // Two video streams: red (not default) and blue (default).
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'color=red:size=64x48:rate=10:duration=1',
    '-f',
    'lavfi',
    '-i',
    'color=blue:size=64x48:rate=10:duration=1',
    '-map',
    '0',
    '-map',
    '1',
    '-c:v',
    'libx264',
    '-disposition:v:0',
    '0',
    '-disposition:v:1',
    'default',
    file('two-streams.mkv'),
  ]);
  // Three shots of one second: red, yellow, blue (ffmpeg's scene score looks at luma: red and green look alike).
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'color=red:size=64x48:rate=10:duration=1[a];color=yellow:size=64x48:rate=10:duration=1[b];color=blue:size=64x48:rate=10:duration=1[c];[a][b][c]concat=n=3:v=1:a=0',
    '-c:v',
    'libx264',
    file('three-shots.mp4'),
  ]);
  // Truncated: index at the front (faststart), then only the first half of the data.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x120:rate=10:duration=4',
    '-c:v',
    'libx264',
    '-g',
    '10',
    '-movflags',
    '+faststart',
    file('whole.mp4'),
  ]);
  const whole = readFileSync(file('whole.mp4'));
  writeFileSync(file('truncated.mp4'), whole.subarray(0, Math.floor(whole.length / 2)));
  // Corrupt: index intact, every byte of frame data zeroed.
  const zeroed = Buffer.from(whole);
  zeroed.fill(0, whole.indexOf('mdat') + 4);
  writeFileSync(file('zeroed.mp4'), zeroed);
}, 60_000);

describe('sampleVideo: what users have (real ffmpeg)', () => {
  it.each([
    ['h264.mp4', 'h264'],
    ['h264.mov', 'h264'],
    ['hevc.mkv', 'hevc'],
    ['hevc10.mkv', 'hevc'],
    ['vp9.webm', 'vp9'],
    ['av1.mkv', 'av1'],
    ['mpeg4.avi', 'mpeg4'],
    ['mpeg2.ts', 'mpeg2video'],
    ['anim.gif', 'gif'],
  ])('%s (%s): X-Pool frames, on target, at the model size', async (name, codec) => {
    const result = await sample(name, { kind: 'uniform', count: 4 });
    expect(result.info.codec).toBe(codec);
    expect(result.frames.map((f) => [f.index, f.width, f.height])).toEqual([
      [0, 32, 32],
      [1, 32, 32],
      [2, 32, 32],
      [3, 32, 32],
    ]);
    // 30 frames in 4 intervals: np.linspace(0, 30, 5).astype(int) = [0 7 15 22 30] → frames 3, 10, 18, 25.
    expect(result.targets.map((t) => Math.round(t * 10))).toEqual([3, 10, 18, 25]);
    expectOnTarget(result, 10);
    expectRampFrames(result, 10);
    expect(result.warnings).toEqual([]);
  });

  it('takes 12 frames by default geometry 224 and repeats the last of a 5-frame video, as X-Pool does', async () => {
    const result = await sample('five-frames.mp4', { kind: 'uniform', count: 12 }, { size: undefined });
    expect(result.frames).toHaveLength(12);
    expect(result.frames[0]!.width).toBe(224);
    expect(result.frames.map((f) => Math.round(f.timestamp * 10))).toEqual([
      0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4,
    ]);
    expect(result.frames[11]!.data).toBe(result.frames[4]!.data);
    expectRampFrames(result, 10);
  });

  it('turns rotated video upright (90° and 180° display matrices)', async () => {
    for (const name of ['rotated90.mp4', 'rotated180.mp4']) {
      const result = await sample(name, { kind: 'uniform', count: 1 });
      expect(result.info.rotation).toBe(name === 'rotated90.mp4' ? 270 : 180);
      const [frame] = result.frames;
      expect(isColour(pixel(frame!, 2, 2), RED), `${name} top-left`).toBe(true);
      expect(isColour(pixel(frame!, 29, 2), GREEN), `${name} top-right`).toBe(true);
      expect(isColour(pixel(frame!, 2, 29), MAGENTA), `${name} bottom-left`).toBe(true);
      expect(isColour(pixel(frame!, 29, 29), WHITE), `${name} bottom-right`).toBe(true);
    }
  });

  it('widens non-square pixels before the centre crop', async () => {
    const [frame] = (await sample('anamorphic.mp4', { kind: 'uniform', count: 1 })).frames;
    // Shown 128×64: resized to 64×32, the crop keeps display columns 16-47 of 64. The thirds' borders
    // fall at output columns ≈5 and ≈27 (with square pixels they would be at ≈11 and ≈21).
    expect(isColour(pixel(frame!, 1, 16), RED)).toBe(true);
    expect(isColour(pixel(frame!, 8, 16), GREEN)).toBe(true);
    expect(isColour(pixel(frame!, 24, 16), GREEN)).toBe(true);
    expect(isColour(pixel(frame!, 30, 16), BLUE)).toBe(true);
  });

  it('deinterlaces: one field per frame, no combing', async () => {
    const result = await sample('interlaced.ts', { kind: 'uniform', count: 3 });
    expect(result.info.interlaced).toBe(true);
    for (const frame of result.frames) {
      // Woven black and white lines would average to grey; one field is all black or all white.
      const level = mean(frame);
      expect(level < 30 || level > 225, `mean ${level}`).toBe(true);
    }
  });

  it('handles variable frame rate: real timestamps, the first frame after a gap', async () => {
    const result = await sample('vfr.mkv', { kind: 'fps', every: 0.5, max: 100 });
    expect(result.info.variableFrameRate).toBe(true);
    expect(result.frames.map((f) => f.timestamp)).toEqual([0, 0.5, 2, 2, 2, 2.5]);
    expectRampFrames(result, 10);
  });

  it('reads raw streams with no duration in their header', async () => {
    const result = await sample('raw.h264', { kind: 'uniform', count: 5 });
    expect(result.info.durationSource).toBe('packets');
    expect(result.plan).toBe('single-pass');
    expect(result.targets.map((t) => Math.round(t * 10))).toEqual([2, 8, 14, 20, 26]);
    expectOnTarget(result, 10);
    expectRampFrames(result, 10);
  });

  it('takes the default stream of several', async () => {
    const [frame] = (await sample('two-streams.mkv', { kind: 'uniform', count: 1 })).frames;
    expect(isColour(pixel(frame!, 16, 16), BLUE)).toBe(true);
  });

  it('samples the part of a truncated file that decodes, with a warning', async () => {
    const result = await sample('truncated.mp4', { kind: 'uniform', count: 6 });
    expect(result.info.duration).toBeLessThan(2.6);
    expect(result.frames).toHaveLength(6);
    expect(result.warnings.join('\n')).toMatch(/although the file says 4\.00 s \(truncated\?\)/);
    expectOnTarget(result, 10);
    expect(new Set(result.frames.map((f) => f.timestamp)).size).toBe(6);
    // Seeking past the end finds nothing either: same fallback, same frames.
    const seek = await sample('truncated.mp4', { kind: 'uniform', count: 6 }, { plan: 'seek' });
    expect(seek.frames.map((f) => f.timestamp)).toEqual(result.frames.map((f) => f.timestamp));
  });

  it('works with any file name, and no name reaches a shell', async () => {
    const names = [
      '-dash start with spaces \'single\' "double" $(touch pwned) `touch pwned2` ünïcødé 日本語.mp4',
      'http:looks-like-a-url.mp4',
    ];
    for (const name of names) {
      copyFileSync(file('h264.mp4'), file(name));
      const result = await sample(name, { kind: 'uniform', count: 2 });
      expectRampFrames(result, 10);
    }
    expect(existsSync(file('pwned')) || existsSync('pwned') || existsSync('pwned2')).toBe(false);
  });
});

describe('sampleVideo: strategies and decoding plans', () => {
  it('seeks in a long video with frequent keyframes, with the same frames a single pass gives', async () => {
    const seek = await sample('minute.mp4', { kind: 'uniform', count: 4 });
    expect(seek.plan).toBe('seek');
    expectOnTarget(seek, 10);
    expectRampFrames(seek, 10);
    const single = await sample('minute.mp4', { kind: 'uniform', count: 4 }, { plan: 'single-pass' });
    expect(single.frames.map((f) => f.timestamp)).toEqual(seek.frames.map((f) => f.timestamp));
    single.frames.forEach((f, i) => {
      expect(Math.abs(mean(f) - mean(seek.frames[i]!))).toBeLessThan(1);
    });
  });

  it('decodes short videos in one pass', async () => {
    expect((await sample('h264.mp4', { kind: 'uniform', count: 4 })).plan).toBe('single-pass');
  });

  it('gives the same frames with one decoder thread as with the default frame threads', async () => {
    const strategy = { kind: 'uniform', count: 4 } as const;
    const threaded = await sample('minute.mp4', strategy, { plan: 'single-pass' });
    const one = await sample('minute.mp4', strategy, { plan: 'single-pass', decoderThreads: 1 });
    expect(one.frames.map((f) => f.timestamp)).toEqual(threaded.frames.map((f) => f.timestamp));
    one.frames.forEach((f, i) => {
      expect(Buffer.from(f.data).equals(Buffer.from(threaded.frames[i]!.data))).toBe(true);
    });
    await expect(sample('h264.mp4', strategy, { decoderThreads: 0 })).rejects.toMatchObject({
      code: IngestErrorCode.INGEST_OPTIONS_INVALID,
      message: expect.stringContaining('decoderThreads must be an integer from 1 to 64, got 0'),
    });
  });

  it('takes the nearest keyframes in keyframes-only mode', async () => {
    const result = await sample('h264.mp4', { kind: 'uniform', count: 3 }, { keyframesOnly: true });
    expect(result.plan).toBe('keyframes');
    expect(result.info.keyframes).toEqual([0, 1, 2]);
    // Targets 0.4, 1.4, 2.4 s; keyframes every second.
    expect(result.frames.map((f) => f.timestamp)).toEqual([0, 1, 2]);
    expectRampFrames(result, 10);
  });

  it('takes one frame every k seconds, spread out to respect the cap', async () => {
    const every = await sample('h264.mp4', { kind: 'fps', every: 1, max: 100 });
    expect(every.frames.map((f) => f.timestamp)).toEqual([0, 1, 2]);
    const capped = await sample('h264.mp4', { kind: 'fps', every: 0.1, max: 5 });
    expect(capped.frames.map((f) => f.timestamp)).toEqual([0, 0.6, 1.2, 1.8, 2.4]);
    expectOnTarget(capped, 10);
    expectRampFrames(capped, 10);
  });

  it('takes one frame per shot, and the strongest cuts under a cap', async () => {
    const shots = await sample('three-shots.mp4', { kind: 'scenes', max: 10 });
    expect(shots.plan).toBe('single-pass');
    expect(shots.frames.map((f) => f.timestamp)).toEqual([0, 1, 2]);
    const colours = shots.frames.map((f) => pixel(f, 16, 16));
    expect(isColour(colours[0]!, RED) && isColour(colours[1]!, YELLOW) && isColour(colours[2]!, BLUE)).toBe(
      true,
    );
    const capped = await sample('three-shots.mp4', { kind: 'scenes', max: 2 });
    expect(capped.frames).toHaveLength(2);
    expect(capped.frames[0]!.timestamp).toBe(0);
    const spaced = await sample('three-shots.mp4', { kind: 'scenes', max: 10, minGap: 1.5 });
    expect(spaced.frames.map((f) => f.timestamp)).toEqual([0, 2]);
  });
});

describe('sampleVideo: failures', () => {
  it('says UNREADABLE when no frame decodes', async () => {
    const error = await failure('zeroed.mp4');
    expect(error.code).toBe(IngestErrorCode.UNREADABLE);
    expect(error.message).toMatch(/zeroed\.mp4: no frame of its h264 stream decodes/);
  });

  it("says DECODE_FAILED with ffmpeg's last stderr lines when ffmpeg fails", async () => {
    const fake = file('failing-ffmpeg');
    writeFileSync(
      fake,
      '#!/bin/sh\ncase "$1" in -formats|-encoders|-codecs|-filters|-hide_banner) exec ffmpeg "$@";; esac\n' +
        'echo "[h264 @ 0x1] [error] decode_slice_header error" >&2\necho "[error] Conversion failed!" >&2\nexit 1\n',
    );
    chmodSync(fake, 0o755);
    const info = await probeVideo(file('h264.mp4'), base);
    const error = await failure('h264.mp4', { info, binaries: { ...base.binaries, ffmpegPath: fake } });
    expect(error.code).toBe(IngestErrorCode.DECODE_FAILED);
    expect(error.message).toContain('h264.mp4: ffmpeg failed decoding h264');
    expect(error.message).not.toContain('\n');
    expect(error.details?.stderr).toEqual(
      expect.arrayContaining(['[h264] decode_slice_header error', 'Conversion failed!']),
    );
  });

  it('kills ffmpeg on timeout and on abort', async () => {
    const hang = file('hanging-ffmpeg');
    const pidFile = file('hanging-ffmpeg.pid');
    writeFileSync(
      hang,
      `#!/bin/sh\ncase "$1" in -formats|-encoders|-codecs|-filters|-hide_banner) exec ffmpeg "$@";; esac\necho $$ > '${pidFile}'\nexec sleep 30\n`,
    );
    chmodSync(hang, 0o755);
    const info = await probeVideo(file('h264.mp4'), base);
    const started = Date.now();
    const error = await failure('h264.mp4', {
      info,
      timeoutMs: 500,
      binaries: { ...base.binaries, ffmpegPath: hang },
    });
    expect(error.code).toBe(IngestErrorCode.FFMPEG_TIMEOUT);
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const aborted = await failure('h264.mp4', {
      info,
      signal: controller.signal,
      binaries: { ...base.binaries, ffmpegPath: hang },
    });
    expect(aborted.code).toBe(IngestErrorCode.INGEST_ABORTED);
  });

  it('says when ffmpeg is missing', async () => {
    const info = await probeVideo(file('h264.mp4'), base);
    const error = await failure('h264.mp4', {
      info,
      binaries: { ...base.binaries, ffmpegPath: '/nowhere/ffmpeg' },
    });
    expect(error.code).toBe(IngestErrorCode.FFMPEG_NOT_FOUND);
  });

  it('refuses bad options', async () => {
    await expect(sample('h264.mp4', { kind: 'uniform', count: 0 })).rejects.toMatchObject({
      code: IngestErrorCode.INGEST_OPTIONS_INVALID,
    });
    await expect(sample('h264.mp4', { kind: 'fps', every: 0, max: 3 })).rejects.toMatchObject({
      code: IngestErrorCode.INGEST_OPTIONS_INVALID,
    });
  });
});
