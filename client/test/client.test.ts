/**
 * The hand-written parts of @reel/client against a local HTTP server: the streamed multipart body
 * (what a multipart parser needs: boundary, file names, bytes, the announced length), its byte progress,
 * and problem+json answers thrown as ReelApiError.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReelClient, ReelApiError, uploadFiles, videoFilesIn } from '../src/index.ts';

let server: Server;
let url: string;
let last: { headers: Record<string, string | string[] | undefined>; body: Buffer } | undefined;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      last = { headers: request.headers, body: Buffer.concat(chunks) };
      if (request.url === '/v1/videos') {
        response.writeHead(202, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ batchId: 'b1', statusUrl: '/v1/batches/b1', existing: false, videos: [] }),
        );
      } else {
        response.writeHead(404, { 'content-type': 'application/problem+json' });
        response.end(
          JSON.stringify({
            type: 'about:blank',
            title: 'Not Found',
            status: 404,
            code: 'VIDEO_NOT_FOUND',
            detail: 'no video v_1',
          }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('uploadFiles', () => {
  it('streams one multipart body with every file, its announced length and byte progress', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-client-'));
    const a = path.join(dir, 'a "quoted".mp4');
    const b = path.join(dir, 'b.webm');
    writeFileSync(a, Buffer.alloc(100_000, 7));
    writeFileSync(b, 'second file');
    writeFileSync(path.join(dir, 'notes.txt'), 'not a video');
    expect(await videoFilesIn(dir)).toEqual([a, b]);
    const progress: number[] = [];
    const answer = await uploadFiles(createReelClient({ baseUrl: `${url}/`, apiKey: 'reel_k' }), [a, b], {
      tags: ['x', 'y'],
      onProgress: (sent, total) => progress.push(sent / total),
    });
    expect(answer.batchId).toBe('b1');
    const { headers, body } = last!;
    expect(headers.authorization).toBe('Bearer reel_k');
    expect(Number(headers['content-length'])).toBe(body.length);
    const boundary = /boundary=(.+)$/.exec(String(headers['content-type']))![1]!;
    const parts = body.toString('latin1').split(`--${boundary}`);
    expect(parts.at(-1)).toBe('--\r\n');
    expect(parts[1]).toBe('\r\nContent-Disposition: form-data; name="tags"\r\n\r\nx,y\r\n');
    expect(parts[2]).toContain('filename="a _quoted_.mp4"');
    expect(parts[2]!.split('\r\n\r\n')[1]).toBe(`${'\x07'.repeat(100_000)}\r\n`);
    expect(parts[3]).toContain('filename="b.webm"');
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
  });
});

describe('errors', () => {
  it('throws a problem answer as ReelApiError with its code and detail', async () => {
    const reel = createReelClient({ baseUrl: url });
    const error = await reel.api
      .GET('/v1/videos/{id}', { params: { path: { id: 'v_1' } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReelApiError);
    expect(error).toMatchObject({
      status: 404,
      code: 'VIDEO_NOT_FOUND',
      message: 'VIDEO_NOT_FOUND: no video v_1',
    });
  });
});
