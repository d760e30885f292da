/** biome-ignore-all lint/suspicious/noExplicitAny: OpenAPI documents and JSON bodies, read loosely */
/**
 * Tenant isolation on every route of the OpenAPI spec, generated from the spec the server serves, so a
 * new route is covered the day it is added (and fails here until it has a fixture for its path
 * parameters). For every operation:
 *
 * - without a key, a protected route answers 401;
 * - another tenant's key (with every scope) on a route naming one of acme's resources never gets 2xx,
 *   on a collection route never sees any of acme's ids or titles, and leaves acme's resources in place;
 * - the owner's own key gets 2xx on the GETs of its resources (so the fixtures are real);
 * - a route that spans tenants refuses a tenant admin's key (403); a route of a tenant's videos refuses
 *   an operator key (403).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '../../src/keys/key-store.ts';
import { type ApiFixture, colourVideo, json, startApi, until } from '../helpers/api-server.ts';

let api: ApiFixture;
let acme: string;
let globex: string;
let operator: string;
let spec: any;
/** Acme's resources, and what must never show up in another tenant's answers. */
const owned: {
  videoId: string;
  batchId: string;
  keyId: string;
  webhookId: string;
  trackId: string;
  secrets: string[];
} = {
  trackId: '',
  videoId: '',
  batchId: '',
  keyId: '',
  webhookId: '',
  secrets: [],
};

const TITLE = 'acme-confidential-red';

interface Operation {
  method: string;
  path: string;
  op: any;
}

/** Who the spec says may call an operation. */
function accessOf(op: any): { public: boolean; scope?: string; operator: 'no' | 'allowed' | 'only' } {
  const security: Record<string, string[]>[] = op.security ?? spec.security ?? [];
  if (security.length === 0) return { public: true, operator: 'no' };
  const tenant = security.find((s) => 'apiKey' in s);
  const ops = security.some((s) => 'operatorKey' in s);
  return {
    public: false,
    ...(tenant ? { scope: tenant.apiKey![0] } : {}),
    operator: ops ? (tenant ? 'allowed' : 'only') : 'no',
  };
}

/** Acme's resource for each path parameter, by the collection it names. */
function fillPath(p: string): string {
  return p.replace(/\{(\w+)\}/g, (_, name: string, offset: number) => {
    const before = p.slice(0, offset);
    if (name === 'n') return '0';
    if (name === 'id' && before.endsWith('/v1/videos/')) return owned.videoId;
    if (name === 'id' && before.endsWith('/v1/batches/')) return owned.batchId;
    if (name === 'id' && before.endsWith('/v1/keys/')) return owned.keyId;
    if (name === 'id' && before.endsWith('/v1/webhooks/')) return owned.webhookId;
    if (name === 'trackId' && before.endsWith('/captions/')) return owned.trackId;
    throw new Error(
      `no fixture for path parameter {${name}} of ${p}: add one to tenant-isolation.int.test.ts`,
    );
  });
}

/** The smallest value a JSON schema accepts (required properties only). */
function example(schema: any): any {
  if (schema === undefined) return undefined;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return example(options[0]);
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required ?? []) out[name] = example(schema.properties?.[name]);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => example(schema.items));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    default:
      return schema.format === 'date-time' ? new Date().toISOString() : 'red';
  }
}

/** A request for `operation` as `key` (none: no header), on acme's resources. */
async function call(
  operation: Operation,
  key: string | undefined,
): Promise<{ status: number; body: string; sent: string }> {
  const query = new URLSearchParams();
  for (const parameter of operation.op.parameters ?? [])
    if (parameter.in === 'query' && parameter.required) query.set(parameter.name, TITLE);
  const url = `${api.url}${fillPath(operation.path)}${query.size > 0 ? `?${query}` : ''}`;
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  let body: BodyInit | undefined;
  const jsonBody = operation.op.requestBody?.content?.['application/json'];
  if (jsonBody) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(example(jsonBody.schema) ?? {});
  } else if (operation.method === 'POST') {
    // An upload route (multipart is not described as a JSON body): one tiny file.
    const form = new FormData();
    form.append('file', new Blob(['not a video']), 'probe.mp4');
    body = form;
  }
  const response = await fetch(url, { method: operation.method, headers, ...(body ? { body } : {}) });
  return {
    status: response.status,
    body: await response.text(),
    sent: `${url} ${typeof body === 'string' ? body : ''}`,
  };
}

function operations(): Operation[] {
  const found: Operation[] = [];
  for (const [p, methods] of Object.entries(spec.paths as Record<string, any>))
    for (const [method, op] of Object.entries(methods))
      found.push({ method: method.toUpperCase(), path: p, op });
  return found;
}

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-sec-isolation-'));
  const keys = new KeyStore(path.join(root, 'data', 'api-keys.json'));
  acme = (await keys.create({ tenant: 'acme', scopes: ['search', 'ingest', 'admin'] })).key;
  globex = (await keys.create({ tenant: 'globex', scopes: ['search', 'ingest', 'admin'] })).key;
  operator = (await keys.createOperator({ name: 'ops' })).key;
  const extra = await keys.create({ tenant: 'acme', scopes: ['search'], name: 'acme-reader' });
  api = await startApi({ root, env: { REEL_API_RATE_LIMIT: '100000' } });

  const form = new FormData();
  form.append('title', TITLE);
  form.append('file', new Blob([readFileSync(colourVideo(api.videos, 'red.mp4', 'red'))]), 'red.mp4');
  const accepted = await json(
    await fetch(`${api.url}/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acme}` },
      body: form,
    }),
  );
  const batch = await until('acme batch', async () => {
    const status = await json(
      await fetch(`${api.url}/v1/batches/${accepted.batchId}`, {
        headers: { authorization: `Bearer ${acme}` },
      }),
    );
    return status.finishedAt ? status : undefined;
  });
  expect(batch.counts.indexed).toBe(1);
  owned.videoId = batch.videos[0].videoId;
  owned.batchId = accepted.batchId;
  owned.keyId = extra.entry.id;
  const hook = await json(
    await fetch(`${api.url}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        url: 'https://hooks.example.com/acme-confidential-hook',
        events: ['batch.finished'],
      }),
    }),
  );
  owned.webhookId = hook.endpoint.id;
  const captions = new FormData();
  captions.append(
    'file',
    new Blob(['1\n00:00:00,000 --> 00:00:01,000\nacme-confidential-caption\n']),
    'red.srt',
  );
  const track = await json(
    await fetch(`${api.url}/v1/videos/${owned.videoId}/captions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acme}` },
      body: captions,
    }),
  );
  owned.trackId = track.id;
  owned.secrets = [
    'acme-confidential-caption',
    owned.videoId,
    owned.keyId,
    TITLE,
    'acme-reader',
    owned.webhookId,
    'acme-confidential-hook',
    hook.secret,
  ];
  spec = await json(await fetch(`${api.url}/docs/json`));
}, 180_000);

afterAll(async () => {
  await api?.close();
});

describe('every route of the OpenAPI spec', () => {
  it('lists the routes this test knows how to call (a route without a fixture fails here)', () => {
    const all = operations();
    expect(all.length).toBeGreaterThan(10);
    for (const operation of all) expect(() => fillPath(operation.path), operation.path).not.toThrow();
  });

  it('answers 401 without a key on every protected route', async () => {
    for (const operation of operations()) {
      if (accessOf(operation.op).public) continue;
      const { status } = await call(operation, undefined);
      expect(status, `${operation.method} ${operation.path}`).toBe(401);
    }
  });

  it("never gives another tenant's key acme's resources or data", async () => {
    for (const operation of operations()) {
      const access = accessOf(operation.op);
      if (access.public || access.operator === 'only') continue;
      const label = `${operation.method} ${operation.path}`;
      const { status, body, sent } = await call(operation, globex);
      if (operation.path.includes('{')) expect(status, label).not.toBeLessThan(300);
      // What the request itself carried may come back (a 404 names the id asked for); nothing else may.
      for (const secret of owned.secrets)
        if (!sent.includes(secret)) expect(body, `${label} shows ${secret}`).not.toContain(secret);
    }
    // Nothing of acme's was removed by globex's DELETEs.
    const own = { authorization: `Bearer ${acme}` };
    expect((await fetch(`${api.url}/v1/videos/${owned.videoId}`, { headers: own })).status).toBe(200);
    const keys = await json(await fetch(`${api.url}/v1/keys`, { headers: own }));
    expect(keys.keys.find((k: any) => k.id === owned.keyId)?.revokedAt).toBeNull();
    const tracks = await json(
      await fetch(`${api.url}/v1/videos/${owned.videoId}/captions`, { headers: own }),
    );
    expect(tracks.tracks.map((t: any) => t.id)).toEqual([owned.trackId]);
  });

  it('gives the owner its own resources (the fixtures name real things)', async () => {
    for (const operation of operations()) {
      const access = accessOf(operation.op);
      if (access.public || access.operator === 'only' || operation.method !== 'GET') continue;
      if (!operation.path.includes('{')) continue;
      const { status } = await call(operation, acme);
      expect(status, `${operation.method} ${operation.path}`).toBeLessThan(300);
    }
  });

  it('keeps routes that span tenants from tenant keys, and tenant routes from operator keys', async () => {
    for (const operation of operations()) {
      const access = accessOf(operation.op);
      if (access.public) continue;
      const label = `${operation.method} ${operation.path}`;
      if (access.operator === 'only') expect((await call(operation, globex)).status, label).toBe(403);
      if (access.operator === 'no') expect((await call(operation, operator)).status, label).toBe(403);
    }
  });
});
