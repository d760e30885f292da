/**
 * JobQueue, the services' one door to BullMQ, on the real Redis (no worker runs, so jobs stay where
 * they are put): a batch's flow lands as chains with the stages' ids, a video's jobs are found under
 * every model it has jobs for, live ones are told from finished ones, and the counts add up.
 */
import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { JobQueue } from '../src/adapters/job-queue.ts';
import { JobName, jobId, QueueName, type VideoJobData } from '../src/jobs.ts';

const connection = { host: '127.0.0.1', port: 6379 };
const prefix = `{jq-${randomUUID().slice(0, 8)}}`;
const queues = Object.fromEntries(
  Object.values(QueueName).map((name) => [name, new Queue(name, { connection, prefix })]),
) as Record<QueueName, Queue>;
const flows = new FlowProducer({ connection, prefix });
const jobs = new JobQueue(queues, flows);

const fpA = `sha256:${'a'.repeat(64)}`;
const fpB = `sha256:${'b'.repeat(64)}`;
const video = (videoId: string, fingerprint: string, batchId = 'b1'): VideoJobData => ({
  batchId,
  videoId,
  tenant: 'acme',
  name: `${videoId}.mp4`,
  model: { dir: '/models/x', fingerprint },
});

afterAll(async () => {
  for (const queue of Object.values(queues)) await queue.obliterate({ force: true });
  await Promise.all(Object.values(queues).map((q) => q.close()));
  await flows.close();
});

describe('JobQueue', () => {
  const v1 = 'v_111111111111111111111111';
  const v2 = 'v_222222222222222222222222';
  const v3 = 'v_444444444444444444444444';

  it('queues a batch as one finish-batch job over each video’s index ← embed ← ingest chain', async () => {
    await jobs.enqueueBatch('b1', [video(v1, fpA), video(v2, fpA)]);
    const parent = await queues.batch.getJob(jobId.batch('b1'));
    expect(parent?.name).toBe(JobName.finishBatch);
    expect(await parent?.getState()).toBe('waiting-children');
    const ingest = await queues.ingest.getJob(jobId.ingest(v1));
    expect(ingest?.name).toBe(JobName.ingestVideo);
    expect(ingest?.parentKey).toContain(jobId.embed(v1, fpA));
    const embed = await queues.embed.getJob(jobId.embed(v1, fpA));
    expect(embed?.parentKey).toContain(jobId.index(v1, fpA));
    // a failed stage fails its parent up to index-video, whose failure the batch does not wait on
    expect(ingest?.opts.failParentOnFailure).toBe(true);
    expect((await queues.index.getJob(jobId.index(v1, fpA)))?.opts.ignoreDependencyOnFailure).toBe(true);
  });

  it('finds a video’s jobs under every model, top of each chain first and ingest last', async () => {
    const found = await jobs.videoJobs(v1, [fpB]);
    // fpA is the ingest job's own model: looked at without being asked
    expect(found.map((j) => j.stage)).toEqual(['index', 'embed', 'ingest']);
    expect(found.every((j) => j.data.videoId === v1 && j.data.tenant === 'acme')).toBe(true);
    expect(await jobs.videoJobs('v_333333333333333333333333', [fpA, fpB])).toEqual([]);
  });

  it('tells live jobs from finished ones, and clears only finished ones', async () => {
    expect(await jobs.hasLiveJob(v2, fpA)).toBe(true);
    // the ingest job is one for every model: under another model the video is still being ingested
    expect(await jobs.hasLiveJob(v2, fpB)).toBe(true);
    expect(await jobs.hasLiveJob('v_333333333333333333333333', fpA)).toBe(false);
    // every ingest fails for good (bad input); its embed job is then failed by the embed queue's worker
    // when it takes it (failParentOnFailure), and there is none here: it waits
    const worker = new Worker(
      QueueName.ingest,
      async () => {
        throw new UnrecoverableError('UNREADABLE');
      },
      { connection, prefix },
    );
    const stateOf = async (queue: QueueName, id: string) => (await queues[queue].getJob(id))?.getState();
    for (const v of [v1, v2])
      await vi.waitFor(async () => expect(await stateOf(QueueName.ingest, jobId.ingest(v))).toBe('failed'), {
        timeout: 10_000,
        interval: 50,
      });
    await worker.close();
    expect(await stateOf(QueueName.embed, jobId.embed(v2, fpA))).toBe('waiting');
    expect(await jobs.hasLiveJob(v2, fpA)).toBe(true);
    await jobs.clearFinished(v2, fpA);
    expect(await queues.ingest.getJob(jobId.ingest(v2))).toBeUndefined();
    expect(await stateOf(QueueName.embed, jobId.embed(v2, fpA))).toBe('waiting');
    expect(await stateOf(QueueName.index, jobId.index(v2, fpA))).toBe('waiting-children');
    // a live chain is left alone
    await jobs.enqueueBatch('b2', [video(v3, fpA, 'b2')]);
    await jobs.clearFinished(v3, fpA);
    expect((await jobs.videoJobs(v3, [])).map((j) => j.stage)).toEqual(['index', 'embed', 'ingest']);
  });

  it('removes a chain from its top with its children', async () => {
    const [top] = await jobs.videoJobs(v3, []);
    await top!.remove();
    expect(await jobs.videoJobs(v3, [])).toEqual([]);
  });

  it('adds reindex jobs and upserts one schedule per id', async () => {
    const id = await jobs.addReindex(JobName.sweep, { kind: 'sweep', tenant: 'acme' });
    expect((await queues.reindex.getJob(id))?.data).toEqual({ kind: 'sweep', tenant: 'acme' });
    await jobs.scheduleReindex('sweep', '*/15 * * * *', JobName.sweep, { kind: 'sweep' });
    await jobs.scheduleReindex('sweep', '*/5 * * * *', JobName.sweep, { kind: 'sweep' });
    const schedulers = await queues.reindex.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern])).toEqual([['sweep', '*/5 * * * *']]);
  });

  it('counts each queue’s jobs (waiting includes jobs waiting for children) and its workers', async () => {
    const counts = Object.fromEntries((await jobs.counts()).map((c) => [c.name, c]));
    expect(counts.batch?.waiting).toBe(2); // b1 and b2's finish-batch jobs
    expect(counts.index?.waiting).toBe(2); // v1's and v2's index-video, waiting for their children
    expect(counts.embed?.waiting).toBe(2); // v1's and v2's, to be failed by an embed worker
    expect(counts.ingest?.failed).toBe(1); // v1's (v2's was cleared, v3's chain removed)
    expect(counts.reindex?.waiting).toBeGreaterThanOrEqual(1);
    expect(Object.values(counts).every((c) => c.workers === 0)).toBe(true);
    expect(await jobs.workersListening()).toBe(false);
  });
});
