/**
 * Every queue, job name and payload of reel's pipeline, in one place. A batch is a BullMQ flow:
 *
 *   finish-batch (queue "batch")                     ← runs when every video below has ended
 *     └ index-video (queue "index")   × one per video, ignoreDependencyOnFailure: a failed video never
 *         └ embed-frames (queue "embed")               blocks its batch
 *             └ ingest-video (queue "ingest")          failParentOnFailure up to index-video
 *
 * Children run first, so a video goes ingest → embed → index. Frames and embeddings pass between
 * stages as files in the data folder (see frame-spool.ts), never through Redis.
 */

export const QueueName = {
  batch: 'batch',
  ingest: 'ingest',
  embed: 'embed',
  index: 'index',
  reindex: 'reindex',
  webhooks: 'webhooks',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** The three stages a video goes through, in order. */
export const STAGES = ['ingest', 'embed', 'index'] as const;
export type Stage = (typeof STAGES)[number];

export const JobName = {
  finishBatch: 'finish-batch',
  ingestVideo: 'ingest-video',
  embedFrames: 'embed-frames',
  indexVideo: 'index-video',
  backfill: 'backfill',
  sweep: 'sweep',
  upkeep: 'upkeep',
  deliverWebhook: 'deliver-webhook',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** The model a video is embedded with: its folder and the fingerprint its files had at submission. */
export interface ModelRef {
  dir: string;
  fingerprint: string;
}

/**
 * What every per-video job carries: which video, of which tenant, in which batch, with which model. A
 * job names a video and nothing else about it: its file, title, tags and hash are read from its record
 * in the catalog (written when it was submitted), so a payload written by someone else cannot point a
 * worker at a file, a URL or another tenant's video (a job naming a video nobody submitted fails with
 * VIDEO_NOT_SUBMITTED and writes nothing).
 */
export interface VideoJobData {
  batchId: string;
  videoId: string;
  tenant: string;
  /** When the video was submitted (Redis server clock, µs): a delete after this wins over the job. */
  submittedAt?: number;
  /** The name the user gave the file (upload name, path or URL), shown in messages; display text only. */
  name: string;
  /** The model to embed with; its folder must lie in the models folder (or be REEL_MODEL). */
  model: ModelRef;
  /**
   * The sampling precision the submit asked for; absent: REEL_SAMPLING_PRECISION. A value the worker
   * does not know is refused by the sampler (a payload may have been written by someone else).
   */
  precision?: string;
}

export interface FinishBatchData {
  batchId: string;
}

/** What index-video returns to finish-batch. */
export type VideoOutcome =
  | { videoId: string; status: 'indexed'; frames: number; durationSeconds: number }
  /** A URL video whose content the tenant already had, or a video deleted while it was processed. */
  | StageSkip;

/** A stage that did no work: the video turned out to be a duplicate, or was deleted meanwhile. */
export interface StageSkip {
  videoId: string;
  status: 'duplicate' | 'deleted';
}

export type ReindexJobData =
  /** Always to the active model (the worker reads it from config; `model` is informative). */
  | { kind: 'backfill'; model: ModelRef }
  /** Every tenant's videos, or only `tenant`'s (a tenant admin's sweep through the API). */
  | { kind: 'sweep'; tenant?: string; stuckAfterMinutes?: number }
  | { kind: 'upkeep' };

/** What happened, as a webhook tells it (api/README.md, "Webhooks", shows each payload). */
export const WebhookEventType = {
  batchFinished: 'batch.finished',
  videoIndexed: 'video.indexed',
  videoFailed: 'video.failed',
  reindexFinished: 'reindex.finished',
} as const;
export type WebhookEventType = (typeof WebhookEventType)[keyof typeof WebhookEventType];

/** One event, as its deliveries send it: the same `id` in every delivery of it, and in every attempt. */
export interface WebhookEvent {
  /** Deterministic per happening (e.g. `batch.finished/<batch id>`): the receiver's idempotency key. */
  id: string;
  type: WebhookEventType;
  /** ISO time the event happened. */
  createdAt: string;
  data: Record<string, unknown>;
}

/**
 * A delivery of one event to one endpoint. The endpoint is named, never described: its URL and secret
 * are read from the tenant's endpoint record when the job runs, so a payload written by someone else
 * cannot aim a worker at an address or sign with a secret of its choosing.
 */
export interface WebhookJobData {
  tenant: string;
  endpointId: string;
  event: WebhookEvent;
}

/**
 * Deterministic job ids: a retried submit or a second batch with the same video enqueues nothing twice.
 * (BullMQ forbids ':' in custom ids.)
 */
export const jobId = {
  ingest: (videoId: string) => `ingest-${videoId}`,
  embed: (videoId: string, fingerprint: string) => `embed-${videoId}-${fingerprint.slice(7, 23)}`,
  index: (videoId: string, fingerprint: string) => `index-${videoId}-${fingerprint.slice(7, 23)}`,
  batch: (batchId: string) => `batch-${batchId}`,
  /** The delivery id: one job per (endpoint, event) while BullMQ keeps it (the idempotency window). */
  webhook: (deliveryId: string) => `webhook-${deliveryId}`,
} as const;

/** The video id inside a stage job's id (or a job key that ends with one). */
export function videoIdOfJob(id: string): string | undefined {
  return /(?:ingest|embed|index)-(v_[0-9a-f]+)/.exec(id)?.[1];
}
