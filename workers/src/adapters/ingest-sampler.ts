/**
 * The pipeline's sampler over @reel/ingest: X-Pool's uniform sampling at the model's input size, with
 * the limits, binaries and timeout from config, and a WebP thumbnail per frame in storage (the frame at
 * the video's own aspect, up to 480 px, from the same ffmpeg run: not the model's square crop).
 *
 * It is the one place that opens a video's source, and checks it at the point of use: stored content
 * must lie in the video's tenant's area of storage (or the video's own folder), a server-side path must
 * still be its own real path, and either is opened here as a regular file (see regular-file.ts). ffmpeg
 * then reads that very descriptor, as `/proc/<pid>/fd/<n>`, so a file swapped in after the check is
 * never read (without /proc, as on macOS, it reads the path just checked). A video in a bucket is first
 * copied to `<tmp>/sources/` (after its size is checked against `maxVideoBytes`) and the copy removed
 * once sampled. Thumbnails go straight into the thumbnails folder, or are written to `<tmp>/thumbnails/`
 * and put in the bucket.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type FileHandle, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { isReelError, type ReelConfig, ReelError } from '@reel/infra';
import {
  type FfmpegBinaries,
  type FrameGeometry,
  IngestErrorCode,
  isSamplingPrecision,
  readSubtitleTracks,
  SAMPLING_PRECISIONS,
  type SamplingPrecision,
  sampleVideo,
  THUMBNAIL_MAX_SIDE,
  writeThumbnails,
} from '@reel/ingest';
import type { Frame, VideoSampler, VideoSourceRef } from '../pipeline-deps.ts';
import { hashHandle } from '../video-identity.ts';
import { type OpenedFile, openRegularFile } from './regular-file.ts';
import { sidecarsBeside } from './sidecar-files.ts';
import type { LocalCopy, ObjectStorage } from './storage/object-storage.ts';
import { openStorage } from './storage/open-storage.ts';
import { thumbnailKey } from './storage/storage-keys.ts';
import { type ResolvedSource, resolveSource } from './video-source.ts';

const PROC_FD = existsSync(`/proc/${process.pid}/fd`);

/** The binaries of config, started through the spawn host unless REEL_FFMPEG_SPAWN_HOST=false. */
function ffmpegBinaries(config: ReelConfig): FfmpegBinaries {
  return {
    ffmpegPath: config.ffmpegPath,
    ffprobePath: config.ffprobePath,
    viaSpawnHost: config.ffmpegSpawnHost,
  };
}

/** The path another process opens to read the same open file as `handle`, where /proc offers one. */
export function descriptorPath(handle: FileHandle): string | undefined {
  return PROC_FD ? `/proc/${process.pid}/fd/${handle.fd}` : undefined;
}

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

/**
 * The precision to sample at: the job's, when it names one reel knows (its payload may have been written
 * by someone else: anything else fails the video with INGEST_OPTIONS_INVALID), else config's.
 */
export function checkedPrecision(
  asked: string | undefined,
  configured: SamplingPrecision,
  name: string,
): SamplingPrecision {
  if (asked === undefined) return configured;
  if (isSamplingPrecision(asked)) return asked;
  throw new ReelError(
    IngestErrorCode.INGEST_OPTIONS_INVALID,
    `${name}: sampling precision ${JSON.stringify(asked).slice(0, 40)} is not one of ${SAMPLING_PRECISIONS.join(', ')}`,
  );
}

export class IngestSampler implements VideoSampler {
  readonly #config: ReelConfig;
  readonly #size: number;
  readonly #geometry: FrameGeometry | undefined;
  readonly #storage: ObjectStorage;

  /**
   * @param size frame side in px: the model's image input (224 for CLIP ViT-B/32).
   * @param storage where videos and thumbnails are stored (default: the one config names).
   */
  constructor(config: ReelConfig, size: number, storage?: ObjectStorage, geometry?: FrameGeometry) {
    this.#geometry = geometry;
    this.#config = config;
    this.#size = size;
    this.#storage = storage ?? openStorage(config);
  }

  async sample(
    video: VideoSourceRef,
    signal: AbortSignal,
    options: { hash?: boolean; precision?: string } = {},
  ) {
    const config = this.#config;
    const precision = checkedPrecision(options.precision, config.samplingPrecision, video.name);
    const source = await resolveSource(this.#storage, video);
    const local = await this.#localFile(video, signal, source);
    let opened: OpenedFile | undefined;
    // What ffmpeg reads: the descriptor opened here, or (without /proc) the path just checked.
    let input = local.path;
    try {
      opened = await openRegularFile(local.path, video.name);
      input = descriptorPath(opened.handle) ?? local.path;
      const hash = options.hash ? await hashHandle(opened.handle, signal) : undefined;
      const result = await sampleVideo(input, {
        strategy: { kind: 'uniform', count: config.framesPerVideo },
        size: this.#size,
        ...(this.#geometry ? { geometry: this.#geometry } : {}),
        limits: {
          maxVideoSeconds: config.maxVideoSeconds,
          maxVideoPixels: config.maxVideoPixels,
          maxVideoBytes: config.maxVideoBytes,
        },
        binaries: ffmpegBinaries(config),
        timeoutMs: config.ffmpegTimeoutSeconds * 1000,
        decoderThreads: decoderThreads(config),
        precision,
        // Thumbnails show the whole picture at its aspect, not the model's square crop; ffmpeg writes
        // them as WebP when it can, so they are not encoded twice.
        preview: { maxSide: THUMBNAIL_MAX_SIDE, tmpDir: config.paths.tmp, format: 'webp' },
        signal,
      });
      const durationSeconds = result.info.duration ?? result.frames.at(-1)?.timestamp ?? 0;
      // Its words: the subtitle tracks inside (the same descriptor), caption files beside a path.
      const captions =
        result.info.subtitles.length === 0
          ? []
          : await readSubtitleTracks(input, result.info, {
              binaries: ffmpegBinaries(config),
              timeoutMs: config.ffmpegTimeoutSeconds * 1000,
              signal,
            });
      const beside = source.kind === 'path' ? await sidecarsBeside(source.path) : { files: [], skipped: [] };
      return {
        durationSeconds,
        frames: result.frames,
        sampling: {
          precision: result.precision,
          plan: result.plan,
          offsetsMs: result.frames.map((f) => Math.round((f.timestamp - (f.target ?? f.timestamp)) * 1000)),
          redecoded: result.redecoded,
        },
        warnings: [...result.warnings, ...beside.skipped.map((reason) => `caption file skipped: ${reason}`)],
        ...(hash ? { hash } : {}),
        captions,
        sidecars: beside.files,
      };
    } catch (error) {
      // Messages name the video as its user knows it, not the copy, descriptor or path read.
      if (isReelError(error)) {
        const message = [input, local.path, video.source].reduce(
          (text, shown) => (shown ? text.replaceAll(shown, video.name) : text),
          error.message,
        );
        if (message !== error.message)
          throw new ReelError(error.code, message, {
            retryable: error.retryable,
            ...(error.details ? { details: error.details } : {}),
            cause: error,
          });
      }
      throw error;
    } finally {
      await opened?.handle.close();
      await local.release();
    }
  }

  /**
   * A local file with the video's bytes, from its checked source (see video-source.ts): the stored
   * object itself (in the data folder) or a copy (from a bucket), or a server-side path.
   */
  async #localFile(video: VideoSourceRef, signal: AbortSignal, source: ResolvedSource): Promise<LocalCopy> {
    if (source.kind === 'path') return { path: source.path, release: async () => {} };
    const { key } = source;
    const inPlace = this.#storage.localPath(key);
    if (inPlace !== undefined) return { path: inPlace, release: async () => {} };
    const info = await this.#storage.stat(key);
    if (info === undefined)
      throw new ReelError(
        'FILE_NOT_FOUND',
        `${video.name}: no such object in storage (deleted, or never stored)`,
      );
    if (info.size > this.#config.maxVideoBytes)
      throw new ReelError(
        'TOO_LARGE',
        `${video.name}: ${info.size} bytes, more than the ${this.#config.maxVideoBytes}-byte limit (REEL_MAX_VIDEO_BYTES)`,
      );
    const copy = await this.#storage.localCopy(key, {
      dir: path.join(this.#config.paths.tmp, 'sources'),
      signal,
    });
    if (copy === undefined)
      throw new ReelError(
        'FILE_NOT_FOUND',
        `${video.name}: no such object in storage (deleted, or never stored)`,
      );
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
