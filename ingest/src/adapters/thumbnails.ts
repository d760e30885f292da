/**
 * Images from sampled frames, with sharp (the only module of @reel/ingest that imports it): WebP
 * thumbnails for result cards and moments, and lossless PNGs of the frames themselves for `reel frames`.
 * A thumbnail is made from the frame's preview (the same frame at the video's display aspect, written by
 * the same ffmpeg run: see `SampleVideoOptions.preview`), so it shows the whole picture, not the model's
 * square crop; a frame without one falls back to its model crop. Nothing is decoded twice, and a
 * preview ffmpeg already wrote as the thumbnail (WebP, `PreviewOptions.format`) is not encoded again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PREVIEW_WEBP } from '../ffmpeg-args.ts';
import type { SampledFrame } from '../sample-frames.ts';

/**
 * Longest side of a thumbnail: sharp on a phone (a full-width card is about 360 CSS px at 1.3-3 device
 * pixels per px) and still small (a 480×270 WebP of real footage is 10-30 KB).
 */
export const THUMBNAIL_MAX_SIDE = 480;

/**
 * libwebp effort of thumbnails. Measured on 480×270 frames of x264 footage (12 per video, the pipeline's
 * default): effort 2 encodes in 5.9 ms of CPU against 12.7 ms at sharp's default 4 (and at 3) for files
 * 5 % larger (6.5 against 6.2 KB); effort 0 saves another 1 ms for files 45 % larger. Thumbnails were
 * the largest CPU cost of ingest outside ffmpeg and the encoder.
 */
export const THUMBNAIL_WEBP_EFFORT = PREVIEW_WEBP.method;

/** Options of {@link writeThumbnails}. */
export interface ThumbnailOptions {
  /** Longest side in pixels; the aspect is kept and nothing is enlarged. Default {@link THUMBNAIL_MAX_SIDE}. */
  maxSide?: number;
  /** WebP quality 1-100. Default 75. */
  quality?: number;
  /**
   * libwebp's effort (method) 0-6. Default {@link THUMBNAIL_WEBP_EFFORT}.
   */
  effort?: number;
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
 * Whether a frame's preview is already its thumbnail: a WebP (ffmpeg wrote it with the thumbnails' own
 * settings, `PREVIEW_WEBP`) of at most `side` pixels, at the quality and effort asked for.
 */
async function previewIsThumbnail(
  frame: SampledFrame,
  side: number,
  options: ThumbnailOptions,
): Promise<boolean> {
  if (frame.previewFormat !== 'webp' || !frame.preview) return false;
  if ((options.quality ?? PREVIEW_WEBP.quality) !== PREVIEW_WEBP.quality) return false;
  if ((options.effort ?? THUMBNAIL_WEBP_EFFORT) !== PREVIEW_WEBP.method) return false;
  // The header only (sharp reads no pixels for this).
  const { format, width = Infinity, height = Infinity } = await sharp(frame.preview).metadata();
  return format === 'webp' && Math.max(width, height) <= side;
}

/**
 * Writes one WebP per frame into `dir` (created if missing) as `<prefix>-0000.webp`, … and returns the
 * paths in frame order. A preview ffmpeg wrote as WebP at the thumbnails' settings is written as it is.
 */
export async function writeThumbnails(
  frames: SampledFrame[],
  dir: string,
  options: ThumbnailOptions = {},
): Promise<string[]> {
  const side = options.maxSide ?? THUMBNAIL_MAX_SIDE;
  const prefix = options.prefix ?? 'thumb';
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const frame of frames) {
    const file = path.join(dir, name(prefix, frame, 'webp'));
    if (await previewIsThumbnail(frame, side, options)) {
      await writeFile(file, frame.preview!);
      paths.push(file);
      continue;
    }
    await (frame.preview ? sharp(frame.preview) : raw(frame))
      .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true, kernel: 'lanczos3' })
      .webp({
        quality: options.quality ?? PREVIEW_WEBP.quality,
        effort: options.effort ?? THUMBNAIL_WEBP_EFFORT,
      })
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
