/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * Finding 1 of the trust-boundaries issue, end to end: a file named `evil.mp4` whose content is an HLS
 * playlist listing `file:<a video elsewhere on the server>` was indexed, and its thumbnails and search
 * results showed the other file. It must fail as UNSUPPORTED_CONTAINER whichever door it comes through
 * (upload, server-side path, URL download), with no thumbnail and nothing searchable.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, colourVideo, json, startApi, waitForBatch } from '../helpers/api-server.ts';

let api: ApiFixture;
let library: string;
let playlist: string;
let server: Server;
let base: string;

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-sec-hostile-'));
  library = path.join(root, 'library');
  const elsewhere = path.join(root, 'elsewhere');
  mkdirSync(library, { recursive: true });
  mkdirSync(elsewhere, { recursive: true });
  const secret = colourVideo(elsewhere, 'secret.mp4', 'white');
  playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile:${secret}\n#EXT-X-ENDLIST\n`;
  // Each door gets its own bytes (a comment line), so none is a duplicate of another.
  writeFileSync(path.join(library, 'evil.mp4'), `${playlist}# server path\n`);
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4' });
    res.end(`${playlist}# download\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The test's download server is on loopback.
  api = await startApi({
    root,
    env: { REEL_API_ALLOWED_ROOTS: library, REEL_DOWNLOAD_ALLOW_PRIVATE: 'true' },
  });
}, 120_000);

afterAll(async () => {
  server?.close();
  await api?.close();
});

async function refused(batchId: string): Promise<string> {
  const batch = await waitForBatch(api.url, batchId);
  expect(batch.videos).toHaveLength(1);
  const video = batch.videos[0];
  expect(video).toMatchObject({ status: 'failed', code: 'UNSUPPORTED_CONTAINER' });
  expect(video.message).toContain('an HLS playlist (hls), which opens other files');
  expect(existsSync(path.join(api.config.paths.thumbnails, video.videoId))).toBe(false);
  return video.videoId;
}

describe('an HLS playlist named evil.mp4', () => {
  it('is refused when uploaded', async () => {
    const form = new FormData();
    form.append('file', new Blob([playlist]), 'evil.mp4');
    const accepted = await json(await fetch(`${api.url}/v1/videos`, { method: 'POST', body: form }));
    const id = await refused(accepted.batchId);
    const record = await json(await fetch(`${api.url}/v1/videos/${id}`));
    expect(record.error.code).toBe('UNSUPPORTED_CONTAINER');
    expect((await fetch(`${api.url}/v1/videos/${id}/stream`)).status).toBe(409);
    const search = await json(await fetch(`${api.url}/v1/search?q=white`));
    expect(search.results.map((r: any) => r.videoId)).not.toContain(id);
  });

  it('is refused as a server-side path', async () => {
    const response = await fetch(`${api.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ videos: [{ path: 'evil.mp4' }] }),
    });
    expect(response.status).toBe(202);
    await refused((await json(response)).batchId);
  });

  it('is refused when downloaded from a URL', async () => {
    const response = await fetch(`${api.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ videos: [{ url: `${base}/evil.mp4` }] }),
    });
    expect(response.status).toBe(202);
    await refused((await json(response)).batchId);
  });
});
