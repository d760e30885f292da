/** Redis housekeeping of the workers benchmarks: each pass runs under a queue prefix of its own. */
import { createRedisConnection, scanKeys } from '../src/adapters/redis.ts';

/** Deletes every key under `prefix` (a pass's queues, batches and claims); returns how many. */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = createRedisConnection(redisUrl);
  try {
    const keys = await scanKeys(redis, `${prefix}:*`);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    return keys.length;
  } finally {
    redis.disconnect();
  }
}
