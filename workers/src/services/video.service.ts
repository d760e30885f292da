/**
 * Deleting a video: its rows in the index (the record and its vectors under every model), its
 * thumbnails, spool and download, its stored file (only one that storage holds: inside the videos folder,
 * or in the bucket with `REEL_STORAGE=s3`; never a server-side path), and its claims in Redis, so the
 * same content can be submitted again.
 *
 * A delete wins over jobs already under way. It first leaves a tombstone in Redis (the deletion time on
 * Redis's clock); every stage compares it with its job's `submittedAt` and, for a job submitted before the
 * delete, purges whatever it wrote instead of going on (the index stage checks again after its writes).
 * Jobs not running are removed outright and their batch entries fail with DELETED. A job submitted after
 * the delete (the same file uploaded again) is newer than the tombstone and runs normally.
 */
import type { Job, Queue } from 'bullmq';
import type { RedisClient } from '../adapters/redis.ts';
import type { VideoFiles } from '../adapters/video-files.ts';
import type { BatchProgress } from '../batch-progress.ts';
import { jobId, QueueName, type VideoJobData } from '../jobs.ts';
import type { CatalogVideo, DeletedVideos } from '../pipeline-deps.ts';

/** What deleting needs from the index. */
export interface VideoIndex {
  getVideo(tenant: string, videoId: string): Promise<CatalogVideo | undefined>;
  /** Removes the record and the vectors under every model; false when there was nothing. */
  deleteVideo(tenant: string, videoId: string): Promise<boolean>;
  /** Every model with a vectors table. */
  modelFingerprints(): Promise<string[]>;
}

/** How long a tombstone outlives its delete: longer than any job waits or retries. */
const TOMBSTONE_SECONDS = 30 * 24 * 3600;

const VIDEO_ID = /^v_[0-9a-f]{24}$/;

export class VideoService implements DeletedVideos {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #index: VideoIndex;
  readonly #files: VideoFiles;
  readonly #claims: { releaseClaim(videoId: string, options?: { ifBatch?: string }): Promise<void> };
  readonly #progress: BatchProgress;
  readonly #queues: Pick<Record<QueueName, Queue>, 'ingest' | 'embed' | 'index'>;
  readonly #searchFingerprint: () => Promise<string | undefined>;

  constructor(deps: {
    redis: RedisClient;
    prefix: string;
    index: VideoIndex;
    files: VideoFiles;
    /** Releases claims (BatchService). */
    claims: { releaseClaim(videoId: string, options?: { ifBatch?: string }): Promise<void> };
    progress: BatchProgress;
    queues: Pick<Record<QueueName, Queue>, 'ingest' | 'embed' | 'index'>;
    /** The model searches read (its jobs may exist before its table does). */
    searchFingerprint?: () => Promise<string | undefined>;
  }) {
    this.#redis = deps.redis;
    this.#prefix = deps.prefix;
    this.#index = deps.index;
    this.#files = deps.files;
    this.#claims = deps.claims;
    this.#progress = deps.progress;
    this.#queues = deps.queues;
    this.#searchFingerprint = deps.searchFingerprint ?? (async () => undefined);
  }

  #tombstoneKey(videoId: string): string {
    return `${this.#prefix}:reel:deleted:${videoId}`;
  }

  /**
   * Deletes a tenant's video everywhere (see the file header). Returns false, touching nothing, when the
   * tenant has no such video (no record in the index and no job).
   */
  async delete(tenant: string, videoId: string): Promise<boolean> {
    if (!VIDEO_ID.test(videoId)) return false;
    const record = await this.#index.getVideo(tenant, videoId);
    const jobs = (await this.#jobsOf(videoId)).filter((job) => job.data.tenant === tenant);
    if (!record && jobs.length === 0) return false;
    const [seconds, micros] = await this.#redis.time();
    const deletedAt = Number(seconds) * 1_000_000 + Number(micros);
    await this.#redis.set(this.#tombstoneKey(videoId), String(deletedAt), 'EX', TOMBSTONE_SECONDS);

    // Jobs not running go now (a chain from its top, children with it); running ones see the tombstone.
    for (const job of jobs) await job.remove({ removeChildren: true }).catch(() => {});
    const left = await this.#jobsOf(videoId);
    const running = new Set(left.map((job) => job.data.batchId));
    const stopped = new Map(jobs.filter((j) => !running.has(j.data.batchId)).map((j) => [j.data.batchId, j]));
    for (const job of stopped.values()) {
      await this.#progress.update(job.data.batchId, videoId, {
        status: 'failed',
        code: 'DELETED',
        message: `${job.data.name}: the video was deleted before it was processed`,
      });
    }

    await this.#index.deleteVideo(tenant, videoId);
    // Only the record's source: a job's payload names no file (see jobs.ts).
    await this.#files.remove(tenant, videoId, record?.source ? [record.source] : []);
    await this.#claims.releaseClaim(videoId);
    return true;
  }

  async wasDeleted(data: VideoJobData): Promise<boolean> {
    const deletedAt = await this.#redis.get(this.#tombstoneKey(data.videoId));
    return deletedAt !== null && (data.submittedAt ?? 0) <= Number(deletedAt);
  }

  async purge(data: VideoJobData): Promise<void> {
    const record = await this.#index.getVideo(data.tenant, data.videoId);
    await this.#index.deleteVideo(data.tenant, data.videoId);
    await this.#files.remove(data.tenant, data.videoId, record?.source ? [record.source] : []);
    // Only the claims this job's batch holds: a submit after the delete may hold them by now.
    await this.#claims.releaseClaim(data.videoId, { ifBatch: data.batchId });
  }

  /** The video's stage jobs still in BullMQ (any state), top of each chain first. */
  async #jobsOf(videoId: string): Promise<Job<VideoJobData>[]> {
    const ingest = (await this.#queues.ingest.getJob(jobId.ingest(videoId))) as Job<VideoJobData> | undefined;
    const fingerprints = new Set(await this.#index.modelFingerprints());
    const search = await this.#searchFingerprint();
    if (search) fingerprints.add(search);
    if (ingest) fingerprints.add(ingest.data.model.fingerprint);
    const found: Job<VideoJobData>[] = [];
    for (const fingerprint of fingerprints) {
      for (const [queue, id] of [
        [QueueName.index, jobId.index(videoId, fingerprint)],
        [QueueName.embed, jobId.embed(videoId, fingerprint)],
      ] as const) {
        const job = (await this.#queues[queue].getJob(id)) as Job<VideoJobData> | undefined;
        if (job) found.push(job);
      }
    }
    if (ingest) found.push(ingest);
    return found;
  }
}
