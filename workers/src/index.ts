export {
  checkRedis,
  compareVersions,
  createRedisConnection,
  MIN_REDIS_VERSION,
  type RedisCheck,
  redactUrl,
} from './adapters/redis.ts';
