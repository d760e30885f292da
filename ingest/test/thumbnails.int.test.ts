import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { writeFramePngs, writeThumbnails } from '../src/adapters/thumbnails.ts';
import type { SampledFrame } from '../src/sample-frames.ts';
import { tempDir } from './helpers/videos.ts';

/** A 224×224 frame, left half red, right half blue. */
function frame(index: number): SampledFrame {
  const size = 224;
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      if (x < size / 2) data[i] = 255;
      else data[i + 2] = 255;
    }
  }
  return { index, timestamp: index * 0.5, width: size, height: size, data };
}

describe('thumbnails (real sharp)', () => {
  it('writes one WebP per frame, in order, into a new folder (a frame without a preview: its crop, never enlarged)', async () => {
    const dir = path.join(tempDir('thumbs'), 'video 1', 'thumbs');
    const paths = await writeThumbnails([frame(0), frame(1)], dir);
    expect(paths.map((p) => path.basename(p))).toEqual(['thumb-0000.webp', 'thumb-0001.webp']);
    const meta = await sharp(paths[0]).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 224, 224]);
    const { data, info } = await sharp(paths[1]).raw().toBuffer({ resolveWithObject: true });
    const left = data.subarray((80 * info.width + 20) * info.channels);
    const right = data.subarray((80 * info.width + 200) * info.channels);
    expect(left[0]).toBeGreaterThan(200);
    expect(right[2]).toBeGreaterThan(200);
    const small = await writeThumbnails([frame(0)], dir, { maxSide: 64, prefix: 'mini' });
    expect((await sharp(small[0]).metadata()).width).toBe(64);
  });

  it('writes lossless PNGs of the frames themselves', async () => {
    const dir = tempDir('pngs');
    const [file] = await writeFramePngs([frame(3)], dir);
    expect(path.basename(file!)).toBe('frame-0003.png');
    expect(existsSync(file!)).toBe(true);
    const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    expect(Buffer.compare(data, Buffer.from(frame(3).data))).toBe(0);
  });
});
