/**
 * What the pipeline is doing, for the people operating it: the index's video counts, each queue's jobs
 * and workers, whether Redis answers and whether workers listen. The health route, the metrics plugin,
 * `requireRedis` and `reel status` read these here, so no front door talks to BullMQ, Redis or the
 * index to learn them.
 */
import type { Queue } from 'bullmq';
import type { RedisClient } from '../adapters/redis.ts';
import { QueueName } from '../jobs.ts';

/** Videos in the index by status, every tenant. */
export type VideoCounts = Record<string, number>;

export interface QueueStatus {
  name: QueueName;
  /** Waiting, including jobs waiting for their children (a batch's parent job). */
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Jobs with a priority (backfills), BullMQ's `prioritized` state. */
  prioritized: number;
  /** Worker connections listening on the queue. */
  workers: number;
}

/** The stage queues a submitted batch needs a worker on. */
const STAGE_QUEUES = [QueueName.ingest, QueueName.embed, QueueName.index, QueueName.batch] as const;

export class StatusService {
  readonly #redis: RedisClient;
  readonly #queues: Record<QueueName, Queue>;
  readonly #counts: () => Promise<VideoCounts>;

  constructor(deps: {
    redis: RedisClient;
    queues: Record<QueueName, Queue>;
    /** The index's counts by status (IndexStore.countByStatus). */
    countByStatus: () => Promise<VideoCounts>;
  }) {
    this.#redis = deps.redis;
    this.#queues = deps.queues;
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
  async queues(): Promise<QueueStatus[]> {
    return Promise.all(
      Object.values(QueueName).map(async (name) => {
        const queue = this.#queues[name];
        const [counts, workers] = await Promise.all([
          queue.getJobCounts('waiting', 'waiting-children', 'active', 'delayed', 'failed', 'prioritized'),
          queue.getWorkersCount(),
        ]);
        return {
          name,
          waiting: (counts.waiting ?? 0) + (counts['waiting-children'] ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          prioritized: counts.prioritized ?? 0,
          workers,
        };
      }),
    );
  }

  /** True when some worker process listens on every stage queue (so a submitted batch will run). */
  async workersListening(): Promise<boolean> {
    const counts = await Promise.all(STAGE_QUEUES.map((name) => this.#queues[name].getWorkersCount()));
    return counts.every((n) => n > 0);
  }
}
