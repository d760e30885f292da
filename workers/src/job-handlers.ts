/**
 * The handler table: which function runs each job, checked when a worker starts, as immich's
 * `JobRepository.setup()` does: start-up fails when a job of a queue the worker serves has no handler,
 * or two, or a handler names a job that does not exist. A job whose name has no handler at run time (one
 * someone else added) fails at once, unretried.
 */
import { ReelError } from '@reel/infra';
import type { Job } from 'bullmq';
import { JobName, QueueName } from './jobs.ts';

/** The queue each job runs on. */
export const JOB_QUEUE: Readonly<Record<JobName, QueueName>> = {
  [JobName.finishBatch]: QueueName.batch,
  [JobName.ingestVideo]: QueueName.ingest,
  [JobName.embedFrames]: QueueName.embed,
  [JobName.indexVideo]: QueueName.index,
  [JobName.backfill]: QueueName.reindex,
  [JobName.sweep]: QueueName.reindex,
  [JobName.upkeep]: QueueName.reindex,
  [JobName.deliverWebhook]: QueueName.webhooks,
};

export interface JobHandler {
  name: JobName;
  /** Runs the job; `signal` fires when the worker stops (or the job's lock is lost). */
  run(job: Job, signal: AbortSignal): Promise<unknown>;
}

/** The handlers of `served` queues, by job name; throws JOB_HANDLERS_INVALID listing every problem. */
export function handlerTable(
  handlers: readonly JobHandler[],
  served: readonly QueueName[],
): Map<string, JobHandler> {
  const problems: string[] = [];
  const table = new Map<string, JobHandler>();
  for (const handler of handlers) {
    if (!Object.hasOwn(JOB_QUEUE, handler.name))
      problems.push(`a handler for ${handler.name}, which is no job`);
    else if (table.has(handler.name)) problems.push(`two handlers for ${handler.name}`);
    else if (served.includes(JOB_QUEUE[handler.name])) table.set(handler.name, handler);
  }
  for (const [name, queue] of Object.entries(JOB_QUEUE))
    if (served.includes(queue) && !table.has(name)) problems.push(`no handler for ${name} (queue ${queue})`);
  if (problems.length > 0)
    throw new ReelError('JOB_HANDLERS_INVALID', `the worker cannot start: ${problems.join('; ')}`);
  return table;
}

/** The handler of a job by its name, or JOB_UNKNOWN (never retried: nothing will ever handle it). */
export function handlerOf(table: Map<string, JobHandler>, job: Job): JobHandler {
  const handler = table.get(job.name);
  if (!handler)
    throw new ReelError(
      'JOB_UNKNOWN',
      `job ${job.id ?? '?'} is named ${JSON.stringify(job.name)}: no such job`,
    );
  return handler;
}
