/**
 * Previews: each sampled frame again at the video's display aspect, from the same ffmpeg run, for
 * thumbnails (real ffmpeg and sharp). The model's frame stays the square crop; the preview must show the
 * whole picture, upright, at square pixels, paired with the right model frame whatever the decoding plan.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeThumbnails } from '../src/adapters/thumbnails.ts';
import { type SampledFrame, type SampleVideoOptions, sampleVideo } from '../src/sample-frames.ts';
import type { DecodePlan } from '../src/sampling-plan.ts';
import {
  ffmpeg,
  mean,
  quadrantSource,
  rampLevel,
  rampSource,
  tempDir,
  thirdsVideo,
} from './helpers/videos.ts';

let dir: string;
let scratch: string;
const file = (name: string) => path.join(dir, name);

type Format = 'png' | 'webp';

function sampleAs(
  format: Format,
  name: string,
  strategy: SampleVideoOptions['strategy'],
  extra: Partial<SampleVideoOptions> = {},
) {
  return sampleVideo(file(name), {
    limits: { maxVideoSeconds: 3600, maxVideoPixels: 7680 * 4320, maxVideoBytes: 2 ** 40 },
    binaries: { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
    timeoutMs: 60_000,
    size: 32,
    strategy,
    preview: { maxSide: 480, tmpDir: scratch, format },
    ...extra,
  });
}

/** The preview's width, height and rgb pixels. */
async function decoded(frame: SampledFrame) {
  expect(frame.preview, `frame ${frame.index} has a preview`).toBeDefined();
  const { data, info } = await sharp(frame.preview!)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => {
    const i = (y * info.width + x) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  };
  return { width: info.width, height: info.height, at, mean: mean({ data }) };
}

const near = (rgb: number[], expected: number[]) => rgb.every((v, i) => Math.abs(v - expected[i]!) <= 40);

beforeAll(() => {
  dir = tempDir('preview');
  scratch = tempDir('preview-scratch');
  // 2.4:1, larger than a thumbnail: left third red, middle green, right third blue.
  thirdsVideo(file('wide.mp4'), '960x400');
  // Anamorphic: stored 64×64, pixels twice as wide as tall, so shown 128×64.
  thirdsVideo(file('anamorphic.mp4'), '64x64', 2);
  // Portrait upright quadrants stored turned on their side, with a display matrix turning them back.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    quadrantSource('48x64', 10, 1),
    '-vf',
    'transpose=clock',
    '-c:v',
    'libx264',
    file('turned.mp4'),
  ]);
  ffmpeg(['-i', file('turned.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file('portrait.mp4')]);
  // Grey level = frame number: a preview paired with the wrong frame shows the wrong level.
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    rampSource('320x240', 10, 20),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '10',
    file('ramp.mp4'),
  ]);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'color=red:size=96x54:rate=10:duration=1[a];color=yellow:size=96x54:rate=10:duration=1[b];color=blue:size=96x54:rate=10:duration=1[c];[a][b][c]concat=n=3:v=1:a=0',
    '-c:v',
    'libx264',
    file('three-shots.mp4'),
  ]);
}, 60_000);

describe.each<Format>(['png', 'webp'])('frame previews as %s (real ffmpeg)', (format) => {
  const sample = (...args: Parameters<typeof sampleAs> extends [Format, ...infer R] ? R : never) =>
    sampleAs(format, ...args);

  it('keep a wide video whole at 480 px: its sides, which the model crop drops, are there', async () => {
    const { frames } = await sample('wide.mp4', { kind: 'uniform', count: 2 });
    for (const frame of frames) {
      expect(frame.previewFormat).toBe(format);
      expect((await sharp(frame.preview!).metadata()).format).toBe(format);
      const preview = await decoded(frame);
      expect([preview.width, preview.height]).toEqual([480, 200]);
      expect(near(preview.at(5, 100), [255, 0, 0]), 'left edge red').toBe(true);
      expect(near(preview.at(240, 100), [0, 255, 0]), 'middle green').toBe(true);
      expect(near(preview.at(474, 100), [0, 0, 255]), 'right edge blue').toBe(true);
      // The model's frame is still the square centre crop: green through most of it.
      expect([frame.width, frame.height]).toEqual([32, 32]);
    }
  });

  it('show non-square pixels at their display aspect, and are never enlarged', async () => {
    const [frame] = (await sample('anamorphic.mp4', { kind: 'uniform', count: 1 })).frames;
    const preview = await decoded(frame!);
    expect([preview.width, preview.height]).toEqual([128, 64]);
    expect(near(preview.at(2, 32), [255, 0, 0])).toBe(true);
    expect(near(preview.at(125, 32), [0, 0, 255])).toBe(true);
  });

  it('are upright and portrait for a rotated portrait video', async () => {
    const [frame] = (await sample('portrait.mp4', { kind: 'uniform', count: 1 })).frames;
    const preview = await decoded(frame!);
    expect([preview.width, preview.height]).toEqual([48, 64]);
    expect(near(preview.at(2, 2), [255, 0, 0]), 'top-left red').toBe(true);
    expect(near(preview.at(45, 2), [0, 255, 0]), 'top-right green').toBe(true);
    expect(near(preview.at(2, 61), [255, 0, 255]), 'bottom-left magenta').toBe(true);
    expect(near(preview.at(45, 61), [255, 255, 255]), 'bottom-right white').toBe(true);
  });

  it.each<DecodePlan>(['seek', 'single-pass', 'keyframes'])(
    'pair each frame with its own preview under the %s plan',
    async (plan) => {
      const result = await sample('ramp.mp4', { kind: 'uniform', count: 6 }, { plan });
      expect(result.plan).toBe(plan);
      expect(result.frames).toHaveLength(6);
      for (const frame of result.frames) {
        const preview = await decoded(frame);
        expect([preview.width, preview.height]).toEqual([320, 240]);
        const level = rampLevel(Math.round(frame.timestamp * 10));
        expect(Math.abs(mean(frame) - level), `model frame at ${frame.timestamp} s`).toBeLessThanOrEqual(6);
        expect(Math.abs(preview.mean - level), `preview at ${frame.timestamp} s`).toBeLessThanOrEqual(6);
      }
    },
  );

  it('pair each shot with its own preview under scene sampling', async () => {
    const { frames } = await sample('three-shots.mp4', { kind: 'scenes', max: 10 });
    expect(frames).toHaveLength(3);
    const colours = await Promise.all(frames.map(async (f) => (await decoded(f)).at(48, 27)));
    expect(near(colours[0]!, [255, 0, 0])).toBe(true);
    expect(near(colours[1]!, [255, 255, 0])).toBe(true);
    expect(near(colours[2]!, [0, 0, 255])).toBe(true);
  });

  it('leave nothing behind in the scratch folder', async () => {
    await sample('ramp.mp4', { kind: 'uniform', count: 3 });
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('become thumbnails at the video’s aspect; a frame without one falls back to its crop', async () => {
    const { frames } = await sample('wide.mp4', { kind: 'uniform', count: 1 });
    const out = tempDir('preview-thumbs');
    const [wide] = await writeThumbnails(frames, out);
    const meta = await sharp(wide).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 480, 200]);
    // A WebP preview is the thumbnail already: written as ffmpeg made it, not encoded again.
    expect(Buffer.compare(readFileSync(wide!), Buffer.from(frames[0]!.preview!)) === 0).toBe(
      format === 'webp',
    );
    const [small] = await writeThumbnails(frames, out, { maxSide: 240, prefix: 'small' });
    expect([(await sharp(small).metadata()).width, (await sharp(small).metadata()).height]).toEqual([
      240, 100,
    ]);
    const { preview: _, ...cropOnly } = frames[0]!;
    const [crop] = await writeThumbnails([cropOnly], out, { prefix: 'crop' });
    expect([(await sharp(crop).metadata()).width, (await sharp(crop).metadata()).height]).toEqual([32, 32]);
  });
});

describe('WebP previews of BT.709 and full-range video', () => {
  it.each([
    ['bt709', 'tv'],
    ['bt709', 'pc'],
    ['bt470bg', 'pc'],
  ])('show the colours the PNG preview shows (%s, %s range)', async (matrix, range) => {
    const name = `colour-${matrix}-${range}.mp4`;
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'color=c=0x20c040:size=320x240:rate=10:duration=1',
      '-vf',
      `scale=out_color_matrix=${matrix}:out_range=${range},format=${range === 'pc' ? 'yuvj420p' : 'yuv420p'}`,
      '-colorspace',
      matrix,
      '-color_range',
      range,
      '-c:v',
      'libx264',
      '-qp',
      '0',
      file(name),
    ]);
    const colours = await Promise.all(
      (['png', 'webp'] as const).map(async (format) => {
        const [frame] = (await sampleAs(format, name, { kind: 'uniform', count: 1 })).frames;
        expect(frame!.previewFormat).toBe(format);
        return (await decoded(frame!)).at(160, 120);
      }),
    );
    // The source's own green, decoded by ffmpeg to rgb24 (the PNG) and through WebP's YUV.
    expect(near(colours[0]!, [0x20, 0xc0, 0x40])).toBe(true);
    for (const [i, v] of colours[1]!.entries()) expect(Math.abs(v - colours[0]![i]!)).toBeLessThanOrEqual(8);
  });
});

describe('WebP previews from an ffmpeg without libwebp', () => {
  it('fall back to PNG, and still become WebP thumbnails', async () => {
    // The real ffmpeg behind a wrapper whose encoder list lacks libwebp (as some builds do).
    const bin = tempDir('no-webp');
    const wrapper = path.join(bin, 'ffmpeg');
    writeFileSync(
      wrapper,
      '#!/bin/sh\nfor a in "$@"; do if [ "$a" = "-encoders" ]; then ffmpeg "$@" | grep -v libwebp; exit 0; fi; done\nexec ffmpeg "$@"\n',
    );
    chmodSync(wrapper, 0o755);
    const { frames } = await sampleAs(
      'webp',
      'wide.mp4',
      { kind: 'uniform', count: 1 },
      {
        binaries: { ffmpegPath: wrapper, ffprobePath: 'ffprobe' },
      },
    );
    expect(frames[0]!.previewFormat).toBe('png');
    expect((await sharp(frames[0]!.preview!).metadata()).format).toBe('png');
    const [thumb] = await writeThumbnails(frames, tempDir('no-webp-thumbs'));
    const meta = await sharp(thumb).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 480, 200]);
  });
});
