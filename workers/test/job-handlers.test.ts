import { ReelError } from '@reel/infra';
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { handlerOf, handlerTable, type JobHandler } from '../src/job-handlers.ts';
import { JobName } from '../src/jobs.ts';

const handler = (name: string): JobHandler => ({ name: name as JobName, run: async () => name });

describe('the handler table, checked when a worker starts', () => {
  it('holds one handler per job of the served queues', () => {
    const table = handlerTable(
      [handler(JobName.backfill), handler(JobName.sweep), handler(JobName.upkeep)],
      ['reindex'],
    );
    expect([...table.keys()].sort()).toEqual(['backfill', 'sweep', 'upkeep']);
  });

  it('refuses to start with a job lacking a handler, a job with two, or a handler of no job, all named', () => {
    let error: unknown;
    try {
      handlerTable([handler(JobName.sweep), handler(JobName.sweep), handler('reticulate')], ['reindex']);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ReelError);
    expect((error as ReelError).code).toBe('JOB_HANDLERS_INVALID');
    const message = (error as ReelError).message;
    expect(message).toContain('two handlers for sweep');
    expect(message).toContain('a handler for reticulate, which is no job');
    expect(message).toContain('no handler for backfill (queue reindex)');
    expect(message).toContain('no handler for upkeep (queue reindex)');
  });

  it('fails a job whose name nothing handles with JOB_UNKNOWN, never retried', () => {
    const table = handlerTable([handler(JobName.finishBatch)], ['batch']);
    const forged = { id: '7', name: 'ingest-video' } as Job;
    expect(() => handlerOf(table, forged)).toThrow(
      expect.objectContaining({ code: 'JOB_UNKNOWN', retryable: false }),
    );
  });
});
