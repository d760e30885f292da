/**
 * The job queues as the services see them: a batch's flow of stage jobs, a video's jobs found and
 * removed, reindex jobs and their schedules, and each queue's counts. BullMQ (its Queue, FlowProducer
 * and Job classes, the job ids of jobs.ts and the options of queue-options.ts) is known here and in
 * worker-runtime.ts, which runs the jobs, and nowhere else under services.
 */
import type { FlowJobNode, FlowProducer, Job, Queue } from 'bullmq';
import {
  type FinishBatchData,
  JobName,
  jobId,
  QueueName,
  type ReindexJobData,
  type Stage,
  type VideoJobData,
  type WebhookJobData,
} from '../jobs.ts';
import { BATCH_JOB_OPTIONS, STAGE_JOB_OPTIONS, webhookJobOptions } from '../queue-options.ts';

/** A video's stage job still in a queue (any state). */
export interface VideoJob {
  stage: Stage;
  data: VideoJobData;
  /** Removes the job and the jobs under it in its chain (a chain from its top takes its children). */
  remove(): Promise<void>;
}

/** A queue's jobs by state, and the workers listening on it. */
export interface QueueCounts {
  name: QueueName;
  /** Waiting, including jobs waiting for their children (a batch's parent job). */
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Jobs with a priority (backfills), BullMQ's `prioritized` state. */
  prioritized: number;
  /** Worker connections listening on the queue. */
  workers: number;
}

/** The stage queues a submitted batch needs a worker on. */
const BATCH_QUEUES = [QueueName.ingest, QueueName.embed, QueueName.index, QueueName.batch] as const;

/** A video's stage jobs under one model, top of its chain first. */
function stageJobIds(videoId: string, fingerprint: string): [Stage, QueueName, string][] {
  return [
    ['index', QueueName.index, jobId.index(videoId, fingerprint)],
    ['embed', QueueName.embed, jobId.embed(videoId, fingerprint)],
    ['ingest', QueueName.ingest, jobId.ingest(videoId)],
  ];
}

/** index-video ← embed-frames ← ingest-video: each stage a child of the next, as the flow runs them. */
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

async function isFinished(job: Job): Promise<boolean> {
  return (await job.isFailed()) || (await job.isCompleted());
}

export class JobQueue {
  readonly #queues: Record<QueueName, Queue>;
  readonly #flows: FlowProducer;

  constructor(queues: Record<QueueName, Queue>, flows: FlowProducer) {
    this.#queues = queues;
    this.#flows = flows;
  }

  /**
   * Queues a batch: one finish-batch job whose children are each video's chain of stage jobs, with the
   * stages' retry options and deterministic ids (a video's chain under a model is one chain however
   * often it is submitted).
   */
  async enqueueBatch(batchId: string, videos: VideoJobData[]): Promise<void> {
    await this.#flows.add({
      name: JobName.finishBatch,
      queueName: QueueName.batch,
      data: { batchId } satisfies FinishBatchData,
      opts: { ...BATCH_JOB_OPTIONS, jobId: jobId.batch(batchId) },
      children: videos.map(videoFlow),
    });
  }

  /**
   * Removes a video's failed or completed stage jobs under a model: BullMQ ignores a new job whose id a
   * finished one still holds, so a re-run's jobs would never run. Live jobs are left alone.
   */
  async clearFinished(videoId: string, fingerprint: string): Promise<void> {
    for (const [, queue, id] of stageJobIds(videoId, fingerprint)) {
      const job = await this.#queues[queue].getJob(id);
      if (job && (await isFinished(job))) await job.remove({ removeChildren: false }).catch(() => {});
    }
  }

  /** True when one of the video's stage jobs under the model is waiting, running or retrying. */
  async hasLiveJob(videoId: string, fingerprint: string): Promise<boolean> {
    for (const [, queue, id] of stageJobIds(videoId, fingerprint)) {
      const job = await this.#queues[queue].getJob(id);
      if (job && !(await isFinished(job))) return true;
    }
    return false;
  }

  /**
   * The video's stage jobs still in a queue (any state) under any of the models, top of each chain first
   * and its ingest job (shared by every model's chain) last. The ingest job's own model is added to the
   * models looked at.
   */
  async videoJobs(videoId: string, fingerprints: Iterable<string>): Promise<VideoJob[]> {
    const ingest = (await this.#queues.ingest.getJob(jobId.ingest(videoId))) as Job<VideoJobData> | undefined;
    const models = new Set(fingerprints);
    if (ingest) models.add(ingest.data.model.fingerprint);
    const found: VideoJob[] = [];
    const wrap = (stage: Stage, job: Job<VideoJobData>): VideoJob => ({
      stage,
      data: job.data,
      remove: () => job.remove({ removeChildren: true }),
    });
    for (const fingerprint of models)
      for (const [stage, queue, id] of stageJobIds(videoId, fingerprint)) {
        if (stage === 'ingest') continue;
        const job = (await this.#queues[queue].getJob(id)) as Job<VideoJobData> | undefined;
        if (job) found.push(wrap(stage, job));
      }
    if (ingest) found.push(wrap('ingest', ingest));
    return found;
  }

  /**
   * Queues webhook deliveries, one job per delivery id: a delivery whose job BullMQ still holds (waiting,
   * retrying, or completed within a day) is not queued again.
   */
  async addWebhookDeliveries(
    deliveries: { deliveryId: string; data: WebhookJobData }[],
    retry: { attempts: number; backoffMs: number },
  ): Promise<void> {
    if (deliveries.length === 0) return;
    await this.#queues.webhooks.addBulk(
      deliveries.map(({ deliveryId, data }) => ({
        name: JobName.deliverWebhook,
        data,
        opts: { ...webhookJobOptions(retry), jobId: jobId.webhook(deliveryId) },
      })),
    );
  }

  /** Queues a reindex job now; returns its id. */
  async addReindex(name: JobName, data: ReindexJobData): Promise<string> {
    const job = await this.#queues.reindex.add(name, data);
    return job.id ?? '';
  }

  /** Creates or updates the reindex schedule `id` (one per id, however many processes upsert it). */
  async scheduleReindex(id: string, pattern: string, name: JobName, data: ReindexJobData): Promise<void> {
    await this.#queues.reindex.upsertJobScheduler(id, { pattern }, { name, data });
  }

  /** Every queue's job counts and worker count. */
  async counts(): Promise<QueueCounts[]> {
    return Promise.all(
      Object.values(QueueName).map(async (name) => {
        const queue = this.#queues[name];
        const [counts, workers] = await Promise.all([
          queue.getJobCounts('waiting', 'waiting-children', 'active', 'delayed', 'failed', 'prioritized'),
          queue.getWorkersCount(),
        ]);
        return {
          name,
          waiting: (counts.waiting ?? 0) + (counts['waiting-children'] ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          prioritized: counts.prioritized ?? 0,
          workers,
        };
      }),
    );
  }

  /** True when some worker process listens on every queue a batch goes through. */
  async workersListening(): Promise<boolean> {
    const counts = await Promise.all(BATCH_QUEUES.map((name) => this.#queues[name].getWorkersCount()));
    return counts.every((n) => n > 0);
  }
}
