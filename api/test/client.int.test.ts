/** biome-ignore-all lint/style/noNonNullAssertion: answers the test has just checked */
/**
 * @reel/client against the real server, worker, Redis, ffmpeg, onnxruntime and LanceDB: the README's
 * upload-and-wait and search, byte progress of a folder upload, every page of a listing, typed edits,
 * and problem+json answers thrown as ReelApiError with their code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  allVideos,
  createReelClient,
  dataOf,
  ReelApiError,
  uploadFiles,
  uploadFolder,
  waitForBatch,
} from '@reel/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, colourVideo, startApi } from './helpers/api-server.ts';

let api: ApiFixture;

beforeAll(async () => {
  api = await startApi();
}, 120_000);

afterAll(async () => {
  await api?.close();
});

describe('@reel/client (real server and worker)', () => {
  it("uploads a folder with byte progress and waits for its batch (the README's ten lines)", async () => {
    const folder = path.join(api.videos, 'holiday-videos');
    mkdirSync(path.join(folder, 'day 2'), { recursive: true });
    colourVideo(folder, 'red.mp4', 'red');
    colourVideo(path.join(folder, 'day 2'), 'blue.mp4', 'blue');
    writeFileSync(path.join(folder, 'notes.txt'), 'not a video, and not sent');
    const progress: [number, number][] = [];
    const seen: number[] = [];

    const reel = createReelClient({ baseUrl: api.url });
    const accepted = await uploadFolder(reel, folder, {
      tags: ['holiday'],
      onProgress: (sent, total) => progress.push([sent, total]),
    });
    const batch = await waitForBatch(reel, accepted.batchId, {
      pollMs: 200,
      onProgress: (s) => seen.push(s.done),
    });

    expect(accepted.videos.map((v) => v.name)).toEqual(['blue.mp4', 'red.mp4']); // day 2/blue.mp4 sorts first
    expect(batch.counts).toMatchObject({ indexed: 2, failed: 0 });
    expect(seen.at(-1)).toBe(2);
    const total = progress[0]![1];
    expect(progress.at(-1)).toEqual([total, total]);
    expect(progress.every(([sent], i) => i === 0 || sent >= progress[i - 1]![0])).toBe(true);
    const listed = [];
    for await (const video of allVideos(reel, { tags: ['holiday'], limit: 1 })) listed.push(video.title);
    expect(listed.sort()).toEqual(['blue', 'red']);
  });

  it("searches (the README's five lines) and edits with typed calls", async () => {
    const reel = createReelClient({ baseUrl: api.url });
    const { data } = await reel.api.GET('/v1/search', { params: { query: { q: 'a red video', k: 5 } } });
    expect(data!.results[0]!.title).toBe('red');
    const id = data!.results[0]!.videoId;
    const edited = dataOf(
      await reel.api.PATCH('/v1/videos/{id}', {
        params: { path: { id } },
        body: { tags: ['holiday', 'warm'] },
      }),
    );
    expect(edited.tags).toEqual(['holiday', 'warm']);
  });

  it('throws problem+json answers as ReelApiError with their code', async () => {
    const reel = createReelClient({ baseUrl: api.url });
    const missing = await reel.api
      .GET('/v1/videos/{id}', { params: { path: { id: 'v_000000000000000000000000' } } })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(ReelApiError);
    expect(missing).toMatchObject({ status: 404, code: 'VIDEO_NOT_FOUND' });
    await expect(uploadFiles(reel, [])).rejects.toThrow('no files');
  });
});
