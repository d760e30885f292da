/**
 * The keys file's lock (KeyStore.#locked) on a real folder: writers in several stores (as several
 * processes are) lose no change, a crashed holder's lock is broken, and a lock held too long is a
 * clear KEYS_FILE_BUSY.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyStore } from '../src/keys/key-store.ts';

const root = mkdtempSync(path.join(tmpdir(), 'reel-key-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the API keys file lock', () => {
  it('loses no key when four stores create 40 keys at once', async () => {
    const file = path.join(root, 'concurrent', 'api-keys.json');
    const stores = Array.from({ length: 4 }, () => new KeyStore(file));
    await Promise.all(
      stores.flatMap((store, s) =>
        Array.from({ length: 10 }, (_, i) =>
          store.create({ tenant: 'acme', scopes: ['search'], name: `k${s}-${i}` }),
        ),
      ),
    );
    const names = (await new KeyStore(file).list()).map((k) => k.name).sort();
    expect(names).toHaveLength(40);
    expect(new Set(names).size).toBe(40);
  });

  it('breaks a lock a crashed holder left more than 10 s ago', async () => {
    const file = path.join(root, 'stale', 'api-keys.json');
    const store = new KeyStore(file);
    await store.create({ tenant: 'acme', scopes: ['search'], name: 'first' });
    writeFileSync(`${file}.lock`, '');
    const old = new Date(Date.now() - 30_000);
    utimesSync(`${file}.lock`, old, old);
    const started = Date.now();
    await store.create({ tenant: 'acme', scopes: ['search'], name: 'second' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await store.list()).map((k) => k.name)).toEqual(['first', 'second']);
  });

  it('answers KEYS_FILE_BUSY after 10 s of a lock held by a live holder, and changes nothing', async () => {
    const file = path.join(root, 'busy', 'api-keys.json');
    const store = new KeyStore(file);
    await store.create({ tenant: 'acme', scopes: ['search'], name: 'first' });
    writeFileSync(`${file}.lock`, '');
    // the holder is alive: it keeps its lock fresh
    const keepFresh = setInterval(() => {
      const now = new Date();
      utimesSync(`${file}.lock`, now, now);
    }, 1000);
    try {
      const started = Date.now();
      const error = await store
        .create({ tenant: 'acme', scopes: ['search'], name: 'second' })
        .catch((e) => e);
      expect(isReelError(error, 'KEYS_FILE_BUSY')).toBe(true);
      expect((error as Error).message).toBe('the API keys file stayed locked by another process for 10 s');
      expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
    } finally {
      clearInterval(keepFresh);
      rmSync(`${file}.lock`, { force: true });
    }
    expect((await store.list()).map((k) => k.name)).toEqual(['first']);
  }, 30_000);
});
