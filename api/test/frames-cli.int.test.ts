import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';

let dir: string;
let video: string;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    REEL_DATA_DIR: path.join(dir, 'data'),
    ...extra,
  };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'reel-frames-cli-'));
  video = path.join(dir, 'my clip (1).mp4');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-nostdin',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x120:rate=10:duration=3',
    '-c:v',
    'libx264',
    '-g',
    '10',
    video,
  ]);
});

interface Manifest {
  plan: string;
  frames: { index: number; timestamp: number; image: string; thumbnail: string }[];
}

describe('reel frames (real CLI, real ffmpeg, real sharp)', () => {
  it('writes PNG frames, WebP thumbnails and frames.json', async () => {
    const out = path.join(dir, 'out');
    const run = await runCli(['frames', video, '--count', '4', '--size', '64', '--out', out], env());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^4 frames \(uniform, single-pass\) from .*my clip \(1\)\.mp4 in \d+\.\d+ s/);
    const manifest = JSON.parse(readFileSync(path.join(out, 'frames.json'), 'utf8')) as Manifest;
    // 30 frames at 10 fps in 4 intervals: frames 3, 10, 18, 25.
    expect(manifest.frames.map((f) => [f.index, f.timestamp])).toEqual([
      [0, 0.3],
      [1, 1],
      [2, 1.8],
      [3, 2.5],
    ]);
    expect(manifest.frames[0]).toMatchObject({
      image: 'frame-0000.png',
      thumbnail: 'thumbs/thumb-0000.webp',
    });
    for (const frame of manifest.frames) {
      const png = readFileSync(path.join(out, frame.image));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16)).toBe(64); // IHDR width
      expect(readFileSync(path.join(out, frame.thumbnail)).subarray(8, 12).toString()).toBe('WEBP');
    }
  });

  it('takes one frame every 1/rate seconds with --fps', async () => {
    const out = path.join(dir, 'fps');
    const run = await runCli(['frames', video, '--fps', '1', '--size', '32', '--out', out], env());
    expect(run.code).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(out, 'frames.json'), 'utf8')) as Manifest;
    expect(manifest.frames.map((f) => f.timestamp)).toEqual([0, 1, 2]);
  });

  it('says so when more frames are asked for than the video has', async () => {
    const out = path.join(dir, 'many');
    const run = await runCli(['frames', video, '--count', '50', '--size', '32', '--out', out], env());
    expect(run.code).toBe(0);
    // 3 s at 10 fps: 30 frames, so 50 targets give 20 repeats
    expect(run.stderr).toBe(
      'warning: 50 frames asked for, but the video has only 30 distinct frames at those times: 20 are repeats (ask for 30 or fewer)\n',
    );
    const manifest = JSON.parse(readFileSync(path.join(out, 'frames.json'), 'utf8')) as Manifest;
    expect(manifest.frames).toHaveLength(50);
  });

  it('prints "error CODE: message" and exits 2 on bad input', async () => {
    const text = path.join(dir, 'notes.txt');
    writeFileSync(text, 'not a video at all\n'.repeat(50));
    const out = path.join(dir, 'bad');
    const run = await runCli(['frames', text, '--out', out], env());
    expect(run.code).toBe(2);
    // ffmpeg reads a .txt as a "tty" (ANSI art) video: still not a video.
    expect(run.stderr).toBe(
      `error NOT_A_VIDEO: ${text}: this is a still image or text (Tele-typewriter), not a video\n`,
    );
    expect(existsSync(path.join(out, 'frames.json'))).toBe(false);

    const missing = await runCli(['frames', path.join(dir, 'nope.mp4'), '--out', out], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error FILE_NOT_FOUND: .*nope\.mp4: file not found\n$/);

    const tooLong = await runCli(['frames', video, '--out', out], env({ REEL_MAX_VIDEO_SECONDS: '1' }));
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('error TOO_LONG: ');
  });

  it('exits 2 on conflicting or bad flags, and shows an example in --help', async () => {
    const both = await runCli(['frames', video, '--count', '3', '--scenes', '--out', dir], env());
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('choose one of --count, --fps and --scenes');
    const zero = await runCli(['frames', video, '--count', '0', '--out', dir], env());
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--count expects a positive integer, got "0"');
    const help = await runCli(['frames', '--help'], env());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('$ npx reel frames clip.mp4 --out frames/');
  });
});
