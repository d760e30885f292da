/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * The HTTP API for real: a server on a loopback port, the real Redis, a real worker with the synthetic
 * model, real ffmpeg videos. Upload, progress, search, stream with Range, thumbnails, problem+json
 * errors, docs and metrics, in keyless local mode.
 */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiFixture,
  colourVideo,
  uploadForm as form,
  json,
  startApi,
  until,
  waitForBatch,
  webpSize,
} from './helpers/api-server.ts';

let api: ApiFixture;
const waitBatch = (id: string) => waitForBatch(api.url, id);

beforeAll(async () => {
  api = await startApi();
}, 120_000);

afterAll(async () => {
  await api?.close();
});

describe('upload, progress and search', () => {
  let batch: Record<string, any>;

  it('accepts a multipart batch with 202 and one entry per file, and stores only what it indexes', async () => {
    const red = colourVideo(api.videos, 'red.mp4', 'red', 3);
    const blue = colourVideo(api.videos, 'blue.mp4', 'blue');
    const broken = path.join(api.videos, 'broken.mp4');
    (await import('node:fs')).writeFileSync(broken, 'not a video at all');
    const response = await fetch(`${api.url}/v1/videos`, {
      method: 'POST',
      body: form([{ file: red }, { file: blue, name: '../../etc/blue video.mp4' }, { file: broken }], {
        tags: 'demo, colours',
      }),
    });
    expect(response.status).toBe(202);
    const accepted = await json(response);
    expect(accepted.videos.map((v: any) => [v.name, v.status])).toEqual([
      ['red.mp4', 'queued'],
      ['blue video.mp4', 'queued'], // the path in the upload name is dropped
      ['broken.mp4', 'queued'],
    ]);
    expect(accepted.statusUrl).toBe(`/v1/batches/${accepted.batchId}`);
    batch = await waitBatch(accepted.batchId);
    expect(batch.counts).toMatchObject({ indexed: 2, failed: 1 });
    // Each sampled video says how its frames were taken: REEL_SAMPLING_PRECISION's fast by default.
    const redStatus = batch.videos.find((v: any) => v.name === 'red.mp4');
    expect(redStatus.sampling).toMatchObject({ precision: 'fast', redecoded: 0 });
    expect(redStatus.sampling.offsetsMs).toHaveLength(12);
    const failed = batch.videos.find((v: any) => v.name === 'broken.mp4');
    expect(failed).toMatchObject({ status: 'failed', code: 'NOT_A_VIDEO' });
    expect(failed.message).toContain('broken.mp4');

    // the same file again is a duplicate, and its upload is not kept
    const again = await json(
      await fetch(`${api.url}/v1/videos`, { method: 'POST', body: form([{ file: red, name: 'again.mp4' }]) }),
    );
    expect(again.videos[0]).toMatchObject({ name: 'again.mp4', status: 'duplicate' });
    // the broken file again is its earlier failure (202, with the code), not a duplicate, and not kept
    const brokenAgain = await json(
      await fetch(`${api.url}/v1/videos`, { method: 'POST', body: form([{ file: broken }]) }),
    );
    expect(brokenAgain.videos[0]).toMatchObject({
      name: 'broken.mp4',
      status: 'failed',
      code: 'NOT_A_VIDEO',
    });
    expect(brokenAgain.videos[0].message).toMatch(/broken\.mp4.*\(when it was submitted before;/);
    expect((await waitBatch(brokenAgain.batchId)).counts).toMatchObject({ failed: 1, duplicate: 0 });
    const stored = await readdir(path.join(api.config.paths.videos, 'default'));
    expect(stored.filter((f) => f.endsWith('.mp4'))).toHaveLength(3); // red, blue, broken: not "again"
  });

  it('finds the red video first, with its moment, thumbnail and stream', async () => {
    const response = await fetch(`${api.url}/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'a red video', k: 5, filters: { tags: ['demo'] } }),
    });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.results).toHaveLength(2);
    expect(body.results[0].title).toBe('red');
    expect(body.results[0].score).toBeGreaterThan(body.results[1].score);
    expect(body.fingerprint).toMatch(/^sha256:/);
    const moment = body.results[0].moment;
    expect(moment.start).toBeGreaterThanOrEqual(0);
    expect(moment.end).toBeGreaterThan(moment.start);
    expect(moment.end).toBeLessThanOrEqual(3.01);

    const thumb = await fetch(`${api.url}${moment.thumbnailUrl}`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const bytes = Buffer.from(await thumb.arrayBuffer());
    // The whole 96×72 picture at its own aspect, not the model's 224×224 centre crop.
    expect(webpSize(bytes)).toEqual({ width: 96, height: 72 });

    const get = await json(await fetch(`${api.url}/v1/search?q=blue&k=1`));
    expect(get.results.map((r: any) => r.title)).toEqual(['blue video']);
    expect(get.nextCursor).toEqual(expect.any(String));
    const next = await json(
      await fetch(`${api.url}/v1/search?q=blue&k=1&cursor=${encodeURIComponent(get.nextCursor)}`),
    );
    expect(next.results.map((r: any) => r.title)).toEqual(['red']);

    const videoId = body.results[0].videoId;
    const full = await fetch(`${api.url}/v1/videos/${videoId}/stream`);
    expect(full.status).toBe(200);
    const size = Number(full.headers.get('content-length'));
    expect(size).toBe(readFileSync(path.join(api.videos, 'red.mp4')).length);
    await full.arrayBuffer();
    const range = await fetch(`${api.url}/v1/videos/${videoId}/stream`, {
      headers: { range: 'bytes=100-199' },
    });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe(`bytes 100-199/${size}`);
    expect((await range.arrayBuffer()).byteLength).toBe(100);
    const beyond = await fetch(`${api.url}/v1/videos/${videoId}/stream`, {
      headers: { range: `bytes=${size + 10}-` },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${size}`);
    expect((await json(beyond)).code).toBe('RANGE_NOT_SATISFIABLE');
    // thumbnails are served whole: a Range on one is ignored (not a bare 416 without reel's code)
    const thumbBeyond = await fetch(`${api.url}${moment.thumbnailUrl}`, {
      headers: { range: `bytes=${bytes.length + 10}-` },
    });
    expect(thumbBeyond.status).toBe(200);
    expect(Buffer.from(await thumbBeyond.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('finds the moment inside the video: a scene change half-way', async () => {
    const file = path.join(api.videos, 'grey-then-yellow.mp4');
    (await import('node:child_process')).execFileSync(
      'ffmpeg',
      (await import('@reel/ingest')).colourVideoArgs(
        file,
        [
          { colour: 'gray', seconds: 3 },
          { colour: 'yellow', seconds: 3 },
        ],
        { width: 96, height: 72, fps: 8 },
      ),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const accepted = await json(
      await fetch(`${api.url}/v1/videos`, { method: 'POST', body: form([{ file }]) }),
    );
    expect((await waitBatch(accepted.batchId)).counts.indexed).toBe(1);
    const found = await json(await fetch(`${api.url}/v1/search?q=${encodeURIComponent('yellow')}&k=3`));
    expect(found.results[0].title).toBe('grey-then-yellow');
    const { start, end } = found.results[0].moment;
    expect(start).toBeGreaterThanOrEqual(2.5); // the yellow half is 3-6 s
    expect(end).toBeLessThanOrEqual(6.01);
    expect(end - start).toBeGreaterThan(1);
  });

  it('lists and shows videos with filters and a cursor', async () => {
    const page = await json(await fetch(`${api.url}/v1/videos?limit=2&status=indexed&tags=demo`));
    expect(page.videos).toHaveLength(2);
    expect(page.videos.every((v: any) => v.status === 'indexed')).toBe(true);
    const failed = await json(await fetch(`${api.url}/v1/videos?status=failed`));
    expect(failed.videos).toHaveLength(1);
    expect(failed.videos[0].error.code).toBe('NOT_A_VIDEO');
    const one = await json(await fetch(`${api.url}/v1/videos/${page.videos[0].id}`));
    expect(one).toMatchObject({ id: page.videos[0].id, tags: ['demo', 'colours'] });
    const first = await json(await fetch(`${api.url}/v1/videos?limit=1`));
    const second = await json(
      await fetch(`${api.url}/v1/videos?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`),
    );
    expect(second.videos[0].id).not.toBe(first.videos[0].id);
  });
});

describe('errors are problem+json with a stable code', () => {
  const problem = async (response: Response, status: number, code: string) => {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const body = await json(response);
    expect(body).toMatchObject({ status, code });
    expect(body.detail).toEqual(expect.any(String));
    return body;
  };

  it('samples an upload at the precision its form asks for, and refuses one it does not know', async () => {
    const green = colourVideo(api.videos, 'green-exact.mp4', 'green');
    const accepted = await json(
      await fetch(`${api.url}/v1/videos`, {
        method: 'POST',
        body: form([{ file: green }], { precision: 'exact' }),
      }),
    );
    const done = await waitBatch(accepted.batchId);
    expect(done.videos[0].sampling.precision).toBe('exact');
    const refused = await problem(
      await fetch(`${api.url}/v1/videos`, {
        method: 'POST',
        body: form([{ file: green }], { precision: 'bidir' }),
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(refused.detail).toBe('field precision: "bidir" is not one of exact, fast, keyframes');
    const body = await problem(
      await fetch(`${api.url}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ videos: [{ url: 'https://example.com/a.mp4' }], precision: 'slow' }),
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(body.detail).toContain('precision');
  });

  it('names the field that was wrong', async () => {
    const tooMany = await problem(await fetch(`${api.url}/v1/search?q=red&k=1000`), 400, 'VALIDATION_FAILED');
    expect(tooMany.detail).toContain('k');
    const long = await problem(
      await fetch(`${api.url}/v1/search?q=${'x'.repeat(600)}`),
      400,
      'VALIDATION_FAILED',
    );
    expect(long.detail).toContain('q');
    const pooling = await problem(
      await fetch(`${api.url}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'red', pooling: 'median' }),
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(pooling.detail).toContain('pooling');
    await problem(await fetch(`${api.url}/v1/search?q=red&pooling=xpool`), 422, 'POOLING_UNAVAILABLE');
    await problem(await fetch(`${api.url}/v1/search?q=red&cursor=garbage`), 400, 'CURSOR_INVALID');
    await problem(await fetch(`${api.url}/v1/videos/nope`), 404, 'VIDEO_NOT_FOUND');
    await problem(await fetch(`${api.url}/v1/batches/nope`), 404, 'BATCH_NOT_FOUND');
    await problem(await fetch(`${api.url}/v1/nothing-here`), 404, 'ROUTE_NOT_FOUND');
    await problem(
      await fetch(`${api.url}/v1/videos`, { method: 'POST', body: form([], { title: 'x' }) }),
      400,
      'NO_FILES',
    );
    await problem(
      await fetch(`${api.url}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ videos: [{ path: 'a.mp4' }] }),
      }),
      403,
      'PATHS_DISABLED',
    );
  });

  it('follows HTTP: allowed values named, unknown fields named, 405 with Allow, 415, bad JSON, 401 challenge', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${api.url}/v1/search`, { method: 'POST', headers: { 'content-type': type }, body });
    const pooling = await problem(
      await post(JSON.stringify({ query: 'red', pooling: 'median' })),
      400,
      'VALIDATION_FAILED',
    );
    expect(pooling.detail).toBe('body.pooling: must be one of mean, attention, topk, max, xpool');
    const get = await problem(
      await fetch(`${api.url}/v1/search?q=red&pooling=foo`),
      400,
      'VALIDATION_FAILED',
    );
    expect(get.detail).toBe('querystring.pooling: must be one of mean, attention, topk, max, xpool');
    const status = await problem(await fetch(`${api.url}/v1/videos?status=done`), 400, 'VALIDATION_FAILED');
    expect(status.detail).toBe('querystring.status: must be one of queued, processing, indexed, failed');
    const unknown = await problem(
      await post(JSON.stringify({ query: 'red', colour: 'blue' })),
      400,
      'VALIDATION_FAILED',
    );
    expect(unknown.detail).toBe('body.colour: is not a field this route takes');
    const nested = await problem(
      await post(JSON.stringify({ query: 'red', filters: { tag: ['a'] } })),
      400,
      'VALIDATION_FAILED',
    );
    expect(nested.detail).toBe('body.filters.tag: is not a field this route takes');

    const wrongMethod = await problem(
      await fetch(`${api.url}/v1/search`, { method: 'PUT' }),
      405,
      'METHOD_NOT_ALLOWED',
    );
    expect(wrongMethod.detail).toBe('/v1/search takes POST, GET, HEAD, not PUT');
    const del = await fetch(`${api.url}/v1/batches/abc`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    await problem(await fetch(`${api.url}/v1/nothing-here`, { method: 'PUT' }), 404, 'ROUTE_NOT_FOUND');
    await problem(await fetch(`${api.url}/web/nope.js`), 404, 'ROUTE_NOT_FOUND');

    const text = await problem(await post('query=red', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(text.detail).toContain('text/plain');
    const broken = await problem(await post('{"query": "red",'), 400, 'INVALID_JSON');
    expect(broken.detail).toMatch(/^the body is not valid JSON: /);
    await problem(await post(''), 400, 'INVALID_JSON');
  });

  it('takes repeated tags and the date and duration filters in GET /v1/search, as in its body', async () => {
    const search = (query: string) => fetch(`${api.url}/v1/search?q=red&k=20&${query}`).then(json);
    const all = (await search('')).results.length;
    expect(all).toBeGreaterThan(1);
    // red lasts 3 s, blue 2 s, grey-then-yellow 6 s: duration bounds keep red alone
    const between = await search('minDuration=2.5&maxDuration=4');
    expect(between.results.map((r: any) => r.title)).toEqual(['red']);
    expect((await search('maxDuration=2.5')).results.map((r: any) => r.title)).not.toContain('red');
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await search(`createdAfter=${encodeURIComponent(future)}`)).results).toEqual([]);
    expect((await search(`createdBefore=${encodeURIComponent(future)}`)).results).toHaveLength(all);
    // repeated and comma-separated tags mean the same, in search and in the video list
    expect((await search('tags=nope&tags=other')).results).toEqual([]);
    const listed = await fetch(`${api.url}/v1/videos?tags=a&tags=b`).then(json);
    expect(listed.videos).toEqual([]);
    const body = await problem(
      await fetch(`${api.url}/v1/search?q=red&minDuration=long`),
      400,
      'VALIDATION_FAILED',
    );
    expect(body.detail).toBe('querystring.minDuration: must be number');
  });
});

describe('operations', () => {
  it('serves health, readiness, OpenAPI and Prometheus metrics', async () => {
    expect(await json(await fetch(`${api.url}/healthz`))).toEqual({ status: 'ok' });
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    const readiness = await json(ready);
    expect(readiness).toMatchObject({ ready: true, search: true, ingest: true });
    expect(readiness.checks.map((c: any) => c.name).sort()).toEqual(['index', 'model', 'redis', 'workers']);

    const spec = await json(await fetch(`${api.url}/docs/json`));
    expect(spec.openapi).toBe('3.1.0');
    for (const route of ['/v1/search', '/v1/videos', '/v1/videos/{id}/stream', '/v1/batches', '/v1/reindex'])
      expect(Object.keys(spec.paths)).toContain(route);
    expect(
      spec.paths['/v1/search'].post.requestBody.content['application/json'].schema.properties.k.maximum,
    ).toBe(100);

    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(
      /reel_http_request_duration_seconds_count\{method="POST",route="\/v1\/search",status="200"\} [1-9]/,
    );
    expect(metrics).toMatch(/reel_search_stage_seconds_count\{stage="stage1",pooling="attention"\} [1-9]/);
    // red, blue, the half-way scene change and the green sampled at exact precision
    expect(metrics).toMatch(/reel_videos\{status="indexed"\} 4/);
    expect(metrics).toMatch(/reel_queue_jobs\{queue="ingest",state="waiting"\} 0/);

    const board = await fetch(`${api.url}/admin/queues`);
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('reel queues');

    const models = await json(await fetch(`${api.url}/v1/models`));
    expect(models.active.id).toBe('reel-synthetic-clip');
    expect(models.searching).toMatch(/^sha256:/);
  });

  it('queues reindexing for the workers', async () => {
    const response = await fetch(`${api.url}/v1/reindex`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ upkeep: true }),
    });
    expect(response.status).toBe(202);
    const body = await json(response);
    expect(body.jobs.map((j: any) => j.kind)).toEqual(['upkeep']);
    const job = await until('upkeep job', async () => {
      const found = await api.server.deps.pipeline.queues.reindex.getJob(body.jobs[0].jobId);
      return found && (await found.isCompleted()) ? found : undefined;
    });
    expect(job.returnvalue).toBeDefined();
  });
});
