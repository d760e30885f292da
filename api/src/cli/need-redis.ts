/**
 * Commands that cannot work without Redis (ingest, status, reindex) check it first and fail within
 * seconds with one line that says which Redis and how to start it, instead of waiting on a connection
 * that keeps retrying. `reel search` does not need Redis (see LiveSearch) and does not call this.
 */
import { type ReelConfig, ReelError } from '@reel/infra';
import { checkRedis } from '@reel/workers';
import { redisFix } from '../doctor/checks.ts';

/** Throws REDIS_UNAVAILABLE (exit 1) when the configured Redis does not answer within `timeoutMs`. */
export async function needRedis(config: ReelConfig, what: string, timeoutMs = 3_000): Promise<void> {
  const check = await checkRedis(config.redisUrl, timeoutMs, {
    cluster: config.redisCluster,
    prefix: config.queuePrefix,
  });
  if (check.ok) return;
  throw new ReelError(
    'REDIS_UNAVAILABLE',
    `${what} needs Redis: ${check.problem}. Start it: ${redisFix(config.redisUrl)}`,
  );
}
