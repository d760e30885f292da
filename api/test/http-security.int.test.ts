/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * The API's guards, for real: API keys and scopes, tenants that never see each other (404, not 403, in
 * every route), the keyless mode only on loopback, allowed roots for server-side paths, rate and size
 * limits, and search that keeps answering while Redis is down.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, freePort } from '@reel/infra';
import { startPipelineWorker } from '@reel/workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUp, startOwnRedis as startRedis } from '../../workers/test/helpers/own-redis.ts';
import { isLoopback, startServer } from '../src/http/server.ts';
import { KeyStore } from '../src/keys/key-store.ts';
import {
  type ApiFixture,
  bearer,
  colourVideo,
  configFor,
  json,
  startApi,
  until,
  uploadAs,
  waitForBatch,
} from './helpers/api-server.ts';

let api: ApiFixture;

let keys: KeyStore;
let acme: string; // search + ingest, tenant acme
let globex: string; // search + ingest + admin, tenant globex
let searchOnly: string; // search, tenant acme
let outside: string; // a folder outside the allowed root
let allowedRoot: string;

const auth = bearer;
const upload = (key: string, file: string) => uploadAs(api.url, key, file);
const waitBatch = (key: string, id: string) => waitForBatch(api.url, id, key);

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-api-sec-'));
  allowedRoot = path.join(root, 'library');
  outside = path.join(root, 'private');
  mkdirSync(allowedRoot, { recursive: true });
  mkdirSync(outside, { recursive: true });
  api = await startApi({ root, env: { REEL_API_ALLOWED_ROOTS: allowedRoot, REEL_API_RATE_LIMIT: '1000' } });
  keys = new KeyStore(api.config.paths.apiKeys);
  acme = (await keys.create({ tenant: 'acme', scopes: ['search', 'ingest'] })).key;
  globex = (await keys.create({ tenant: 'globex', scopes: ['search', 'ingest', 'admin'] })).key;
  searchOnly = (await keys.create({ tenant: 'acme', scopes: ['search'] })).key;
  // The server re-reads the keys file at most once a second.
  await until('keys enforced', async () =>
    (await fetch(`${api.url}/v1/videos`)).status === 401 ? true : undefined,
  );
}, 120_000);

afterAll(async () => {
  await api?.close();
});

describe('API keys and tenants', () => {
  let acmeVideo: string;
  let acmeBatch: string;

  it('needs a valid key once keys exist, and a key with the route scope', async () => {
    const none = await fetch(`${api.url}/v1/search?q=red`);
    expect(none.status).toBe(401);
    // RFC 9110: a 401 names the scheme to authenticate with
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="reel"');
    expect((await json(none)).code).toBe('UNAUTHORIZED');
    const wrong = await fetch(`${api.url}/v1/search?q=red`, { headers: auth(`${acme.slice(0, -4)}AAAA`) });
    expect(wrong.status).toBe(401);
    const body = new FormData();
    body.append('file', new Blob(['x']), 'x.mp4');
    const forbidden = await fetch(`${api.url}/v1/videos`, {
      method: 'POST',
      headers: auth(searchOnly),
      body,
    });
    expect(forbidden.status).toBe(403);
    expect((await json(forbidden)).detail).toContain('"ingest" scope');
    const admin = await fetch(`${api.url}/v1/models`, { headers: auth(acme) });
    expect(admin.status).toBe(403);
    expect((await fetch(`${api.url}/admin/queues`, { headers: auth(acme) })).status).toBe(403);
    // The queues board spans tenants: a tenant admin's key is refused (operator keys: security/).
    expect((await fetch(`${api.url}/admin/queues`, { headers: auth(globex) })).status).toBe(403);
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200); // public
  });

  it('keeps every route inside the key’s tenant: another tenant’s video is a 404', async () => {
    const red = colourVideo(api.videos, 'red.mp4', 'red');
    const accepted = await upload(acme, red);
    acmeBatch = accepted.batchId;
    const status = await waitBatch(acme, acmeBatch);
    expect(status.counts.indexed).toBe(1);
    acmeVideo = status.videos[0].videoId;

    const mine = await json(await fetch(`${api.url}/v1/search?q=red`, { headers: auth(searchOnly) }));
    expect(mine.results.map((r: any) => r.videoId)).toEqual([acmeVideo]);
    const theirs = await json(await fetch(`${api.url}/v1/search?q=red`, { headers: auth(globex) }));
    expect(theirs.results).toEqual([]);

    const thumbnail = mine.results[0].moment.thumbnailUrl;
    for (const [method, url] of [
      ['GET', `/v1/videos/${acmeVideo}`],
      ['GET', `/v1/videos/${acmeVideo}/stream`],
      ['GET', thumbnail],
      ['GET', `/v1/batches/${acmeBatch}`],
      ['DELETE', `/v1/videos/${acmeVideo}`],
    ] as const) {
      const response = await fetch(`${api.url}${url}`, { method, headers: auth(globex) });
      expect(response.status, `${method} ${url}`).toBe(404);
      const own = await fetch(`${api.url}${url}`, { method: 'GET', headers: auth(acme) });
      expect(own.status, `GET ${url} as the owner`).toBe(200);
      await own.arrayBuffer();
    }
    expect((await json(await fetch(`${api.url}/v1/videos`, { headers: auth(globex) }))).videos).toEqual([]);

    // the same content uploaded by another tenant is its own video, not a duplicate of acme's
    const again = await upload(globex, red);
    expect(again.videos[0].status).toBe('queued');
    expect(again.videos[0].videoId).not.toBe(acmeVideo);
    await waitBatch(globex, again.batchId);
  });

  it('answers 401 on every route for a missing, wrong or revoked key', async () => {
    const revoked = await keys.create({ tenant: 'acme', scopes: ['search', 'ingest', 'admin'] });
    await keys.revoke(revoked.entry.id);
    const wrong = `${acme.slice(0, -4)}AAAA`;
    const json = { 'content-type': 'application/json' };
    const routes: [string, string, Record<string, string>, string | undefined][] = [
      ['GET', '/v1/search?q=red', {}, undefined],
      ['POST', '/v1/search', json, JSON.stringify({ query: 'red' })],
      ['GET', '/v1/videos', {}, undefined],
      ['GET', '/v1/videos/v_x', {}, undefined],
      ['DELETE', '/v1/videos/v_x', {}, undefined],
      ['GET', '/v1/videos/v_x/stream', {}, undefined],
      ['GET', '/v1/videos/v_x/frames/0/thumbnail', {}, undefined],
      ['POST', '/v1/batches', json, JSON.stringify({ videos: [{ path: 'a.mp4' }] })],
      ['GET', '/v1/batches/b_x', {}, undefined],
      ['POST', '/v1/reindex', json, '{}'],
      ['GET', '/v1/models', {}, undefined],
      ['GET', '/admin/queues', {}, undefined],
    ];
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the revocation reaches the server
    for (const [method, url, headers, body] of routes)
      for (const [label, key] of [
        ['missing', undefined],
        ['wrong', wrong],
        ['revoked', revoked.key],
      ] as const) {
        const response = await fetch(`${api.url}${url}`, {
          method,
          headers: key ? auth(key, headers) : headers,
          ...(body ? { body } : {}),
        });
        expect(response.status, `${method} ${url} with a ${label} key`).toBe(401);
        expect(response.headers.get('content-type'), `${method} ${url}`).toContain(
          'application/problem+json',
        );
      }
    const upload = new FormData();
    upload.append('file', new Blob(['x']), 'x.mp4');
    expect((await fetch(`${api.url}/v1/videos`, { method: 'POST', body: upload })).status).toBe(401);
  });

  it('stops accepting a revoked key', async () => {
    const temporary = await keys.create({ tenant: 'acme', scopes: ['search'] });
    await until('new key seen', async () =>
      (await fetch(`${api.url}/v1/videos`, { headers: auth(temporary.key) })).status === 200
        ? true
        : undefined,
    );
    await keys.revoke(temporary.entry.id);
    await until('revocation seen', async () =>
      (await fetch(`${api.url}/v1/videos`, { headers: auth(temporary.key) })).status === 401
        ? true
        : undefined,
    );
  });
});

describe('server-side paths', () => {
  const submit = async (videos: unknown[]) =>
    fetch(`${api.url}/v1/batches`, {
      method: 'POST',
      headers: auth(acme, { 'content-type': 'application/json' }),
      body: JSON.stringify({ videos }),
    });

  it('indexes files under the allowed roots and refuses anything that leaves them', async () => {
    colourVideo(allowedRoot, 'green.mp4', 'green');
    mkdirSync(path.join(allowedRoot, 'sub'));
    colourVideo(path.join(allowedRoot, 'sub'), 'yellow.mp4', 'yellow');
    const secret = colourVideo(outside, 'secret.mp4', 'white');
    symlinkSync(secret, path.join(allowedRoot, 'link.mp4'));
    symlinkSync(outside, path.join(allowedRoot, 'escape'));

    for (const [entry, code] of [
      [{ path: '../private/secret.mp4' }, 'PATH_NOT_ALLOWED'],
      [{ path: secret }, 'PATH_NOT_ALLOWED'],
      [{ path: 'link.mp4' }, 'PATH_NOT_ALLOWED'],
      [{ path: 'escape/secret.mp4' }, 'PATH_NOT_ALLOWED'],
      [{ path: '/etc/passwd' }, 'PATH_NOT_ALLOWED'],
      [{ path: 'missing.mp4' }, 'FILE_NOT_FOUND'],
    ] as const) {
      const response = await submit([entry]);
      expect([400, 403], JSON.stringify(entry)).toContain(response.status);
      expect((await json(response)).code, JSON.stringify(entry)).toBe(code);
    }
    const mixed = await submit([{ path: 'green.mp4' }, { url: 'http://127.0.0.1:1/x.mp4' }]);
    expect(mixed.status).toBe(400);

    const accepted = await submit([
      { path: 'green.mp4', tags: ['garden'] },
      { path: path.join(allowedRoot, 'sub') },
    ]);
    expect(accepted.status).toBe(202);
    const batch = await waitBatch(acme, (await json(accepted)).batchId);
    expect(batch.counts.indexed).toBe(2);
    const found = await json(
      await fetch(`${api.url}/v1/search?q=green&tags=garden`, { headers: auth(acme) }),
    );
    expect(found.results.map((r: any) => r.title)).toEqual(['green']);
  });
});

describe('limits', () => {
  it('refuses an upload over the per-file limit with 413 and keeps nothing of it', async () => {
    const small = await startApi({ env: { REEL_API_MAX_UPLOAD_BYTES: '1000' }, worker: false });
    try {
      const body = new FormData();
      body.append('file', new Blob([new Uint8Array(5000)]), 'big.mp4');
      const response = await fetch(`${small.url}/v1/videos`, { method: 'POST', body });
      expect(response.status).toBe(413);
      expect((await json(response)).code).toBe('TOO_LARGE');
      const left = await readdir(path.join(small.config.paths.videos, 'default')).catch(() => []);
      expect(left).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('limits the request rate per key with 429', async () => {
    const limited = await startApi({ env: { REEL_API_RATE_LIMIT: '3' }, worker: false });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${limited.url}/v1/videos`)).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const problem = await json(await fetch(`${limited.url}/v1/videos`));
      expect(problem.code).toBe('RATE_LIMITED');
      expect((await fetch(`${limited.url}/healthz`)).status).toBe(200); // health is never limited
    } finally {
      await limited.close();
    }
  });
});

describe('binding and Redis', () => {
  it('refuses a non-loopback address while no key exists', async () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    const root = mkdtempSync(path.join(tmpdir(), 'reel-api-bind-'));
    const config = configFor(root, { REEL_API_HOST: '0.0.0.0' });
    await expect(startServer(config, createLogger({ level: 'silent', name: 't' }))).rejects.toThrow(
      /refusing to listen on 0\.0\.0\.0 without API keys/,
    );
    writeFileSync(path.join(root, 'marker'), '');
  });

  it('keeps searching while its Redis is stopped; ingest routes answer 503 REDIS_UNAVAILABLE, then recover', async () => {
    // An API and worker of their own on a redis-server the test can stop.
    const port = await freePort();
    const redisDir = mkdtempSync(path.join(tmpdir(), 'reel-api-redis-'));
    let redis = startRedis(port, redisDir);
    await redisUp(port);
    const own = await startApi({ env: { REEL_REDIS_URL: `redis://127.0.0.1:${port}` }, worker: false });
    // The worker indexes one video, then stops: what is under test while Redis is down is the API.
    const worker = await startPipelineWorker(own.config, createLogger({ level: 'warn', name: 'test' }));
    let workerClosed = false;
    try {
      const body = () => {
        const form = new FormData();
        form.append('file', new Blob([readFileSync(colourVideo(own.videos, 'red.mp4', 'red'))]), 'red.mp4');
        return form;
      };
      const accepted = await json(await fetch(`${own.url}/v1/videos`, { method: 'POST', body: body() }));
      await until(
        'indexed',
        async () => {
          const status = await json(await fetch(`${own.url}/v1/batches/${accepted.batchId}`));
          return status.finishedAt ? status : undefined;
        },
        60_000,
      );
      await worker.close();
      workerClosed = true;
      redis.kill('SIGKILL');
      await new Promise((resolve) => redis.once('exit', resolve));
      await until(
        'redis seen down',
        async () => (own.server.deps.pipeline.redis.status !== 'ready' ? true : undefined),
        10_000,
      );

      for (let i = 0; i < 3; i++) {
        const search = await fetch(`${own.url}/v1/search?q=red&k=${i + 1}`); // past the pointer's refresh too
        expect(search.status).toBe(200);
        expect((await json(search)).results[0].title).toBe('red');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const ingest = await fetch(`${own.url}/v1/videos`, { method: 'POST', body: body() });
      expect(ingest.status).toBe(503);
      expect((await json(ingest)).code).toBe('REDIS_UNAVAILABLE');
      const batches = await fetch(`${own.url}/v1/batches/${accepted.batchId}`);
      expect(batches.status).toBe(503);
      const ready = await fetch(`${own.url}/readyz`);
      expect(ready.status).toBe(200); // search is ready
      expect(await json(ready)).toMatchObject({ search: true, ingest: false });

      redis = startRedis(port, redisDir);
      await redisUp(port);
      await until(
        'ingest back',
        async () =>
          (await fetch(`${own.url}/v1/batches/${accepted.batchId}`)).status === 200 ? true : undefined,
        30_000,
      );
    } finally {
      // Closing waits for Redis: bring it back first if an assertion failed while it was down.
      if (redis.exitCode !== null || redis.signalCode !== null) {
        redis = startRedis(port, redisDir);
        await redisUp(port);
      }
      if (!workerClosed) await worker.close();
      await own.close();
      redis.kill('SIGKILL');
    }
  }, 180_000);
});
