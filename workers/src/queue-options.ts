/**
 * Queue and job options in one table: retries, backoff, cleanup, and how each stage's child is tied to
 * its parent in a batch flow.
 */
import type { JobsOptions } from 'bullmq';
import { RETRY_POLICY } from './error-policy.ts';
import type { Stage } from './jobs.ts';

const retried: JobsOptions = {
  attempts: RETRY_POLICY.attempts,
  backoff: { type: 'exponential', delay: RETRY_POLICY.backoffMs },
  // Completed stage jobs are forgotten at once (the batch hash and the index remember the outcome), so
  // their deterministic ids are free for a later re-run; failed ones stay a week for inspection.
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
};

export const STAGE_JOB_OPTIONS: Record<Stage, JobsOptions> = {
  // A failed ingest or embed fails its parent, up to index-video...
  ingest: { ...retried, failParentOnFailure: true },
  embed: { ...retried, failParentOnFailure: true },
  // ...whose failure the batch records but does not wait on: one bad video never blocks its batch.
  index: { ...retried, ignoreDependencyOnFailure: true },
};

export const BATCH_JOB_OPTIONS: JobsOptions = {
  attempts: RETRY_POLICY.attempts,
  backoff: { type: 'exponential', delay: RETRY_POLICY.backoffMs },
  removeOnComplete: { age: 30 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/**
 * A webhook delivery: its attempts with exponential backoff (doubling from `backoffMs`), kept a day after
 * it succeeds (so the same delivery id is not queued again within that window: the idempotency window)
 * and a week after it fails.
 */
export function webhookJobOptions(retry: { attempts: number; backoffMs: number }): JobsOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** Stalled-job recovery: a worker killed mid-job loses its lock after `lockDurationMs`, and another takes the job. */
export interface RecoveryOptions {
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** How many times a job may stall (its worker died) before it fails. */
  maxStalledCount: number;
}

export const DEFAULT_RECOVERY: RecoveryOptions = {
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  maxStalledCount: 3,
};
