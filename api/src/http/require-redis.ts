/**
 * Ingest and reindex routes need Redis (queues, batch progress); search does not. While Redis is down
 * those routes answer 503 at once with a clear code, instead of waiting for the reconnection (the
 * pipeline's connection queues commands until Redis is back, which suits workers, not HTTP clients).
 */
import type { FastifyRequest } from 'fastify';
import { HttpProblem } from './problem.ts';

export async function requireRedis(request: FastifyRequest): Promise<void> {
  const state = request.server.deps.pipeline.status.redisState();
  if (state !== 'ready')
    throw new HttpProblem(
      503,
      'REDIS_UNAVAILABLE',
      // Where Redis is and who reel is there are the operator's business: they stay in the log.
      `Redis does not answer (${state}): uploads, batches and reindexing wait for it; search still works`,
    );
}
