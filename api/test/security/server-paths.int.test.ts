/**
 * Finding 5 of the trust-boundaries issue: a FIFO (or a device) inside an allowed root hung every
 * authenticated route, because hashing opened it on the request path and the read waited forever for a
 * writer, holding one of libuv's threads. Only regular files may be read now, checked on the file
 * actually opened, and nothing on the request path reads a file's content.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@reel/infra';
import { startPipelineWorker } from '@reel/workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, colourVideo, json, startApi, waitForBatch } from '../helpers/api-server.ts';

let api: ApiFixture;
let root: string;
let socket: Server;

const submit = (videos: unknown[]) =>
  fetch(`${api.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ videos }),
    // A hung request fails the test instead of hanging it.
    signal: AbortSignal.timeout(10_000),
  });

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'reel-sec-paths-'));
  root = path.join(dir, 'library');
  mkdirSync(path.join(root, 'folder'), { recursive: true });
  execFileSync('mkfifo', [path.join(root, 'pipe.mp4')]);
  execFileSync('mkfifo', [path.join(root, 'folder', 'pipe.mp4')]);
  colourVideo(path.join(root, 'folder'), 'blue.mp4', 'blue');
  symlinkSync(path.join(root, 'pipe.mp4'), path.join(root, 'link-to-pipe.mp4'));
  socket = createServer();
  await new Promise<void>((resolve) => socket.listen(path.join(root, 'socket.mp4'), resolve));
  api = await startApi({ root: dir, env: { REEL_API_ALLOWED_ROOTS: root } });
}, 120_000);

afterAll(async () => {
  socket?.close();
  await api?.close();
});

describe('server-side paths that are not regular files', () => {
  it.each([
    ['pipe.mp4', 'a FIFO (named pipe)'],
    ['link-to-pipe.mp4', 'a FIFO (named pipe)'],
    ['socket.mp4', 'a socket'],
  ])('%s is refused at once with NOT_A_REGULAR_FILE', async (name, kind) => {
    const started = Date.now();
    const response = await submit([{ path: name }]);
    expect(response.status).toBe(400);
    const problem = await json(response);
    expect(problem.code).toBe('NOT_A_REGULAR_FILE');
    expect(problem.detail).toBe(
      `${name}: ${kind}, not a regular file or folder; only regular files are indexed`,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('keeps every other route answering while FIFOs are submitted', async () => {
    const fifos = Array.from({ length: 6 }, () => submit([{ path: 'pipe.mp4' }]).catch(() => undefined));
    const videos = await fetch(`${api.url}/v1/videos`, { signal: AbortSignal.timeout(5_000) });
    expect(videos.status).toBe(200);
    expect((await Promise.all(fifos)).map((r) => r?.status)).toEqual([400, 400, 400, 400, 400, 400]);
  });

  it('indexes the regular files of a folder and skips a FIFO inside it', async () => {
    const response = await submit([{ path: 'folder' }]);
    expect(response.status).toBe(202);
    const batch = await waitForBatch(api.url, (await json(response)).batchId);
    expect(batch.videos.map((v: { name: string; status: string }) => [v.name, v.status])).toEqual([
      [path.join('folder', 'blue.mp4'), 'indexed'],
    ]);
  });
});

describe('a server-side path swapped between submit and ingest', () => {
  it('is read only if it is still the regular file it was: a symlink put in its place or on its way is refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-sec-swap-'));
    const library = path.join(dir, 'library');
    const outside = path.join(dir, 'outside');
    mkdirSync(path.join(library, 'sub'), { recursive: true });
    mkdirSync(outside, { recursive: true });
    colourVideo(library, 'swap.mp4', 'green');
    colourVideo(path.join(library, 'sub'), 'clip.mp4', 'yellow');
    colourVideo(outside, 'swap.mp4', 'white');
    colourVideo(outside, 'clip.mp4', 'white');
    // No worker yet: the files are swapped after the submit and before any worker opens them.
    const own = await startApi({ root: dir, worker: false, env: { REEL_API_ALLOWED_ROOTS: library } });
    try {
      const submitted = await json(
        await fetch(`${own.url}/v1/batches`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ videos: [{ path: 'swap.mp4' }, { path: 'sub/clip.mp4' }] }),
        }),
      );
      rmSync(path.join(library, 'swap.mp4'));
      symlinkSync(path.join(outside, 'swap.mp4'), path.join(library, 'swap.mp4'));
      renameSync(path.join(library, 'sub'), path.join(library, 'sub-before'));
      symlinkSync(outside, path.join(library, 'sub'));
      const worker = await startPipelineWorker(own.config, createLogger({ level: 'silent', name: 'test' }));
      try {
        const batch = await waitForBatch(own.url, submitted.batchId);
        const outcomes = batch.videos
          .map((v: { name: string; status: string; code?: string }) => [v.name, v.status, v.code])
          .sort();
        expect(outcomes).toEqual([
          ['sub/clip.mp4', 'failed', 'SOURCE_NOT_ALLOWED'],
          ['swap.mp4', 'failed', 'SOURCE_NOT_ALLOWED'],
        ]);
        const search = await json(await fetch(`${own.url}/v1/search?q=white`));
        expect(search.results).toEqual([]);
      } finally {
        await worker.close();
      }
    } finally {
      await own.close();
    }
  });

  it('records a path given through a symlinked folder (the command line) by its real path, and indexes it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-sec-link-'));
    mkdirSync(path.join(dir, 'real'));
    colourVideo(path.join(dir, 'real'), 'red.mp4', 'red');
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    const pipeline = api.server.deps.pipeline;
    const submitted = await pipeline.service.submit({
      tenant: 'default',
      model: await pipeline.searchModel(),
      files: [{ path: path.join(dir, 'link', 'red.mp4') }],
    });
    const status = await pipeline.waitForBatch(submitted.batchId);
    expect(status.counts.indexed).toBe(1);
    const record = await pipeline.store.getVideo('default', submitted.videos[0]!.videoId!);
    expect(record?.source).toBe(realpathSync(path.join(dir, 'real', 'red.mp4')));
  });
});
