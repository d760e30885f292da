/**
 * Batches of http(s) URLs for real: a loopback HTTP server (node:http) serves videos rendered by ffmpeg
 * and misbehaves on purpose; the real workers download, dedupe, sample, embed (synthetic model) and index.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SearchService } from '@reel/index';
import { createLogger } from '@reel/infra';
import { ClipModel, createInferencePool } from '@reel/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientBatchId } from '../src/batch-id.ts';
import type { BatchStatus } from '../src/batch-progress.ts';
import { openPipeline, type Pipeline, type RunningWorker, startPipelineWorker } from '../src/pipeline.ts';
import { hashFile } from '../src/video-identity.ts';
import { colourVideo, type RealSetup, realSetup } from './helpers/real-pipeline.ts';

const MAX_BYTES = 200_000;

let setup: RealSetup;
let pipeline: Pipeline;
let worker: RunningWorker;
let server: Server;
let base: string;
const hits = new Map<string, number>();
const stalled: ServerResponse[] = [];

function serve(files: Record<string, string>): Promise<Server> {
  const http = createServer((req, res) => {
    const url = req.url ?? '/';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const file = files[url];
    if (file) {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length });
      res.end(body);
    } else if (url === '/hop') {
      res.writeHead(302, { location: '/clips/green.mp4' });
      res.end();
    } else if (url === '/loop') {
      res.writeHead(301, { location: '/loop' });
      res.end();
    } else if (url === '/big.mp4') {
      // Announced too large: refused before the body is read.
      res.writeHead(200, { 'content-length': 300_000 });
      res.end(Buffer.alloc(300_000));
    } else if (url === '/big-chunked.mp4') {
      // No Content-Length: the limit must be enforced while streaming.
      res.writeHead(200, { 'content-type': 'video/mp4' });
      const chunk = Buffer.alloc(16_384, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 400_000 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      res.on('error', () => {});
      pump();
    } else if (url === '/stall.mp4') {
      res.writeHead(200, { 'content-length': 100_000 });
      res.write(Buffer.alloc(1_000));
      stalled.push(res);
    } else if (url === '/error-500.mp4') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('boom');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not here');
    }
  });
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve(http)));
}

async function finished(batchId: string, timeoutMs = 150_000): Promise<BatchStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await pipeline.service.status(batchId);
    if (status?.finishedAt !== undefined) return status;
    if (Date.now() > deadline) throw new Error(`batch did not finish: ${JSON.stringify(status, null, 1)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let red: string;
let blue: string;
beforeAll(async () => {
  setup = await realSetup({
    REEL_MAX_VIDEO_BYTES: String(MAX_BYTES),
    REEL_DOWNLOAD_TIMEOUT_SECONDS: '2',
    REEL_DOWNLOAD_ALLOW_PRIVATE: 'true', // the test's server is on loopback
  });
  red = colourVideo(setup.videos, 'red.mp4', 'red');
  blue = colourVideo(setup.videos, 'blue.mp4', 'blue');
  const green = colourVideo(setup.videos, 'green.mp4', 'green');
  server = await serve({
    '/clips/red.mp4': red,
    '/mirror/red-copy.mp4': red,
    '/clips/green.mp4': green,
    '/copy-of-blue.mp4': blue,
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pipeline = await openPipeline(setup.config);
  worker = await startPipelineWorker(setup.config, createLogger({ level: 'silent', name: 'test' }));
});

afterAll(async () => {
  for (const res of stalled) res.destroy();
  server.closeAllConnections();
  server.close();
  await worker.close(10_000);
  const keys = await pipeline.redis.keys(`${setup.config.queuePrefix}:*`);
  if (keys.length > 0) await pipeline.redis.del(...keys);
  await pipeline.close();
});

describe('batches of http(s) URLs, downloaded by the workers', () => {
  it('indexes good URLs, dedupes by content once downloaded, fails bad ones with their codes', async () => {
    const model = await pipeline.searchModel();
    const first = await pipeline.service.submit({ tenant: 'web', model, files: [{ path: blue }] });
    expect((await finished(first.batchId)).counts.indexed).toBe(1);
    const blueId = first.videos[0]!.videoId!;

    const submitted = await pipeline.service.submitUrls({
      tenant: 'web',
      model,
      videos: [
        { url: `${base}/clips/red.mp4`, tags: ['web'] },
        { url: `${base}/mirror/red-copy.mp4` },
        { url: `${base}/hop`, title: 'green by redirect' },
        { url: `${base}/copy-of-blue.mp4` },
        { url: `${base}/missing.mp4` },
        { url: `${base}/loop` },
        { url: `${base}/big.mp4` },
        { url: `${base}/big-chunked.mp4` },
        { url: `${base}/stall.mp4` },
        { url: `${base}/error-500.mp4` },
        { url: 'ftp://example.com/clip.mp4' },
        { url: 'not a url' },
        { url: `${base}/clips/red.mp4` },
      ],
    });
    const at = (i: number) => submitted.videos[i]!;
    expect(at(10)).toMatchObject({ status: 'failed', code: 'BAD_URL' });
    expect(at(10).message).toContain('expected an http:// or https:// URL, got the ftp scheme');
    expect(at(11)).toMatchObject({ status: 'failed', code: 'BAD_URL' });
    expect(at(12)).toMatchObject({ status: 'duplicate', videoId: at(0).videoId });
    expect(submitted.videos.slice(0, 10).every((v) => v.status === 'queued' && /^v_/.test(v.videoId!))).toBe(
      true,
    );

    const status = await finished(submitted.batchId);
    const byName = (suffix: string) => status.videos.find((v) => v.name === `${base}${suffix}`)!;
    expect(status.counts).toMatchObject({ indexed: 2, duplicate: 3, failed: 8 });

    // Permanent failures: one request each, a code and a message naming the URL.
    expect(byName('/missing.mp4')).toMatchObject({ status: 'failed', code: 'DOWNLOAD_FAILED' });
    expect(byName('/missing.mp4').message).toBe(`${base}/missing.mp4: the server answered 404 Not Found`);
    expect(byName('/loop')).toMatchObject({ status: 'failed', code: 'DOWNLOAD_FAILED' });
    expect(byName('/loop').message).toBe(`${base}/loop: more than 5 redirects`);
    expect(byName('/big.mp4')).toMatchObject({ status: 'failed', code: 'TOO_LARGE' });
    expect(byName('/big.mp4').message).toContain('300000 bytes announced, more than the 200000-byte limit');
    expect(byName('/big-chunked.mp4')).toMatchObject({ status: 'failed', code: 'TOO_LARGE' });
    expect(byName('/big-chunked.mp4').message).toContain(`more than ${MAX_BYTES} bytes sent`);
    for (const url of ['/missing.mp4', '/big.mp4', '/big-chunked.mp4']) expect(hits.get(url)).toBe(1);
    expect(hits.get('/loop')).toBe(6);

    // Transient failures: retried (5 attempts) before they fail.
    expect(byName('/stall.mp4')).toMatchObject({ status: 'failed', code: 'DOWNLOAD_TIMEOUT' });
    expect(byName('/stall.mp4').message).toContain(
      `${base}/stall.mp4: the download did not finish within 2 s`,
    );
    expect(byName('/error-500.mp4')).toMatchObject({ status: 'failed', code: 'DOWNLOAD_UNAVAILABLE' });
    expect(byName('/error-500.mp4').message).toContain('the server answered 500');
    expect(hits.get('/stall.mp4')).toBe(5);
    expect(hits.get('/error-500.mp4')).toBe(5);

    // Content the tenant already has, found once downloaded: no record, no files, the existing id named.
    const blueCopy = byName('/copy-of-blue.mp4');
    expect(blueCopy).toMatchObject({ status: 'duplicate', existingVideoId: blueId });
    expect(blueCopy.message).toContain(`same content as video ${blueId}`);
    expect(await pipeline.store.getVideo('web', blueCopy.videoId)).toBeNull();
    // The same bytes under two URLs in one batch: one is indexed, the other names it.
    // (red.mp4 was submitted twice: the second entry, a duplicate at submit, never ran)
    const redEntries = status.videos.filter((v) => v.name === `${base}/clips/red.mp4`);
    expect(redEntries.filter((v) => v.stages === undefined)).toEqual([
      expect.objectContaining({ status: 'duplicate', duplicateOf: clientBatchId(submitted.batchId) }),
    ]);
    const reds = [redEntries.find((v) => v.stages !== undefined)!, byName('/mirror/red-copy.mp4')];
    const redIndexed = reds.find((v) => v.status === 'indexed')!;
    const redTwin = reds.find((v) => v.status === 'duplicate')!;
    expect(redIndexed).toBeDefined();
    expect(redTwin).toMatchObject({ existingVideoId: redIndexed.videoId });
    expect(await pipeline.store.getVideo('web', redTwin.videoId)).toBeNull();

    // The good ones: indexed from their download (in the tenant's folder, at a key derived from the
    // video id), with its hash; the record keeps the URL as its source.
    const record = (await pipeline.store.getVideo('web', redIndexed.videoId))!;
    expect(record).toMatchObject({
      status: 'indexed',
      sha256: (await hashFile(red)).sha256,
      source: redIndexed.name, // whichever of the two URLs claimed the content first
    });
    const download = path.join(setup.config.paths.videos, 'web', redIndexed.videoId, 'download.mp4');
    expect(readFileSync(download)).toEqual(readFileSync(red));
    const green = byName('/hop');
    expect(green.status).toBe('indexed');
    expect(await pipeline.store.getVideo('web', green.videoId)).toMatchObject({
      status: 'indexed',
      title: 'green by redirect',
    });
    // Failed downloads leave a failed record naming the URL, and no file.
    expect(await pipeline.store.getVideo('web', byName('/missing.mp4').videoId)).toMatchObject({
      status: 'failed',
      source: `${base}/missing.mp4`,
      error: { code: 'DOWNLOAD_FAILED' },
    });
    const stored = readdirSync(setup.config.paths.videos, { recursive: true }).map(String).sort();
    // (green's URL, /hop, has no extension: its download has none either)
    expect(stored).toEqual(
      [
        'web',
        path.join('web', redIndexed.videoId),
        path.join('web', redIndexed.videoId, 'download.mp4'),
        path.join('web', green.videoId),
        path.join('web', green.videoId, 'download'),
      ].sort(),
    );

    // Searchable.
    const pool = createInferencePool({ size: 1 });
    const clip = await ClipModel.load(model.dir, { pool });
    try {
      const search = new SearchService({ store: pipeline.store, embedder: clip });
      expect((await search.search('red', { tenant: 'web', k: 3 })).results[0]?.videoId).toBe(
        redIndexed.videoId,
      );
      expect((await search.search('green', { tenant: 'web', k: 3 })).results[0]?.videoId).toBe(green.videoId);
    } finally {
      await clip.close();
      await pool.close();
    }

    // A failed URL is free to be submitted again (the server may have been fixed).
    const again = await pipeline.service.submitUrls({
      tenant: 'web',
      model,
      videos: [{ url: `${base}/missing.mp4` }],
    });
    expect(again.videos[0]).toMatchObject({ status: 'queued', videoId: byName('/missing.mp4').videoId });
    expect((await finished(again.batchId)).videos[0]).toMatchObject({
      status: 'failed',
      code: 'DOWNLOAD_FAILED',
    });
    expect(hits.get('/missing.mp4')).toBe(2);
  }, 240_000);
});
