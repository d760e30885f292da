/**
 * The pipeline's sampler over @reel/ingest: X-Pool's uniform sampling at the model's input size, with
 * the limits, binaries and timeout from config, and a WebP thumbnail per frame in storage.
 *
 * ffmpeg reads files: a video in a bucket is first copied to `<tmp>/sources/` (after its size is checked
 * against `maxVideoBytes`) and the copy removed once sampled; a video in the data folder, or a server-side
 * path, is read where it is. Thumbnails go straight into the thumbnails folder, or are written to
 * `<tmp>/thumbnails/` and put in the bucket.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { isReelError, type ReelConfig, ReelError } from '@reel/infra';
import { sampleVideo, writeThumbnails } from '@reel/ingest';
import type { Frame, VideoSampler } from '../pipeline-deps.ts';
import type { LocalCopy, ObjectStorage } from './storage/object-storage.ts';
import { openStorage } from './storage/open-storage.ts';
import { thumbnailKey } from './storage/storage-keys.ts';

/**
 * ffmpeg decoder threads for the pipeline: REEL_FFMPEG_THREADS, or the cores shared among the worker's
 * concurrent decodes. Frame threads cost CPU in synchronisation (30 s of 720p H.264 here: 0.70 CPU s
 * with 1 thread, 0.87 s with 4), and in the pipeline the cores are busy anyway: with the encoder and
 * the other decodes.
 */
export function decoderThreads(config: Pick<ReelConfig, 'ffmpegThreads' | 'ingestConcurrency'>): number {
  if (config.ffmpegThreads > 0) return config.ffmpegThreads;
  return Math.max(1, Math.floor(availableParallelism() / config.ingestConcurrency));
}

export class IngestSampler implements VideoSampler {
  readonly #config: ReelConfig;
  readonly #size: number;
  readonly #storage: ObjectStorage;

  /**
   * @param size frame side in px: the model's image input (224 for CLIP ViT-B/32).
   * @param storage where videos and thumbnails are stored (default: the one config names).
   */
  constructor(config: ReelConfig, size: number, storage?: ObjectStorage) {
    this.#config = config;
    this.#size = size;
    this.#storage = storage ?? openStorage(config);
  }

  async sample(file: string, signal: AbortSignal) {
    const config = this.#config;
    const source = await this.#localFile(file, signal);
    try {
      const result = await sampleVideo(source.path, {
        strategy: { kind: 'uniform', count: config.framesPerVideo },
        size: this.#size,
        limits: {
          maxVideoSeconds: config.maxVideoSeconds,
          maxVideoPixels: config.maxVideoPixels,
          maxVideoBytes: config.maxVideoBytes,
        },
        binaries: { ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath },
        timeoutMs: config.ffmpegTimeoutSeconds * 1000,
        decoderThreads: decoderThreads(config),
        signal,
      });
      const durationSeconds = result.info.duration ?? result.frames.at(-1)?.timestamp ?? 0;
      return { durationSeconds, frames: result.frames, warnings: result.warnings };
    } catch (error) {
      // Messages name the stored video, not its temporary copy.
      if (source.path !== file && isReelError(error) && error.message.includes(source.path))
        throw new ReelError(error.code, error.message.replaceAll(source.path, file), {
          retryable: error.retryable,
          ...(error.details ? { details: error.details } : {}),
          cause: error,
        });
      throw error;
    } finally {
      await source.release();
    }
  }

  /** `file` itself when it is on this machine's disk, else a copy of the stored object. */
  async #localFile(file: string, signal: AbortSignal): Promise<LocalCopy> {
    const key = await this.#storage.keyOf(file);
    if (key === undefined || this.#storage.localPath(key) !== undefined)
      return { path: file, release: async () => {} };
    const info = await this.#storage.stat(key);
    if (info === undefined)
      throw new ReelError('FILE_NOT_FOUND', `${file}: no such object in storage (deleted, or never stored)`);
    if (info.size > this.#config.maxVideoBytes)
      throw new ReelError(
        'TOO_LARGE',
        `${file}: ${info.size} bytes, more than the ${this.#config.maxVideoBytes}-byte limit (REEL_MAX_VIDEO_BYTES)`,
      );
    const copy = await this.#storage.localCopy(key, {
      dir: path.join(this.#config.paths.tmp, 'sources'),
      signal,
    });
    if (copy === undefined)
      throw new ReelError('FILE_NOT_FOUND', `${file}: no such object in storage (deleted, or never stored)`);
    return copy;
  }

  async writeThumbnails(videoId: string, frames: Frame[]): Promise<string[]> {
    const indexed = frames.map((frame, index) => ({ ...frame, index }));
    // A local folder: written in place, as `<thumbnails>/<videoId>/thumb-0000.webp`.
    const inPlace = this.#storage.localPath(thumbnailKey(`${videoId}/-`));
    if (inPlace !== undefined) {
      const files = await writeThumbnails(indexed, path.dirname(inPlace));
      return files.map((file) => `${videoId}/${path.basename(file)}`);
    }
    const dir = path.join(this.#config.paths.tmp, 'thumbnails', randomUUID());
    try {
      const files = await writeThumbnails(indexed, dir);
      const names: string[] = [];
      for (const file of files) {
        const name = `${videoId}/${path.basename(file)}`;
        await this.#storage.put(thumbnailKey(name), await readFile(file), { contentType: 'image/webp' });
        names.push(name);
      }
      return names;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
