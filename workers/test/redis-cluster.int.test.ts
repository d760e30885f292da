/**
 * reel on a real Redis Cluster: three masters of Debian's redis-server on loopback ports, no replicas,
 * no persistence, `cluster-node-timeout` 1.5 s so failures are agreed quickly. A batch runs through it;
 * then one master at a time is killed with SIGKILL to measure the failure modes workers/README.md
 * documents ("Redis Cluster").
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SearchService } from '@reel/index';
import { createLogger, freePort, isReelError, type ReelConfig } from '@reel/infra';
import { ClipModel, createInferencePool } from '@reel/models';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRedis, createRedisConnection, scanKeys } from '../src/adapters/redis.ts';
import { jobId } from '../src/jobs.ts';
import { openPipeline, type Pipeline, type RunningWorker, startPipelineWorker } from '../src/pipeline.ts';
import { colourVideo, type RealSetup, realSetup, until } from './helpers/real-pipeline.ts';

const NODE_TIMEOUT_MS = 1500;

interface ClusterNode {
  port: number;
  /** The cluster bus port (given explicitly: port + 10000 may not exist for a high free port). */
  busPort: number;
  dir: string;
  child?: ChildProcess;
}

const nodes: ClusterNode[] = [];

function startNode(node: ClusterNode): void {
  // nodes.conf in the node's own folder keeps its id and slots across the restarts below; with no AOF
  // and no RDB its data does not survive them.
  node.child = spawn(
    'redis-server',
    [
      '--port',
      String(node.port),
      '--cluster-port',
      String(node.busPort),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      String(NODE_TIMEOUT_MS),
      '--appendonly',
      'no',
      '--save',
      '',
      '--dir',
      node.dir,
    ],
    { stdio: 'ignore' },
  );
}

function killNode(node: ClusterNode): void {
  node.child?.kill('SIGKILL');
  node.child = undefined;
}

function cli(node: ClusterNode, ...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(node.port), ...args], { timeout: 5_000 }).toString();
}

function clusterState(node: ClusterNode): string | undefined {
  try {
    return /cluster_state:(\w+)/.exec(cli(node, 'cluster', 'info'))?.[1];
  } catch {
    return undefined;
  }
}

async function untilState(live: ClusterNode[], state: 'ok' | 'fail', what: string): Promise<void> {
  await until(what, async () => (live.every((n) => clusterState(n) === state) ? true : undefined), 20_000);
}

/** The address flags of `node` as another node sees it, e.g. "master,fail". */
function flagsOf(node: ClusterNode, seenFrom: ClusterNode): string {
  const line = cli(seenFrom, 'cluster', 'nodes')
    .split('\n')
    .find((l) => l.split(' ')[1]?.startsWith(`127.0.0.1:${node.port}@`));
  return line?.split(' ')[2] ?? '';
}

process.on('exit', () => {
  for (const node of nodes) node.child?.kill('SIGKILL');
});

let setup: RealSetup;
let config: ReelConfig;
let pipeline: Pipeline;
let worker: RunningWorker;
let owner: ClusterNode;
let other: ClusterNode;
let prefixSlot: number;
const workerErrors: string[] = [];

beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    nodes.push({
      port: await freePort(),
      busPort: await freePort(),
      dir: mkdtempSync(path.join(tmpdir(), 'reel-cluster-')),
    });
  }
  for (const node of nodes) startNode(node);
  // A port found free can be taken by another test process before redis-server binds it: a node
  // whose server exited starts again on new ports. Under a loaded CI machine start-up is slow too.
  await until(
    'three redis-servers',
    async () => {
      for (const node of nodes) {
        if (node.child && node.child.exitCode === null && node.child.signalCode === null) continue;
        node.port = await freePort();
        node.busPort = await freePort();
        startNode(node);
      }
      try {
        return nodes.every((n) => cli(n, 'ping').trim() === 'PONG') ? true : undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
  );
  execFileSync(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { stdio: 'ignore', timeout: 20_000 },
  );
  await untilState(nodes, 'ok', 'cluster_state:ok on every node');

  setup = await realSetup({ REEL_REDIS_URL: nodes.map((n) => `redis://127.0.0.1:${n.port}`).join(',') });
  config = setup.config;
  prefixSlot = Number(cli(nodes[0]!, 'cluster', 'keyslot', `${config.queuePrefix}:reel`).trim());
  const slots = JSON.parse(
    execFileSync('redis-cli', ['-p', String(nodes[0]!.port), '--json', 'cluster', 'slots']).toString(),
  ) as [number, number, [string, number]][];
  const ownerPort = slots.find(([from, to]) => prefixSlot >= from && prefixSlot <= to)?.[2][1];
  owner = nodes.find((n) => n.port === ownerPort)!;
  other = nodes.find((n) => n !== owner)!;

  pipeline = await openPipeline(config);
  worker = await startPipelineWorker(config, createLogger({ level: 'silent', name: 'test' }));
  for (const w of worker.runtime.workers) w.on('error', (error) => workerErrors.push(error.message));
}, 60_000);

afterAll(async () => {
  try {
    // Bounded: after a failed test the cluster may be down, and closing must not keep the nodes alive.
    const close = (async () => {
      await worker?.close(5_000);
      await pipeline?.close();
    })();
    await Promise.race([close, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  } finally {
    for (const node of nodes) {
      killNode(node);
      rmSync(node.dir, { recursive: true, force: true });
    }
    if (setup) rmSync(setup.root, { recursive: true, force: true });
  }
});

async function submit(files: string[]) {
  return pipeline.service.submit({
    tenant: 't',
    model: await pipeline.activeModel(),
    files: files.map((p) => ({ path: p })),
  });
}

/** The batch once finished; a batch that does not finish fails with what it and the queues hold. */
async function finished(batchId: string) {
  try {
    return await until(
      `batch ${batchId} to finish`,
      async () => {
        const status = await pipeline.progress.get(batchId);
        return status?.finishedAt !== undefined ? status : undefined;
      },
      90_000,
    );
  } catch (error) {
    const status = await pipeline.progress.get(batchId).catch(() => undefined);
    const paused = worker.runtime.workers.filter((w) => w.isPaused()).map((w) => w.name);
    const running = worker.runtime.workers.filter((w) => w.isRunning()).map((w) => w.name);
    const parent = await pipeline.queues.batch
      .getJob(jobId.batch(batchId))
      .then((job) => job?.getState())
      .catch((e: Error) => e.message);
    const queues: Record<string, unknown> = {};
    for (const [name, queue] of Object.entries(pipeline.queues))
      queues[name] = await queue.getJobCounts().catch((e: Error) => e.message);
    throw new Error(
      `${(error as Error).message}: counts ${JSON.stringify(status?.counts)}, paused workers [${paused.join(', ')}], running workers [${running.join(', ')}], finish-batch job ${parent}, queues ${JSON.stringify(queues)}`,
    );
  }
}

/** Submits and reports how it ended and how long it took (never hangs: the test fails on a timeout). */
async function timedSubmit(file: string): Promise<{ ms: number; error?: string }> {
  const started = Date.now();
  try {
    await submit([file]);
    return { ms: Date.now() - started };
  } catch (error) {
    return { ms: Date.now() - started, error: (error as Error).message };
  }
}

describe('Redis Cluster: 3 masters of redis-server, no replicas', () => {
  it('connects as a cluster client; doctor reports the state, the nodes and the master serving reel', async () => {
    expect(config.redisCluster).toBe(true);
    expect(pipeline.redis).toBeInstanceOf(Cluster);
    const check = await checkRedis(config.redisUrl, 3_000, { cluster: true, prefix: config.queuePrefix });
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(check.cluster?.state).toBe('ok');
    expect(check.cluster?.nodes.filter((n) => n.role === 'master' && n.slots.length > 0)).toHaveLength(3);
    expect(check.cluster?.prefixSlot).toMatchObject({
      slot: prefixSlot,
      node: { address: `127.0.0.1:${owner.port}` },
    });
    // One seed is enough; a standalone config pointed at a cluster node is refused with the fix.
    const oneSeed = `redis://127.0.0.1:${other.port}`;
    expect((await checkRedis(oneSeed, 3_000, { cluster: true })).ok).toBe(true);
    const standalone = await checkRedis(oneSeed);
    expect(standalone.ok).toBe(false);
    if (!standalone.ok) expect(standalone.problem).toContain('set REEL_REDIS_CLUSTER=true');
  });

  it('runs a batch: every video indexed and searchable, every reel key on the prefix slot', async () => {
    const colours = ['red', 'blue', 'green', 'yellow'];
    const files = colours.map((c) => colourVideo(setup.videos, `${c}.mp4`, c, 1));
    const submitted = await submit(files);
    const status = await finished(submitted.batchId);
    expect(status.counts).toMatchObject({ indexed: 4, failed: 0 });

    const model = await pipeline.searchModel();
    expect(await pipeline.store.countEmbeddings(model.fingerprint, 't')).toBe(4);
    const pool = createInferencePool({ size: 1 });
    const clip = await ClipModel.load(model.dir, { pool });
    try {
      const search = new SearchService({ store: pipeline.store, embedder: clip });
      const red = status.videos.find((v) => v.name.endsWith('red.mp4'))!;
      expect((await search.search('red', { tenant: 't', k: 4 })).results[0]?.videoId).toBe(red.videoId);
    } finally {
      await clip.close();
      await pool.close();
    }

    // BullMQ's keys and reel's own (batch progress, claims, the search-model pointer) all hash to the
    // prefix's slot, so they all live on one master and the other two hold nothing.
    const keys = cli(owner, '--scan', '--pattern', '*').split('\n').filter(Boolean);
    expect(keys.some((k) => k.startsWith(`${config.queuePrefix}:reel:batch:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${config.queuePrefix}:reel:claim:`))).toBe(true);
    expect(keys).toContain(`${config.queuePrefix}:reel:search-model`);
    expect(keys.some((k) => k.startsWith(`${config.queuePrefix}:ingest:`))).toBe(true);
    expect(keys.every((k) => k.startsWith(`${config.queuePrefix}:`))).toBe(true);
    for (const key of keys) expect(await pipeline.redis.cluster('KEYSLOT', key)).toBe(prefixSlot);
    for (const node of nodes.filter((n) => n !== owner)) expect(Number(cli(node, 'dbsize').trim())).toBe(0);
    // (BullMQ's `<queue>:stalled-check` keys expire within seconds: left out of the comparison.)
    const durable = (list: string[]) => list.filter((k) => !k.endsWith(':stalled-check')).sort();
    expect(durable(await scanKeys(pipeline.redis, `${config.queuePrefix}:*`))).toEqual(durable(keys));
  });

  // Its waits add up past the default 60 s on a loaded machine (the cluster agreeing twice, a submit
  // timing out, a batch): hence its own timeout, and the resume in `finally` so that the tests after a
  // failure do not wait on paused workers. (CI runs failed here with every worker's wait for a job
  // pending for 90 s, where BullMQ's watchdog ends a blocked wait within 11 s: the ready-check hang that
  // `createCluster` now avoids.)
  it('losing a master that does not serve reel (full coverage required, the default): CLUSTERDOWN everywhere until it is back', {
    timeout: 180_000,
  }, async () => {
    // A batch waits in the queue (workers paused) while the node is down.
    await Promise.all(worker.runtime.workers.map((w) => w.pause(true)));
    try {
      await outageWhileQueued();
    } finally {
      for (const w of worker.runtime.workers) w.resume();
      if (!other.child) startNode(other);
    }
  });

  async function outageWhileQueued(): Promise<void> {
    const waiting = await submit([colourVideo(setup.videos, 'queued.mp4', 'purple', 1)]);
    killNode(other);
    const live = nodes.filter((n) => n !== other);
    await untilState(live, 'fail', 'the cluster to agree it has lost a master');
    expect(flagsOf(other, owner)).toContain('fail');

    // Submit fails fast with ioredis's CLUSTERDOWN error (16 retries 100 ms apart), never hangs.
    const attempt = await timedSubmit(colourVideo(setup.videos, 'during.mp4', 'white', 1));
    expect(attempt.error).toMatch(
      /Too many Cluster redirections\. Last error: .*(CLUSTERDOWN|Connection is closed)/,
    );
    expect(attempt.ms).toBeLessThan(10_000);
    const doctor = await checkRedis(config.redisUrl, 3_000, { cluster: true, prefix: config.queuePrefix });
    expect(doctor.ok).toBe(false);
    if (!doctor.ok) expect(doctor.problem).toContain('cluster_state:fail');

    // A client that (re)connects while the cluster is down is connected once it knows the slots: BullMQ
    // awaits connect() to bring back a worker's blocking connection, and with ioredis's cluster ready
    // check that promise never settled (the worker's queue then stopped for good, as a CI run showed).
    const late = createRedisConnection(config.redisUrl, { cluster: true }, { lazyConnect: true });
    late.on('error', () => {});
    try {
      const connected = await Promise.race([
        late.connect().then(() => 'connected'),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000)),
      ]);
      expect(connected).toBe('connected');
      // Its commands fail (ioredis gives up after its redirections) rather than wait for the cluster.
      await expect(late.get(`${config.queuePrefix}:reel:search-model`)).rejects.toThrow(
        /CLUSTERDOWN|Connection is closed/,
      );
    } finally {
      late.disconnect();
    }

    // The worker keeps running through the outage: it reports errors and does not crash or close.
    const errorsBefore = workerErrors.length;
    worker.runtime.workers.map((w) => w.resume());
    await until(
      'the worker to run into the outage',
      async () => (workerErrors.length > errorsBefore ? true : undefined),
      10_000,
    );
    expect(workerErrors.at(-1)).toMatch(/CLUSTERDOWN|Connection is closed/);
    expect(worker.runtime.workers.every((w) => w.isRunning())).toBe(true);

    // The node comes back (empty, but it serves no reel key): the queued batch completes by itself.
    startNode(other);
    await untilState(nodes, 'ok', 'cluster_state:ok again');
    expect((await finished(waiting.batchId)).counts).toMatchObject({ indexed: 1 });
    const after = await submit([colourVideo(setup.videos, 'after-other.mp4', 'orange', 1)]);
    expect((await finished(after.batchId)).counts).toMatchObject({ indexed: 1 });
  }

  it('losing a master that does not serve reel with cluster-require-full-coverage no: reel does not notice', {
    timeout: 120_000,
  }, async () => {
    for (const node of nodes) cli(node, 'config', 'set', 'cluster-require-full-coverage', 'no');
    const errorsBefore = workerErrors.length;
    killNode(other);
    try {
      await until('the cluster to flag the node as failed', async () =>
        flagsOf(other, owner).includes('fail') && !flagsOf(other, owner).includes('fail?') ? true : undefined,
      );
      expect(clusterState(owner)).toBe('ok');
      const during = await submit([colourVideo(setup.videos, 'partial.mp4', 'navy', 1)]);
      expect((await finished(during.batchId)).counts).toMatchObject({ indexed: 1 });
      expect(workerErrors.length).toBe(errorsBefore);
    } finally {
      startNode(other);
      await untilState(nodes, 'ok', 'cluster_state:ok again');
      for (const node of nodes) cli(node, 'config', 'set', 'cluster-require-full-coverage', 'yes');
    }
  });

  it('losing the master that serves reel: submit fails fast, the worker survives, and without a replica or AOF every queue is lost', {
    timeout: 120_000,
  }, async () => {
    const before = await submit([colourVideo(setup.videos, 'before.mp4', 'teal', 1)]);
    await finished(before.batchId);
    killNode(owner);

    // At once, before the cluster even agrees the node is gone: the slot's master does not answer (the
    // last error is the closed connection, or the MOVED to it another node answers).
    const attempt = await timedSubmit(colourVideo(setup.videos, 'lost.mp4', 'maroon', 1));
    expect(attempt.error).toMatch(
      /Too many Cluster redirections\. Last error: .*(CLUSTERDOWN|Connection is closed|MOVED \d+ 127\.0\.0\.1:\d+)/,
    );
    expect(attempt.ms).toBeLessThan(10_000);
    const live = nodes.filter((n) => n !== owner);
    await untilState(live, 'fail', 'the cluster to agree it has lost a master');
    const doctor = await checkRedis(config.redisUrl, 3_000, { cluster: true, prefix: config.queuePrefix });
    expect(doctor.ok).toBe(false);
    expect(worker.runtime.workers.every((w) => w.isRunning())).toBe(true);

    // It comes back empty (no replica took over, nothing persisted): the cluster is ok again and the same
    // worker takes new batches, but every earlier batch, claim and the search-model pointer are gone.
    startNode(owner);
    await untilState(nodes, 'ok', 'cluster_state:ok again');
    expect(Number(cli(owner, 'dbsize').trim())).toBe(0);
    await expect(pipeline.waitForBatch(before.batchId)).rejects.toSatisfy((e) =>
      isReelError(e, 'BATCH_NOT_FOUND'),
    );
    const after = await submit([colourVideo(setup.videos, 'after-owner.mp4', 'olive', 1)]);
    expect((await finished(after.batchId)).counts).toMatchObject({ indexed: 1 });
  });
});
