/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * Finding 2 of the trust-boundaries issue: bull-board was global and writable, and workers trusted job
 * payloads for paths. Any tenant's admin key saw every tenant's jobs and could add an `ingest-video`
 * job naming another tenant and a file of its choice: the worker wrote a record into that tenant's
 * catalogue, and the stream route then returned the raw bytes of an arbitrary server file. POST
 * /v1/reindex acted on every tenant.
 *
 * The first block reproduces the report with what existed then (tenant keys, a job payload of the old
 * shape, the routes); the second checks the roles that replace it: operator keys for what spans tenants.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JobName } from '@reel/workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '../../src/keys/key-store.ts';
import {
  type ApiFixture,
  bearer,
  colourVideo,
  json,
  startApi,
  until,
  uploadAs,
  waitForBatch,
} from '../helpers/api-server.ts';

let api: ApiFixture;
let keys: KeyStore;
let acme: string; // search + ingest + admin, tenant acme
let globex: string; // search + ingest + admin, tenant globex
let secret: string; // a video on the server's disk that no tenant submitted

const auth = bearer;
const upload = (key: string, file: string) => uploadAs(api.url, key, file);
const batchOf = (key: string, id: string) => waitForBatch(api.url, id, key);

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-sec-roles-'));
  const outside = path.join(root, 'private');
  mkdirSync(outside, { recursive: true });
  secret = colourVideo(outside, 'secret.mp4', 'white');
  keys = new KeyStore(path.join(root, 'data', 'api-keys.json'));
  acme = (await keys.create({ tenant: 'acme', scopes: ['search', 'ingest', 'admin'] })).key;
  globex = (await keys.create({ tenant: 'globex', scopes: ['search', 'ingest', 'admin'] })).key;
  api = await startApi({ root, env: { REEL_API_RATE_LIMIT: '10000' } });
}, 120_000);

afterAll(async () => {
  await api?.close();
});

describe('the finding as reported', () => {
  it("keeps the queues board from a tenant's admin key", async () => {
    for (const url of ['/admin/queues', '/admin/queues/api/queues']) {
      const response = await fetch(`${api.url}${url}`, { headers: auth(globex) });
      expect(response.status, url).toBe(403);
    }
  });

  it("writes nothing when a job payload names another tenant and a file of someone's choice", async () => {
    // What globex's admin did through the writable board: an ingest job in acme's name, for a file
    // outside anything acme submitted, in the payload shape workers used to trust.
    const forged = 'v_0123456789abcdef01234567';
    const model = await api.server.deps.pipeline.searchModel();
    await api.server.deps.pipeline.queues.ingest.add(
      JobName.ingestVideo,
      {
        batchId: 'forged',
        videoId: forged,
        tenant: 'acme',
        file: secret,
        name: 'holiday.mp4',
        title: 'holiday',
        tags: [],
        sha256: 'ab'.repeat(32),
        sizeBytes: 1,
        model,
      },
      { jobId: `ingest-${forged}`, attempts: 1 },
    );
    const job = await until('the forged job to end', async () => {
      const found = await api.server.deps.pipeline.queues.ingest.getJob(`ingest-${forged}`);
      return found && ((await found.isFailed()) || (await found.isCompleted())) ? found : undefined;
    });
    expect(await job.isFailed()).toBe(true);
    expect(job.failedReason).toContain('VIDEO_NOT_SUBMITTED');
    expect(await api.server.deps.pipeline.store.getVideo('acme', forged)).toBeNull();
    const listed = await json(await fetch(`${api.url}/v1/videos`, { headers: auth(acme) }));
    expect(listed.videos.map((v: any) => v.id)).not.toContain(forged);
    const stream = await fetch(`${api.url}/v1/videos/${forged}/stream`, { headers: auth(acme) });
    expect(stream.status).toBe(404);
  });

  it('re-runs a real video from its own record when a payload names another file for it', async () => {
    const accepted = await upload(acme, colourVideo(api.videos, 'red.mp4', 'red'));
    const id = (await batchOf(acme, accepted.batchId)).videos[0].videoId;
    const mine = Buffer.from(
      await (await fetch(`${api.url}/v1/videos/${id}/stream`, { headers: auth(acme) })).arrayBuffer(),
    );
    const model = await api.server.deps.pipeline.searchModel();
    const queue = api.server.deps.pipeline.queues.ingest;
    await (await queue.getJob(`ingest-${id}`))?.remove();
    await queue.add(
      JobName.ingestVideo,
      {
        batchId: 'forged',
        videoId: id,
        tenant: 'acme',
        file: secret,
        title: 'x',
        tags: [],
        name: 'x',
        sha256: 'ab'.repeat(32),
        sizeBytes: 1,
        model,
      },
      { jobId: `ingest-${id}`, attempts: 1 },
    );
    await until('the re-run to end', async () => {
      const found = await queue.getJob(`ingest-${id}`);
      return found && ((await found.isFailed()) || (await found.isCompleted())) ? true : undefined;
    });
    const after = Buffer.from(
      await (await fetch(`${api.url}/v1/videos/${id}/stream`, { headers: auth(acme) })).arrayBuffer(),
    );
    expect(after.equals(mine)).toBe(true);
    expect(after.equals(readFileSync(secret))).toBe(false);
  });

  it("keeps a tenant admin's reindex inside its tenant", async () => {
    const response = await fetch(`${api.url}/v1/reindex`, {
      method: 'POST',
      headers: auth(globex, { 'content-type': 'application/json' }),
      body: '{}',
    });
    expect(response.status).toBe(202);
    const body = await json(response);
    expect(body.jobs.map((j: any) => j.kind)).toEqual(['sweep']);
    const job = await api.server.deps.pipeline.queues.reindex.getJob(body.jobs[0].jobId);
    expect(job?.data).toEqual({ kind: 'sweep', tenant: 'globex' });
    for (const part of ['model', 'upkeep']) {
      const refused = await fetch(`${api.url}/v1/reindex`, {
        method: 'POST',
        headers: auth(globex, { 'content-type': 'application/json' }),
        body: JSON.stringify({ [part]: true }),
      });
      expect(refused.status, part).toBe(403);
      expect((await json(refused)).code).toBe('OPERATOR_REQUIRED');
    }
  });
});

describe('roles: operator keys for what spans tenants', () => {
  let operator: string;

  beforeAll(async () => {
    operator = (await keys.createOperator({ name: 'ops' })).key;
    await until('operator key seen', async () =>
      (await fetch(`${api.url}/metrics`, { headers: auth(operator) })).status === 200 ? true : undefined,
    );
  });

  it('serves metrics and the queues board to operator keys only, and the board read-only', async () => {
    expect((await fetch(`${api.url}/metrics`)).status).toBe(401);
    const tenant = await fetch(`${api.url}/metrics`, { headers: auth(acme) });
    expect(tenant.status).toBe(403);
    expect((await json(tenant)).code).toBe('OPERATOR_REQUIRED');
    expect((await fetch(`${api.url}/admin/queues/api/queues`, { headers: auth(operator) })).status).toBe(200);
    const add = await fetch(`${api.url}/admin/queues/api/queues/ingest/add`, {
      method: 'POST',
      headers: auth(operator, { 'content-type': 'application/json' }),
      body: JSON.stringify({ name: 'ingest-video', data: { tenant: 'acme', videoId: 'v_x', file: secret } }),
    });
    expect(add.status).toBe(405); // read-only unless REEL_QUEUES_BOARD_WRITABLE
  });

  it("acts on no tenant's videos", async () => {
    for (const url of ['/v1/videos', '/v1/search?q=red']) {
      const response = await fetch(`${api.url}${url}`, { headers: auth(operator) });
      expect(response.status, url).toBe(403);
      expect((await json(response)).code).toBe('TENANT_KEY_REQUIRED');
    }
  });

  it('starts the model backfill and upkeep queue-wide; a tenant admin cannot', async () => {
    const response = await fetch(`${api.url}/v1/reindex`, {
      method: 'POST',
      headers: auth(operator, { 'content-type': 'application/json' }),
      body: '{}',
    });
    expect(response.status).toBe(202);
    const body = await json(response);
    expect(body.jobs.map((j: any) => j.kind)).toEqual(['backfill', 'sweep', 'upkeep']);
    const sweep = await api.server.deps.pipeline.queues.reindex.getJob(body.jobs[1].jobId);
    expect(sweep?.data).toEqual({ kind: 'sweep' });
  });

  it("lets a tenant admin manage its own tenant's keys only; an operator key, any tenant's", async () => {
    const created = await fetch(`${api.url}/v1/keys`, {
      method: 'POST',
      headers: auth(acme, { 'content-type': 'application/json' }),
      body: JSON.stringify({ scopes: ['search'], name: 'reader' }),
    });
    expect(created.status).toBe(201);
    const reader = await json(created);
    expect(reader.entry).toMatchObject({ tenant: 'acme', scopes: ['search'], name: 'reader' });
    expect(reader.key).toMatch(/^reel_[a-z0-9]{12}_/);

    const acmeKeys = (await json(await fetch(`${api.url}/v1/keys`, { headers: auth(acme) }))).keys;
    expect(new Set(acmeKeys.map((k: any) => k.tenant))).toEqual(new Set(['acme']));
    expect(JSON.stringify(acmeKeys)).not.toContain('hash');
    const globexKeys = (await json(await fetch(`${api.url}/v1/keys`, { headers: auth(globex) }))).keys;
    expect(globexKeys.map((k: any) => k.id)).not.toContain(reader.entry.id);

    // Another tenant's key is not there for globex; another tenant is not globex's to name.
    const revoke = await fetch(`${api.url}/v1/keys/${reader.entry.id}`, {
      method: 'DELETE',
      headers: auth(globex),
    });
    expect(revoke.status).toBe(404);
    const forOther = await fetch(`${api.url}/v1/keys`, {
      method: 'POST',
      headers: auth(globex, { 'content-type': 'application/json' }),
      body: JSON.stringify({ scopes: ['admin'], tenant: 'acme' }),
    });
    expect(forOther.status).toBe(403);
    expect((await json(await fetch(`${api.url}/v1/keys?tenant=acme`, { headers: auth(globex) }))).code).toBe(
      'OPERATOR_REQUIRED',
    );

    const all = (await json(await fetch(`${api.url}/v1/keys`, { headers: auth(operator) }))).keys;
    expect(new Set(all.map((k: any) => k.tenant))).toEqual(new Set(['acme', 'globex']));
    const operatorId = (await keys.list()).find((e) => e.role === 'operator')!.id;
    // Operator keys are made and revoked on the command line only.
    expect(
      (await fetch(`${api.url}/v1/keys/${operatorId}`, { method: 'DELETE', headers: auth(operator) })).status,
    ).toBe(404);
    const byOperator = await fetch(`${api.url}/v1/keys/${reader.entry.id}`, {
      method: 'DELETE',
      headers: auth(operator),
    });
    expect(byOperator.status).toBe(200);
    expect((await fetch(`${api.url}/v1/videos`, { headers: auth(reader.key) })).status).toBe(401);
  });

  it('streams indexed videos only', async () => {
    const body = new FormData();
    body.append('file', new Blob(['not a video at all']), 'notes.mp4');
    const accepted = await json(
      await fetch(`${api.url}/v1/videos`, { method: 'POST', headers: auth(acme), body }),
    );
    const failed = (await batchOf(acme, accepted.batchId)).videos[0];
    expect(failed.status).toBe('failed');
    const stream = await fetch(`${api.url}/v1/videos/${failed.videoId}/stream`, { headers: auth(acme) });
    expect(stream.status).toBe(409);
    expect((await json(stream)).code).toBe('VIDEO_NOT_INDEXED');
  });
});
