/**
 * The LanceDB adapter against a real LanceDB folder in a temp dir: records, embeddings, idempotent
 * upserts, propagation of filter fields, deletion, listing, counts, upkeep and the first-stage search.
 */

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { isReelError } from '@reel/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  embeddingsTableName,
  LanceIndexStore,
  type LanceIndexStoreOptions,
} from '../src/adapters/lancedb-store.ts';
import { FrameCodec } from '../src/frame-codec.ts';
import { normalizeFilters } from '../src/search/filter-sql.ts';
import { buildVideoEmbeddings } from '../src/video-embeddings.ts';
import { type VideoRecord, VideoStatus, videoKey } from '../src/video-record.ts';
import { buildXPoolCompactCache } from '../src/xpool/xpool-terms.ts';
import { makeEmbeddings, makeRecord, rng, sceneFrames, uniformTimes } from './helpers/index-fixtures.ts';
import { randomHead } from './helpers/pooling-fixtures.ts';

const F = 6;
const D = 16;
const FP_A = 'sha256:model-a';
const FP_B = 'sha256:model-b';

let dir: string;
let store: LanceIndexStore;
const r = rng(41);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'reel-index-store-'));
  store = await LanceIndexStore.open({ dir });
});

afterAll(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `body` on a store of its own in a fresh folder, closed and removed afterwards. */
async function withStore(
  prefix: string,
  options: Omit<LanceIndexStoreOptions, 'dir'>,
  body: (store: LanceIndexStore, dir: string) => Promise<void>,
): Promise<void> {
  const local = await mkdtemp(path.join(os.tmpdir(), prefix));
  const own = await LanceIndexStore.open({ ...options, dir: local });
  try {
    await body(own, local);
  } finally {
    own.close();
    await rm(local, { recursive: true, force: true });
  }
}

/** Writes the records, then random scene embeddings (or `frames(record)`) for each under model `fp`. */
async function putVideos(
  target: LanceIndexStore,
  fp: string,
  records: VideoRecord[],
  frames: (record: VideoRecord) => Float32Array = () => sceneFrames(r, F, D).frames,
): Promise<void> {
  await target.upsertVideos(records);
  await target.upsertEmbeddings(
    records.map((rec) => makeEmbeddings(rec.tenant, rec.id, fp, frames(rec), F, D)),
  );
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isReelError(error) ? error.code : `other: ${(error as Error).message}`;
  }
  return undefined;
}

describe('video records', () => {
  it('round-trip every field, including nulls and errors', async () => {
    const record = makeRecord('t1', 'rec-1', {
      title: 'A "quoted" title',
      tags: ["it's", 'beach'],
      ingestedAt: new Date('2024-03-04T05:06:07Z'),
      durationSeconds: null,
      source: null,
      fingerprint: FP_A,
      status: VideoStatus.failed,
      error: { code: 'DECODE_FAILED', message: 'ffmpeg exited with 1' },
    });
    await store.upsertVideo(record);
    expect(await store.getVideo('t1', 'rec-1')).toEqual(record);
    expect(await store.getVideo('t2', 'rec-1')).toBeNull();
  });

  it('keep whether a failure may pass, and bring a table written before that column up to date', async () => {
    const failed = makeRecord('t-retry', 'rec-r', {
      status: VideoStatus.failed,
      error: { code: 'INDEX_STORE_FAILED', message: 'LanceDB was away', retryable: true },
    });
    await store.upsertVideo(failed);
    expect((await store.getVideo('t-retry', 'rec-r'))?.error).toEqual(failed.error);

    await withStore('reel-index-old-schema-', {}, async (fresh, local) => {
      fresh.close();
      // A videos table as reel wrote it before error_retryable existed, with one failed video in it.
      const db = await lancedb.connect(local);
      const old = await db.createTable('videos', [
        {
          key: videoKey('t1', 'old'),
          tenant: 't1',
          id: 'old',
          title: 'old',
          tags: ['x'],
          created_at: 1,
          ingested_at: 2,
          duration: 1,
          source: '/videos/old.mp4',
          sha256: '00',
          fingerprint: 'sha256:old',
          status: 'failed',
          error_code: 'FFMPEG_TIMEOUT',
          error_message: 'killed',
          updated_at: 1,
        },
      ]);
      old.close();
      db.close();
      const reopened = await LanceIndexStore.open({ dir: local });
      try {
        expect((await reopened.getVideo('t1', 'old'))?.error).toEqual({
          code: 'FFMPEG_TIMEOUT',
          message: 'killed',
        });
        await reopened.upsertVideo(failed);
        expect((await reopened.getVideo('t-retry', 'rec-r'))?.error).toEqual(failed.error);
        expect((await reopened.getVideo('t1', 'old'))?.error).toEqual({
          code: 'FFMPEG_TIMEOUT',
          message: 'killed',
        });
      } finally {
        reopened.close();
      }
    });
  });

  it('are idempotent per tenant and id: the last write wins, one row', async () => {
    await store.upsertVideo(makeRecord('t1', 'rec-2', { status: VideoStatus.queued }));
    await store.upsertVideo(makeRecord('t1', 'rec-2', { status: VideoStatus.processing }));
    await store.upsertVideos([
      makeRecord('t1', 'rec-2', { status: VideoStatus.queued }),
      makeRecord('t1', 'rec-2', { status: VideoStatus.indexed, title: 'final' }),
    ]);
    expect(await store.getVideo('t1', 'rec-2')).toMatchObject({ status: 'indexed', title: 'final' });
    const counts = await store.countByStatus('t1');
    expect(counts.indexed + counts.queued + counts.processing + counts.failed).toBe(2);
  });

  it('are compacted every compactVideosEvery upserts, so a record read does not scan one fragment per write', async () => {
    const fragments = async (local: string) => {
      const db = await lancedb.connect(local);
      try {
        return (await (await db.openTable('videos')).stats()).fragmentStats.numFragments;
      } finally {
        db.close();
      }
    };
    // 25 videos, one upsert each (each leaves a fragment of its own until compacted), then 5 rewritten.
    const write = async (own: LanceIndexStore) => {
      for (let i = 0; i < 25; i++)
        await own.upsertVideo(makeRecord('t1', `c-${i}`, { status: VideoStatus.queued }));
      for (let i = 0; i < 5; i++)
        await own.upsertVideo(
          makeRecord('t1', `c-${i}`, { status: VideoStatus.indexed, title: `last ${i}` }),
        );
    };
    await withStore('reel-compact-', { compactVideosEvery: 8 }, async (own, local) => {
      await write(own);
      // 30 upserts: compacted at the 8th, 16th, 24th; the last 6 left a fragment each beside the one.
      expect(await fragments(local)).toBeLessThanOrEqual(7);
      for (let i = 0; i < 5; i++)
        expect(await own.getVideo('t1', `c-${i}`)).toMatchObject({ status: 'indexed', title: `last ${i}` });
      const counts = await own.countByStatus('t1');
      expect([counts.indexed, counts.queued]).toEqual([5, 20]);
    });
    await withStore('reel-no-compact-', { compactVideosEvery: 0 }, async (own, local) => {
      await write(own);
      expect(await fragments(local)).toBeGreaterThanOrEqual(25);
    });
  });

  it('reject malformed records with VIDEO_INVALID naming the field', async () => {
    await expect(store.upsertVideo(makeRecord('', 'x'))).rejects.toThrow(
      /video tenant: expected a non-empty string/,
    );
    await expect(store.upsertVideo(makeRecord('t1', 'x', { status: 'done' as never }))).rejects.toThrow(
      /status: expected one of queued, processing, indexed, failed, got "done"/,
    );
    expect(await codeOf(store.upsertVideo(makeRecord('t1', 'x', { durationSeconds: -1 })))).toBe(
      'VIDEO_INVALID',
    );
    expect(await codeOf(store.upsertVideo(makeRecord('t1', 'x', { createdAt: new Date(Number.NaN) })))).toBe(
      'VIDEO_INVALID',
    );
  });
});

describe('listing and counts', () => {
  beforeAll(async () => {
    await store.upsertVideos(
      Array.from({ length: 7 }, (_, i) =>
        makeRecord('lister', `l${i}`, {
          createdAt: new Date(Date.UTC(2024, 0, 1 + i)),
          tags: i % 2 === 0 ? ['even', "o'clock"] : ['odd'],
          status: i < 2 ? VideoStatus.failed : VideoStatus.indexed,
          durationSeconds: 10 * i,
        }),
      ),
    );
  });

  it('lists newest first in pages, with filters', async () => {
    const first = await store.listVideos('lister', { limit: 3 });
    expect(first.videos.map((v) => v.id)).toEqual(['l6', 'l5', 'l4']);
    const second = await store.listVideos('lister', { limit: 3, cursor: first.nextCursor! });
    const third = await store.listVideos('lister', { limit: 3, cursor: second.nextCursor! });
    expect([...second.videos, ...third.videos].map((v) => v.id)).toEqual(['l3', 'l2', 'l1', 'l0']);
    expect(third.nextCursor).toBeNull();
    const quoted = await store.listVideos('lister', { filters: { tags: ["o'clock"] } });
    expect(quoted.videos.map((v) => v.id)).toEqual(['l6', 'l4', 'l2', 'l0']);
    const failed = await store.listVideos('lister', { filters: { status: ['failed'] } });
    expect(failed.videos.map((v) => v.id)).toEqual(['l1', 'l0']);
    const ranged = await store.listVideos('lister', {
      filters: {
        createdAt: { from: new Date(Date.UTC(2024, 0, 3)), to: new Date(Date.UTC(2024, 0, 5)) },
        durationSeconds: { min: 25 },
      },
    });
    expect(ranged.videos.map((v) => v.id)).toEqual(['l3']);
    expect(
      await codeOf(
        store.listVideos('lister', { limit: 3, filters: { tags: ['odd'] }, cursor: first.nextCursor! }),
      ),
    ).toBe('CURSOR_INVALID');
  });

  it('lists by title, code-point order, the key breaking ties, in pages', async () => {
    const titles = ['banana', 'Apple', 'cherry', 'apple', 'banana'];
    await store.upsertVideos(titles.map((title, i) => makeRecord('sorter', `s${i}`, { title })));
    const first = await store.listVideos('sorter', { limit: 3, sort: 'title' });
    const second = await store.listVideos('sorter', { limit: 3, sort: 'title', cursor: first.nextCursor! });
    expect([...first.videos, ...second.videos].map((v) => `${v.title}/${v.id}`)).toEqual([
      'Apple/s1',
      'apple/s3',
      'banana/s0',
      'banana/s4',
      'cherry/s2',
    ]);
    expect(second.nextCursor).toBeNull();
    // a cursor of one order does not page another
    expect(await codeOf(store.listVideos('sorter', { limit: 3, cursor: first.nextCursor! }))).toBe(
      'CURSOR_INVALID',
    );
    expect(await codeOf(store.listVideos('sorter', { sort: 'size' as 'title' }))).toBe(
      'SEARCH_INPUT_INVALID',
    );
  });

  it('counts by status per tenant and overall', async () => {
    expect(await store.countByStatus('lister')).toEqual({ queued: 0, processing: 0, indexed: 5, failed: 2 });
    const all = await store.countByStatus();
    expect(all.indexed).toBeGreaterThanOrEqual(5);
    expect(all.failed).toBeGreaterThanOrEqual(3);
  });
});

describe('embeddings', () => {
  it('need a video record first (VIDEO_NOT_FOUND)', async () => {
    const { frames } = sceneFrames(r, F, D);
    await expect(store.upsertEmbeddings(makeEmbeddings('t1', 'nobody', FP_A, frames, F, D))).rejects.toThrow(
      /embeddings for 1 video\(s\) without a record \(upsert the video first\): nobody/,
    );
  });

  it('round-trip compact frames, Gram, times, thumbnails and X-Pool terms', async () => {
    await store.upsertVideo(makeRecord('t1', 'emb-1'));
    const { frames } = sceneFrames(r, F, D);
    const head = randomHead(rng(3), D, 0xdeadbeef);
    const e = makeEmbeddings('t1', 'emb-1', FP_A, frames, F, D);
    e.xpoolCache = buildXPoolCompactCache(head, frames, F);
    await store.upsertEmbeddings(e);
    const back = await store.getEmbeddings('t1', 'emb-1', FP_A);
    expect(back).not.toBeNull();
    expect(back!.frames.codec).toBe('int8');
    expect(Array.from(back!.frames.data)).toEqual(Array.from(e.frames.data));
    expect(Array.from(back!.frames.scales)).toEqual(Array.from(e.frames.scales));
    expect(Array.from(back!.frames.variances)).toEqual(Array.from(e.frames.variances));
    expect(Array.from(back!.gram)).toEqual(Array.from(e.gram));
    expect(Array.from(back!.mean)).toEqual(Array.from(e.mean));
    expect(back!.timestamps).toEqual(Array.from(Float32Array.from(e.timestamps)));
    expect(back!.thumbnails).toEqual(e.thumbnails);
    expect(back!.xpoolCache!.headChecksum).toBe(0xdeadbeef);
    expect(Array.from(back!.xpoolCache!.data)).toEqual(Array.from(e.xpoolCache.data));
  });

  it('store fp16 frames too', async () => {
    await store.upsertVideo(makeRecord('t1', 'emb-fp16'));
    const { frames } = sceneFrames(r, F, D);
    const e = buildVideoEmbeddings({
      tenant: 't1',
      videoId: 'emb-fp16',
      fingerprint: FP_A,
      frames,
      frameCount: F,
      dim: D,
      timestamps: uniformTimes(F, 30),
      codec: FrameCodec.fp16,
    });
    await store.upsertEmbeddings(e);
    const back = await store.getEmbeddings('t1', 'emb-fp16', FP_A);
    expect(back!.frames.codec).toBe('fp16');
    expect(Array.from(back!.frames.data)).toEqual(Array.from(e.frames.data));
  });

  it('are idempotent per video and model, and models live in separate tables', async () => {
    await store.upsertVideo(makeRecord('t1', 'emb-2'));
    const { frames } = sceneFrames(r, F, D);
    const e = makeEmbeddings('t1', 'emb-2', FP_A, frames, F, D);
    await store.upsertEmbeddings(e);
    await store.upsertEmbeddings([e, e]);
    await store.upsertEmbeddings(makeEmbeddings('t1', 'emb-2', FP_B, frames, F, D));
    expect(await store.countEmbeddings(FP_A, 't1')).toBe(3); // emb-1, emb-fp16, emb-2
    expect(await store.countEmbeddings(FP_B, 't1')).toBe(1);
    expect(await store.fingerprints()).toEqual([FP_A, FP_B]);
    expect(embeddingsTableName(FP_A)).toMatch(/^emb_[0-9a-f]{32}$/);
    expect(embeddingsTableName(FP_A)).not.toBe(embeddingsTableName(FP_B));
  });

  it('refuses another D for a model (EMBEDDING_DIM_MISMATCH) and malformed input (EMBEDDINGS_INVALID)', async () => {
    await store.upsertVideo(makeRecord('t1', 'emb-3'));
    const wide = sceneFrames(r, F, D + 1).frames;
    expect(await codeOf(store.upsertEmbeddings(makeEmbeddings('t1', 'emb-3', FP_A, wide, F, D + 1)))).toBe(
      'EMBEDDING_DIM_MISMATCH',
    );
    const e = makeEmbeddings('t1', 'emb-3', FP_A, sceneFrames(r, F, D).frames, F, D);
    await expect(store.upsertEmbeddings({ ...e, timestamps: [1, 2] })).rejects.toThrow(
      /expected 6 timestamps, got 2/,
    );
  });
});

describe('first-stage search, filters and deletion', () => {
  const FP = 'sha256:stage-one';
  const query = new Float32Array(D).fill(1);

  beforeAll(async () => {
    const records = [
      makeRecord('s1', 'quote', {
        tags: ["it's", 'beach'],
        durationSeconds: 30,
        createdAt: new Date('2024-05-01'),
      }),
      makeRecord('s1', 'plain', { tags: ['beach'], durationSeconds: 90, createdAt: new Date('2024-06-01') }),
      makeRecord('s1', 'slash', {
        tags: ['back\\slash'],
        durationSeconds: null,
        createdAt: new Date('2024-07-01'),
      }),
      makeRecord('s2', 'other-tenant', { tags: ["it's", 'beach'], durationSeconds: 30 }),
    ];
    await store.upsertVideos(records);
    await store.upsertEmbeddings(
      records.map((rec) => makeEmbeddings(rec.tenant, rec.id, FP, sceneFrames(r, F, D).frames, F, D)),
    );
  });

  it('keeps the full HNSW search width for filters where the index is not HNSW (auto below 250k rows)', async () => {
    const { searchWidth } = await store.candidates(FP, query, {
      tenant: 's1',
      filters: normalizeFilters({ tags: ['beach'] }),
      limit: 10,
    });
    expect(searchWidth).toBe(50);
  });

  const ids = async (tenant: string, filters: Parameters<typeof normalizeFilters>[0] = {}) =>
    (await store.candidates(FP, query, { tenant, filters: normalizeFilters(filters), limit: 100 })).candidates
      .map((c) => JSON.parse(c.key)[1] as string)
      .sort();

  it('prefilters by tenant, tags (all-of, quotes and backslashes escaped), dates and duration', async () => {
    expect(await ids('s1')).toEqual(['plain', 'quote', 'slash']);
    expect(await ids('s2')).toEqual(['other-tenant']);
    expect(await ids('s1', { tags: ["it's"] })).toEqual(['quote']);
    expect(await ids('s1', { tags: ['beach', "it's"] })).toEqual(['quote']);
    expect(await ids('s1', { tags: ['back\\slash'] })).toEqual(['slash']);
    expect(await ids('s1', { tags: ["it's", 'back\\slash'] })).toEqual([]);
    expect(
      await ids('s1', { createdAt: { from: new Date('2024-05-15'), to: new Date('2024-07-01') } }),
    ).toEqual(['plain']);
    expect(await ids('s1', { durationSeconds: { max: 60 } })).toEqual(['quote']); // unknown duration never matches
  });

  it('keeps the copies beside the vectors in step when a video’s tags change', async () => {
    await store.upsertVideo(
      makeRecord('s1', 'plain', {
        tags: ['mountain'],
        durationSeconds: 90,
        createdAt: new Date('2024-06-01'),
      }),
    );
    expect(await ids('s1', { tags: ['mountain'] })).toEqual(['plain']);
    expect(await ids('s1', { tags: ['beach'] })).toEqual(['quote']);
    await store.upsertVideo(
      makeRecord('s1', 'plain', { tags: [], durationSeconds: 90, createdAt: new Date('2024-06-01') }),
    );
    expect(await ids('s1', { tags: ['mountain'] })).toEqual([]);
  });

  it('returns cosine distances and revisions, and row data by row id', async () => {
    const { candidates, snapshot } = await store.candidates(FP, query, {
      tenant: 's1',
      filters: {},
      limit: 2,
    });
    expect(candidates).toHaveLength(2);
    expect(candidates[0]!.distance).toBeLessThanOrEqual(candidates[1]!.distance);
    expect(snapshot).toBe((await store.modelTable(FP))!.version);
    const entries = await store.rescoreEntries(FP, candidates);
    expect(entries.map((e) => e.key).sort()).toEqual(candidates.map((c) => c.key).sort());
    expect(entries[0]).toMatchObject({ frameCount: F, dim: D });
    expect(entries.every((e) => candidates.some((c) => c.key === e.key && c.revision === e.revision))).toBe(
      true,
    );
    const details = await store.resultDetails(FP, candidates);
    expect(details.get(videoKey('s1', 'quote'))?.thumbnails).toEqual(
      Array.from({ length: F }, (_, f) => `quote/${f}.jpg`),
    );
  });

  it('deleting a video removes its record and its embeddings under every model', async () => {
    await store.upsertEmbeddings(makeEmbeddings('s1', 'quote', FP_B, sceneFrames(r, F, D).frames, F, D));
    expect(await store.deleteVideo('s1', 'quote')).toBe(true);
    expect(await store.getVideo('s1', 'quote')).toBeNull();
    expect(await store.getEmbeddings('s1', 'quote', FP)).toBeNull();
    expect(await store.getEmbeddings('s1', 'quote', FP_B)).toBeNull();
    expect(await ids('s1', { tags: ["it's"] })).toEqual([]);
    expect(await store.deleteVideo('s1', 'quote')).toBe(false);
    expect(await ids('s2', { tags: ["it's"] })).toEqual(['other-tenant']);
  });
});

describe('concurrent searches on one store', () => {
  it('answer 32 first-stage searches at once (LanceDB table handles shared across searches)', async () => {
    await withStore('reel-index-concurrent-', {}, async (shared) => {
      const FP = 'sha256:concurrent';
      await putVideos(
        shared,
        FP,
        Array.from({ length: 20 }, (_, i) => makeRecord('t', `c${i}`)),
      );
      const query = new Float32Array(D).fill(1);
      const results = await Promise.all(
        Array.from({ length: 32 }, () =>
          shared.candidates(FP, query, { tenant: 't', filters: {}, limit: 5 }),
        ),
      );
      for (const result of results) expect(result.candidates).toHaveLength(5);
    });
  });
});

describe('tenant prefilter', () => {
  it('is skipped for a single-tenant table, and tenants never mix while statistics are stale', async () => {
    await withStore('reel-index-tenants-', { tenantStatsTtlMs: 0 }, async (solo) => {
      const FP = 'sha256:tenants';
      const query = new Float32Array(D).fill(1);
      const put = (tenant: string, count: number, near: boolean) =>
        putVideos(
          solo,
          FP,
          Array.from({ length: count }, (_, i) => makeRecord(tenant, `${tenant}${i}`)),
          () => {
            const frames = sceneFrames(r, F, D).frames;
            if (near) for (let i = 0; i < frames.length; i++) frames[i] = 1 + 0.01 * r.normal();
            return frames;
          },
        );
      const tenantsOf = async (tenant: string, limit: number) =>
        (await solo.candidates(FP, query, { tenant, filters: {}, limit })).candidates.map(
          (c) => JSON.parse(c.key)[0] as string,
        );
      await put('solo', 10, false);
      expect(await solo.refreshTenantStatistics(FP)).toEqual(new Map([['solo', 10]]));
      expect(await tenantsOf('solo', 5)).toEqual(['solo', 'solo', 'solo', 'solo', 'solo']); // no tenant clause
      // another tenant arrives with vectors nearer the query; the statistics still say "solo only"
      await put('other', 10, true);
      const stale = await tenantsOf('solo', 5);
      // the clause was left out: the nearer rows of the other tenant filled stage 1 and were dropped
      expect(stale.length).toBeLessThan(5);
      expect(stale.every((t) => t === 'solo')).toBe(true); // fewer results at worst, never another tenant's
      expect(await solo.refreshTenantStatistics(FP)).toEqual(
        new Map([
          ['solo', 10],
          ['other', 10],
        ]),
      );
      expect(await tenantsOf('solo', 5)).toEqual(['solo', 'solo', 'solo', 'solo', 'solo']); // prefiltered again
      expect(await tenantsOf('other', 3)).toEqual(['other', 'other', 'other']);
    });
  });
});

describe('tables another process is creating', () => {
  it('reads a table listed without a committed version as absent, and the first write creates it', async () => {
    const local = await mkdtemp(path.join(os.tmpdir(), 'reel-index-creating-'));
    // what a reader sees while another process's createEmptyTable is half done: the folder, no _versions
    await mkdir(path.join(local, `${embeddingsTableName('sha256:creating')}.lance`), { recursive: true });
    await mkdir(path.join(local, 'videos.lance'), { recursive: true });
    const store = await LanceIndexStore.open({ dir: local });
    try {
      expect(await store.countEmbeddings('sha256:creating')).toBe(0);
      const rec = makeRecord('c', 'c1');
      await store.upsertVideos([rec]);
      await store.upsertEmbeddings([
        makeEmbeddings('c', 'c1', 'sha256:creating', sceneFrames(r, F, D).frames, F, D),
      ]);
      expect(await store.countEmbeddings('sha256:creating')).toBe(1);
      expect((await store.getVideo('c', 'c1'))?.id).toBe('c1');
    } finally {
      store.close();
      await rm(local, { recursive: true, force: true });
    }
  });
});

describe('filtered searches on an HNSW index', () => {
  it('narrow the search width to the share of rows the filter passes, and still find the exact nearest', async () => {
    const FP = 'sha256:hnsw-filter';
    const options = {
      annThreshold: 100,
      ann: { type: 'ivf_hnsw_sq', numPartitions: 1, efFactor: 5 },
    } as const;
    await withStore('reel-index-hnsw-filter-', options, async (hnsw) => {
      // 400 videos of two tenants; a quarter of tenant h's carry the tag "blue"
      const records = Array.from({ length: 400 }, (_, i) =>
        makeRecord(i % 4 === 3 ? 'other' : 'h', `v${i}`, { tags: i % 4 === 0 ? ['blue'] : [] }),
      );
      await putVideos(hnsw, FP, records);
      await hnsw.optimize();
      expect(await hnsw.vectorIndex(FP)).toBe('IvfHnswSq');
      const query = new Float32Array(D).map(() => r.normal());
      const ask = (filters: Parameters<typeof normalizeFilters>[0], exact = false) =>
        hnsw.candidates(FP, query, { tenant: 'h', filters: normalizeFilters(filters), limit: 20, exact });
      // tenant h: 300 of 400 rows, so the width is 5 · 20 · 0.75; with the tag 100 of 400 → 25
      expect((await ask({})).searchWidth).toBe(75);
      const tagged = await ask({ tags: ['blue'] });
      expect(tagged.searchWidth).toBe(25);
      expect(tagged.candidates).toHaveLength(20);
      const exact = await ask({ tags: ['blue'] }, true);
      expect(exact.searchWidth).toBeUndefined();
      const truth = new Set(exact.candidates.slice(0, 10).map((c) => c.key));
      const found = tagged.candidates.slice(0, 10).filter((c) => truth.has(c.key)).length;
      expect(found).toBeGreaterThanOrEqual(9);
      for (const c of tagged.candidates) expect(Number(c.key.match(/v(\d+)/)![1]) % 4).toBe(0);
      // a filter passing fewer rows than the width's floor still asks for the K′ it must return
      expect((await ask({ tags: ['none-has-this'] })).searchWidth).toBe(20);
    });
  });
});

describe('upkeep', () => {
  it('optimize() builds scalar indexes, and the ANN index once a model passes the threshold', async () => {
    const options = {
      annThreshold: 300,
      ann: { type: 'ivf_pq', numPartitions: 2, numSubVectors: 4 },
    } as const;
    await withStore('reel-index-upkeep-', options, async (small) => {
      const FP = 'sha256:upkeep';
      const records = Array.from({ length: 320 }, (_, i) => makeRecord('u', `u${i}`));
      await putVideos(small, FP, records.slice(0, 100));
      const first = await small.optimize();
      expect(first.find((t) => t.table === embeddingsTableName(FP))?.indexesCreated).toEqual([
        'key',
        'tenant',
        'created_at',
        'duration',
        'tags',
      ]);
      expect(await small.vectorIndex(FP)).toBeNull(); // 100 rows < 300: flat search
      await putVideos(small, FP, records.slice(100));
      const second = await small.optimize({ pruneOlderThanMs: 0 });
      expect(second.find((t) => t.table === embeddingsTableName(FP))?.indexesCreated).toEqual([
        'mean_ivf_pq_320',
      ]);
      expect(await small.vectorIndex(FP)).toBe('IvfPq');
      expect(second.find((t) => t.table === 'videos')?.versionsPruned).toBeGreaterThan(0);
      const { candidates } = await small.candidates(FP, new Float32Array(D).fill(1), {
        tenant: 'u',
        filters: {},
        limit: 50,
      });
      expect(candidates).toHaveLength(50);
      expect(await small.countEmbeddings(FP)).toBe(320);
    });
  });

  it('retrains the ANN index once the table has doubled, and replaces an index whose name does not say its size', async () => {
    const FP = 'sha256:regrow';
    const table = embeddingsTableName(FP);
    await withStore(
      'reel-index-regrow-',
      { annThreshold: 100, ann: { type: 'auto' } },
      async (store, local) => {
        const add = (from: number, to: number) =>
          putVideos(
            store,
            FP,
            Array.from({ length: to - from }, (_, i) => makeRecord('g', `g${from + i}`)),
          );
        const created = async () =>
          (await store.optimize({ pruneOlderThanMs: 0 }))
            .find((t) => t.table === table)!
            .indexesCreated.filter((name) => name.startsWith('mean'));
        await add(0, 120);
        expect(await created()).toEqual(['mean_ivf_flat_120']);
        await add(120, 200); // 200 rows < 2 × 120: the new rows are folded into the index, no retraining
        expect(await created()).toEqual([]);
        await add(200, 260); // 260 ≥ 2 × 120
        expect(await created()).toEqual(['mean_ivf_flat_260 (replaces mean_ivf_flat_120)']);
        expect(await store.vectorIndex(FP)).toBe('IvfFlat');
        // an index of another type than the store's settings ask for (here built by hand) is replaced
        await store.rebuildVectorIndex(FP, { type: 'ivf_pq', numPartitions: 2, numSubVectors: 4 });
        expect(await store.vectorIndex(FP)).toBe('IvfPq');
        expect(await created()).toEqual(['mean_ivf_flat_260 (replaces mean_ivf_pq_260)']);
        expect(await created()).toEqual([]);
        // an index built before names recorded the training size (LanceDB's default name)
        const db = await lancedb.connect(local);
        const raw = await db.openTable(table);
        for (const index of await raw.listIndices())
          if (index.columns.includes('mean')) await raw.dropIndex(index.name);
        await raw.createIndex('mean', {
          config: lancedb.Index.ivfFlat({ numPartitions: 2, distanceType: 'cosine' }),
        });
        raw.close();
        expect(await created()).toEqual(['mean_ivf_flat_260 (replaces mean_idx)']);
        const { candidates } = await store.candidates(FP, new Float32Array(D).fill(1), {
          tenant: 'g',
          filters: {},
          limit: 30,
        });
        expect(candidates).toHaveLength(30);
      },
    );
  });
});
