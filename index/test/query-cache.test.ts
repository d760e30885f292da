import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { LruCache, QueryEmbeddingCache, type TextEmbedder } from '../src/search/query-cache.ts';
import { FakeEmbedder } from './helpers/index-fixtures.ts';

describe('LruCache', () => {
  it('evicts the least recently used entry', () => {
    const lru = new LruCache<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('keeps nothing at capacity 0', () => {
    const lru = new LruCache<string, number>(0);
    lru.set('a', 1);
    expect(lru.get('a')).toBeUndefined();
  });
});

describe('QueryEmbeddingCache', () => {
  it('encodes a text once and serves repeats from the cache', async () => {
    const embedder = new FakeEmbedder('fp-a', 8);
    const cache = new QueryEmbeddingCache(10);
    const first = await cache.embed(embedder, 'a dog');
    const second = await cache.embed(embedder, 'a dog');
    expect(first.cached).toBe(false);
    expect(second.cached).toBe(true);
    expect(second.vector).toBe(first.vector);
    expect(embedder.calls).toBe(1);
    expect(cache.stats).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('keys by fingerprint: another model never reuses a vector', async () => {
    const cache = new QueryEmbeddingCache(10);
    const a = new FakeEmbedder('fp-a', 8, 1);
    const b = new FakeEmbedder('fp-b', 8, 2);
    const va = await cache.embed(a, 'a dog');
    const vb = await cache.embed(b, 'a dog');
    expect(vb.cached).toBe(false);
    expect(vb.vector).not.toBe(va.vector);
    expect(b.calls).toBe(1);
  });

  it('shares one encoder call between concurrent requests for the same text', async () => {
    const embedder = new FakeEmbedder('fp-a', 8);
    const cache = new QueryEmbeddingCache(10);
    const [x, y, z] = await Promise.all([
      cache.embed(embedder, 'q'),
      cache.embed(embedder, 'q'),
      cache.embed(embedder, 'q'),
    ]);
    expect(embedder.calls).toBe(1);
    expect(y!.vector).toBe(x!.vector);
    expect(z!.vector).toBe(x!.vector);
  });

  it('evicts old texts beyond its capacity', async () => {
    const embedder = new FakeEmbedder('fp-a', 8);
    const cache = new QueryEmbeddingCache(2);
    await cache.embed(embedder, 'one');
    await cache.embed(embedder, 'two');
    await cache.embed(embedder, 'three');
    await cache.embed(embedder, 'one');
    expect(embedder.calls).toBe(4);
  });

  it('fails with QUERY_ENCODING_FAILED when the encoder returns no vector, and does not cache it', async () => {
    let calls = 0;
    const broken: TextEmbedder = {
      fingerprint: 'fp-x',
      encodeTexts: async () => {
        calls++;
        return [];
      },
    };
    const cache = new QueryEmbeddingCache(4);
    await expect(cache.embed(broken, 'q')).rejects.toSatisfy((e) => isReelError(e, 'QUERY_ENCODING_FAILED'));
    await expect(cache.embed(broken, 'q')).rejects.toThrow(/expected 1 vector for 1 text, got 0/);
    expect(calls).toBe(2);
  });
});
