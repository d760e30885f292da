/**
 * The pipeline's catalog on a real LanceDB folder: a stage's write never undoes a person's edit of the
 * title and tags, whatever copy of the record the stage held.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LanceIndexStore } from '@reel/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexCatalog } from '../src/adapters/index-catalog.ts';
import type { CatalogVideo } from '../src/pipeline-deps.ts';

let store: LanceIndexStore;
let catalog: IndexCatalog;

beforeAll(async () => {
  store = await LanceIndexStore.open({
    dir: path.join(mkdtempSync(path.join(tmpdir(), 'reel-catalog-')), 'db'),
  });
  catalog = new IndexCatalog(store);
});

afterAll(() => store?.close());

const video = (overrides: Partial<CatalogVideo> = {}): CatalogVideo => ({
  videoId: 'v_0123456789abcdef01234567',
  tenant: 'acme',
  title: 'clip',
  tags: ['raw'],
  source: 'clip.mp4',
  sha256: 'b'.repeat(64),
  sizeBytes: 10,
  status: 'queued',
  ...overrides,
});

describe('IndexCatalog', () => {
  it("keeps a person's edit of title and tags when a stage writes the copy it read before", async () => {
    await catalog.saveVideos([video()]);
    const stale = await catalog.getVideo('acme', video().videoId);
    const edited = await catalog.editLabels('acme', video().videoId, { title: 'Holiday', tags: ['beach'] });
    expect(edited).toMatchObject({ title: 'Holiday', tags: ['beach'], status: 'queued' });
    await catalog.saveVideo({ ...stale!, status: 'indexed', durationSeconds: 3, fingerprint: 'sha256:m' });
    const after = await store.getVideo('acme', video().videoId);
    expect(after).toMatchObject({ title: 'Holiday', tags: ['beach'], status: 'indexed', durationSeconds: 3 });
  });

  it('edits only what it is given, and nothing for a video the tenant does not have', async () => {
    expect(await catalog.editLabels('acme', video().videoId, { tags: [] })).toMatchObject({
      title: 'Holiday',
      tags: [],
    });
    expect(await catalog.editLabels('globex', video().videoId, { title: 'x' })).toBeNull();
    expect(await catalog.video('globex', video().videoId)).toBeUndefined();
    expect(await catalog.video('acme', video().videoId)).toMatchObject({
      title: 'Holiday',
      status: 'indexed',
    });
  });
});
