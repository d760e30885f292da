/**
 * The pipeline's sampler over @reel/ingest: X-Pool's uniform sampling at the model's input size, with
 * the limits, binaries and timeout from config, and a WebP thumbnail per frame in the thumbnails folder.
 */
import path from 'node:path';
import type { ReelConfig } from '@reel/infra';
import { sampleVideo, writeThumbnails } from '@reel/ingest';
import type { Frame, VideoSampler } from '../pipeline-deps.ts';

export class IngestSampler implements VideoSampler {
  readonly #config: ReelConfig;
  readonly #size: number;

  /** @param size frame side in px: the model's image input (224 for CLIP ViT-B/32). */
  constructor(config: ReelConfig, size: number) {
    this.#config = config;
    this.#size = size;
  }

  async sample(file: string, signal: AbortSignal) {
    const config = this.#config;
    const result = await sampleVideo(file, {
      strategy: { kind: 'uniform', count: config.framesPerVideo },
      size: this.#size,
      limits: {
        maxVideoSeconds: config.maxVideoSeconds,
        maxVideoPixels: config.maxVideoPixels,
        maxVideoBytes: config.maxVideoBytes,
      },
      binaries: { ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath },
      timeoutMs: config.ffmpegTimeoutSeconds * 1000,
      signal,
    });
    const durationSeconds = result.info.duration ?? result.frames.at(-1)?.timestamp ?? 0;
    return { durationSeconds, frames: result.frames, warnings: result.warnings };
  }

  async writeThumbnails(videoId: string, frames: Frame[]): Promise<string[]> {
    const dir = path.join(this.#config.paths.thumbnails, videoId);
    const files = await writeThumbnails(
      frames.map((frame, index) => ({ ...frame, index })),
      dir,
    );
    return files.map((file) => path.relative(this.#config.paths.thumbnails, file));
  }
}
