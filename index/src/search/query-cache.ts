/**
 * Recent query embeddings, so a repeated search (the next page, a refreshed screen, a popular query)
 * skips the text encoder. Keyed by model fingerprint and the exact text: a new model never reuses an old
 * model's vector. Concurrent requests for the same uncached text share one encoder call.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';

/** An LRU map with a fixed number of entries (Map keeps insertion order: re-inserting marks recent). */
export class LruCache<K, V> {
  readonly capacity: number;
  readonly #entries = new Map<K, V>();

  /** @param capacity entries kept, ≥ 0 (0 keeps nothing). */
  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, marked most recent; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    if (this.capacity === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as K;
      this.#entries.delete(oldest);
    }
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** What the cache needs of a text encoder (a loaded CLIP model satisfies it). */
export interface TextEmbedder {
  /** The model's fingerprint; vectors are cached and searched per fingerprint. */
  readonly fingerprint: string;
  /** One embedding (D values) per text, in order. */
  encodeTexts(texts: readonly string[]): Promise<Float32Array[]>;
  /** One embedding per encoded image (JPEG/PNG/WebP bytes), for search by image. */
  encodeImages?(images: readonly Uint8Array[]): Promise<Float32Array[]>;
  /** The tokens a text needs and the most the model reads, when the embedder can tell. */
  textFit?(text: string): { tokens: number; contextLength: number };
}

/** Default number of query embeddings kept (2 KB each at D = 512). */
export const DEFAULT_QUERY_CACHE_SIZE = 1000;

/** LRU of text → embedding per fingerprint, with in-flight de-duplication. */
export class QueryEmbeddingCache {
  readonly #cache: LruCache<string, Float32Array>;
  readonly #pending = new Map<string, Promise<Float32Array>>();
  #hits = 0;
  #misses = 0;

  constructor(capacity: number = DEFAULT_QUERY_CACHE_SIZE) {
    this.#cache = new LruCache(capacity);
  }

  /** Hits and misses since creation (a miss is one encoder call, shared by concurrent requests). */
  get stats(): { hits: number; misses: number; size: number } {
    return { hits: this.#hits, misses: this.#misses, size: this.#cache.size };
  }

  /**
   * The embedding of `text` under `embedder`'s model: from the cache, from a call already in flight, or
   * from one new `encodeTexts([text])` call. The returned array is shared: callers must not modify it.
   */
  async embed(embedder: TextEmbedder, text: string): Promise<{ vector: Float32Array; cached: boolean }> {
    const key = `${embedder.fingerprint}\u0000${text}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      this.#hits++;
      return { vector: hit, cached: true };
    }
    const inFlight = this.#pending.get(key);
    if (inFlight !== undefined) {
      this.#hits++;
      return { vector: await inFlight, cached: true };
    }
    this.#misses++;
    const promise = embedder.encodeTexts([text]).then((vectors) => {
      const vector = vectors[0];
      if (vector === undefined)
        throw new ReelError(
          IndexErrorCode.QUERY_ENCODING_FAILED,
          `text encoder ${embedder.fingerprint}: expected 1 vector for 1 text, got ${vectors.length}`,
        );
      return vector;
    });
    this.#pending.set(key, promise);
    try {
      const vector = await promise;
      this.#cache.set(key, vector);
      return { vector, cached: false };
    } finally {
      this.#pending.delete(key);
    }
  }

  clear(): void {
    this.#cache.clear();
  }
}
