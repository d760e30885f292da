/**
 * Per-batch progress in Redis, readable at any time by any process: one hash for the batch, one hash of
 * per-video states. Handlers update a video's state as it moves through the stages; `reel status`,
 * the API and finish-batch read it. Kept apart from BullMQ's own job data so that the batch's picture
 * survives retries, stalls and job cleanup.
 */
import type { RedisClient } from './adapters/redis.ts';
import type { Stage } from './jobs.ts';
import type { FrameSampling } from './pipeline-deps.ts';

export const VideoStatus = {
  queued: 'queued',
  ingesting: 'ingesting',
  embedding: 'embedding',
  indexing: 'indexing',
  indexed: 'indexed',
  duplicate: 'duplicate',
  failed: 'failed',
} as const;
export type VideoStatus = (typeof VideoStatus)[keyof typeof VideoStatus];

/** States a video does not leave within its batch. */
export const FINAL_STATUSES: readonly VideoStatus[] = ['indexed', 'duplicate', 'failed'];

const STAGE_STATUS: Record<Stage, VideoStatus> = {
  ingest: 'ingesting',
  embed: 'embedding',
  index: 'indexing',
};
export function statusOfStage(stage: Stage): VideoStatus {
  return STAGE_STATUS[stage];
}

export interface BatchVideo {
  videoId: string;
  /** The name the user gave: upload file name or submitted path. */
  name: string;
  status: VideoStatus;
  /** For failures: the stable error code and the message (what was wrong, with which file). */
  code?: string;
  message?: string;
  /** For duplicates: the batch that indexed (or is indexing) this content. */
  duplicateOf?: string;
  /** For a URL video found to be a duplicate once downloaded: the video that already has its content. */
  existingVideoId?: string;
  /** Epoch ms of the last change. */
  updatedAt: number;
  /** Epoch ms when each stage started and ended for this video. */
  stages?: Partial<Record<Stage, { startedAt: number; endedAt?: number }>>;
  /** Once sampled: the frames' precision, the decoding plan and how far each frame landed from its target. */
  sampling?: FrameSampling;
}

/** Why a batch exists: videos people submitted, or the index bringing itself up to date. */
export type BatchKind = 'upload' | 'backfill' | 'sweep' | 'retry';

export interface BatchMeta {
  id: string;
  /** The tenant of an upload; `*` for reindex batches, which span tenants. */
  tenant: string;
  kind?: BatchKind;
  /** For a backfill: the model it fills in. */
  target?: { dir: string; fingerprint: string };
  createdAt: number;
  finishedAt?: number;
  total: number;
}

export interface BatchStatus extends BatchMeta {
  counts: Record<VideoStatus, number>;
  /** Videos that reached a final status. */
  done: number;
  /** Per stage: videos past it, and videos in it now. */
  stages: Record<Stage, { done: number; running: number }>;
  /** Seconds left, estimated from the pace so far; undefined before the first video ends or after the batch ends. */
  etaSeconds: number | undefined;
  videos: BatchVideo[];
}

const KEEP_FINISHED_SECONDS = 30 * 24 * 3600;

export class BatchProgress {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #metaKey(batchId: string): string {
    return `${this.#prefix}:reel:batch:${batchId}`;
  }

  #videosKey(batchId: string): string {
    return `${this.#prefix}:reel:batch:${batchId}:videos`;
  }

  /** A tenant's batches by creation time (a sorted set of batch ids, scored by epoch ms). */
  #tenantKey(tenant: string): string {
    return `${this.#prefix}:reel:tenant-batches:${tenant}`;
  }

  /** Records a new batch and its videos (queued or duplicate). Returns false if the batch id exists. */
  async create(meta: Omit<BatchMeta, 'total'>, videos: BatchVideo[]): Promise<boolean> {
    const created = await this.#redis.hsetnx(
      this.#metaKey(meta.id),
      'meta',
      JSON.stringify({ ...meta, total: videos.length }),
    );
    if (created === 0) return false;
    if (videos.length > 0) {
      // Entries are keyed by video id, which handlers update by; a second file with the same content in
      // one batch (a duplicate) gets a suffixed key so it does not hide the first.
      const entries: Record<string, string> = {};
      videos.forEach((video, i) => {
        const key = video.videoId in entries ? `${video.videoId}~${i}` : video.videoId;
        entries[key] = JSON.stringify(video);
      });
      await this.#redis.hset(this.#videosKey(meta.id), entries);
    }
    if (meta.tenant !== '*') {
      const key = this.#tenantKey(meta.tenant);
      await this.#redis.zadd(key, meta.createdAt, meta.id);
      // Batches are forgotten 30 days after they end: so are their entries here (one that ran longer is
      // dropped when read, below).
      await this.#redis.zremrangebyscore(key, '-inf', meta.createdAt - KEEP_FINISHED_SECONDS * 1000);
    }
    return true;
  }

  /**
   * A tenant's most recent batches, newest first, each with its counts and stages (the per-video list
   * left out: GET /v1/batches/:id has it). `before` (epoch ms, exclusive) pages back in time.
   */
  async recent(
    tenant: string,
    options: { limit: number; before?: number },
  ): Promise<{ batches: Omit<BatchStatus, 'videos'>[]; nextBefore: number | null }> {
    const key = this.#tenantKey(tenant);
    const max = options.before === undefined ? '+inf' : `(${options.before}`;
    const ids = await this.#redis.zrevrangebyscore(
      key,
      max,
      '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      options.limit + 1,
    );
    const page: { id: string; score: number }[] = [];
    for (let i = 0; i < ids.length; i += 2) page.push({ id: ids[i]!, score: Number(ids[i + 1]) });
    const batches: Omit<BatchStatus, 'videos'>[] = [];
    for (const { id } of page.slice(0, options.limit)) {
      const status = await this.get(id);
      if (!status || status.tenant !== tenant) {
        await this.#redis.zrem(key, id); // expired in Redis, or not this tenant's
        continue;
      }
      const { videos: _videos, ...summary } = status;
      batches.push(summary);
    }
    return {
      batches,
      nextBefore: page.length > options.limit ? page[options.limit - 1]!.score : null,
    };
  }

  async exists(batchId: string): Promise<boolean> {
    return (await this.#redis.exists(this.#metaKey(batchId))) === 1;
  }

  /**
   * Moves a video to a new status. A video that already reached a final status keeps it unless
   * `force` (a re-run by the sweep). Unknown videos are ignored: their batch was deleted.
   */
  async update(
    batchId: string,
    videoId: string,
    patch: {
      status: VideoStatus;
      stage?: Stage;
      code?: string;
      message?: string;
      duplicateOf?: string;
      existingVideoId?: string;
      sampling?: FrameSampling;
    },
    options: { force?: boolean } = {},
  ): Promise<void> {
    const key = this.#videosKey(batchId);
    const raw = await this.#redis.hget(key, videoId);
    if (!raw) return;
    const video = JSON.parse(raw) as BatchVideo;
    if (FINAL_STATUSES.includes(video.status) && !options.force) return;
    const now = Date.now();
    const stages = { ...video.stages };
    if (patch.stage) {
      const previous = stages[patch.stage];
      stages[patch.stage] =
        patch.status === statusOfStage(patch.stage)
          ? { startedAt: previous?.startedAt ?? now }
          : { startedAt: previous?.startedAt ?? now, endedAt: now };
    }
    const next: BatchVideo = { ...video, status: patch.status, updatedAt: now, stages };
    if (patch.code !== undefined) next.code = patch.code;
    if (patch.message !== undefined) next.message = patch.message;
    if (patch.duplicateOf !== undefined) next.duplicateOf = patch.duplicateOf;
    if (patch.existingVideoId !== undefined) next.existingVideoId = patch.existingVideoId;
    if (patch.sampling !== undefined) next.sampling = patch.sampling;
    if (patch.status !== 'failed') delete next.code;
    // A failure says what went wrong; a duplicate found late (a URL video) says what it duplicates.
    if (patch.status !== 'failed' && !(patch.status === 'duplicate' && patch.message !== undefined))
      delete next.message;
    await this.#redis.hset(key, videoId, JSON.stringify(next));
  }

  /** One video's state in a batch (undefined when the batch or the video is unknown). */
  async video(batchId: string, videoId: string): Promise<BatchVideo | undefined> {
    const raw = await this.#redis.hget(this.#videosKey(batchId), videoId);
    return raw ? (JSON.parse(raw) as BatchVideo) : undefined;
  }

  /** Marks the batch finished and lets Redis forget it after 30 days. */
  async finish(batchId: string): Promise<void> {
    const meta = await this.meta(batchId);
    if (!meta) return;
    if (meta.finishedAt === undefined) {
      await this.#redis.hset(
        this.#metaKey(batchId),
        'meta',
        JSON.stringify({ ...meta, finishedAt: Date.now() }),
      );
    }
    await this.#redis.expire(this.#metaKey(batchId), KEEP_FINISHED_SECONDS);
    await this.#redis.expire(this.#videosKey(batchId), KEEP_FINISHED_SECONDS);
  }

  /** A batch's kind, tenant and times, without its videos (undefined when Redis has no such batch). */
  async meta(batchId: string): Promise<BatchMeta | undefined> {
    const raw = await this.#redis.hget(this.#metaKey(batchId), 'meta');
    return raw ? (JSON.parse(raw) as BatchMeta) : undefined;
  }

  async get(batchId: string): Promise<BatchStatus | undefined> {
    const meta = await this.meta(batchId);
    if (!meta) return undefined;
    const videos = Object.values(await this.#redis.hgetall(this.#videosKey(batchId)))
      .map((raw) => JSON.parse(raw) as BatchVideo)
      .sort((a, b) => a.name.localeCompare(b.name));
    return summarize(meta, videos, Date.now());
  }
}

/** Pure: counts, per-stage progress and ETA of a batch from its videos' states. */
export function summarize(meta: BatchMeta, videos: BatchVideo[], now: number): BatchStatus {
  const counts = Object.fromEntries(Object.values(VideoStatus).map((s) => [s, 0])) as Record<
    VideoStatus,
    number
  >;
  const stages: BatchStatus['stages'] = {
    ingest: { done: 0, running: 0 },
    embed: { done: 0, running: 0 },
    index: { done: 0, running: 0 },
  };
  for (const video of videos) {
    counts[video.status]++;
    for (const [stage, times] of Object.entries(video.stages ?? {}) as [
      Stage,
      { startedAt: number; endedAt?: number },
    ][]) {
      if (times.endedAt !== undefined) stages[stage].done++;
      else if (video.status === statusOfStage(stage)) stages[stage].running++;
    }
  }
  const done = counts.indexed + counts.duplicate + counts.failed;
  const remaining = videos.length - done;
  // Pace from the videos that did work (duplicates end at once and would make the estimate too rosy).
  const worked = counts.indexed + counts.failed;
  const elapsed = (now - meta.createdAt) / 1000;
  const etaSeconds =
    meta.finishedAt === undefined && worked > 0 && remaining > 0
      ? Math.round((elapsed / worked) * remaining)
      : undefined;
  return { ...meta, counts, done, stages, etaSeconds, videos };
}
