/**
 * Images from sampled frames, with sharp (the only module of @reel/ingest that imports it): small WebP
 * thumbnails for result cards and moments, and lossless PNGs of the frames themselves for `reel frames`.
 * Frames are raw rgb24 already in memory, so nothing is decoded twice.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { SampledFrame } from '../sample-frames.ts';

/** Options of {@link writeThumbnails}. */
export interface ThumbnailOptions {
  /** Width in pixels (height follows the frame's aspect). Default 160. */
  width?: number;
  /** WebP quality 1-100. Default 75. */
  quality?: number;
  /** File name prefix. Default "thumb". */
  prefix?: string;
}

function raw(frame: SampledFrame) {
  return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } });
}

function name(prefix: string, frame: SampledFrame, extension: string): string {
  return `${prefix}-${String(frame.index).padStart(4, '0')}.${extension}`;
}

/**
 * Writes one WebP per frame into `dir` (created if missing) as `<prefix>-0000.webp`, … and returns the
 * paths in frame order.
 */
export async function writeThumbnails(
  frames: SampledFrame[],
  dir: string,
  options: ThumbnailOptions = {},
): Promise<string[]> {
  const width = options.width ?? 160;
  const prefix = options.prefix ?? 'thumb';
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const frame of frames) {
    const file = path.join(dir, name(prefix, frame, 'webp'));
    await raw(frame)
      .resize({ width, kernel: 'lanczos3' })
      .webp({ quality: options.quality ?? 75 })
      .toFile(file);
    paths.push(file);
  }
  return paths;
}

/** Writes each frame losslessly as `<prefix>-0000.png`, … in `dir` (created if missing); returns the paths. */
export async function writeFramePngs(
  frames: SampledFrame[],
  dir: string,
  prefix = 'frame',
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const frame of frames) {
    const file = path.join(dir, name(prefix, frame, 'png'));
    await raw(frame).png().toFile(file);
    paths.push(file);
  }
  return paths;
}
