/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * Finding 6 of the trust-boundaries issue, leaks and exhaustion: /readyz printed the data folder's path
 * and queried LanceDB and Redis on every call; /metrics answered without a key; both skipped the rate
 * limit; uploads had no request or idle timeout; batch ids were one namespace for every tenant; errors
 * named the allowed roots and Redis's user and host; a listing cursor with offset 2^32 wrapped round to
 * the first page. (The address blocklist and URLs with credentials are in workers' url tests.)
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@reel/infra';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KeyStore } from '../../src/keys/key-store.ts';
import { type ApiFixture, bearer, filesUnder, json, startApi, until } from '../helpers/api-server.ts';

let api: ApiFixture;
let acme: string;
let globex: string;
let root: string;
let allowedRoot: string;

const auth = bearer;

/**
 * A multipart upload sent by hand on a raw socket, so a test can stall it: the head and the start of
 * one file part, then `then` decides what follows. Resolves with what the server sent and how long the
 * connection lived.
 */
function slowUpload(
  url: string,
  key: string,
  then: (socket: import('node:net').Socket) => void,
): Promise<{ response: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const boundary = 'reelboundary';
  const head = [
    `POST /v1/videos HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    `Authorization: Bearer ${key}`,
    `Content-Type: multipart/form-data; boundary=${boundary}`,
    'Content-Length: 100000',
    '',
    '',
  ].join('\r\n');
  const part = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.mp4"\r\nContent-Type: video/mp4\r\n\r\n${'x'.repeat(1000)}`;
  return new Promise((resolve) => {
    const started = Date.now();
    let response = '';
    const socket = connect(Number(port), hostname, () => {
      socket.write(head + part);
      then(socket);
    });
    socket.on('data', (chunk) => {
      response += chunk.toString();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve({ response, ms: Date.now() - started }));
  });
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'reel-sec-hygiene-'));
  allowedRoot = path.join(root, 'library');
  mkdirSync(allowedRoot, { recursive: true });
  const keys = new KeyStore(path.join(root, 'data', 'api-keys.json'));
  acme = (await keys.create({ tenant: 'acme', scopes: ['search', 'ingest', 'admin'] })).key;
  globex = (await keys.create({ tenant: 'globex', scopes: ['search', 'ingest', 'admin'] })).key;
  api = await startApi({
    root,
    worker: false,
    env: {
      REEL_API_ALLOWED_ROOTS: allowedRoot,
      REEL_API_RATE_LIMIT: '40',
      REEL_API_IDLE_TIMEOUT_SECONDS: '1',
      REEL_API_REQUEST_TIMEOUT_SECONDS: '3',
    },
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
});

describe('public routes say nothing of the server and cost little', () => {
  it('/readyz names no path and queries the index at most once a second', async () => {
    const store = api.server.deps.pipeline.store;
    const counts = vi.spyOn(store, 'countByStatus');
    const answers = await Promise.all(Array.from({ length: 5 }, () => fetch(`${api.url}/readyz`)));
    const bodies = await Promise.all(answers.map((r) => r.text()));
    expect(counts.mock.calls.length).toBeLessThanOrEqual(1);
    for (const body of bodies) {
      expect(body).not.toContain(root);
      expect(body).not.toContain(api.config.paths.lancedb);
    }
    expect(JSON.parse(bodies[0]!).checks.find((c: any) => c.name === 'index').detail).toMatch(
      /^\d+ videos indexed$/,
    );
    counts.mockRestore();
  });

  it('/metrics needs an operator key, as the spec says', async () => {
    expect((await fetch(`${api.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${api.url}/metrics`, { headers: auth(acme) })).status).toBe(403);
    const spec = await json(await fetch(`${api.url}/docs/json`));
    expect(spec.paths['/metrics'].get.security).toEqual([{ operatorKey: [] }]);
  });

  it('counts /readyz and /metrics against the rate limit; /healthz stays free', async () => {
    const limited = await startApi({ worker: false, env: { REEL_API_RATE_LIMIT: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${limited.url}/readyz`)).status);
      expect(statuses.slice(-1)).toEqual([429]);
      expect((await fetch(`${limited.url}/metrics`)).status).toBe(429);
      expect((await fetch(`${limited.url}/healthz`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('uploads cannot hold a connection forever', () => {
  it('cuts a body that stops arriving, and keeps nothing of it', async () => {
    const { ms } = await slowUpload(api.url, acme, () => {}); // then silence
    expect(ms).toBeLessThan(5_000);
    await until('the upload cleaned up', async () =>
      filesUnder(api.config.paths.videos).length === 0 ? true : undefined,
    );
  });

  it('cuts a body that trickles past the request timeout, and keeps nothing of it', async () => {
    const { ms } = await slowUpload(api.url, acme, (socket) => {
      const drip = setInterval(() => (socket.writable ? socket.write('x') : clearInterval(drip)), 300);
      socket.on('close', () => clearInterval(drip));
    });
    expect(ms).toBeGreaterThan(2_000); // alive while bytes came
    expect(ms).toBeLessThan(8_000);
    await until('the upload cleaned up', async () =>
      filesUnder(api.config.paths.videos).length === 0 ? true : undefined,
    );
  });
});

describe('batch ids are per tenant', () => {
  it('lets two tenants use the same batch id, each seeing only its own batch', async () => {
    const submit = (key: string, url: string) =>
      fetch(`${api.url}/v1/batches`, {
        method: 'POST',
        headers: auth(key, { 'content-type': 'application/json' }),
        body: JSON.stringify({ batchId: 'import-1', videos: [{ url }] }),
      });
    const first = await submit(acme, 'https://example.com/acme.mp4');
    expect(first.status).toBe(202);
    expect(await json(first)).toMatchObject({ batchId: 'import-1', existing: false });
    // Before: 404 for globex (an existence oracle), and acme had taken globex's idempotency key.
    const second = await submit(globex, 'https://example.com/globex.mp4');
    expect(second.status).toBe(202);
    expect(await json(second)).toMatchObject({ batchId: 'import-1', existing: false });
    const mine = await json(await fetch(`${api.url}/v1/batches/import-1`, { headers: auth(acme) }));
    const theirs = await json(await fetch(`${api.url}/v1/batches/import-1`, { headers: auth(globex) }));
    expect(mine.videos.map((v: any) => v.name)).toEqual(['https://example.com/acme.mp4']);
    expect(theirs.videos.map((v: any) => v.name)).toEqual(['https://example.com/globex.mp4']);
    expect(mine.id).toBe('import-1');
  });
});

describe('error messages name no server internals', () => {
  it('names neither the allowed roots nor real paths', async () => {
    for (const entry of [{ path: '/etc/passwd' }, { path: '../x.mp4' }, { path: 'missing.mp4' }]) {
      const body = await (
        await fetch(`${api.url}/v1/batches`, {
          method: 'POST',
          headers: auth(acme, { 'content-type': 'application/json' }),
          body: JSON.stringify({ videos: [entry] }),
        })
      ).text();
      expect(body, entry.path).not.toContain(allowedRoot);
      expect(body).not.toContain(root);
    }
  });

  it("names neither Redis's host nor its user", async () => {
    const port = await freePort();
    const down = await startApi({
      worker: false,
      env: { REEL_REDIS_URL: `redis://reel-user:hunter2@127.0.0.1:${port}` },
    });
    try {
      const body = new FormData();
      body.append('file', new Blob(['x']), 'x.mp4');
      const response = await fetch(`${down.url}/v1/videos`, { method: 'POST', body });
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(JSON.parse(text).code).toBe('REDIS_UNAVAILABLE');
      for (const secret of ['reel-user', 'hunter2', String(port), '127.0.0.1'])
        expect(text).not.toContain(secret);
    } finally {
      await down.close();
    }
  });

  it('masks a server fault for tenant keys: the keys file it could not read is not named', async () => {
    const broken = await startApi({ worker: false });
    try {
      const keys = new KeyStore(broken.config.paths.apiKeys);
      await keys.create({ tenant: 'acme', scopes: ['search'] });
      writeFileSync(broken.config.paths.apiKeys, '{ not json');
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const response = await fetch(`${broken.url}/v1/videos`, { headers: auth(acme) });
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(JSON.parse(text).code).toBe('KEYS_FILE_INVALID');
      expect(text).not.toContain(broken.config.paths.apiKeys);
    } finally {
      await broken.close();
    }
  });
});

describe('cursor numbers are bounded', () => {
  it('refuses a listing cursor whose offset was set to 2^32 instead of wrapping to the first page', async () => {
    for (const name of ['a', 'b'])
      await fetch(`${api.url}/v1/batches`, {
        method: 'POST',
        headers: auth(acme, { 'content-type': 'application/json' }),
        body: JSON.stringify({ videos: [{ url: `https://example.com/${name}.mp4` }] }),
      });
    const first = await json(await fetch(`${api.url}/v1/videos?limit=1`, { headers: auth(acme) }));
    expect(first.nextCursor).toEqual(expect.any(String));
    const payload = JSON.parse(Buffer.from(first.nextCursor, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...payload, o: 2 ** 32 })).toString('base64url');
    const response = await fetch(`${api.url}/v1/videos?limit=1&cursor=${forged}`, { headers: auth(acme) });
    expect(response.status).toBe(400);
    expect((await json(response)).code).toBe('CURSOR_INVALID');
  });
});
