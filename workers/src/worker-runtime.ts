/**
 * Runs the pipeline's BullMQ workers in this process: one Worker per queue with its own concurrency,
 * each job wrapped so that progress is recorded, bad input fails at once, and a video's final failure is
 * written where people look. `close()` drains: no new jobs, running ones finish (or go back to their
 * queue when the timeout passes).
 */
import { isReelError, type Logger } from '@reel/infra';
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import { statusOfStage } from './batch-progress.ts';
import { failureReport, isFinalFailure, toJobError } from './error-policy.ts';
import { embedFrames, indexVideo, ingestVideo, recordFailure } from './handlers/video-stages.ts';
import { handlerOf, handlerTable, type JobHandler } from './job-handlers.ts';
import {
  type FinishBatchData,
  JobName,
  QueueName,
  STAGES,
  type Stage,
  type VideoJobData,
  type VideoOutcome,
  videoIdOfJob,
} from './jobs.ts';
import type { FrameSampling, PipelineDeps } from './pipeline-deps.ts';
import { DEFAULT_RECOVERY, type RecoveryOptions } from './queue-options.ts';

export interface WorkerRuntimeOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** Queues this process serves (default: all). */
  queues?: QueueName[];
  concurrency: Record<Stage, number>;
  deps: PipelineDeps;
  recovery?: Partial<RecoveryOptions>;
  /**
   * Handlers of the jobs beyond a video's stages and a batch's end (the reindex queue's, from
   * ReindexService): with the built-in ones, every job of a served queue must have exactly one.
   */
  handlers?: JobHandler[];
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

/** The job each stage's queue runs. */
const STAGE_JOB: Record<Stage, JobName> = {
  ingest: JobName.ingestVideo,
  embed: JobName.embedFrames,
  index: JobName.indexVideo,
};

function stageProcessor(stage: Stage, deps: PipelineDeps, logger: Logger) {
  return async (job: Job<VideoJobData>, _token?: string, signal?: AbortSignal): Promise<unknown> => {
    const data = job.data;
    const abort = signal ?? new AbortController().signal;
    await deps.progress.update(data.batchId, data.videoId, { status: statusOfStage(stage), stage });
    try {
      const result = await RUN_STAGE[stage](data, deps, abort);
      // Queued before the stage is done: if it fails, the stage re-runs and the event (same id) is
      // queued once.
      if (stage === 'index' && (result as VideoOutcome).status === 'indexed')
        await deps.events?.indexed(data, result as Extract<VideoOutcome, { status: 'indexed' }>);
      // The ingest stage's frames say how they were sampled: kept in the batch status for people.
      const sampling = stage === 'ingest' ? (result as { sampling?: FrameSampling }).sampling : undefined;
      await deps.progress.update(data.batchId, data.videoId, {
        status: NEXT_STATUS[stage],
        stage,
        ...(sampling ? { sampling } : {}),
      });
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
  if (final && deps.onBatchFinished) {
    const { videos: _videos, ...status } = final;
    await deps.onBatchFinished(status);
  }
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
  const builtIn: JobHandler[] = [
    ...STAGES.map((stage) => ({
      name: STAGE_JOB[stage],
      run: (job: Job, signal: AbortSignal) =>
        stageProcessor(stage, deps, deps.logger)(job, undefined, signal),
    })),
    { name: JobName.finishBatch, run: (job: Job) => finishBatch(job, deps) },
  ];
  // Fails here, before any job is taken, when a served queue's job lacks a handler or has two.
  const table = handlerTable([...builtIn, ...(options.handlers ?? [])], served);
  const concurrency: Record<QueueName, number> = {
    ...options.concurrency,
    batch: 4,
    reindex: 1,
    // Deliveries mostly wait on receivers: several at once cost little.
    webhooks: 8,
  };
  const workers: Worker[] = [];
  for (const queue of Object.values(QueueName)) {
    if (!served.includes(queue)) continue;
    workers.push(
      new Worker(
        queue,
        async (job: Job, _token?: string, signal?: AbortSignal) => {
          try {
            return await handlerOf(table, job).run(job, signal ?? new AbortController().signal);
          } catch (error) {
            // A job nobody handles never will: fail it for good.
            if (isReelError(error, 'JOB_UNKNOWN'))
              throw new UnrecoverableError(`JOB_UNKNOWN: ${error.message}`);
            throw error;
          }
        },
        { ...common, concurrency: concurrency[queue] },
      ),
    );
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
