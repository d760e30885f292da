/**
 * Finding 3 of the trust-boundaries issue: the rule "keys are required off loopback" was checked at
 * start-up only, and per request an empty key list meant the local tenant with every scope. Revoking the
 * only key of a server on 0.0.0.0 opened it to anyone. Auth is now a per-request fact that never falls
 * back to keyless access once a key has existed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyStore } from '../../src/keys/key-store.ts';
import { type ApiFixture, startApi, until } from '../helpers/api-server.ts';
import { runCli } from '../helpers/run-cli.ts';

let api: ApiFixture | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const anonymous = async (base: string) => ({
  search: (await fetch(`${base}/v1/search?q=red`)).status,
  reindex: (
    await fetch(`${base}/v1/reindex`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
  ).status,
  videos: (await fetch(`${base}/v1/videos`)).status,
});

describe('revoking the last API key', () => {
  it('leaves a server on 0.0.0.0 locked: anonymous search and reindex get 401, and the CLI says so', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reel-sec-revoke-'));
    const dataDir = path.join(root, 'data');
    const keys = new KeyStore(path.join(dataDir, 'api-keys.json'));
    const only = await keys.create({ tenant: 'acme', scopes: ['search', 'ingest', 'admin'] });
    api = await startApi({ root, env: { REEL_API_HOST: '0.0.0.0' }, worker: false });
    const base = api.url.replace('0.0.0.0', '127.0.0.1');
    expect(await anonymous(base)).toEqual({ search: 401, reindex: 401, videos: 401 });

    const revoked = await runCli(['keys', 'revoke', only.entry.id], {
      PATH: process.env.PATH ?? '',
      REEL_DATA_DIR: dataDir,
      REEL_LOG_LEVEL: 'silent',
    });
    // The server re-reads the keys file at most once a second.
    await until('revocation seen', async () =>
      (await fetch(`${base}/v1/search?q=red`, { headers: { authorization: `Bearer ${only.key}` } }))
        .status === 401
        ? true
        : undefined,
    );
    expect(await anonymous(base)).toEqual({ search: 401, reindex: 401, videos: 401 });
    const problem = (await (await fetch(`${base}/v1/videos`)).json()) as { code: string };
    expect(problem.code).toBe('UNAUTHORIZED');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('it was the last active key');
    expect(revoked.stdout).toContain('refuses every request (401)');
  });

  it('ends the keyless mode of a loopback server for good once a key is created', async () => {
    api = await startApi({ worker: false });
    const base = api.url;
    expect((await fetch(`${base}/v1/videos`)).status).toBe(200); // keyless local tenant
    const keys = new KeyStore(api.config.paths.apiKeys);
    const created = await keys.create({ tenant: 'default', scopes: ['search'] });
    await until('keys enforced', async () =>
      (await fetch(`${base}/v1/videos`)).status === 401 ? true : undefined,
    );
    await keys.revoke(created.entry.id);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await anonymous(base)).toEqual({ search: 401, reindex: 401, videos: 401 });
  });

  it('starts locked when the keys file holds only revoked keys, even on loopback', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reel-sec-revoked-'));
    const keys = new KeyStore(path.join(root, 'data', 'api-keys.json'));
    await keys.revoke((await keys.create({ tenant: 'acme', scopes: ['search'] })).entry.id);
    api = await startApi({ root, worker: false });
    expect(await anonymous(api.url)).toEqual({ search: 401, reindex: 401, videos: 401 });
  });
});
