import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimStore } from '../src/adapters/claim-store.ts';
import { JobQueue } from '../src/adapters/job-queue.ts';
import type { BatchStatus } from '../src/batch-progress.ts';
import { QueueName } from '../src/jobs.ts';
import { BatchService } from '../src/services/batch.service.ts';
import { startWorkers, type WorkerRuntime } from '../src/worker-runtime.ts';
import { FAKE_FINGERPRINT, fakeDeps } from './helpers/fake-pipeline.ts';

const connection = { host: '127.0.0.1', port: 6379 };
const redis = new Redis({ ...connection, maxRetriesPerRequest: null });
const prefix = `{t-${randomUUID().slice(0, 8)}}`;
const model = { dir: '/models/fake', fingerprint: FAKE_FINGERPRINT };
const { deps, catalog, sampler } = fakeDeps(redis, prefix);
const flows = new FlowProducer({ connection, prefix });
const queues = Object.fromEntries(
  Object.values(QueueName).map((name) => [name, new Queue(name, { connection, prefix })]),
) as Record<QueueName, Queue>;
const service = new BatchService({
  redis,
  claims: new ClaimStore(redis, prefix),
  jobs: new JobQueue(queues, flows),
  progress: deps.progress,
  catalog: deps.catalog,
});
let runtime: WorkerRuntime;
const dir = mkdtempSync(path.join(tmpdir(), 'reel-flow-'));

function file(name: string, content = name): string {
  const full = path.join(dir, name);
  writeFileSync(full, content);
  return full;
}

async function waitForBatch(batchId: string, timeoutMs = 30_000): Promise<BatchStatus> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await service.status(batchId);
    if (status?.finishedAt !== undefined) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `batch ${batchId} did not finish in ${timeoutMs} ms: ${JSON.stringify(await service.status(batchId))}`,
  );
}

beforeAll(() => {
  runtime = startWorkers({
    connection,
    prefix,
    // The reindex queue's handlers come from ReindexService, which this test does not run.
    queues: ['ingest', 'embed', 'index', 'batch'],
    concurrency: { ingest: 2, embed: 2, index: 2 },
    deps,
    recovery: { lockDurationMs: 5_000, stalledIntervalMs: 5_000 },
  });
});

afterAll(async () => {
  await runtime.close(5_000);
  await flows.close();
  await Promise.all(Object.values(queues).map((q) => q.close()));
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('a batch through the real BullMQ flow (real Redis, fake media)', () => {
  it('indexes good videos, fails bad ones at once with their code, reports in-batch duplicates', async () => {
    const submitted = await service.submit({
      tenant: 'acme',
      model,
      files: [
        { path: file('a.mp4') },
        { path: file('b.mp4') },
        { path: file('bad.txt') },
        { path: file('a-copy.mp4', 'a.mp4'), name: 'a-copy.mp4' },
        { path: path.join(dir, 'missing.mp4') },
      ],
    });
    expect(submitted.videos.map((v) => v.status)).toEqual([
      'queued',
      'queued',
      'queued',
      'duplicate',
      'failed',
    ]);
    expect(submitted.videos[4]).toMatchObject({ code: 'FILE_NOT_FOUND' });

    const status = await waitForBatch(submitted.batchId);
    expect(status.counts).toMatchObject({ indexed: 2, failed: 2, duplicate: 1 });
    const bad = status.videos.find((v) => v.name.endsWith('bad.txt'));
    expect(bad).toMatchObject({
      status: 'failed',
      code: 'NOT_A_VIDEO',
      message: 'bad.txt: not a video (text)',
    });
    expect(sampler.calls.filter((c) => c === 'bad.txt')).toHaveLength(1);
    const good = status.videos.filter((v) => v.status === 'indexed');
    for (const video of good) {
      expect(catalog.videos.get(video.videoId)).toMatchObject({
        status: 'indexed',
        tenant: 'acme',
        durationSeconds: 3,
      });
      expect(catalog.embeddings.get(`${video.videoId}:${FAKE_FINGERPRINT}`)?.timestamps).toEqual([
        0.5, 1.5, 2.5,
      ]);
    }
    expect(catalog.videos.get(bad!.videoId)).toMatchObject({
      status: 'failed',
      error: { code: 'NOT_A_VIDEO' },
    });
  });

  it('retries a transient failure and then indexes the video', async () => {
    const submitted = await service.submit({ tenant: 'acme', model, files: [{ path: file('flaky.mp4') }] });
    const status = await waitForBatch(submitted.batchId);
    expect(status.counts.indexed).toBe(1);
    expect(sampler.calls.filter((c) => c === 'flaky.mp4')).toHaveLength(2);
  });

  it('reports the same content submitted in a later batch as a duplicate and indexes nothing twice', async () => {
    const writesBefore = catalog.embeddingWrites;
    const submitted = await service.submit({
      tenant: 'acme',
      model,
      files: [{ path: file('b-again.mp4', 'b.mp4') }],
    });
    expect(submitted.videos[0]).toMatchObject({ status: 'duplicate' });
    const status = await waitForBatch(submitted.batchId);
    expect(status.counts.duplicate).toBe(1);
    expect(catalog.embeddingWrites).toBe(writesBefore);
  });

  it('reports a file that failed before for bad input as that failure, with its code, not as a duplicate', async () => {
    const submitted = await service.submit({ tenant: 'acme', model, files: [{ path: file('bad.txt') }] });
    expect(submitted.videos[0]).toMatchObject({
      status: 'failed',
      code: 'NOT_A_VIDEO',
      message:
        'bad.txt: not a video (text) (when it was submitted before; the same content fails the same way)',
    });
    const status = await waitForBatch(submitted.batchId);
    expect(status.counts).toMatchObject({ failed: 1, duplicate: 0 });
    // told from the record: the file was not read again
    expect(sampler.calls.filter((c) => c === 'bad.txt')).toHaveLength(1);
  });

  it('runs again a file whose earlier run failed for a system reason (its claim taken over)', async () => {
    const first = await service.submit({ tenant: 'acme', model, files: [{ path: file('outage.mp4') }] });
    await waitForBatch(first.batchId);
    const videoId = first.videos[0]!.videoId!;
    // as a run that ran out of retries during a LanceDB outage leaves it (its claim still the batch's)
    const record = catalog.videos.get(videoId)!;
    catalog.videos.set(videoId, {
      ...record,
      status: 'failed',
      error: { code: 'INDEX_STORE_FAILED', message: 'outage.mp4: lancedb unavailable', retryable: true },
    });
    catalog.embeddings.delete(`${videoId}:${FAKE_FINGERPRINT}`);
    const calls = sampler.calls.filter((c) => c === 'outage.mp4').length;
    const again = await service.submit({ tenant: 'acme', model, files: [{ path: file('outage.mp4') }] });
    expect(again.videos[0]).toMatchObject({ status: 'queued', videoId });
    const status = await waitForBatch(again.batchId);
    expect(status.counts).toMatchObject({ indexed: 1, duplicate: 0, failed: 0 });
    expect(catalog.videos.get(videoId)).toMatchObject({ status: 'indexed' });
    expect(sampler.calls.filter((c) => c === 'outage.mp4')).toHaveLength(calls + 1);
    // and a third submit of it now is an ordinary duplicate
    const third = await service.submit({ tenant: 'acme', model, files: [{ path: file('outage.mp4') }] });
    expect(third.videos[0]).toMatchObject({ status: 'duplicate' });
  });

  it('returns the first batch when a client retries a submit with the same batch id', async () => {
    const batchId = randomUUID();
    const first = await service.submit({ tenant: 'acme', model, batchId, files: [{ path: file('c.mp4') }] });
    const again = await service.submit({ tenant: 'acme', model, batchId, files: [{ path: file('c.mp4') }] });
    expect(first.existing).toBe(false);
    expect(again.existing).toBe(true);
    expect(again.videos.map((v) => v.videoId)).toEqual(first.videos.map((v) => v.videoId));
    expect(first.batchId).toBe(`acme.${batchId}`); // kept in the tenant’s namespace of batch ids
    expect((await waitForBatch(first.batchId)).counts.indexed).toBe(1);
  });
});
