/**
 * The two-stage search end to end on a real LanceDB folder: tenancy, model fingerprints, prefilters,
 * pagination over a snapshot, deletion, moments, and the ANN-indexed first stage.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LanceIndexStore } from '../src/adapters/lancedb-store.ts';
import { SearchService } from '../src/search/search-service.ts';
import {
  FakeEmbedder,
  makeEmbeddings,
  makeRecord,
  rng,
  sceneFrames,
  textNear,
} from './helpers/index-fixtures.ts';
import { randomHead } from './helpers/pooling-fixtures.ts';

const F = 12;
const D = 24;
const FP_A = 'sha256:active-model';
const FP_B = 'sha256:old-model';

let dir: string;
let store: LanceIndexStore;
const r = rng(51);
const scenes = new Map<string, Float32Array[]>();
const embedder = new FakeEmbedder(FP_A, D);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'reel-index-search-'));
  store = await LanceIndexStore.open({ dir });
  const records = [];
  const embeddings = [];
  for (let v = 0; v < 60; v++) {
    const tenant = v < 45 ? 'acme' : 'globex';
    const id = `v${v}`;
    const { frames, directions } = sceneFrames(r, F, D, 3);
    scenes.set(id, directions);
    records.push(
      makeRecord(tenant, id, {
        tags: v % 3 === 0 ? ["dog's toy", 'outdoor'] : ['outdoor'],
        createdAt: new Date(Date.UTC(2024, v % 12, 1)),
        durationSeconds: 30 + v,
      }),
    );
    embeddings.push(makeEmbeddings(tenant, id, FP_A, frames, F, D, 30 + v));
  }
  // globex's v45 is a near copy of acme's v3 (same scenes): the best match for "v3 scene 1" in any tenant
  const copy = sceneFrames(r, F, D, 3).frames;
  const v3 = scenes.get('v3')!;
  for (let f = 0; f < F; f++)
    for (let d = 0; d < D; d++) copy[f * D + d] = v3[Math.floor(f / 4)]![d]! + 0.01 * r.normal();
  embeddings[45] = makeEmbeddings('globex', 'v45', FP_A, copy, F, D, 75);
  await store.upsertVideos(records);
  await store.upsertEmbeddings(embeddings);
  // the old model's table holds v0 with frames exactly like the query: it must never be searched
  await store.upsertEmbeddings(makeEmbeddings('acme', 'v0', FP_B, copy, F, D));
  embedder.register('v3 scene 1', textNear(r, v3[1]!, 0.1));
});

afterAll(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('two-stage search on LanceDB', () => {
  it('finds the video and moment, and never crosses tenants', async () => {
    const service = new SearchService({ store, embedder });
    const acme = await service.search('v3 scene 1', { tenant: 'acme', k: 100, pooling: 'attention' });
    expect(acme.results).toHaveLength(45);
    expect(acme.results[0]!.videoId).toBe('v3');
    expect(acme.results.every((x) => Number(x.videoId.slice(1)) < 45)).toBe(true);
    // scene 1 is frames 4..7 of a 33 s video: [11, 22]; attention (τ = 0.01) peaks inside it
    const { moment } = acme.results[0]!;
    expect(moment.frameIndex).toBeGreaterThanOrEqual(4);
    expect(moment.frameIndex).toBeLessThanOrEqual(7);
    expect(moment.start).toBeGreaterThanOrEqual(11 - 1e-9);
    expect(moment.end).toBeLessThanOrEqual(22 + 1e-9);
    expect(moment.end - moment.start).toBeGreaterThanOrEqual(2.75 - 1e-9); // at least one frame interval
    expect(moment.thumbnail).toBe(`v3/${moment.frameIndex}.jpg`);
    const globex = await service.search('v3 scene 1', { tenant: 'globex', k: 100, pooling: 'attention' });
    expect(globex.results).toHaveLength(15);
    expect(globex.results[0]!.videoId).toBe('v45');
    expect(globex.results[0]!.score).toBeGreaterThan(acme.results[0]!.score - 0.05);
  });

  it('searches only the active model’s vectors', async () => {
    const active = await new SearchService({ store, embedder }).search('v3 scene 1', {
      tenant: 'acme',
      k: 100,
    });
    // v0 is in the old model's table with frames equal to the query's scene; under the active model it is an ordinary video
    const v0 = active.results.find((x) => x.videoId === 'v0')!;
    expect(active.results.indexOf(v0)).toBeGreaterThan(0);
    expect(active.fingerprint).toBe(FP_A);
    const old = new FakeEmbedder(FP_B, D);
    old.register('v3 scene 1', textNear(r, scenes.get('v3')![1]!, 0.1));
    const oldResults = await new SearchService({ store, embedder: old }).search('v3 scene 1', {
      tenant: 'acme',
      k: 100,
    });
    expect(oldResults.results.map((x) => x.videoId)).toEqual(['v0']);
  });

  it('applies tag (with a quote), date and duration prefilters', async () => {
    const service = new SearchService({ store, embedder });
    const tagged = await service.search('v3 scene 1', {
      tenant: 'acme',
      k: 100,
      filters: { tags: ["dog's toy"] },
    });
    expect(tagged.results.map((x) => Number(x.videoId.slice(1))).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 15 }, (_, i) => 3 * i),
    );
    const dated = await service.search('v3 scene 1', {
      tenant: 'acme',
      k: 100,
      filters: { createdAt: { from: new Date(Date.UTC(2024, 2, 1)), to: new Date(Date.UTC(2024, 4, 1)) } },
    });
    // months 2 and 3 (March, April): v ≡ 2 or 3 mod 12, v < 45
    expect(dated.results.map((x) => x.videoId).sort()).toEqual([
      'v14',
      'v15',
      'v2',
      'v26',
      'v27',
      'v3',
      'v38',
      'v39',
    ]);
    const short = await service.search('v3 scene 1', {
      tenant: 'acme',
      k: 100,
      filters: { durationSeconds: { max: 35 } },
    });
    expect(short.results.map((x) => x.videoId).sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
  });

  it('pages over one snapshot: a video added after page 1 does not shift later pages; a deleted one is left out', async () => {
    const service = new SearchService({ store, embedder });
    const all = await service.search('v3 scene 1', { tenant: 'acme', k: 45, pooling: 'max' });
    const page1 = await service.search('v3 scene 1', { tenant: 'acme', k: 10, pooling: 'max' });
    expect(page1.results.map((x) => x.videoId)).toEqual(all.results.slice(0, 10).map((x) => x.videoId));
    // a new best match arrives, and the 12th result is deleted
    await store.upsertVideo(makeRecord('acme', 'late', { tags: ['outdoor'] }));
    const late = sceneFrames(r, F, D).frames;
    const v3 = scenes.get('v3')!;
    for (let i = 0; i < late.length; i++) late[i] = v3[1]![i % D]!;
    await store.upsertEmbeddings(makeEmbeddings('acme', 'late', FP_A, late, F, D));
    const deleted = all.results[11]!.videoId;
    expect(await store.deleteVideo('acme', deleted)).toBe(true);
    const page2 = await service.search('v3 scene 1', {
      tenant: 'acme',
      k: 10,
      pooling: 'max',
      cursor: page1.nextCursor!,
    });
    expect(page2.results.map((x) => x.videoId)).toEqual(
      all.results
        .slice(10, 20)
        .map((x) => x.videoId)
        .filter((id) => id !== deleted),
    );
    // a new search sees the new video first (the frames match it clearly; then v3, whose title says
    // "v3") and not the deleted one; by the frames alone, the new video is first too
    const fresh = await service.search('v3 scene 1', { tenant: 'acme', k: 45, pooling: 'max' });
    expect(fresh.mode).toBe('hybrid');
    expect(fresh.results.slice(0, 2).map((x) => x.videoId)).toEqual(['late', 'v3']);
    const seen = await service.search('v3 scene 1', {
      tenant: 'acme',
      k: 45,
      pooling: 'max',
      mode: 'visual',
    });
    expect(seen.results[0]!.videoId).toBe('late');
    expect(fresh.results.some((x) => x.videoId === deleted)).toBe(false);
  });

  it('cuts at minScore with the same meaning for every pooling', async () => {
    const head = randomHead(rng(6), D, 31337);
    const service = new SearchService({ store, embedder, xpoolHead: head });
    for (const pooling of ['mean', 'attention', 'topk', 'max', 'xpool'] as const) {
      const { results } = await service.search('v3 scene 1', {
        tenant: 'acme',
        k: 100,
        pooling,
        minScore: 0.2,
      });
      expect(results.every((x) => x.score >= 0.2 && x.score <= 1)).toBe(true);
    }
  });
});

describe('ANN-indexed first stage', () => {
  for (const [ann, expected] of [
    [{ type: 'ivf_flat', numPartitions: 4, nprobes: 4 }, 'IvfFlat'],
    [{ type: 'ivf_pq', numPartitions: 4, numSubVectors: 6, nprobes: 4 }, 'IvfPq'],
  ] as const)
    it(`${expected}: same top results as the flat search when K′ covers the rescored set`, async () => {
      const local = await mkdtemp(path.join(os.tmpdir(), 'reel-index-ann-'));
      const store = await LanceIndexStore.open({ dir: local, annThreshold: 256, ann });
      try {
        const FP = 'sha256:ann';
        const e = new FakeEmbedder(FP, D);
        const records = Array.from({ length: 300 }, (_, i) => makeRecord('a', `a${i}`));
        const directions: Float32Array[][] = [];
        await store.upsertVideos(records);
        await store.upsertEmbeddings(
          records.map((rec) => {
            const s = sceneFrames(r, F, D, 3);
            directions.push(s.directions);
            return makeEmbeddings('a', rec.id, FP, s.frames, F, D);
          }),
        );
        e.register('q', textNear(r, directions[123]![2]!, 0.1));
        const flat = await new SearchService({ store, embedder: e, candidates: 300 }).search('q', {
          tenant: 'a',
          k: 10,
        });
        await store.optimize();
        expect(await store.vectorIndex(FP)).toBe(expected);
        const indexed = await new SearchService({ store, embedder: e, candidates: 300 }).search('q', {
          tenant: 'a',
          k: 10,
        });
        expect(indexed.results[0]!.videoId).toBe('a123');
        expect(indexed.results.map((x) => x.videoId)).toEqual(flat.results.map((x) => x.videoId));
        for (let i = 0; i < 10; i++) expect(indexed.results[i]!.score).toBeCloseTo(flat.results[i]!.score, 6);
      } finally {
        store.close();
        await rm(local, { recursive: true, force: true });
      }
    });
});
