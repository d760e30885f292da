/**
 * Runs the pipeline's BullMQ workers in this process: one Worker per queue with its own concurrency,
 * each job wrapped so that progress is recorded, bad input fails at once, and a video's final failure is
 * written where people look. `close()` drains: no new jobs, running ones finish (or go back to their
 * queue when the timeout passes).
 */
import type { Logger } from '@reel/infra';
import { type ConnectionOptions, type Job, Worker } from 'bullmq';
import { statusOfStage } from './batch-progress.ts';
import { failureReport, isFinalFailure, toJobError } from './error-policy.ts';
import { embedFrames, indexVideo, ingestVideo, recordFailure } from './handlers/video-stages.ts';
import {
  type FinishBatchData,
  QueueName,
  STAGES,
  type Stage,
  type VideoJobData,
  videoIdOfJob,
} from './jobs.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import { DEFAULT_RECOVERY, type RecoveryOptions } from './queue-options.ts';

export interface WorkerRuntimeOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** Queues this process serves (default: all). */
  queues?: QueueName[];
  concurrency: Record<Stage, number>;
  deps: PipelineDeps;
  recovery?: Partial<RecoveryOptions>;
  /** Extra processors (e.g. reindex) keyed by queue. */
  extra?: Partial<Record<QueueName, (job: Job) => Promise<unknown>>>;
}

export interface WorkerRuntime {
  workers: Worker[];
  /** Stops taking jobs; waits up to `timeoutMs` for running ones, then returns them to their queues. */
  close(timeoutMs?: number): Promise<void>;
}

const NEXT_STATUS: Record<Stage, 'embedding' | 'indexing' | 'indexed'> = {
  ingest: 'embedding',
  embed: 'indexing',
  index: 'indexed',
};

const RUN_STAGE = { ingest: ingestVideo, embed: embedFrames, index: indexVideo } as const;

function stageProcessor(stage: Stage, deps: PipelineDeps, logger: Logger) {
  return async (job: Job<VideoJobData>, _token?: string, signal?: AbortSignal): Promise<unknown> => {
    const data = job.data;
    const abort = signal ?? new AbortController().signal;
    await deps.progress.update(data.batchId, data.videoId, { status: statusOfStage(stage), stage });
    try {
      const result = await RUN_STAGE[stage](data, deps, abort);
      await deps.progress.update(data.batchId, data.videoId, { status: NEXT_STATUS[stage], stage });
      return stage === 'index' ? result : { videoId: data.videoId, stage };
    } catch (error) {
      const attempts = job.opts.attempts ?? 1;
      const final = isFinalFailure(error, job.attemptsMade, attempts);
      const report = failureReport(error);
      logger.warn(
        { videoId: data.videoId, file: data.name, stage, attempt: job.attemptsMade + 1, final, ...report },
        'stage failed',
      );
      if (final) await recordFailure(data, deps, report);
      throw toJobError(error);
    }
  };
}

async function finishBatch(job: Job<FinishBatchData>, deps: PipelineDeps): Promise<unknown> {
  // Videos whose chain failed were recorded by the stage that failed; anything the batch still shows as
  // running here failed without a record (e.g. stalled too often): record it now.
  const ignored = await job.getIgnoredChildrenFailures();
  const status = await deps.progress.get(job.data.batchId);
  for (const [key, reason] of Object.entries(ignored)) {
    const videoId = videoIdOfJob(key);
    const video = status?.videos.find((v) => v.videoId === videoId);
    if (video && !['indexed', 'failed', 'duplicate'].includes(video.status)) {
      await deps.progress.update(job.data.batchId, video.videoId, {
        status: 'failed',
        ...failureReport(new Error(reason)),
      });
    }
  }
  await deps.progress.finish(job.data.batchId);
  const final = await deps.progress.get(job.data.batchId);
  if (final && deps.onBatchFinished) await deps.onBatchFinished(final);
  return { batchId: job.data.batchId, counts: final?.counts };
}

export function startWorkers(options: WorkerRuntimeOptions): WorkerRuntime {
  const { deps } = options;
  const recovery = { ...DEFAULT_RECOVERY, ...options.recovery };
  const served = options.queues ?? Object.values(QueueName);
  const common = {
    connection: options.connection,
    prefix: options.prefix,
    lockDuration: recovery.lockDurationMs,
    stalledInterval: recovery.stalledIntervalMs,
    maxStalledCount: recovery.maxStalledCount,
  };
  const workers: Worker[] = [];
  for (const stage of STAGES) {
    if (!served.includes(stage)) continue;
    workers.push(
      new Worker(stage, stageProcessor(stage, deps, deps.logger), {
        ...common,
        concurrency: options.concurrency[stage],
      }),
    );
  }
  if (served.includes('batch')) {
    workers.push(
      new Worker('batch', (job: Job<FinishBatchData>) => finishBatch(job, deps), {
        ...common,
        concurrency: 4,
      }),
    );
  }
  for (const [queue, processor] of Object.entries(options.extra ?? {})) {
    if (processor && served.includes(queue as QueueName))
      workers.push(new Worker(queue, processor, { ...common, concurrency: 1 }));
  }
  for (const worker of workers) {
    // Connection errors are retried by ioredis; log them instead of crashing the process.
    worker.on('error', (error) =>
      deps.logger.error({ queue: worker.name, err: error.message }, 'worker error'),
    );
  }
  return {
    workers,
    async close(timeoutMs = 30_000) {
      const graceful = Promise.all(workers.map((w) => w.close()));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        deps.logger.warn(
          { timeoutMs },
          'jobs still running after the drain timeout: returning them to their queues',
        );
        await Promise.all(workers.map((w) => w.close(true)));
      }
    },
  };
}
