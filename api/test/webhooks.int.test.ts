/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * Webhooks for real: endpoints registered through the API by a tenant admin, a batch uploaded and
 * processed by a real worker (Redis, ffmpeg, onnxruntime, LanceDB), deliveries POSTed to local
 * receivers. Signatures verify with the secret given at registration (and fail for a changed body);
 * a receiver that fails twice gets the third attempt; one that always fails is disabled with the
 * reason, one answering 410 at once; attempts are listed; endpoints of another tenant are not there;
 * loopback targets are refused when private addresses are not allowed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyWebhook } from '@reel/workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from '../../workers/test/helpers/webhook-receiver.ts';
import { KeyStore } from '../src/keys/key-store.ts';
import {
  type ApiFixture,
  bearer,
  colourVideo,
  uploadForm as form,
  json,
  startApi,
  until,
  waitForBatch,
} from './helpers/api-server.ts';
import { runCli } from './helpers/run-cli.ts';

let api: ApiFixture;
let receiver: Receiver;
let admin: string;
let other: string;
const endpoints: Record<string, { id: string; secret: string }> = {};
let batchId: string;
const videoIds: Record<string, string> = {};

const call = (key: string, method: string, route: string, body?: unknown) =>
  fetch(`${api.url}${route}`, {
    method,
    headers: bearer(key, body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

beforeAll(async () => {
  // flaky: 500 twice, then 200; dead: always 500; gone: 410
  receiver = await startReceiver((p, nth) =>
    p === '/flaky' ? (nth <= 2 ? 500 : 200) : p === '/dead' ? 500 : p === '/gone' ? 410 : 200,
  );
  const root = mkdtempSync(path.join(tmpdir(), 'reel-webhooks-'));
  const keys = new KeyStore(path.join(root, 'data', 'api-keys.json'));
  admin = (await keys.create({ tenant: 'acme', scopes: ['search', 'ingest', 'admin'] })).key;
  other = (await keys.create({ tenant: 'globex', scopes: ['search', 'ingest', 'admin'] })).key;
  api = await startApi({
    root,
    env: {
      REEL_WEBHOOK_ALLOW_PRIVATE: 'true',
      REEL_WEBHOOK_ATTEMPTS: '3',
      REEL_WEBHOOK_BACKOFF_SECONDS: '0.2',
      REEL_WEBHOOK_DISABLE_AFTER: '1',
    },
  });
  const routes: [string, string[]][] = [
    ['ok', ['batch.finished', 'video.indexed', 'video.failed', 'reindex.finished']],
    ['flaky', ['batch.finished']],
    ['dead', ['video.indexed']],
    ['gone', ['video.failed']],
  ];
  for (const [name, events] of routes) {
    const response = await call(admin, 'POST', '/v1/webhooks', { url: `${receiver.url}/${name}`, events });
    expect(response.status).toBe(201);
    const created = await json(response);
    endpoints[name] = { id: created.endpoint.id, secret: created.secret };
  }
  const red = colourVideo(api.videos, 'red.mp4', 'red');
  const broken = path.join(api.videos, 'broken.mp4');
  writeFileSync(broken, 'not a video');
  const accepted = await json(
    await fetch(`${api.url}/v1/videos`, {
      method: 'POST',
      headers: bearer(admin),
      body: form([{ file: red }, { file: broken }]),
    }),
  );
  batchId = accepted.batchId;
  const batch = await waitForBatch(api.url, batchId, admin);
  for (const v of batch.videos) videoIds[v.name] = v.videoId;
}, 180_000);

afterAll(async () => {
  await api?.close();
  await receiver?.close();
});

describe('webhook endpoints through the API', () => {
  it('shows the secret once, never in listings, and only to the tenant that owns the endpoint', async () => {
    expect(endpoints.ok!.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const listed = await json(await call(admin, 'GET', '/v1/webhooks'));
    expect(listed.endpoints.map((e: any) => e.url)).toEqual(
      ['ok', 'flaky', 'dead', 'gone'].map((n) => `${receiver.url}/${n}`),
    );
    expect(JSON.stringify(listed)).not.toContain('whsec_');
    expect((await json(await call(other, 'GET', '/v1/webhooks'))).endpoints).toEqual([]);
    expect((await call(other, 'GET', `/v1/webhooks/${endpoints.ok!.id}`)).status).toBe(404);
    expect((await call(other, 'DELETE', `/v1/webhooks/${endpoints.ok!.id}`)).status).toBe(404);
    expect((await call(other, 'GET', `/v1/webhooks/${endpoints.ok!.id}/deliveries`)).status).toBe(404);
  });

  it('refuses bad URLs and events, naming what was wrong', async () => {
    const ftp = await call(admin, 'POST', '/v1/webhooks', {
      url: 'ftp://example.com/x',
      events: ['batch.finished'],
    });
    expect(ftp.status).toBe(400);
    expect(await json(ftp)).toMatchObject({ code: 'WEBHOOK_URL_INVALID' });
    const creds = await call(admin, 'POST', '/v1/webhooks', {
      url: 'https://u:p@example.com/x',
      events: ['batch.finished'],
    });
    expect((await json(creds)).detail).toContain('user name or password');
    const event = await call(admin, 'POST', '/v1/webhooks', {
      url: 'https://example.com/x',
      events: ['video.exploded'],
    });
    expect(event.status).toBe(400);
    expect((await json(event)).detail).toContain('events');
  });
});

describe('deliveries', () => {
  it('delivers every event signed with the endpoint secret, with the event id as idempotency key', async () => {
    const got = await until('three events at /ok', async () =>
      receiver.at('/ok').length >= 3 ? receiver.at('/ok') : undefined,
    );
    const byType = Object.fromEntries(got.map((r) => [r.json.type, r]));
    expect(Object.keys(byType).sort()).toEqual(['batch.finished', 'video.failed', 'video.indexed']);
    for (const r of got) {
      expect(verifyWebhook(endpoints.ok!.secret, r.body, r.headers['reel-signature'] as string)).toBe(true);
      expect(verifyWebhook(endpoints.ok!.secret, `${r.body} `, r.headers['reel-signature'] as string)).toBe(
        false,
      );
      expect(verifyWebhook(endpoints.flaky!.secret, r.body, r.headers['reel-signature'] as string)).toBe(
        false,
      );
      expect(r.headers['reel-webhook-id']).toBe(r.json.id);
      expect(r.headers['reel-event']).toBe(r.json.type);
    }
    expect(byType['batch.finished']!.json).toMatchObject({
      id: expect.stringContaining('batch.finished/'),
      data: {
        batchId,
        kind: 'upload',
        total: 2,
        counts: { indexed: 1, duplicate: 0, failed: 1 },
        statusUrl: `/v1/batches/${batchId}`,
      },
    });
    expect(byType['video.indexed']!.json.data).toMatchObject({
      videoId: videoIds['red.mp4'],
      batchId,
      name: 'red.mp4',
      frames: expect.any(Number),
    });
    expect(byType['video.failed']!.json.data).toMatchObject({
      videoId: videoIds['broken.mp4'],
      code: 'NOT_A_VIDEO',
      retryable: false,
    });
    // a signature older than the tolerance is refused, as a receiver should
    const r = byType['batch.finished']!;
    expect(
      verifyWebhook(
        endpoints.ok!.secret,
        r.body,
        r.headers['reel-signature'] as string,
        Math.floor(Date.now() / 1000) + 600,
      ),
    ).toBe(false);
  });

  it('gives a receiver that failed twice its third attempt, and lists every attempt', async () => {
    await until('the third attempt at /flaky', async () =>
      receiver.at('/flaky').length >= 3 ? true : undefined,
    );
    const ids = new Set(receiver.at('/flaky').map((r) => r.headers['reel-webhook-id']));
    expect(ids.size).toBe(1);
    expect(receiver.at('/flaky').map((r) => r.headers['reel-attempt'])).toEqual(['1', '2', '3']);
    const { deliveries } = await until('the flaky delivery delivered', async () => {
      const answer = await json(await call(admin, 'GET', `/v1/webhooks/${endpoints.flaky!.id}/deliveries`));
      return answer.deliveries[0]?.state === 'delivered' ? answer : undefined;
    });
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0].attempts.map((a: any) => a.status)).toEqual([500, 500, 200]);
    expect(deliveries[0].attempts[0].error).toBe('the receiver answered 500');
    expect((await json(await call(admin, 'GET', `/v1/webhooks/${endpoints.flaky!.id}`))).enabled).toBe(true);
  });

  it('disables an endpoint that failed every attempt, and one that answered 410 at once; enabling again works', async () => {
    const dead = await until('the dead endpoint disabled', async () => {
      const e = await json(await call(admin, 'GET', `/v1/webhooks/${endpoints.dead!.id}`));
      return e.enabled ? undefined : e;
    });
    expect(dead.disabledReason).toMatch(
      /^1 delivery failed every attempt; the last: the receiver answered 500$/,
    );
    expect(receiver.at('/dead')).toHaveLength(3);
    const deliveries = await json(await call(admin, 'GET', `/v1/webhooks/${endpoints.dead!.id}/deliveries`));
    expect(deliveries.deliveries[0]).toMatchObject({ state: 'failed', type: 'video.indexed' });
    expect(deliveries.deliveries[0].attempts).toHaveLength(3);

    const gone = await until('the gone endpoint disabled', async () => {
      const e = await json(await call(admin, 'GET', `/v1/webhooks/${endpoints.gone!.id}`));
      return e.enabled ? undefined : e;
    });
    expect(gone.disabledReason).toBe('the receiver answered 410 Gone');
    expect(receiver.at('/gone')).toHaveLength(1);

    const enabled = await json(
      await call(admin, 'PATCH', `/v1/webhooks/${endpoints.dead!.id}`, { enabled: true }),
    );
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
  });

  it('deletes an endpoint with its deliveries', async () => {
    expect((await call(admin, 'DELETE', `/v1/webhooks/${endpoints.gone!.id}`)).status).toBe(204);
    expect((await call(admin, 'GET', `/v1/webhooks/${endpoints.gone!.id}`)).status).toBe(404);
    expect((await json(await call(admin, 'GET', '/v1/webhooks'))).endpoints).toHaveLength(3);
  });
});

describe('reel webhooks (the CLI, on the same Redis)', () => {
  it('adds, lists, disables and removes a tenant endpoint', async () => {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmpdir(),
      REEL_DATA_DIR: api.config.dataDir,
      REEL_QUEUE_PREFIX: api.config.queuePrefix,
      REEL_LOG_LEVEL: 'error',
    };
    const added = await runCli(
      [
        'webhooks',
        'add',
        '--tenant',
        'globex',
        '--url',
        'https://hooks.globex.example/reel',
        '--events',
        'batch.finished,video.failed',
        '--json',
      ],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    const created = JSON.parse(added.stdout);
    expect(created.secret).toMatch(/^whsec_/);
    const listed = await json(await call(other, 'GET', '/v1/webhooks'));
    expect(listed.endpoints.map((e: any) => [e.id, e.events])).toEqual([
      [created.endpoint.id, ['batch.finished', 'video.failed']],
    ]);
    const disabled = await runCli(
      ['webhooks', 'disable', created.endpoint.id, '--tenant', 'globex', '--json'],
      env,
    );
    expect(JSON.parse(disabled.stdout)).toMatchObject({
      enabled: false,
      disabledReason: 'disabled by a person',
    });
    // another tenant's endpoint is not there for this one
    const wrong = await runCli(['webhooks', 'remove', created.endpoint.id, '--tenant', 'acme'], env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('WEBHOOK_NOT_FOUND');
    const bad = await runCli(
      ['webhooks', 'add', '--tenant', 'globex', '--url', 'https://x.example', '--events', 'nope'],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--events: nope unknown');
    const long = await runCli(
      [
        'webhooks',
        'add',
        '--tenant',
        'globex',
        '--url',
        'https://x.example',
        '--events',
        'batch.finished',
        '--description',
        'x'.repeat(501),
      ],
      env,
    );
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('description: at most 500 characters, got 501');
    expect((await runCli(['webhooks', 'remove', created.endpoint.id, '--tenant', 'globex'], env)).code).toBe(
      0,
    );
    expect((await json(await call(other, 'GET', '/v1/webhooks'))).endpoints).toEqual([]);
  });
});

describe('the address guard', () => {
  let strict: ApiFixture;
  let key: string;

  beforeAll(async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reel-webhooks-strict-'));
    key = (
      await new KeyStore(path.join(root, 'data', 'api-keys.json')).create({
        tenant: 'acme',
        scopes: ['admin'],
      })
    ).key;
    strict = await startApi({ root, worker: false });
  }, 60_000);

  afterAll(async () => {
    await strict?.close();
  });

  it('refuses loopback, private and metadata targets unless private addresses are allowed', async () => {
    for (const url of [
      `${receiver.url}/ok`,
      'http://10.0.0.8/hook',
      'http://169.254.169.254/latest',
      'http://[::1]:9/x',
      'http://localhost:9/x',
    ]) {
      const response = await fetch(`${strict.url}/v1/webhooks`, {
        method: 'POST',
        headers: bearer(key, { 'content-type': 'application/json' }),
        body: JSON.stringify({ url, events: ['batch.finished'] }),
      });
      expect(response.status, url).toBe(400);
      expect(await json(response), url).toMatchObject({ code: 'WEBHOOK_URL_FORBIDDEN' });
    }
  });
});
