import { isReelError } from '@reel/infra';
import { beforeAll, describe, expect, it } from 'vitest';
import { POOLINGS } from '../src/search/rescore-cache.ts';
import { SearchService } from '../src/search/search-service.ts';
import { buildVideoEmbeddings } from '../src/video-embeddings.ts';
import {
  FakeEmbedder,
  MemoryStore,
  makeEmbeddings,
  makeRecord,
  rng,
  sceneFrames,
  textNear,
  uniformTimes,
} from './helpers/index-fixtures.ts';
import { randomHead } from './helpers/pooling-fixtures.ts';

const F = 12;
const D = 32;
const FP = 'sha256:model-a';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isReelError(error) ? error.code : `other: ${(error as Error).message}`;
  }
  return undefined;
}

describe('SearchService (in-memory store)', () => {
  const r = rng(31);
  const store = new MemoryStore();
  const embedder = new FakeEmbedder(FP, D);
  const scenes: Float32Array[][] = [];

  beforeAll(() => {
    for (let v = 0; v < 40; v++) {
      const { frames, directions } = sceneFrames(r, F, D, 3);
      scenes.push(directions);
      const tenant = v < 30 ? 't1' : 't2';
      store.put(
        makeRecord(tenant, `v${v}`, { tags: v % 2 === 0 ? ['even'] : ['odd'] }),
        makeEmbeddings(tenant, `v${v}`, FP, frames, F, D),
      );
    }
    embedder.register('scene 2 of v7', textNear(r, scenes[7]![2]!, 0.2));
  });

  it('finds the video and the moment a text describes', async () => {
    const service = new SearchService({ store, embedder });
    const response = await service.search('scene 2 of v7', { tenant: 't1', k: 3, pooling: 'attention' });
    const top = response.results[0]!;
    expect(top.videoId).toBe('v7');
    // scene 2 is frames 8..11 of a 60 s video sampled at interval middles: [40, 60]
    expect(top.moment.start).toBeGreaterThanOrEqual(40);
    expect(top.moment.end).toBe(60);
    expect(top.moment.frameIndex).toBeGreaterThanOrEqual(8);
    expect(top.moment.thumbnail).toBe(`v7/${top.moment.frameIndex}.jpg`);
    expect(response.fingerprint).toBe(FP);
    expect(response.pooling).toBe('attention');
    expect(response.timings.totalMs).toBeGreaterThanOrEqual(response.timings.stage1Ms);
  });

  it('returns cosines in [-1, 1] for every pooling, best first', async () => {
    const head = randomHead(rng(8), D, 555);
    const service = new SearchService({ store, embedder, xpoolHead: head });
    for (const pooling of POOLINGS) {
      const { results, stats } = await service.search('scene 2 of v7', { tenant: 't1', k: 30, pooling });
      expect(results).toHaveLength(30);
      for (const res of results) expect(Math.abs(res.score)).toBeLessThanOrEqual(1);
      for (let i = 1; i < results.length; i++)
        expect(results[i - 1]!.score).toBeGreaterThanOrEqual(results[i]!.score);
      // the stored embeddings carry no X-Pool terms: they are computed on the fly, once per video
      if (pooling === 'xpool') expect(stats.xpoolBuilt).toBe(30);
    }
    const again = await service.search('scene 2 of v7', { tenant: 't1', k: 5, pooling: 'xpool' });
    expect(again.stats.xpoolBuilt).toBe(0);
  });

  it('computes missing X-Pool terms only up to a cap per query (POOLING_UNAVAILABLE, retryable)', async () => {
    const head = randomHead(rng(9), D, 777);
    const service = new SearchService({ store, embedder, xpoolHead: head, maxXPoolBuildsPerQuery: 20 });
    try {
      await service.search('scene 2 of v7', { tenant: 't1', k: 5, pooling: 'xpool' });
      expect.unreachable();
    } catch (error) {
      expect(isReelError(error, 'POOLING_UNAVAILABLE')).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(true);
      expect((error as Error).message).toMatch(/found 30 of 30 without them \(computed 20 now/);
    }
    // the 20 built stay cached: the retry computes the last 10 and succeeds
    const retry = await service.search('scene 2 of v7', { tenant: 't1', k: 5, pooling: 'xpool' });
    expect(retry.stats.xpoolBuilt).toBe(10);
  });

  it('searches by an example: a near copy first, the example left out, another tenant unreachable', async () => {
    // v29 copies v7's frames with a little noise: "more like v7" must find it, and not v7 itself.
    const copy = new Float32Array(F * D);
    for (let f = 0; f < F; f++)
      for (let d = 0; d < D; d++) copy[f * D + d] = scenes[7]![Math.floor(f / 4)]![d]! + 0.05 * r.normal();
    store.put(makeRecord('t1', 'v7-copy'), makeEmbeddings('t1', 'v7-copy', FP, copy, F, D));
    const service = new SearchService({ store, embedder });
    try {
      const like = await service.search({ like: { videoId: 'v7' } }, { tenant: 't1', k: 5, pooling: 'mean' });
      expect(like.results[0]!.videoId).toBe('v7-copy');
      expect(like.results.map((x) => x.videoId)).not.toContain('v7');
      expect(like.results[0]!.confidence).toBeNull();
      // By the frame nearest 45 s (scene 2): the video whose scene matches ranks first among the rest.
      const at = await service.search(
        { like: { videoId: 'v7', at: 45 } },
        { tenant: 't1', k: 3, pooling: 'max' },
      );
      expect(at.results[0]!.videoId).toBe('v7-copy');
      // A video of another tenant is not found, not searched by.
      expect(await codeOf(service.search({ like: { videoId: 'v35' } }, { tenant: 't1' }))).toBe(
        'VIDEO_NOT_FOUND',
      );
      expect(await codeOf(service.search({}, { tenant: 't1' }))).toBe('SEARCH_INPUT_INVALID');
      expect(
        await codeOf(service.search({ like: { videoId: 'v7' } }, { tenant: 't1', minConfidence: 3 })),
      ).toBe('SEARCH_INPUT_INVALID');
      // A cursor of a text search is no cursor for an example search.
      const text = await service.search('scene 2 of v7', { tenant: 't1', k: 1 });
      expect(
        await codeOf(
          service.search({ like: { videoId: 'v7' } }, { tenant: 't1', k: 1, cursor: text.nextCursor! }),
        ),
      ).toBe('CURSOR_INVALID');
    } finally {
      store.delete('t1', 'v7-copy');
    }
  });

  it('encodes a query once, and reads rescoring data once', async () => {
    const localEmbedder = new FakeEmbedder(FP, D, 5);
    const service = new SearchService({ store, embedder: localEmbedder });
    const first = await service.search('any text', { tenant: 't1', k: 5 });
    const second = await service.search('any text', { tenant: 't1', k: 5 });
    // One call for the query, one for the confidence references (once per model).
    expect(localEmbedder.calls).toBe(2);
    await service.search('other text', { tenant: 't1', k: 5 });
    expect(localEmbedder.calls).toBe(3);
    expect(first.stats).toMatchObject({ queryCached: false, fetched: 30, candidates: 30 });
    expect(second.stats).toMatchObject({ queryCached: true, fetched: 0 });
    expect(second.results.map((x) => x.videoId)).toEqual(first.results.map((x) => x.videoId));
  });

  it('pages through every result exactly once with cursors', async () => {
    const service = new SearchService({ store, embedder, candidates: 100 });
    const all = await service.search('scene 2 of v7', { tenant: 't1', k: 30, pooling: 'topk' });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await service.search('scene 2 of v7', {
        tenant: 't1',
        k: 7,
        pooling: 'topk',
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.results.map((x) => x.videoId));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(5);
    expect(seen).toEqual(all.results.map((x) => x.videoId));
  });

  it('rejects a cursor of another query or model with CURSOR_INVALID', async () => {
    const service = new SearchService({ store, embedder });
    const page = await service.search('scene 2 of v7', { tenant: 't1', k: 5 });
    const cursor = page.nextCursor!;
    expect(await codeOf(service.search('another text', { tenant: 't1', k: 5, cursor }))).toBe(
      'CURSOR_INVALID',
    );
    expect(await codeOf(service.search('scene 2 of v7', { tenant: 't2', k: 5, cursor }))).toBe(
      'CURSOR_INVALID',
    );
    expect(
      await codeOf(service.search('scene 2 of v7', { tenant: 't1', k: 5, pooling: 'max', cursor })),
    ).toBe('CURSOR_INVALID');
    const otherModel = new SearchService({ store, embedder: new FakeEmbedder('sha256:model-b', D) });
    await expect(otherModel.search('scene 2 of v7', { tenant: 't1', k: 5, cursor })).rejects.toThrow(
      /made for model .* active model is/,
    );
  });

  it('cuts weak results at minScore and stops paging there', async () => {
    const service = new SearchService({ store, embedder });
    const all = await service.search('scene 2 of v7', { tenant: 't1', k: 30 });
    const threshold = all.results[4]!.score;
    const cut = await service.search('scene 2 of v7', { tenant: 't1', k: 10, minScore: threshold });
    expect(cut.results.map((x) => x.videoId)).toEqual(all.results.slice(0, 5).map((x) => x.videoId));
    expect(cut.nextCursor).toBeNull();
  });

  it('never returns another tenant’s videos, even from a faulty store', async () => {
    const leaky = new MemoryStore();
    for (const [fp, model] of store.rows)
      for (const [, row] of model) leaky.put(row.record, { ...row.embeddings, fingerprint: fp });
    leaky.leakTenant = 't2';
    const service = new SearchService({ store: leaky, embedder });
    const { results } = await service.search('scene 2 of v7', { tenant: 't1', k: 100 });
    expect(results).toHaveLength(30);
    expect(results.every((x) => Number(x.videoId.slice(1)) < 30)).toBe(true);
  });

  it('applies filters (tags all-of) through the store', async () => {
    const service = new SearchService({ store, embedder });
    const { results } = await service.search('scene 2 of v7', {
      tenant: 't1',
      k: 100,
      filters: { tags: ['odd'] },
    });
    expect(results).toHaveLength(15);
    expect(results.every((x) => x.tags.includes('odd'))).toBe(true);
    const none = await service.search('scene 2 of v7', {
      tenant: 't1',
      k: 100,
      filters: { tags: ['odd', 'even'] },
    });
    expect(none.results).toHaveLength(0);
  });

  it('re-reads a video whose embeddings changed (new revision)', async () => {
    const local = new MemoryStore();
    const { frames } = sceneFrames(r, F, D);
    local.put(makeRecord('t1', 'a'), makeEmbeddings('t1', 'a', FP, frames, F, D));
    const service = new SearchService({ store: local, embedder });
    const before = await service.search('q', { tenant: 't1' });
    const moved = sceneFrames(r, F, D).frames;
    local.put(makeRecord('t1', 'a'), makeEmbeddings('t1', 'a', FP, moved, F, D));
    const after = await service.search('q', { tenant: 't1' });
    expect(after.stats.fetched).toBe(1);
    expect(after.results[0]!.score).not.toBe(before.results[0]!.score);
  });

  it('returns the best single frame as the moment of mean pooling', async () => {
    const local = new MemoryStore();
    const { frames, directions } = sceneFrames(r, F, D, 4);
    local.put(
      makeRecord('t1', 'a', { durationSeconds: 24 }),
      buildVideoEmbeddings({
        tenant: 't1',
        videoId: 'a',
        fingerprint: FP,
        frames,
        frameCount: F,
        dim: D,
        timestamps: uniformTimes(F, 24),
      }),
    );
    const e = new FakeEmbedder(FP, D);
    e.register('scene 1', textNear(r, directions[1]!, 0.1));
    const { results } = await new SearchService({ store: local, embedder: e }).search('scene 1', {
      tenant: 't1',
      pooling: 'mean',
    });
    const m = results[0]!.moment;
    expect(m.frameIndex).toBeGreaterThanOrEqual(3);
    expect(m.frameIndex).toBeLessThanOrEqual(5);
    expect(m.end - m.start).toBeCloseTo(2, 6); // one sampling interval of 24 s / 12
    expect(m.thumbnail).toBeNull();
  });

  it('rejects bad requests with clear codes', async () => {
    const service = new SearchService({ store, embedder });
    expect(await codeOf(service.search('   ', { tenant: 't1' }))).toBe('SEARCH_INPUT_INVALID');
    expect(await codeOf(service.search('q', { tenant: '' }))).toBe('SEARCH_INPUT_INVALID');
    expect(await codeOf(service.search('q', { tenant: 't1', k: 0 }))).toBe('SEARCH_INPUT_INVALID');
    expect(await codeOf(service.search('q', { tenant: 't1', k: 101 }))).toBe('SEARCH_INPUT_INVALID');
    expect(await codeOf(service.search('q', { tenant: 't1', minScore: 1.5 }))).toBe('SEARCH_INPUT_INVALID');
    expect(await codeOf(service.search('q', { tenant: 't1', pooling: 'gem' as never }))).toBe(
      'SEARCH_INPUT_INVALID',
    );
    await expect(service.search('q', { tenant: 't1', pooling: 'xpool' })).rejects.toThrow(
      /pooling xpool: expected an X-Pool head to be configured, found none/,
    );
    expect(await codeOf(service.search('q', { tenant: 't1', pooling: 'xpool' }))).toBe('POOLING_UNAVAILABLE');
    const wrongDim = new SearchService({ store, embedder: new FakeEmbedder(FP, D + 1) });
    expect(await codeOf(wrongDim.search('q', { tenant: 't1' }))).toBe('EMBEDDING_DIM_MISMATCH');
  });

  it('returns nothing (and no cursor) for a model with no stored vectors', async () => {
    const service = new SearchService({ store, embedder: new FakeEmbedder('sha256:empty', D) });
    const response = await service.search('q', { tenant: 't1' });
    expect(response.results).toEqual([]);
    expect(response.nextCursor).toBeNull();
  });
});
