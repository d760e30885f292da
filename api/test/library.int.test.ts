/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * The library's routes for real (server, Redis, a worker, ffmpeg, LanceDB): listing by title and by
 * status with the failure's reason, one video with its file's size and frames, editing title and tags
 * (and search filtering by the edited tags), retrying a failed video as a batch of its own, the
 * tenant's batch history, deleting; another tenant can do none of it.
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '../src/keys/key-store.ts';
import {
  type ApiFixture,
  bearer,
  colourVideo,
  uploadForm as form,
  json,
  startApi,
  waitForBatch,
} from './helpers/api-server.ts';

let api: ApiFixture;
let acme: string;
let globex: string;
const ids: Record<string, string> = {};
let uploadBatch: string;
let redFile: string;

const as = (key: string, init: RequestInit = {}) => ({
  ...init,
  headers: { ...bearer(key), ...(init.headers as Record<string, string>) },
});
const patch = (key: string, id: string, body: unknown) =>
  fetch(
    `${api.url}/v1/videos/${id}`,
    as(key, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  );

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-library-'));
  const keys = new KeyStore(path.join(root, 'data', 'api-keys.json'));
  acme = (await keys.create({ tenant: 'acme', scopes: ['search', 'ingest'] })).key;
  globex = (await keys.create({ tenant: 'globex', scopes: ['search', 'ingest', 'admin'] })).key;
  api = await startApi({ root });
  redFile = colourVideo(api.videos, 'red.mp4', 'red', 3);
  const blue = colourVideo(api.videos, 'blue.mp4', 'blue');
  const broken = path.join(api.videos, 'Broken.mp4');
  writeFileSync(broken, 'not a video at all');
  const accepted = await json(
    await fetch(
      `${api.url}/v1/videos`,
      as(acme, { method: 'POST', body: form([{ file: redFile }, { file: blue }, { file: broken }]) }),
    ),
  );
  uploadBatch = accepted.batchId;
  const batch = await waitForBatch(api.url, uploadBatch, acme);
  expect(batch.counts).toMatchObject({ indexed: 2, failed: 1 });
  for (const v of batch.videos) ids[v.name] = v.videoId;
}, 180_000);

afterAll(async () => {
  await api?.close();
});

describe('browsing', () => {
  it('lists by title (capitals first) and newest first, and by status with the reason', async () => {
    const byTitle = await json(await fetch(`${api.url}/v1/videos?sort=title`, as(acme)));
    expect(byTitle.videos.map((v: any) => v.title)).toEqual(['Broken', 'blue', 'red']);
    const newest = await json(await fetch(`${api.url}/v1/videos`, as(acme)));
    expect(newest.videos).toHaveLength(3);
    const failed = await json(await fetch(`${api.url}/v1/videos?status=failed`, as(acme)));
    expect(failed.videos).toHaveLength(1);
    expect(failed.videos[0]).toMatchObject({
      title: 'Broken',
      status: 'failed',
      error: { code: 'NOT_A_VIDEO' },
    });
    expect(failed.videos[0].error.message).toContain('Broken.mp4');
    const bad = await fetch(`${api.url}/v1/videos?sort=size`, as(acme));
    expect(bad.status).toBe(400);
    expect((await json(bad)).detail).toContain('sort');
  });

  it("opens one video: its file's size, frame times and thumbnails", async () => {
    const red = await json(await fetch(`${api.url}/v1/videos/${ids['red.mp4']}`, as(acme)));
    expect(red).toMatchObject({
      title: 'red',
      status: 'indexed',
      fingerprint: expect.stringMatching(/^sha256:/),
    });
    expect(red.sizeBytes).toBe(statSync(redFile).size);
    expect(red.frameTimes.length).toBeGreaterThan(1);
    expect(red.frameTimes.at(-1)).toBeLessThan(3.01);
    expect(red.thumbnailUrls).toHaveLength(red.frameTimes.length);
    const thumb = await fetch(`${api.url}${red.thumbnailUrls[0]}`, as(acme));
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const broken = await json(await fetch(`${api.url}/v1/videos/${ids['Broken.mp4']}`, as(acme)));
    expect(broken).toMatchObject({ sizeBytes: null, frameTimes: [], thumbnailUrls: [] });
  });
});

describe('editing', () => {
  it('edits the title and tags, and searches filter by the new tags', async () => {
    const response = await patch(acme, ids['red.mp4']!, {
      title: ' Crimson ',
      tags: ['warm', ' warm ', '', 'sunset'],
    });
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ title: 'Crimson', tags: ['warm', 'sunset'] });
    const shown = await json(await fetch(`${api.url}/v1/videos/${ids['red.mp4']}`, as(acme)));
    expect(shown).toMatchObject({ title: 'Crimson', tags: ['warm', 'sunset'] });
    const found = await json(await fetch(`${api.url}/v1/search?q=a+red+video&tags=warm`, as(acme)));
    expect(found.results.map((r: any) => r.title)).toEqual(['Crimson']);
    // only the tags: the title stays
    expect(await json(await patch(acme, ids['red.mp4']!, { tags: [] }))).toMatchObject({
      title: 'Crimson',
      tags: [],
    });
    const none = await json(await fetch(`${api.url}/v1/search?q=a+red+video&tags=warm`, as(acme)));
    expect(none.results).toEqual([]);
  });

  it('refuses an empty edit, a long title, too many tags, and a video that is not there', async () => {
    expect((await patch(acme, ids['red.mp4']!, {})).status).toBe(400);
    const blank = await patch(acme, ids['red.mp4']!, { title: '   ' });
    expect(blank.status).toBe(400);
    expect((await json(blank)).detail).toContain('title: expected some text');
    expect((await patch(acme, ids['red.mp4']!, { title: 'x'.repeat(501) })).status).toBe(400);
    expect(
      (await patch(acme, ids['red.mp4']!, { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) })).status,
    ).toBe(400);
    const missing = await patch(acme, 'v_000000000000000000000000', { title: 'x' });
    expect(missing.status).toBe(404);
    expect((await json(missing)).code).toBe('VIDEO_NOT_FOUND');
  });

  it("gives another tenant's key nothing to edit, retry or see", async () => {
    const other = await patch(globex, ids['blue.mp4']!, { title: 'stolen' });
    expect(other.status).toBe(404);
    const retry = await fetch(
      `${api.url}/v1/videos/${ids['Broken.mp4']}/retry`,
      as(globex, { method: 'POST' }),
    );
    expect(retry.status).toBe(404);
    const batches = await json(await fetch(`${api.url}/v1/batches`, as(globex)));
    expect(batches.batches).toEqual([]);
    expect((await json(await fetch(`${api.url}/v1/videos/${ids['blue.mp4']}`, as(acme)))).title).toBe('blue');
  });
});

describe('retry and batch history', () => {
  it('retries a failed video as a batch of its own, listed first in the history', async () => {
    const indexed = await fetch(`${api.url}/v1/videos/${ids['red.mp4']}/retry`, as(acme, { method: 'POST' }));
    expect(indexed.status).toBe(409);
    expect((await json(indexed)).code).toBe('VIDEO_NOT_FAILED');

    const response = await fetch(
      `${api.url}/v1/videos/${ids['Broken.mp4']}/retry`,
      as(acme, { method: 'POST' }),
    );
    expect(response.status).toBe(202);
    const accepted = await json(response);
    expect(accepted.videos).toEqual([{ name: 'Broken', videoId: ids['Broken.mp4'], status: 'queued' }]);
    const batch = await waitForBatch(api.url, accepted.batchId, acme);
    expect(batch).toMatchObject({ kind: 'retry', total: 1, counts: { failed: 1 } });
    expect(batch.videos[0]).toMatchObject({ status: 'failed', code: 'NOT_A_VIDEO' });

    const history = await json(await fetch(`${api.url}/v1/batches`, as(acme)));
    expect(history.batches.map((b: any) => [b.id, b.kind])).toEqual([
      [accepted.batchId, 'retry'],
      [uploadBatch, 'upload'],
    ]);
    expect(history.batches[1]).toMatchObject({ total: 3, done: 3, counts: { indexed: 2, failed: 1 } });
    expect(history.batches[1].finishedAt).toEqual(expect.any(String));
    expect(history.nextBefore).toBeNull();
    // paged one at a time
    const first = await json(await fetch(`${api.url}/v1/batches?limit=1`, as(acme)));
    expect(first.batches.map((b: any) => b.id)).toEqual([accepted.batchId]);
    const second = await json(
      await fetch(`${api.url}/v1/batches?limit=1&before=${first.nextBefore}`, as(acme)),
    );
    expect(second.batches.map((b: any) => b.id)).toEqual([uploadBatch]);
  });

  it('deletes a video: gone from the listing and the search', async () => {
    const response = await fetch(`${api.url}/v1/videos/${ids['blue.mp4']}`, as(acme, { method: 'DELETE' }));
    expect(response.status).toBe(204);
    expect((await fetch(`${api.url}/v1/videos/${ids['blue.mp4']}`, as(acme))).status).toBe(404);
    const listed = await json(await fetch(`${api.url}/v1/videos`, as(acme)));
    expect(listed.videos.map((v: any) => v.id)).not.toContain(ids['blue.mp4']);
    const found = await json(await fetch(`${api.url}/v1/search?q=blue`, as(acme)));
    expect(found.results.map((r: any) => r.videoId)).not.toContain(ids['blue.mp4']);
  });
});
