/**
 * Finding 5 of the trust-boundaries issue: a FIFO (or a device) inside an allowed root hung every
 * authenticated route, because hashing opened it on the request path and the read waited forever for a
 * writer, holding one of libuv's threads. Only regular files may be read now, checked on the file
 * actually opened, and nothing on the request path reads a file's content.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
