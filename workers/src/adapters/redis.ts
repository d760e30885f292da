/**
 * Redis connections for reel. BullMQ needs Redis 6.2 or newer and connections that retry forever
 * (`maxRetriesPerRequest: null`) so workers ride out a Redis restart; a one-shot health check wants the
 * opposite: fail fast, never retry.
 *
 * The URL is one `redis://` (or `rediss://`) URL, or a comma-separated list of them: the seed nodes of a
 * Redis Cluster. In cluster mode (a list, or `cluster: true` with one seed) the client is an ioredis
 * `Cluster`; every reel key starts with the queue prefix, whose `{hash tag}` puts all of them on one slot
 * (config refuses a cluster without one), so BullMQ's multi-key scripts and reel's own work unchanged.
 */
import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';

/** Oldest Redis that BullMQ supports. */
export const MIN_REDIS_VERSION = '6.2.0';

/** A connection to one Redis or to a Redis Cluster; both take the same commands. */
export type RedisClient = Redis | Cluster;

export interface ConnectionMode {
  /** Connect as a Redis Cluster client even when the URL names one seed node. */
  cluster?: boolean;
}

/** The node URLs in a comma-separated Redis URL (one for a single Redis). */
export function redisNodeUrls(url: string): string[] {
  return url
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

/** True when `url` (with `mode`) means a Redis Cluster: a list of nodes, or cluster mode forced. */
export function isClusterUrl(url: string, mode: ConnectionMode = {}): boolean {
  return mode.cluster === true || redisNodeUrls(url).length > 1;
}

/** host and port of a node URL, for ioredis `Cluster`'s startup nodes. */
function seedOf(url: URL): ClusterNode {
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 6379) };
}

/** What every node connection of a cluster shares: credentials and TLS, from the first URL. */
function nodeOptions(url: URL): RedisOptions {
  return {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** An ioredis `Cluster` seeded from the node URLs (credentials and TLS from the first one). */
function createCluster(urls: string[], redisOptions: RedisOptions): Cluster {
  const parsed = urls.map((one) => new URL(one));
  const first = parsed[0];
  if (!first) throw new Error('a Redis Cluster needs at least one node URL');
  return new Cluster(parsed.map(seedOf), {
    // No cluster-level ready check: ioredis 6 runs it after each (re)connect and, when it finds
    // cluster_state:fail, reconnects without ever settling the promise `connect()` returned. BullMQ
    // awaits that promise to bring back a worker's blocking connection, so a worker that reconnected
    // while the cluster was down waited forever, and its queue stopped. Without the check the client is
    // ready once it knows the slots, and commands on a failed cluster get CLUSTERDOWN, which ioredis
    // retries and BullMQ rides out.
    enableReadyCheck: false,
    // A caller that connects by itself means the cluster client, not only its node connections.
    ...(redisOptions.lazyConnect ? { lazyConnect: true } : {}),
    redisOptions: { ...nodeOptions(first), ...redisOptions },
  });
}

/**
 * A long-lived connection for BullMQ queues and workers: reconnects by itself after Redis restarts. A
 * list of node URLs (or `mode.cluster`) gives a Redis Cluster client, which BullMQ takes as it is.
 */
export function createRedisConnection(
  url: string,
  mode: ConnectionMode = {},
  options: RedisOptions = {},
): RedisClient {
  const redisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, ...options };
  if (isClusterUrl(url, mode)) return createCluster(redisNodeUrls(url), redisOptions);
  return new Redis(url, redisOptions);
}

/**
 * Every key matching `pattern` (SCAN, never KEYS), on every master of a cluster. For tests, tools and
 * clean-ups, not for request paths.
 */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const keys: string[] = [];
  for (const node of nodes) {
    for await (const batch of node.scanStream({ match: pattern, count: 1000 }))
      keys.push(...(batch as string[]));
  }
  return keys;
}

export type RedisCheck =
  | { ok: true; url: string; version: string; cluster?: ClusterCheck }
  | { ok: false; url: string; problem: string };

/** One node of a Redis Cluster as CLUSTER NODES describes it. */
export interface ClusterNodeInfo {
  address: string;
  role: 'master' | 'replica';
  /** Flagged `fail` (the cluster agreed) or `fail?` (this node cannot reach it). */
  failing: boolean;
  /** Slot ranges it serves, inclusive. */
  slots: [number, number][];
}

/** What `reel doctor` shows of a Redis Cluster. */
export interface ClusterCheck {
  /** `cluster_state` from CLUSTER INFO: `ok`, or `fail` when some slot has no master that answers. */
  state: string;
  nodes: ClusterNodeInfo[];
  /** The slot every reel key is on (from the queue prefix's hash tag) and the master serving it. */
  prefixSlot?: { slot: number; node?: ClusterNodeInfo };
}

/** Parses CLUSTER NODES (one line per node: id, address, flags, master, pings, epoch, link, slots…). */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  const nodes: ClusterNodeInfo[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    if (fields.length < 8) continue;
    const flags = (fields[2] ?? '').split(',');
    const slots: [number, number][] = [];
    for (const range of fields.slice(8)) {
      if (range.startsWith('[')) continue; // a slot being migrated or imported
      const [from, to] = range.split('-').map(Number);
      if (from !== undefined && Number.isInteger(from)) slots.push([from, to ?? from]);
    }
    nodes.push({
      address: (fields[1] ?? '').split('@')[0] ?? '',
      role: flags.includes('master') ? 'master' : 'replica',
      failing: flags.includes('fail') || flags.includes('fail?'),
      slots,
    });
  }
  return nodes;
}

/** "3 masters, 0 replicas, 1 failing" */
export function describeClusterNodes(nodes: ClusterNodeInfo[]): string {
  const masters = nodes.filter((n) => n.role === 'master' && n.slots.length > 0).length;
  const replicas = nodes.filter((n) => n.role === 'replica').length;
  const failing = nodes.filter((n) => n.failing).map((n) => n.address);
  return `${masters} masters, ${replicas} replicas, ${failing.length > 0 ? `failing: ${failing.join(' ')}` : 'none failing'}`;
}

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

/** Strips credentials from a Redis URL (or from each URL of a comma-separated list) so it can be printed. */
export function redactUrl(url: string): string {
  if (url.includes(',')) return redisNodeUrls(url).map(redactUrl).join(',');
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Connects once, reads the server version, and checks it is new enough for BullMQ. Never retries. */
export async function checkRedis(
  url: string,
  timeoutMs = 3_000,
  mode: ConnectionMode & { prefix?: string } = {},
): Promise<RedisCheck> {
  const shown = redactUrl(url);
  const cluster = isClusterUrl(url, mode);
  const failFast = {
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  };
  // One node answers the version and whether it is a cluster node; in cluster mode, the seeds are tried
  // in turn until one answers.
  const seeds = cluster ? redisNodeUrls(url) : [url];
  const problems: { seed: string; message: string }[] = [];
  for (const seed of seeds) {
    const redis = new Redis(seed, { lazyConnect: true, ...failFast });
    redis.on('error', () => {}); // reported through the rejected connect() below
    try {
      await redis.connect();
      const info = await redis.info();
      const version = /redis_version:(\S+)/.exec(info)?.[1];
      if (!version)
        return { ok: false, url: shown, problem: `${shown} answered but did not report a version` };
      if (compareVersions(version, MIN_REDIS_VERSION) < 0) {
        return {
          ok: false,
          url: shown,
          problem: `Redis ${version} at ${shown} is too old: BullMQ needs ${MIN_REDIS_VERSION} or newer`,
        };
      }
      const clusterEnabled = /cluster_enabled:1/.test(info);
      if (!cluster && clusterEnabled) {
        return {
          ok: false,
          url: shown,
          problem: `Redis at ${shown} is a Redis Cluster node: set REEL_REDIS_CLUSTER=true (or list the nodes in REEL_REDIS_URL) and a {hash tag} prefix`,
        };
      }
      if (!cluster) return { ok: true, url: shown, version };
      if (!clusterEnabled) {
        return {
          ok: false,
          url: shown,
          problem: `Redis at ${redactUrl(seed)} is not a cluster node (cluster_enabled:0): drop REEL_REDIS_CLUSTER, or point REEL_REDIS_URL at the cluster`,
        };
      }
      const state = /cluster_state:(\S+)/.exec((await redis.cluster('INFO')) as string)?.[1] ?? 'unknown';
      const nodes = parseClusterNodes((await redis.cluster('NODES')) as string);
      const check: ClusterCheck = { state, nodes };
      if (state !== 'ok') {
        return {
          ok: false,
          url: shown,
          problem: `Redis Cluster at ${shown} reports cluster_state:${state} (${describeClusterNodes(nodes)}): every command answers CLUSTERDOWN until each slot has a master that answers`,
        };
      }
      if (mode.prefix) {
        const slot = (await redis.cluster('KEYSLOT', `${mode.prefix}:reel`)) as number;
        const node = nodes.find(
          (n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b),
        );
        check.prefixSlot = { slot, ...(node ? { node } : {}) };
        if (!node || node.failing) {
          return {
            ok: false,
            url: shown,
            problem: `the master serving reel's slot ${slot} (${node?.address ?? 'none'}) is failing (${describeClusterNodes(nodes)}): queues stop until it, or a replica promoted in its place, answers`,
          };
        }
      }
      return { ok: true, url: shown, version, cluster: check };
    } catch (error) {
      problems.push({ seed, message: (error as Error).message });
    } finally {
      redis.disconnect();
    }
  }
  if (!cluster)
    return { ok: false, url: shown, problem: `cannot reach Redis at ${shown}: ${problems[0]?.message}` };
  return {
    ok: false,
    url: shown,
    problem: `cannot reach any Redis Cluster node of ${shown}: ${problems.map((p) => `${redactUrl(p.seed)}: ${p.message}`).join('; ')}`,
  };
}
