/**
 * Which model's vectors searches read. It is not simply the active model: after a model change the new
 * model's vectors are filled in by a backfill while searches keep reading the old ones, and the pointer
 * moves in one step when the backfill is done, so no search ever mixes models. Kept in Redis so every
 * API and worker process sees the same pointer.
 */
import type { RedisClient } from './adapters/redis.ts';
import type { ModelRef } from './jobs.ts';

export interface SearchModel extends ModelRef {
  /** Epoch ms when searches started reading this model. */
  since: number;
}

export class SearchModelPointer {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #retiredKey: string;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#key = `${prefix}:reel:search-model`;
    this.#retiredKey = `${prefix}:reel:retired-models`;
  }

  /**
   * Marks a model's vectors for removal. They are dropped by upkeep only after a grace period, so a
   * search that read the pointer just before the switch still finds the vectors it was sent to.
   */
  async retire(fingerprint: string): Promise<void> {
    await this.#redis.zadd(this.#retiredKey, Date.now(), fingerprint);
  }

  /** Models retired before `before` (epoch ms), oldest first. */
  async retiredBefore(before: number): Promise<string[]> {
    return this.#redis.zrangebyscore(this.#retiredKey, 0, before);
  }

  async forget(fingerprint: string): Promise<void> {
    await this.#redis.zrem(this.#retiredKey, fingerprint);
  }

  async get(): Promise<SearchModel | undefined> {
    const raw = await this.#redis.get(this.#key);
    return raw ? (JSON.parse(raw) as SearchModel) : undefined;
  }

  /** Sets the pointer only if none is set yet (the first model a fresh install indexes with). */
  async initialise(model: ModelRef): Promise<SearchModel> {
    const value: SearchModel = { ...model, since: Date.now() };
    await this.#redis.set(this.#key, JSON.stringify(value), 'NX');
    return (await this.get()) ?? value;
  }

  /** Moves searches to `model` in one step. */
  async switchTo(model: ModelRef): Promise<void> {
    await this.#redis.set(this.#key, JSON.stringify({ ...model, since: Date.now() } satisfies SearchModel));
  }
}
