import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchProgress, summarize } from '../src/batch-progress.ts';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `{test-${randomUUID().slice(0, 8)}}`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('BatchProgress (real Redis)', () => {
  it('tracks each video through the stages and counts them', async () => {
    const progress = new BatchProgress(redis, prefix);
    const id = randomUUID();
    const now = Date.now();
    expect(
      await progress.create({ id, tenant: 't1', createdAt: now }, [
        { videoId: 'a', name: 'a.mp4', status: 'queued', updatedAt: now },
        { videoId: 'b', name: 'b.mp4', status: 'queued', updatedAt: now },
        { videoId: 'c', name: 'c.mp4', status: 'duplicate', duplicateOf: 'other', updatedAt: now },
      ]),
    ).toBe(true);
    expect(await progress.create({ id, tenant: 't1', createdAt: now }, [])).toBe(false);

    await progress.update(id, 'a', { status: 'ingesting', stage: 'ingest' });
    await progress.update(id, 'b', {
      status: 'failed',
      stage: 'ingest',
      code: 'NOT_A_VIDEO',
      message: 'b.mp4 is text',
    });
    let status = await progress.get(id);
    expect(status).toMatchObject({ total: 3, done: 2, counts: { ingesting: 1, failed: 1, duplicate: 1 } });
    expect(status?.stages.ingest).toEqual({ done: 1, running: 1 });
    expect(status?.videos.find((v) => v.videoId === 'b')).toMatchObject({
      code: 'NOT_A_VIDEO',
      message: 'b.mp4 is text',
    });

    await progress.update(id, 'a', { status: 'embedding', stage: 'ingest' });
    await progress.update(id, 'a', { status: 'embedding', stage: 'embed' });
    await progress.update(id, 'a', { status: 'indexed', stage: 'index' });
    // A final status sticks: a late update from a stalled duplicate run does not undo it.
    await progress.update(id, 'a', { status: 'ingesting', stage: 'ingest' });
    status = await progress.get(id);
    expect(status?.counts.indexed).toBe(1);
    expect(status?.done).toBe(3);
    expect(status?.etaSeconds).toBeUndefined();
    await progress.finish(id);
    expect((await progress.get(id))?.finishedAt).toBeGreaterThanOrEqual(now);
    expect(await redis.ttl(`${prefix}:reel:batch:${id}`)).toBeGreaterThan(0);
  });

  it('answers undefined for an unknown batch', async () => {
    expect(await new BatchProgress(redis, prefix).get('nope')).toBeUndefined();
  });
});

describe('summarize', () => {
  it('estimates the time left from the pace of videos that did work', () => {
    const status = summarize(
      { id: 'b', tenant: 't', createdAt: 0, total: 4 },
      [
        { videoId: '1', name: '1', status: 'indexed', updatedAt: 0 },
        { videoId: '2', name: '2', status: 'indexed', updatedAt: 0 },
        { videoId: '3', name: '3', status: 'queued', updatedAt: 0 },
        {
          videoId: '4',
          name: '4',
          status: 'embedding',
          updatedAt: 0,
          stages: { ingest: { startedAt: 0, endedAt: 1 }, embed: { startedAt: 1 } },
        },
      ],
      20_000,
    );
    expect(status.etaSeconds).toBe(20);
    expect(status.stages.embed).toEqual({ done: 0, running: 1 });
    expect(status.stages.ingest).toEqual({ done: 1, running: 0 });
  });
});
