/**
 * What the pipeline is doing, for the people operating it: the index's video counts, each queue's jobs
 * and workers, whether Redis answers and whether workers listen. The health route, the metrics plugin,
 * `requireRedis` and `reel status` read these here, so no front door talks to BullMQ, Redis or the
 * index to learn them.
 */
import type { JobQueue, QueueCounts } from '../adapters/job-queue.ts';
import type { RedisClient } from '../adapters/redis.ts';

export type { QueueCounts } from '../adapters/job-queue.ts';

/** Videos in the index by status, every tenant. */
export type VideoCounts = Record<string, number>;

export class StatusService {
  readonly #redis: RedisClient;
  readonly #jobs: JobQueue;
  readonly #counts: () => Promise<VideoCounts>;

  constructor(deps: {
    redis: RedisClient;
    jobs: JobQueue;
    /** The index's counts by status (IndexStore.countByStatus). */
    countByStatus: () => Promise<VideoCounts>;
  }) {
    this.#redis = deps.redis;
    this.#jobs = deps.jobs;
    this.#counts = deps.countByStatus;
  }

  /** Videos in the index by status, every tenant (reads only the index, never Redis). */
  videoCounts(): Promise<VideoCounts> {
    return this.#counts();
  }

  /**
   * The connection's state without waiting for it: `ready` when commands go through now. Anything else
   * (connecting, reconnecting, end) means commands would queue until Redis is back.
   */
  redisState(): string {
    return this.#redis.status;
  }

  /** Sends PING; resolves when Redis answered. */
  async pingRedis(): Promise<void> {
    await this.#redis.ping();
  }

  /** Every queue's job counts and worker count. */
  queues(): Promise<QueueCounts[]> {
    return this.#jobs.counts();
  }

  /** True when some worker process listens on every stage queue (so a submitted batch will run). */
  workersListening(): Promise<boolean> {
    return this.#jobs.workersListening();
  }
}
