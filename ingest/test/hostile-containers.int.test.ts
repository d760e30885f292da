/**
 * Files that make ffmpeg open other files, as an attacker uploads them: an HLS playlist or a concat list
 * named `.mp4`, and an image-sequence pattern. With only `-protocol_whitelist file`, ffmpeg followed them
 * and the server indexed a video from elsewhere on its disk. Each must be refused as
 * UNSUPPORTED_CONTAINER, at probe and at sampling, and no frame of the other file may come out.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isReelError, type ReelError } from '@reel/infra';
import { beforeAll, describe, expect, it } from 'vitest';
import { IngestErrorCode } from '../src/errors.ts';
import { type ProbeOptions, probeVideo } from '../src/probe-video.ts';
import { sampleVideo } from '../src/sample-frames.ts';
import type { VideoInfo } from '../src/video-info.ts';
import { ffmpeg, mean, tempDir } from './helpers/videos.ts';

const options: ProbeOptions = {
  limits: { maxVideoSeconds: 3600, maxVideoPixels: 7680 * 4320, maxVideoBytes: 2 ** 40 },
  binaries: { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
  timeoutMs: 30_000,
};

let uploads: string;
let secret: string;

async function refusal(run: () => Promise<unknown>): Promise<ReelError> {
  try {
    await run();
  } catch (error) {
    if (isReelError(error)) return error;
    throw error;
  }
  throw new Error('the file was accepted');
}

const playlist = (entry: string) =>
  `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n${entry}\n#EXT-X-ENDLIST\n`;

beforeAll(() => {
  const root = tempDir('hostile');
  uploads = path.join(root, 'videos', 'mallory');
  const victim = path.join(root, 'videos', 'victim');
  mkdirSync(uploads, { recursive: true });
  mkdirSync(victim, { recursive: true });
  // Another tenant's video: white, so a frame of it is unmistakable (the attacker's own would be black).
  secret = path.join(victim, 'secret.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'color=white:size=64x48:rate=10:duration=2', '-c:v', 'libx264', secret]);
  writeFileSync(path.join(uploads, 'hls-absolute.mp4'), playlist(`file:${secret}`));
  writeFileSync(path.join(uploads, 'hls-relative.mp4'), playlist('../victim/secret.mp4'));
  // A concat list in safe mode may name files beside it: a neighbour's upload in the same folder.
  copyFileSync(secret, path.join(uploads, 'neighbour.mp4'));
  writeFileSync(path.join(uploads, 'concat.mp4'), "ffconcat version 1.0\nfile 'neighbour.mp4'\n");
  // An image sequence: the pattern names other files.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'color=white:size=64x48',
    '-frames:v',
    '3',
    path.join(uploads, 'seq%03d.jpg'),
  ]);
  writeFileSync(path.join(uploads, 'seq%03d.jpg'), 'x');
});

describe('containers that open other files', () => {
  it.each([
    ['hls-absolute.mp4', 'an HLS playlist (hls)'],
    ['hls-relative.mp4', 'an HLS playlist (hls)'],
    ['concat.mp4', 'an ffmpeg concat list (concat)'],
    ['seq%03d.jpg', 'an image sequence (image2)'],
  ])('%s is refused at probe as UNSUPPORTED_CONTAINER', async (name, kind) => {
    const file = path.join(uploads, name);
    const error = await refusal(() => probeVideo(file, options));
    expect(error.code).toBe(IngestErrorCode.UNSUPPORTED_CONTAINER);
    expect(error.message).toContain(kind);
    expect(error.message).toContain('which opens other files');
    expect(error.retryable).toBe(false);
  });

  it.each(['hls-absolute.mp4', 'hls-relative.mp4', 'concat.mp4'])(
    'sampling %s yields no frame of the other file',
    async (name) => {
      const file = path.join(uploads, name);
      const error = await refusal(() =>
        sampleVideo(file, { ...options, strategy: { kind: 'uniform', count: 3 } }),
      );
      expect(error.code).toBe(IngestErrorCode.UNSUPPORTED_CONTAINER);
    },
  );

  it('refuses at sampling too, when the file changed after its probe (the frame command has its own list)', async () => {
    // The probe of an honest file, then the playlist in its place: sampling must not follow it.
    const file = path.join(uploads, 'swapped.mp4');
    copyFileSync(secret, file);
    const info: VideoInfo = await probeVideo(file, options);
    writeFileSync(file, playlist(`file:${secret}`));
    for (const plan of ['single-pass', 'seek', 'keyframes'] as const) {
      const error = await refusal(() =>
        sampleVideo(file, { ...options, info, plan, strategy: { kind: 'uniform', count: 3 } }),
      );
      expect(error.code, plan).toBe(IngestErrorCode.UNSUPPORTED_CONTAINER);
    }
  });

  it('still reads the real video those files pointed at', async () => {
    const sampled = await sampleVideo(secret, { ...options, strategy: { kind: 'uniform', count: 3 } });
    expect(sampled.frames).toHaveLength(3);
    expect(mean(sampled.frames[0]!)).toBeGreaterThan(200);
  });
});
