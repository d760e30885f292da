/**
 * Several processes writing one LanceDB folder at once, and a reader in another process. Real child
 * Node processes (test/fixtures/concurrent-upsert.ts), real LanceDB in a temp folder.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type ChildResult, childResult } from '@reel/infra';
import { afterAll, describe, expect, it } from 'vitest';
import { LanceIndexStore } from '../src/adapters/lancedb-store.ts';
import { SearchService } from '../src/search/search-service.ts';
import { FakeEmbedder } from './helpers/index-fixtures.ts';

const fixture = path.join(import.meta.dirname, 'fixtures', 'concurrent-upsert.ts');
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reel-index-mp-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function runWriter(args: string[]): Promise<ChildResult> {
  return childResult(spawn(process.execPath, [fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

async function allKeys(store: LanceIndexStore, tenant: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listVideos(tenant, { limit: 1000, ...(cursor ? { cursor } : {}) });
    ids.push(...page.videos.map((v) => v.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return ids;
}

describe('several processes writing one index', () => {
  it('4 writers upserting the same 40 keys at once leave exactly one row per key in both tables', async () => {
    const dir = await tempDir();
    const keys = 40;
    const startAt = Date.now() + 1500; // all writers start together, after loading LanceDB
    const runs = await Promise.all(
      [0, 1, 2, 3].map((w) => runWriter([dir, String(w), String(keys), String(startAt)])),
    );
    for (const run of runs) {
      expect(run.stderr.split('\n').filter((l) => /error/i.test(l) && !/WARN/.test(l))).toEqual([]);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').pop()!)).toMatchObject({ upserts: keys });
    }
    const store = await LanceIndexStore.open({ dir });
    try {
      const ids = await allKeys(store, 'shared');
      expect(ids).toHaveLength(keys);
      expect(new Set(ids).size).toBe(keys);
      expect((await store.countByStatus('shared')).indexed).toBe(keys);
      expect(await store.countEmbeddings('sha256:multi-process')).toBe(keys);
      // every key readable once, with embeddings of the expected shape
      const e = await store.getEmbeddings('shared', 'v17', 'sha256:multi-process');
      expect(e).toMatchObject({ frameCount: 4, dim: 8 });
    } finally {
      store.close();
    }
  }, 60_000);

  it('a reader process sees another process’s writes without reopening', async () => {
    const dir = await tempDir();
    // the reader connects first; a writer process creates the tables and one video
    const reader = await LanceIndexStore.open({ dir });
    try {
      await runWriter([dir, '9', '1', String(Date.now()), 'sha256:reader-test']);
      const embedder = new FakeEmbedder('sha256:reader-test', 8);
      const service = new SearchService({ store: reader, embedder });
      const before = await service.search('anything', { tenant: 'shared', k: 10 });
      expect(before.results.map((r) => r.videoId)).toEqual(['v0']);
      // another process adds 5 more videos while the reader's connection stays open
      const run = await runWriter([dir, '8', '6', String(Date.now()), 'sha256:reader-test']);
      expect(run.code).toBe(0);
      const after = await service.search('anything', { tenant: 'shared', k: 10 });
      expect(after.results.map((r) => r.videoId).sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
      expect((await reader.getVideo('shared', 'v5'))?.title).toBe('v5 by writer 8');
    } finally {
      reader.close();
    }
  }, 60_000);
});
