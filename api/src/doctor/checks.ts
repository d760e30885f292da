/**
 * `reel doctor`'s checks. Each one tests a single thing reel needs and, when it fails, says the exact
 * command that fixes it. The checks take what they test as arguments (config, probes), so tests can point
 * them at a dead Redis port or a PATH without ffmpeg.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ReelConfig } from '@reel/infra';
import { binaryVersion } from '@reel/ingest';
import { checkOnnxRuntime, DEFAULT_MODEL_ID, inspectModelFolder, resolveActiveModel } from '@reel/models';
import { checkRedis, describeClusterNodes } from '@reel/workers';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found: a version, a path, or what is wrong. */
  detail: string;
  /** The command (or setting) that fixes a failure. */
  fix?: string;
}

export const MIN_NODE_MAJOR = 24;

export const FIXES = {
  // In the clone, npm ci installed Node 24 as the `node` dev dependency: npm and npx put it first on PATH.
  node: 'run reel as `npx reel …` inside the reel folder (after npm ci it runs on the node dev dependency, Node 24), or install Node 24: npm install --prefix ~/.reel-node node@24 && export PATH="$HOME/.reel-node/node_modules/.bin:$PATH"',
  ffmpeg: 'apt-get update && apt-get install -y ffmpeg   (or set REEL_FFMPEG_PATH / REEL_FFPROBE_PATH)',
  redisOld: 'upgrade Redis to 6.2 or newer (Debian 12: apt-get install -y redis-server)',
  redisCluster:
    'redis-cli -h <node> -p <port> cluster info   (bring back the failing node or promote its replica; see workers/README.md "Redis Cluster")',
  redisClusterMode:
    'export REEL_REDIS_CLUSTER=true   (or list every node in REEL_REDIS_URL, comma-separated)',
  onnxruntime: 'npm ci   (reinstall onnxruntime-node; .npmrc keeps onnxruntime-node-install=skip)',
} as const;

/**
 * How to get the Redis at `url` answering: on this machine, the redis-server command for its port (and
 * its password, when the URL has one); elsewhere, start it there. Either way REEL_REDIS_URL can point
 * at another.
 */
export function redisFix(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const host = parsed?.hostname.replace(/^\[|\]$/g, '') ?? '';
  const port = parsed?.port || '6379';
  if (parsed && ['127.0.0.1', 'localhost', '::1', ''].includes(host)) {
    const password = parsed.password ? ` --requirepass '<the password in REEL_REDIS_URL>'` : '';
    return `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port ${port} --save "" --appendonly no${password}   (or set REEL_REDIS_URL)`;
  }
  return `start Redis on ${host || url}:${port}, or set REEL_REDIS_URL to one that runs`;
}

export function checkNode(version = process.versions.node): CheckResult {
  const major = Number(version.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? { name: 'node', ok: true, detail: `v${version}` }
    : {
        name: 'node',
        ok: false,
        detail: `v${version} is too old: reel needs Node.js ${MIN_NODE_MAJOR} LTS`,
        fix: FIXES.node,
      };
}

export async function checkBinary(name: 'ffmpeg' | 'ffprobe', binary: string): Promise<CheckResult> {
  const result = await binaryVersion(binary);
  return result.ok
    ? { name, ok: true, detail: `${result.version} (${binary})` }
    : { name, ok: false, detail: result.problem, fix: FIXES.ffmpeg };
}

/**
 * Redis answers and is new enough; for a Redis Cluster (`cluster`), also its state, its nodes and the
 * master that serves reel's one slot (the queue prefix's hash tag).
 */
export async function checkRedisServer(
  url: string,
  mode: { cluster?: boolean; prefix?: string } = {},
): Promise<CheckResult> {
  const result = await checkRedis(url, 3_000, mode);
  if (result.ok) {
    const cluster = result.cluster;
    if (!cluster) return { name: 'redis', ok: true, detail: `Redis ${result.version} at ${result.url}` };
    const slot = cluster.prefixSlot;
    const replicas = cluster.nodes.filter((n) => n.role === 'replica').length;
    return {
      name: 'redis',
      ok: true,
      detail: `Redis ${result.version} Cluster at ${result.url}: cluster_state:${cluster.state}, ${describeClusterNodes(cluster.nodes)}${slot ? `; reel's keys on slot ${slot.slot} at ${slot.node?.address}` : ''}${replicas === 0 ? ' (no replicas: a lost master stops the queues; see workers/README.md "Redis Cluster")' : ''}`,
    };
  }
  const fix = result.problem.includes('too old')
    ? FIXES.redisOld
    : result.problem.includes('is a Redis Cluster node')
      ? FIXES.redisClusterMode
      : mode.cluster || url.includes(',')
        ? FIXES.redisCluster
        : redisFix(url);
  return { name: 'redis', ok: false, detail: result.problem, fix };
}

/** The data folder exists (or can be made) and a file can be written and removed in it. */
export function checkDataDir(dataDir: string): CheckResult {
  const probe = path.join(dataDir, `.doctor-${randomUUID()}`);
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(probe, 'ok');
    rmSync(probe);
    return { name: 'data dir', ok: true, detail: `${dataDir} is writable` };
  } catch (error) {
    return {
      name: 'data dir',
      ok: false,
      detail: `${dataDir} is not writable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      fix: `mkdir -p '${dataDir}' && chown "$(id -u)" '${dataDir}'   (or set REEL_DATA_DIR)`,
    };
  }
}

/**
 * The active model's folder is present and has every file its layout needs; which precision each
 * encoder runs at, and why. Fails when a precision setting asks for int8 that is not there.
 */
export function checkModel(config: ReelConfig): CheckResult {
  const active = resolveActiveModel(config.model, config.paths.models, {
    image: config.imagePrecision,
    text: config.textPrecision,
  });
  const report = inspectModelFolder(active.dir);
  const from = `from ${active.source}`;
  const { image, text } = active.precision;
  const precision = `image ${image.precision} (${image.reason}), text ${text.precision} (${text.reason})`;
  if (report.ok) {
    const unmet = image.unmet || text.unmet;
    return {
      name: 'model',
      ok: !unmet,
      detail: `${active.name} (${from}; ${report.layout} layout, ${active.dir === active.configuredDir ? report.variant : 'int8 copy'}) at ${active.dir}; ${precision}`,
      ...(unmet
        ? {
            fix: `npx reel models quantize ${path.basename(active.configuredDir)}   (or set REEL_IMAGE_PRECISION / REEL_TEXT_PRECISION to auto or fp32)`,
          }
        : {}),
    };
  }
  const fix =
    active.name === DEFAULT_MODEL_ID
      ? 'npx reel models synth   (writes the small synthetic model used by the demo and tests)'
      : 'npx reel models pull <hub repo>   (or npx reel models use <installed id>, or set REEL_MODEL to a complete model folder)';
  return { name: 'model', ok: false, detail: `${active.name} (${from}): ${report.problem}`, fix };
}

export async function checkRuntime(): Promise<CheckResult> {
  const result = await checkOnnxRuntime();
  return result.ok
    ? { name: 'onnxruntime', ok: true, detail: `onnxruntime-node ${result.version} runs on the CPU` }
    : { name: 'onnxruntime', ok: false, detail: result.problem, fix: FIXES.onnxruntime };
}

/** Every check, in the order a person would fix them. */
export async function runChecks(config: ReelConfig): Promise<CheckResult[]> {
  const [ffmpeg, ffprobe, redis, runtime] = await Promise.all([
    checkBinary('ffmpeg', config.ffmpegPath),
    checkBinary('ffprobe', config.ffprobePath),
    checkRedisServer(config.redisUrl, { cluster: config.redisCluster, prefix: config.queuePrefix }),
    checkRuntime(),
  ]);
  return [
    checkNode(),
    ffmpeg,
    ffprobe,
    redis,
    checkDataDir(config.paths.dataDir),
    checkModel(config),
    runtime,
  ];
}
