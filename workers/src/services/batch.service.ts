/**
 * Submitting a batch: hash every file (a video is its content, per tenant), drop duplicates (in the
 * batch, in flight elsewhere, or already indexed), record the batch's progress, and add one BullMQ flow
 * for the rest. Claims in Redis (SET NX per video) make two concurrent submits of the same file agree on
 * which one does the work.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import type { FlowJobNode, FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BatchKind, BatchProgress, BatchStatus, BatchVideo } from '../batch-progress.ts';
import {
  type FinishBatchData,
  JobName,
  jobId,
  type ModelRef,
  QueueName,
  type VideoJobData,
} from '../jobs.ts';
import type { VideoCatalog } from '../pipeline-deps.ts';
import { BATCH_JOB_OPTIONS, STAGE_JOB_OPTIONS } from '../queue-options.ts';
import { hashFile, videoIdFor } from '../video-identity.ts';

export interface SubmitFile {
  /** Where the file is now (absolute or relative to the working directory). */
  path: string;
  /** Name to show (upload name); default: the path. */
  name?: string;
  title?: string;
  tags?: string[];
}

export interface SubmitBatchInput {
  tenant: string;
  files: SubmitFile[];
  model: ModelRef;
  /** A client-chosen id makes the submit idempotent: submitting it again returns the first batch. */
  batchId?: string;
}

export interface SubmittedVideo {
  name: string;
  videoId?: string;
  status: 'queued' | 'duplicate' | 'failed';
  duplicateOf?: string;
  code?: string;
  message?: string;
}

export interface SubmitBatchResult {
  batchId: string;
  /** True when `batchId` was already submitted: nothing new was enqueued. */
  existing: boolean;
  videos: SubmittedVideo[];
}

export class BatchService {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #flows: FlowProducer;
  readonly #progress: BatchProgress;
  readonly #catalog: VideoCatalog;
  readonly #queues: Partial<Record<QueueName, Queue>>;

  constructor(deps: {
    redis: Redis;
    prefix: string;
    flows: FlowProducer;
    progress: BatchProgress;
    catalog: VideoCatalog;
    /** Queues whose finished jobs a re-run must clear first (see enqueueKnown). */
    queues?: Partial<Record<QueueName, Queue>>;
  }) {
    this.#queues = deps.queues ?? {};
    this.#redis = deps.redis;
    this.#prefix = deps.prefix;
    this.#flows = deps.flows;
    this.#progress = deps.progress;
    this.#catalog = deps.catalog;
  }

  #claimKey(videoId: string): string {
    return `${this.#prefix}:reel:claim:${videoId}`;
  }

  /** Frees a video's claim so the same content can be submitted again (after a failure or a delete). */
  async releaseClaim(videoId: string): Promise<void> {
    await this.#redis.del(this.#claimKey(videoId));
  }

  async submit(input: SubmitBatchInput): Promise<SubmitBatchResult> {
    const batchId = input.batchId ?? randomUUID();
    if (input.batchId && (await this.#progress.exists(batchId))) {
      const status = await this.#progress.get(batchId);
      return { batchId, existing: true, videos: (status?.videos ?? []).map(toSubmitted) };
    }
    const videos: SubmittedVideo[] = [];
    const jobs: VideoJobData[] = [];
    const seen = new Map<string, string>();
    for (const file of input.files) {
      const name = file.name ?? file.path;
      const absolute = path.resolve(file.path);
      let hash: { sha256: string; sizeBytes: number };
      try {
        hash = await hashFile(absolute);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'UNREADABLE';
        videos.push({
          name,
          status: 'failed',
          code,
          message: `${name}: ${isReelError(error) ? error.message : (error as Error).message}`,
        });
        continue;
      }
      if (hash.sizeBytes === 0) {
        videos.push({
          name,
          status: 'failed',
          code: 'EMPTY_FILE',
          message: `${name}: the file is empty (0 bytes)`,
        });
        continue;
      }
      const videoId = videoIdFor(input.tenant, hash.sha256);
      const twin = seen.get(videoId);
      if (twin !== undefined) {
        videos.push({
          name,
          videoId,
          status: 'duplicate',
          duplicateOf: batchId,
          message: `${name}: same content as ${twin}`,
        });
        continue;
      }
      seen.set(videoId, name);
      const existing = await this.#catalog.getVideo(input.tenant, videoId);
      if (
        existing?.status === 'indexed' &&
        (await this.#catalog.fingerprintsOf(input.tenant, videoId)).includes(input.model.fingerprint)
      ) {
        videos.push({
          name,
          videoId,
          status: 'duplicate',
          message: `${name}: already indexed as ${videoId}`,
        });
        continue;
      }
      const claimed = await this.#redis.set(this.#claimKey(videoId), batchId, 'NX');
      if (claimed !== 'OK') {
        const owner = (await this.#redis.get(this.#claimKey(videoId))) ?? undefined;
        if (owner !== batchId) {
          videos.push({
            name,
            videoId,
            status: 'duplicate',
            ...(owner ? { duplicateOf: owner } : {}),
            message: `${name}: already submitted in batch ${owner}`,
          });
          continue;
        }
      }
      videos.push({ name, videoId, status: 'queued' });
      jobs.push({
        batchId,
        videoId,
        tenant: input.tenant,
        file: absolute,
        name,
        title: file.title ?? path.parse(name).name,
        tags: file.tags ?? [],
        sha256: hash.sha256,
        sizeBytes: hash.sizeBytes,
        model: input.model,
      });
    }

    await this.#enqueue({ id: batchId, tenant: input.tenant, kind: 'upload' }, videos, jobs);
    return { batchId, existing: false, videos };
  }

  /**
   * Enqueues videos the index already knows (a backfill for a new model, a sweep re-run) as one batch,
   * without hashing or claims: their identity is settled. Idempotent per batch id.
   */
  async enqueueKnown(
    batch: { id: string; kind: BatchKind; target?: ModelRef },
    jobs: VideoJobData[],
  ): Promise<SubmitBatchResult> {
    if (await this.#progress.exists(batch.id)) {
      const status = await this.#progress.get(batch.id);
      return { batchId: batch.id, existing: true, videos: (status?.videos ?? []).map(toSubmitted) };
    }
    // A finished or failed job keeps its id for a while; BullMQ ignores a new job with the same id, so
    // the re-run's jobs would never run. Remove such leftovers first (live jobs are left alone).
    for (const job of jobs) {
      const fp = job.model.fingerprint;
      for (const [queue, id] of [
        [QueueName.ingest, jobId.ingest(job.videoId)],
        [QueueName.embed, jobId.embed(job.videoId, fp)],
        [QueueName.index, jobId.index(job.videoId, fp)],
      ] as const) {
        const old = await this.#queues[queue]?.getJob(id);
        if (old && ((await old.isFailed()) || (await old.isCompleted())))
          await old.remove({ removeChildren: false }).catch(() => {});
      }
    }
    const videos: SubmittedVideo[] = jobs.map((job) => ({
      name: job.name,
      videoId: job.videoId,
      status: 'queued',
    }));
    await this.#enqueue(
      { id: batch.id, tenant: '*', kind: batch.kind, ...(batch.target ? { target: batch.target } : {}) },
      videos,
      jobs,
    );
    return { batchId: batch.id, existing: false, videos };
  }

  async #enqueue(
    meta: { id: string; tenant: string; kind: BatchKind; target?: ModelRef },
    videos: SubmittedVideo[],
    jobs: VideoJobData[],
  ) {
    const now = Date.now();
    await this.#progress.create(
      { ...meta, createdAt: now },
      videos.map((v, i) => ({
        videoId: v.videoId ?? `file-${i}`,
        name: v.name,
        status: v.status,
        updatedAt: now,
        ...(v.code ? { code: v.code } : {}),
        ...(v.message && v.status === 'failed' ? { message: v.message } : {}),
        ...(v.duplicateOf ? { duplicateOf: v.duplicateOf } : {}),
      })),
    );
    await this.#flows.add({
      name: JobName.finishBatch,
      queueName: QueueName.batch,
      data: { batchId: meta.id } satisfies FinishBatchData,
      opts: { ...BATCH_JOB_OPTIONS, jobId: jobId.batch(meta.id) },
      children: jobs.map((data) => videoFlow(data)),
    });
  }

  async status(batchId: string): Promise<BatchStatus | undefined> {
    return this.#progress.get(batchId);
  }
}

function videoFlow(data: VideoJobData): FlowJobNode {
  const fp = data.model.fingerprint;
  return {
    name: JobName.indexVideo,
    queueName: QueueName.index,
    data,
    opts: { ...STAGE_JOB_OPTIONS.index, jobId: jobId.index(data.videoId, fp) },
    children: [
      {
        name: JobName.embedFrames,
        queueName: QueueName.embed,
        data,
        opts: { ...STAGE_JOB_OPTIONS.embed, jobId: jobId.embed(data.videoId, fp) },
        children: [
          {
            name: JobName.ingestVideo,
            queueName: QueueName.ingest,
            data,
            opts: { ...STAGE_JOB_OPTIONS.ingest, jobId: jobId.ingest(data.videoId) },
          },
        ],
      },
    ],
  };
}

function toSubmitted(video: BatchVideo): SubmittedVideo {
  const status = video.status === 'duplicate' ? 'duplicate' : video.status === 'failed' ? 'failed' : 'queued';
  return {
    name: video.name,
    videoId: video.videoId,
    status,
    ...(video.duplicateOf ? { duplicateOf: video.duplicateOf } : {}),
    ...(video.code ? { code: video.code } : {}),
    ...(video.message ? { message: video.message } : {}),
  };
}
