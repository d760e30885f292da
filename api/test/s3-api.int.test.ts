/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * reel on object storage for real: a local S3-compatible server (fauxqs, from npm, on a loopback port,
 * its objects in a temp folder), REEL_STORAGE=s3 with a key prefix and the LanceDB index on s3:// in the
 * same bucket; the real API, Redis, ffmpeg, synthetic model and one worker. Uploads and a URL download
 * land in the bucket, the worker indexes them from there, search finds them, thumbnails and the stream
 * (with Range) come from the bucket, delete removes the objects, and nothing touches the local videos,
 * thumbnails or lancedb folders. Objects are checked with the AWS SDK, not through reel.
 *
 * ONE worker, so one LanceDB writer at a time: fauxqs (like s3rver) ignores conditional PUT
 * (If-None-Match), which Lance's commits on S3 rely on to detect concurrent writers, so two writing
 * processes could lose a commit here (they would not on AWS S3, MinIO or R2). The API process writes to
 * the index only when deleting, after the worker is idle; the sweep schedule is pushed out of the test.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3Fixture, startS3 } from '../../workers/test/helpers/s3-server.ts';
import {
  type ApiFixture,
  colourVideo,
  filesUnder,
  uploadForm as form,
  json,
  startApi,
  waitForBatch,
} from './helpers/api-server.ts';

const PREFIX = 'media/';

let s3: S3Fixture;
let api: ApiFixture;
const waitBatch = (id: string) => waitForBatch(api.url, id);
let http: Server;
const started = performance.now();

async function objectBytes(key: string): Promise<Buffer> {
  const answer = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

beforeAll(async () => {
  s3 = await startS3('reel-media');
  api = await startApi({
    env: {
      ...s3.env,
      REEL_STORAGE: 's3',
      REEL_S3_PREFIX: PREFIX,
      REEL_INDEX_URI: `s3://${s3.bucket}/${PREFIX}lancedb`,
      REEL_SWEEP_CRON: '0 0 1 1 *',
      REEL_DOWNLOAD_ALLOW_PRIVATE: 'true',
      REEL_API_MAX_UPLOAD_BYTES: '200000',
    },
  });
  const green = colourVideo(api.videos, 'green.mp4', 'green');
  http = createServer((req, res) => {
    if (req.url !== '/clips/green.mp4') return void res.writeHead(404).end();
    const body = readFileSync(green);
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await api?.close();
  await new Promise((resolve) => http?.close(resolve));
  await s3?.close();
  console.log(`s3-api: ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
});

describe('REEL_STORAGE=s3 and the index on s3://', () => {
  let redId: string;
  let blueId: string;
  let urlId: string;
  let redKey: string;

  it('stores uploads in the bucket, indexes them from there, keeps nothing locally', async () => {
    expect(api.server.deps.pipeline.storage.location).toBe(`s3://${s3.bucket}/${PREFIX}`);
    const red = colourVideo(api.videos, 'red.mp4', 'red', 3);
    const blue = colourVideo(api.videos, 'blue.mp4', 'blue');
    const t0 = performance.now();
    const accepted = await json(
      await fetch(`${api.url}/v1/videos`, {
        method: 'POST',
        body: form([{ file: red }, { file: blue }], { tags: 'demo' }),
      }),
    );
    expect(accepted.videos.map((v: any) => v.status)).toEqual(['queued', 'queued']);
    const batch = await waitBatch(accepted.batchId);
    console.log(`s3-api: 2 uploads indexed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(batch.counts).toMatchObject({ indexed: 2 });
    [redId, blueId] = accepted.videos.map((v: any) => v.videoId);

    // The record names the object; the object holds the upload's bytes.
    const record = await api.server.deps.pipeline.store.getVideo('default', redId);
    expect(record?.source).toMatch(
      new RegExp(`^s3://${s3.bucket}/${PREFIX}videos/default/[0-9a-f-]{36}\\.mp4$`),
    );
    redKey = record!.source!.slice(`s3://${s3.bucket}/`.length);
    expect((await objectBytes(redKey)).equals(readFileSync(red))).toBe(true);
    expect(await s3.keys(`${PREFIX}videos/`)).toHaveLength(2);
    for (const id of [redId, blueId]) {
      const thumbs = await s3.keys(`${PREFIX}thumbnails/${id}/`);
      expect(thumbs).toHaveLength(12);
      expect(thumbs[0]).toBe(`${PREFIX}thumbnails/${id}/thumb-0000.webp`);
    }
    // LanceDB's tables are in the bucket too
    const index = await s3.keys(`${PREFIX}lancedb/`);
    expect(index.some((k) => k.startsWith(`${PREFIX}lancedb/videos.lance/`))).toBe(true);
    expect(index.some((k) => /lancedb\/emb_[^/]+\.lance\//.test(k))).toBe(true);

    // Nothing in the local videos, thumbnails or lancedb folders, and no copy left behind.
    const { paths } = api.config;
    expect(paths.lancedb).toBe(`s3://${s3.bucket}/${PREFIX}lancedb`);
    for (const dir of [paths.videos, paths.thumbnails, path.join(paths.dataDir, 'lancedb'), paths.tmp])
      expect(filesUnder(dir), dir).toEqual([]);
  });

  it('searches, and serves thumbnails and the stream (Range) from the bucket', async () => {
    const body = await json(
      await fetch(`${api.url}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'a red video', k: 5, filters: { tags: ['demo'] } }),
      }),
    );
    expect(body.results.map((r: any) => r.videoId)).toEqual([redId, blueId]);
    const moment = body.results[0].moment;

    const thumb = await fetch(`${api.url}${moment.thumbnailUrl}`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    expect(thumb.headers.get('cache-control')).toBe('public, max-age=3600');
    const n = Number(/frames\/(\d+)\/thumbnail/.exec(moment.thumbnailUrl)![1]);
    const expected = await objectBytes(
      `${PREFIX}thumbnails/${redId}/thumb-${String(n).padStart(4, '0')}.webp`,
    );
    expect(Buffer.from(await thumb.arrayBuffer()).equals(expected)).toBe(true);
    expect((await fetch(`${api.url}/v1/videos/${redId}/frames/99/thumbnail`)).status).toBe(404);

    const file = readFileSync(path.join(api.videos, 'red.mp4'));
    const full = await fetch(`${api.url}/v1/videos/${redId}/stream`);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('video/mp4');
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(Number(full.headers.get('content-length'))).toBe(file.length);
    expect(Buffer.from(await full.arrayBuffer()).equals(file)).toBe(true);
    const head = await fetch(`${api.url}/v1/videos/${redId}/stream`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(file.length);

    const range = await fetch(`${api.url}/v1/videos/${redId}/stream`, {
      headers: { range: 'bytes=100-199' },
    });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe(`bytes 100-199/${file.length}`);
    expect(range.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await range.arrayBuffer()).equals(file.subarray(100, 200))).toBe(true);

    const tail = await fetch(`${api.url}/v1/videos/${redId}/stream`, { headers: { range: 'bytes=-50' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(
      `bytes ${file.length - 50}-${file.length - 1}/${file.length}`,
    );
    expect(Buffer.from(await tail.arrayBuffer()).equals(file.subarray(file.length - 50))).toBe(true);

    const beyond = await fetch(`${api.url}/v1/videos/${redId}/stream`, {
      headers: { range: `bytes=${file.length + 10}-` },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${file.length}`);
    expect((await json(beyond)).code).toBe('RANGE_NOT_SATISFIABLE');
  });

  it('downloads a URL video into the bucket and indexes it from there', async () => {
    const { port } = http.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/clips/green.mp4`;
    const accepted = await json(
      await fetch(`${api.url}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ videos: [{ url }] }),
      }),
    );
    expect(accepted.videos[0]).toMatchObject({ status: 'queued' });
    const batch = await waitBatch(accepted.batchId);
    expect(batch.counts).toMatchObject({ indexed: 1 });
    urlId = accepted.videos[0].videoId;
    const record = await api.server.deps.pipeline.store.getVideo('default', urlId);
    // The record keeps the URL; the download is in the tenant's folder, at a key the video id gives.
    expect(record?.source).toBe(url);
    expect(
      (await objectBytes(`${PREFIX}videos/default/${urlId}/download.mp4`)).equals(
        readFileSync(path.join(api.videos, 'green.mp4')),
      ),
    ).toBe(true);
    const search = await json(await fetch(`${api.url}/v1/search?q=green&k=1`));
    expect(search.results[0].videoId).toBe(urlId);
    expect(filesUnder(api.config.paths.videos)).toEqual([]);
  });

  it('keeps no object for duplicates and refused uploads', async () => {
    const before = await s3.keys(`${PREFIX}videos/`);
    const again = await json(
      await fetch(`${api.url}/v1/videos`, {
        method: 'POST',
        body: form([{ file: path.join(api.videos, 'red.mp4'), name: 'again.mp4' }]),
      }),
    );
    expect(again.videos[0]).toMatchObject({ status: 'duplicate' });
    const big = path.join(api.videos, 'big.mp4');
    writeFileSync(big, Buffer.alloc(300_000, 7)); // over REEL_API_MAX_UPLOAD_BYTES (200 000)
    const refused = await fetch(`${api.url}/v1/videos`, { method: 'POST', body: form([{ file: big }]) });
    expect(refused.status).toBe(413);
    expect(statSync(big).size).toBe(300_000);
    expect(await s3.keys(`${PREFIX}videos/`)).toEqual(before);
  });

  it('deletes a video’s objects, and only its own', async () => {
    expect((await fetch(`${api.url}/v1/videos/${redId}`, { method: 'DELETE' })).status).toBe(204);
    expect(await s3.keys(redKey)).toEqual([]);
    expect(await s3.keys(`${PREFIX}thumbnails/${redId}/`)).toEqual([]);
    expect(await s3.keys(`${PREFIX}thumbnails/${blueId}/`)).toHaveLength(12);
    expect((await fetch(`${api.url}/v1/videos/${redId}`)).status).toBe(404);
    expect((await fetch(`${api.url}/v1/videos/${redId}/stream`)).status).toBe(404);

    expect(await s3.keys(`${PREFIX}videos/default/${urlId}/`)).toHaveLength(1);
    expect((await fetch(`${api.url}/v1/videos/${urlId}`, { method: 'DELETE' })).status).toBe(204);
    expect(await s3.keys(`${PREFIX}videos/default/${urlId}/`)).toEqual([]);
    expect(await s3.keys(`${PREFIX}thumbnails/${urlId}/`)).toEqual([]);

    const left = await json(await fetch(`${api.url}/v1/search?q=red&k=10`));
    expect(left.results.map((r: any) => r.videoId)).toEqual([blueId]);
    expect((await s3.keys(`${PREFIX}videos/`)).length).toBe(1); // blue's upload
  });
});
