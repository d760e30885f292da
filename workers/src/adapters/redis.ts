/**
 * Redis connections for reel. BullMQ needs Redis 6.2 or newer and connections that retry forever
 * (`maxRetriesPerRequest: null`) so workers ride out a Redis restart; a one-shot health check wants the
 * opposite: fail fast, never retry.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** Oldest Redis that BullMQ supports. */
export const MIN_REDIS_VERSION = '6.2.0';

/** A long-lived connection for BullMQ queues and workers: reconnects by itself after Redis restarts. */
export function createRedisConnection(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}

export type RedisCheck =
  | { ok: true; url: string; version: string }
  | { ok: false; url: string; problem: string };

/** -1, 0 or 1 as dotted version a is older than, equal to or newer than b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const pb = b.split('.').map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** Strips credentials from a Redis URL so it can be printed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Connects once, reads the server version, and checks it is new enough for BullMQ. Never retries. */
export async function checkRedis(url: string, timeoutMs = 3_000): Promise<RedisCheck> {
  const shown = redactUrl(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // reported through the rejected connect() below
  try {
    await redis.connect();
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1];
    if (!version) return { ok: false, url: shown, problem: `${shown} answered but did not report a version` };
    if (compareVersions(version, MIN_REDIS_VERSION) < 0) {
      return {
        ok: false,
        url: shown,
        problem: `Redis ${version} at ${shown} is too old: BullMQ needs ${MIN_REDIS_VERSION} or newer`,
      };
    }
    return { ok: true, url: shown, version };
  } catch (error) {
    return { ok: false, url: shown, problem: `cannot reach Redis at ${shown}: ${(error as Error).message}` };
  } finally {
    redis.disconnect();
  }
}
