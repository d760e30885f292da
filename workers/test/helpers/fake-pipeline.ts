/**
 * Strict in-memory fakes of the pipeline's outside world (sampler, embedder, catalog), for tests that
 * run the real BullMQ flow on the real Redis without ffmpeg or onnxruntime.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, ReelError } from '@reel/infra';
import type { Redis } from 'ioredis';
import { FrameSpool } from '../../src/adapters/frame-spool.ts';
import { BatchProgress } from '../../src/batch-progress.ts';
import type {
  CatalogEmbeddings,
  CatalogVideo,
  Frame,
  FrameEmbedder,
  PipelineDeps,
  VideoCatalog,
  VideoSampler,
  VideoSourceRef,
} from '../../src/pipeline-deps.ts';

export const FAKE_FINGERPRINT = `sha256:${'ab'.repeat(32)}`;

export class FakeCatalog implements VideoCatalog {
  videos = new Map<string, CatalogVideo>();
  embeddings = new Map<string, CatalogEmbeddings>();
  embeddingWrites = 0;
  async saveVideo(video: CatalogVideo) {
    this.videos.set(video.videoId, { ...video });
  }
  async saveVideos(videos: readonly CatalogVideo[]) {
    for (const video of videos) this.videos.set(video.videoId, { ...video });
  }
  async deleteVideo(_tenant: string, videoId: string) {
    return this.videos.delete(videoId);
  }
  async saveEmbeddings(embeddings: CatalogEmbeddings) {
    this.embeddingWrites++;
    this.embeddings.set(`${embeddings.videoId}:${embeddings.fingerprint}`, embeddings);
  }
  async getVideo(_tenant: string, videoId: string) {
    return this.videos.get(videoId);
  }
  async getVideos(_tenant: string, videoIds: readonly string[]) {
    return new Map(
      videoIds.flatMap((id) => {
        const video = this.videos.get(id);
        return video ? [[id, video] as const] : [];
      }),
    );
  }
  async embeddedIds(_tenant: string, videoIds: readonly string[], fingerprint: string) {
    return new Set(videoIds.filter((id) => this.embeddings.has(`${id}:${fingerprint}`)));
  }
}

/** Files whose name contains "bad" are not videos; "flaky" ones fail once with a retryable error. */
export class FakeSampler implements VideoSampler {
  calls: string[] = [];
  readonly #failedOnce = new Set<string>();
  async sample(video: VideoSourceRef) {
    const file = video.source;
    this.calls.push(path.basename(file));
    if (file.includes('bad'))
      throw new ReelError('NOT_A_VIDEO', `${path.basename(file)}: not a video (text)`);
    if (file.includes('flaky') && !this.#failedOnce.has(file)) {
      this.#failedOnce.add(file);
      throw new ReelError('FFMPEG_TIMEOUT', `${path.basename(file)}: ffmpeg killed after 1 ms`, {
        retryable: true,
      });
    }
    const frames: Frame[] = Array.from({ length: 3 }, (_, i) => ({
      timestamp: i + 0.5,
      width: 2,
      height: 2,
      data: new Uint8Array(12).fill(i),
    }));
    return { durationSeconds: 3, frames, warnings: [] };
  }
  async writeThumbnails(videoId: string, frames: Frame[]) {
    return frames.map((_, i) => `${videoId}/${i}.webp`);
  }
}

export class FakeEmbedder implements FrameEmbedder {
  readonly fingerprint = FAKE_FINGERPRINT;
  readonly dim = 4;
  async embed(frames: Frame[]) {
    return frames.map((f) => Float32Array.of(f.data[0]!, 1, 0, 0));
  }
}

export function fakeDeps(redis: Redis, prefix: string) {
  const catalog = new FakeCatalog();
  const sampler = new FakeSampler();
  const embedder = new FakeEmbedder();
  const deps: PipelineDeps = {
    progress: new BatchProgress(redis, prefix),
    spool: new FrameSpool(mkdtempSync(path.join(tmpdir(), 'reel-fake-spool-'))),
    sampler,
    embedders: { get: async () => embedder },
    catalog,
    logger: createLogger({ level: 'silent', name: 'test' }),
  };
  return { deps, catalog, sampler };
}
