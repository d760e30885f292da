/**
 * What any IndexStore adapter must do, whatever its engine: run `indexStoreContract(name, open)` from
 * the adapter's own test file (index-store-contract.int.test.ts runs it for LanceDB). `open` gives a
 * fresh, empty store; the contract closes it.
 *
 * The rules: records and embeddings are validated before anything is written (the error names the
 * field), upserts are idempotent per (tenant, id) with the last write winning, the copies of a video's
 * filter fields beside its vectors follow the record, a delete removes the video under every model,
 * scans stream summaries in bounded batches, bulk reads answer for many keys at once and never across
 * tenants, and callers may write concurrently without a lock of their own.
 */
import { isReelError } from '@reel/infra';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IndexStore } from '../src/index-store.ts';
import { normalizeFilters } from '../src/search/filter-sql.ts';
import { parseVideoKey, VideoStatus, videoKey } from '../src/video-record.ts';
import { makeEmbeddings, makeRecord, rng, sceneFrames } from './helpers/index-fixtures.ts';

const F = 4;
const D = 8;
const FP_A = 'sha256:contract-a';
const FP_B = 'sha256:contract-b';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isReelError(error) ? error.code : `other: ${(error as Error).message}`;
  }
  return undefined;
}

export function indexStoreContract(name: string, open: () => Promise<IndexStore>): void {
  describe(`IndexStore contract: ${name}`, () => {
    let store: IndexStore;
    const r = rng(7);
    const frames = () => sceneFrames(r, F, D).frames;

    beforeEach(async () => {
      store = await open();
    });
    afterEach(() => store.close());

    it('validates records and embeddings before writing, naming the field', async () => {
      await expect(store.upsertVideo(makeRecord('', 'x'))).rejects.toThrow(/video tenant/);
      expect(await codeOf(store.upsertVideo(makeRecord('t', 'x', { durationSeconds: -1 })))).toBe(
        'VIDEO_INVALID',
      );
      // One bad record in a batch writes none of it.
      expect(
        await codeOf(
          store.upsertVideos([makeRecord('t', 'good'), makeRecord('t', 'bad', { status: 'done' as never })]),
        ),
      ).toBe('VIDEO_INVALID');
      expect(await store.getVideo('t', 'good')).toBeNull();
      await store.upsertVideo(makeRecord('t', 'v'));
      const e = makeEmbeddings('t', 'v', FP_A, frames(), F, D);
      await expect(store.upsertEmbeddings({ ...e, timestamps: [1] })).rejects.toThrow(
        `expected ${F} timestamps, got 1`,
      );
      expect(await codeOf(store.upsertEmbeddings({ ...e, gram: new Float32Array(3) }))).toBe(
        'EMBEDDINGS_INVALID',
      );
      expect(await store.getEmbeddings('t', 'v', FP_A)).toBeNull();
    });

    it('upserts idempotently per tenant and id, the last write winning', async () => {
      await store.upsertVideo(makeRecord('t', 'v', { status: VideoStatus.queued }));
      await store.upsertVideos([
        makeRecord('t', 'v', { status: VideoStatus.processing }),
        makeRecord('t', 'v', { status: VideoStatus.indexed, title: 'final' }),
      ]);
      expect(await store.getVideo('t', 'v')).toMatchObject({ status: 'indexed', title: 'final' });
      expect(await store.countByStatus('t')).toEqual({ queued: 0, processing: 0, indexed: 1, failed: 0 });
      await store.upsertEmbeddings(makeEmbeddings('t', 'v', FP_A, frames(), F, D));
      await store.upsertEmbeddings(makeEmbeddings('t', 'v', FP_A, frames(), F, D));
      expect(await store.countEmbeddings(FP_A, 't')).toBe(1);
    });

    it('keeps the filter fields beside the vectors in step with the record', async () => {
      const query = new Float32Array(D).fill(1);
      const tagged = async (tag: string) =>
        (
          await store.candidates(FP_A, query, {
            tenant: 't',
            filters: normalizeFilters({ tags: [tag] }),
            limit: 10,
          })
        ).candidates.map((c) => parseVideoKey(c.key)?.id);
      await store.upsertVideo(makeRecord('t', 'v', { tags: ['beach'] }));
      await store.upsertEmbeddings(makeEmbeddings('t', 'v', FP_A, frames(), F, D));
      expect(await tagged('beach')).toEqual(['v']);
      await store.upsertVideo(makeRecord('t', 'v', { tags: ['mountain'] }));
      expect(await tagged('beach')).toEqual([]);
      expect(await tagged('mountain')).toEqual(['v']);
    });

    it('deletes a video under every model, and only that tenant’s', async () => {
      for (const tenant of ['t', 'u']) {
        await store.upsertVideo(makeRecord(tenant, 'v'));
        for (const fp of [FP_A, FP_B])
          await store.upsertEmbeddings(makeEmbeddings(tenant, 'v', fp, frames(), F, D));
      }
      expect(await store.deleteVideo('t', 'v')).toBe(true);
      expect(await store.getVideo('t', 'v')).toBeNull();
      expect(await store.getEmbeddings('t', 'v', FP_A)).toBeNull();
      expect(await store.getEmbeddings('t', 'v', FP_B)).toBeNull();
      expect(await store.deleteVideo('t', 'v')).toBe(false);
      expect(await store.getVideo('u', 'v')).not.toBeNull();
      expect(await store.getEmbeddings('u', 'v', FP_B)).not.toBeNull();
    });

    it('scans summaries in bounded batches and reads many keys at once, never across tenants', async () => {
      const records = Array.from({ length: 7 }, (_, i) =>
        makeRecord(i < 5 ? 'acme' : 'globex', `bulk-${i}`, {
          status: i % 2 === 0 ? VideoStatus.indexed : VideoStatus.failed,
          ...(i % 2 === 1 ? { error: { code: 'FFMPEG_TIMEOUT', message: 'killed', retryable: true } } : {}),
        }),
      );
      await store.upsertVideos(records);
      await store.upsertEmbeddings([
        makeEmbeddings('acme', 'bulk-0', FP_A, frames(), F, D),
        makeEmbeddings('globex', 'bulk-6', FP_A, frames(), F, D),
      ]);
      const batches: number[] = [];
      const seen: string[] = [];
      for await (const batch of store.scanVideos([VideoStatus.indexed, VideoStatus.failed], {
        batchSize: 3,
      })) {
        batches.push(batch.length);
        for (const v of batch) seen.push(`${v.tenant}/${v.id}/${v.status}/${v.error?.code ?? ''}`);
        // Summaries only: no tags, source or hash are read.
        expect(Object.keys(batch[0]!).sort()).toEqual(['error', 'id', 'status', 'tenant', 'title']);
      }
      expect(batches).toEqual([3, 3, 1]);
      expect(seen.sort()).toEqual(
        records.map((v) => `${v.tenant}/${v.id}/${v.status}/${v.error?.code ?? ''}`).sort(),
      );
      const failedOnly: string[] = [];
      for await (const batch of store.scanVideos([VideoStatus.failed]))
        failedOnly.push(...batch.map((v) => v.id));
      expect(failedOnly.sort()).toEqual(['bulk-1', 'bulk-3', 'bulk-5']);

      const found = await store.getVideos('acme', ['bulk-0', 'bulk-4', 'bulk-6', 'missing']);
      expect([...found.keys()].sort()).toEqual(['bulk-0', 'bulk-4']); // bulk-6 is globex's
      expect(found.get('bulk-0')).toEqual(records[0]);
      const embedded = await store.embeddedVideos(FP_A, [
        { tenant: 'acme', id: 'bulk-0' },
        { tenant: 'acme', id: 'bulk-2' },
        { tenant: 'acme', id: 'bulk-6' },
        { tenant: 'globex', id: 'bulk-6' },
      ]);
      expect([...embedded].sort()).toEqual([videoKey('acme', 'bulk-0'), videoKey('globex', 'bulk-6')].sort());
      expect(await store.embeddedVideos(FP_B, [{ tenant: 'acme', id: 'bulk-0' }])).toEqual(new Set());
    });

    // LanceIndexStore serialises its own writes (LanceDB's table handles refused concurrent writes from
    // one connection in earlier versions); with @lancedb/lancedb 0.39 this test passes either way. An adapter
    // whose engine cannot take them must queue them itself, as callers take no lock.
    it('takes concurrent writes from one caller without a lock of its own', async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `c${i}`);
      await Promise.all(ids.map((id) => store.upsertVideo(makeRecord('t', id, { tags: [id] }))));
      await Promise.all([
        ...ids.map((id) => store.upsertEmbeddings(makeEmbeddings('t', id, FP_A, frames(), F, D))),
        ...ids.map((id, i) => store.upsertVideo(makeRecord('t', id, { tags: [id], title: `edited ${i}` }))),
        store.optimize(),
      ]);
      await Promise.all([store.deleteVideo('t', 'c0'), store.deleteVideo('t', 'c1'), store.optimize()]);
      expect(await store.countEmbeddings(FP_A, 't')).toBe(ids.length - 2);
      expect((await store.getVideo('t', 'c5'))?.title).toBe('edited 5');
      expect(await store.getVideo('t', 'c0')).toBeNull();
    });
  });
}
