import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isReelError, type ReelError } from '@reel/infra';
import { beforeAll, describe, expect, it } from 'vitest';
import { IngestErrorCode } from '../src/errors.ts';
import { type ProbeOptions, probeVideo } from '../src/probe-video.ts';
import { ffmpeg, noise, rampSource, tempDir } from './helpers/videos.ts';

const limits = { maxVideoSeconds: 3600, maxVideoPixels: 7680 * 4320, maxVideoBytes: 2 ** 40 };
const options: ProbeOptions = {
  limits,
  binaries: { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
  timeoutMs: 30_000,
};
let dir: string;
const file = (name: string) => path.join(dir, name);

async function failure(name: string, opts: ProbeOptions = options): Promise<ReelError> {
  try {
    await probeVideo(file(name), opts);
  } catch (error) {
    if (isReelError(error)) return error;
    throw error;
  }
  throw new Error(`${name} was accepted`);
}

beforeAll(() => {
  dir = tempDir('probe');
  const ramp = rampSource('64x48', 10, 2);
  ffmpeg(['-f', 'lavfi', '-i', ramp, '-c:v', 'libx264', '-g', '5', file('h264.mp4')]);
  ffmpeg(['-i', file('h264.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file('rotated.mp4')]);
  ffmpeg(['-f', 'lavfi', '-i', ramp, '-vf', 'setsar=4/3', '-c:v', 'libx264', file('anamorphic.mp4')]);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    ramp,
    '-c:v',
    'libx265',
    '-pix_fmt',
    'yuv420p10le',
    '-x265-params',
    'log-level=error',
    file('hevc10.mkv'),
  ]);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    ramp,
    '-c:v',
    'mpeg2video',
    '-flags',
    '+ildct+ilme',
    '-top',
    '1',
    file('interlaced.ts'),
  ]);
  // Variable frame rate: 1 s at 10 fps, then nothing until 2 s, then 1 s more.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    rampSource('64x48', 10, 3),
    '-vf',
    "select='not(between(t,1,1.95))'",
    '-fps_mode',
    'vfr',
    '-c:v',
    'libx264',
    file('vfr.mkv'),
  ]);
  ffmpeg(['-f', 'lavfi', '-i', ramp, '-c:v', 'libx264', '-f', 'h264', file('raw.h264')]);
  // Two video streams, the second one default.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'color=red:size=64x48:rate=10:duration=1',
    '-f',
    'lavfi',
    '-i',
    'color=blue:size=96x64:rate=10:duration=1',
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
  // Error cases.
  writeFileSync(file('empty.mp4'), '');
  writeFileSync(file('notes.txt'), 'Shot list: 1. the dog, 2. the frisbee, 3. the beach.\n'.repeat(20));
  writeFileSync(file('noise.mp4'), noise(64 * 1024));
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', file('still.png')]);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', file('still.jpg')]);
  ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac', file('audio.m4a')]);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'sine=duration=1',
    '-i',
    file('still.png'),
    '-map',
    '0',
    '-map',
    '1',
    '-c:a',
    'libmp3lame',
    '-c:v',
    'png',
    '-disposition:v',
    'attached_pic',
    file('song-with-cover.mp3'),
  ]);
  // mp4 with its index (moov) at the end, cut in half: the index is gone.
  const whole = readFileSync(file('h264.mp4'));
  writeFileSync(file('cut.mp4'), whole.subarray(0, Math.floor(whole.length / 2)));
  mkdirSync(file('folder.mp4'));
  copyFileSync(file('h264.mp4'), file('locked.mp4'));
  chmodSync(file('locked.mp4'), 0o000);
});

describe('probeVideo: what it reads (real ffprobe)', () => {
  it('reads container, codec, size, rate, duration, frames and keyframes of an H.264 mp4', async () => {
    const info = await probeVideo(file('h264.mp4'), options);
    expect(info).toMatchObject({
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      codec: 'h264',
      width: 64,
      height: 48,
      displayWidth: 64,
      displayHeight: 48,
      rotation: 0,
      sampleAspectRatio: 1,
      pixelFormat: 'yuv420p',
      bitDepth: 8,
      interlaced: false,
      frameRate: 10,
      variableFrameRate: false,
      duration: 2,
      durationSource: 'stream',
      frameCount: 20,
      frameCountExact: true,
      seekable: true,
      streamIndex: 0,
      audioStreams: 0,
      sizeBytes: statSync(file('h264.mp4')).size,
    });
    expect(info.keyframes).toEqual([0, 0.5, 1, 1.5]);
    expect(info.displayAspectRatio).toBeCloseTo(4 / 3, 6);
  });

  it('reads rotation metadata and swaps the display size', async () => {
    const info = await probeVideo(file('rotated.mp4'), options);
    expect(info.rotation).toBe(270);
    expect([info.width, info.height, info.displayWidth, info.displayHeight]).toEqual([64, 48, 48, 64]);
  });

  it('reads non-square pixels into the display size', async () => {
    const info = await probeVideo(file('anamorphic.mp4'), options);
    expect(info.sampleAspectRatio).toBeCloseTo(4 / 3, 6);
    expect([info.displayWidth, info.displayHeight]).toEqual([85, 48]);
  });

  it('reads 10-bit HEVC, interlacing and variable frame rate', async () => {
    expect(await probeVideo(file('hevc10.mkv'), options)).toMatchObject({
      codec: 'hevc',
      pixelFormat: 'yuv420p10le',
      bitDepth: 10,
      container: 'matroska,webm',
      duration: 2,
    });
    expect(await probeVideo(file('interlaced.ts'), options)).toMatchObject({
      interlaced: true,
      container: 'mpegts',
      codec: 'mpeg2video',
    });
    expect((await probeVideo(file('vfr.mkv'), options)).variableFrameRate).toBe(true);
  });

  it('counts the packets of a raw stream that states no duration', async () => {
    expect(await probeVideo(file('raw.h264'), options)).toMatchObject({
      container: 'h264',
      seekable: false,
      durationSource: 'packets',
      frameCount: 20,
      frameCountExact: true,
      duration: 2,
    });
  });

  it('takes the default video stream when there are several', async () => {
    const info = await probeVideo(file('two-streams.mkv'), options);
    expect(info.streamIndex).toBe(1);
    expect([info.width, info.height]).toEqual([96, 64]);
    expect(info.videoStreams.map((s) => [s.index, s.isDefault, s.isCoverArt])).toEqual([
      [0, false, false],
      [1, true, false],
    ]);
  });
});

describe('probeVideo: what it refuses, with a code and a one-line message naming the file', () => {
  it.each([
    ['missing.mp4', IngestErrorCode.FILE_NOT_FOUND, 'file not found'],
    ['empty.mp4', IngestErrorCode.EMPTY_FILE, 'empty (0 bytes)'],
    ['notes.txt', IngestErrorCode.NOT_A_VIDEO, 'not a video'],
    ['noise.mp4', IngestErrorCode.NOT_A_VIDEO, 'not a video'],
    ['still.png', IngestErrorCode.NOT_A_VIDEO, 'still image'],
    ['still.jpg', IngestErrorCode.NOT_A_VIDEO, 'still image'],
    ['folder.mp4', IngestErrorCode.NOT_A_VIDEO, 'folder'],
    ['audio.m4a', IngestErrorCode.NO_VIDEO_STREAM, 'audio only'],
    ['song-with-cover.mp3', IngestErrorCode.NO_VIDEO_STREAM, 'cover art'],
    ['cut.mp4', IngestErrorCode.UNREADABLE, 'moov atom not found'],
  ])('%s → %s', async (name, code, cause) => {
    const error = await failure(name);
    expect(error.code).toBe(code);
    expect(error.message).toContain(file(name));
    expect(error.message).toContain(cause);
    expect(error.message).not.toContain('\n');
    expect(error.retryable).toBe(false);
  });

  it.skipIf(process.getuid?.() === 0)('refuses a file it may not read', async () => {
    expect((await failure('locked.mp4')).code).toBe(IngestErrorCode.UNREADABLE);
  });

  it('enforces the duration, pixel and size limits', async () => {
    const tooLong = await failure('h264.mp4', { ...options, limits: { ...limits, maxVideoSeconds: 1 } });
    expect(tooLong.code).toBe(IngestErrorCode.TOO_LONG);
    expect(tooLong.message).toContain('2.0 s long, more than the 1 s allowed');
    const tooWide = await failure('h264.mp4', { ...options, limits: { ...limits, maxVideoPixels: 64 * 47 } });
    expect(tooWide.code).toBe(IngestErrorCode.TOO_LARGE);
    expect(tooWide.message).toContain('64×48 frames');
    const tooBig = await failure('h264.mp4', { ...options, limits: { ...limits, maxVideoBytes: 100 } });
    expect(tooBig.code).toBe(IngestErrorCode.TOO_LARGE);
    expect(tooBig.message).toMatch(/\d+ bytes, more than the 100 allowed/);
  });

  it('says when ffprobe is missing, and kills one that hangs', async () => {
    const missing = await failure('h264.mp4', {
      ...options,
      binaries: { ffmpegPath: 'ffmpeg', ffprobePath: '/nowhere/ffprobe' },
    });
    expect(missing.code).toBe(IngestErrorCode.FFMPEG_NOT_FOUND);
    expect(missing.retryable).toBe(true);

    const hang = file('hanging-ffprobe');
    const pidFile = file('hanging-ffprobe.pid');
    writeFileSync(hang, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 30\n`);
    chmodSync(hang, 0o755);
    const started = Date.now();
    const slow = await failure('h264.mp4', {
      ...options,
      timeoutMs: 400,
      binaries: { ffmpegPath: 'ffmpeg', ffprobePath: hang },
    });
    expect(slow.code).toBe(IngestErrorCode.FFMPEG_TIMEOUT);
    expect(slow.message).toContain('did not finish within 0.4 s and was killed');
    expect(Date.now() - started).toBeLessThan(5_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await failure('h264.mp4', { ...options, signal: controller.signal });
    expect(error.code).toBe(IngestErrorCode.INGEST_ABORTED);
  });
});
