/** ClaimStore on the real Redis: who does the work for a video or a piece of content, taken and freed whole. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ClaimStore } from '../src/adapters/claim-store.ts';
import { videoIdFor } from '../src/video-identity.ts';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `{claims-${randomUUID().slice(0, 8)}}`;
const claims = new ClaimStore(redis, prefix);

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('ClaimStore', () => {
  it('gives a video to the first batch that claims it, and says who holds it to the others', async () => {
    expect(await claims.claim('v_a', 'acme.b1')).toEqual({ held: true });
    expect(await claims.claim('v_a', 'acme.b1')).toEqual({ held: true }); // the same batch again
    expect(await claims.claim('v_a', 'acme.b2')).toEqual({ held: false, owner: 'acme.b1', holder: null });
    await claims.releaseClaim('v_a', { ifBatch: 'acme.b2' }); // not b2's: kept
    expect(await claims.claim('v_a', 'acme.b2')).toMatchObject({ held: false });
    await claims.releaseClaim('v_a', { ifBatch: 'acme.b1' });
    expect(await claims.claim('v_a', 'acme.b2')).toEqual({ held: true });
  });

  it('lets one provisional video hold a piece of content, links both ways, and frees both at once', async () => {
    const sha256 = 'ab'.repeat(32);
    const content = videoIdFor('acme', sha256);
    expect(
      await claims.claimContent({ tenant: 'acme', sha256, videoId: 'v_url1', batchId: 'acme.b3' }),
    ).toEqual({
      claimed: true,
    });
    // A retried job of the same video keeps its claim; another video is a duplicate of it.
    expect(
      await claims.claimContent({ tenant: 'acme', sha256, videoId: 'v_url1', batchId: 'acme.b3' }),
    ).toEqual({
      claimed: true,
    });
    expect(
      await claims.claimContent({ tenant: 'acme', sha256, videoId: 'v_url2', batchId: 'acme.b4' }),
    ).toEqual({
      claimed: false,
      videoId: 'v_url1',
      batchId: 'acme.b3',
    });
    // An upload of the same bytes sees the content taken, and by which video.
    expect(await claims.claim(content, 'acme.b5')).toEqual({
      held: false,
      owner: 'acme.b3',
      holder: 'v_url1',
    });
    await claims.releaseClaim('v_url1', { ifBatch: 'acme.b3' });
    expect(await redis.keys(`${prefix}:reel:*url1*`)).toEqual([]);
    expect(await claims.claim(content, 'acme.b5')).toEqual({ held: true });
  });
});
