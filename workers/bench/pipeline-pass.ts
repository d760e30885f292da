/**
 * One timed pipeline pass in a process of its own, for decode-floor.bench.ts: it runs old and new code
 * side by side by starting this script with either tree's own `node_modules/.bin/node` (the baseline
 * worktree gets a copy of this file and of cpu-usage.ts, so it must only use what both versions have:
 * loadConfig, createLogger, startPipelineWorker, the pipeline's searchModel and service.submit/status).
 *
 *   node workers/bench/pipeline-pass.ts '<PassSpec as JSON>'
 *
 * Starts a worker as ingest.bench.ts does (loadConfig from the spec's env, default concurrency, the
 * crons that never fire), indexes the warm-up video (model load, first LanceDB table; not counted),
 * then submits the files as one batch and waits for it, with CPU snapshots of this process around it
 * (submit → batch finished): its threads by name and its reaped ffmpeg/ffprobe children. Prints one line
 * of JSON ({@link PassOutput}) on stdout and exits; logs of level warn and above go to stderr. The data
 * folder and Redis keys are the caller's to remove.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, loadConfig } from '@reel/infra';
import type { BatchStatus } from '../src/batch-progress.ts';
import { type RunningWorker, startPipelineWorker } from '../src/pipeline.ts';
import { cpuBetween, snapshot, type ThreadGroup } from './cpu-usage.ts';

export interface PassSpec {
  /** Names the pass in errors and progress lines. */
  label: string;
  files: string[];
  /** Indexed first, not counted. */
  warmupFile: string;
  /** The bench model's folder: linked into `<dataDir>/models/` and made the active model by its id. */
  modelDir: string;
  /** REEL_DATA_DIR of this pass (made if absent). */
  dataDir: string;
  queuePrefix: string;
  /** Settings on top of the pass's own (e.g. REEL_SAMPLING_PRECISION). */
  env: Record<string, string>;
  /** The batch must finish within this, ms. */
  timeoutMs: number;
}

/** A video's stage spans as the batch status gives them (epoch ms). */
export type StageSpans = Record<string, { startedAt?: number; endedAt?: number } | undefined>;

export interface PassOutput {
  label: string;
  videos: number;
  /** Submit → batch finished, s. */
  wallSeconds: number;
  /** Enqueued (files hashed) → batch finished, s. */
  fromEnqueueSeconds: number;
  /** Hashing the files inside submit, s. */
  submitSeconds: number;
  workerStartSeconds: number;
  warmupSeconds: number;
  /** Submit → finished seen: CPU of this process by thread group, of its children, of other processes. */
  cpu: {
    wallSeconds: number;
    processSeconds: number;
    childrenSeconds: number;
    groups: Record<ThreadGroup, number>;
    otherNames: Record<string, number>;
    unattributed: number;
    foreignSeconds: number;
  };
  stages: StageSpans[];
  /**
   * Per video, how it was sampled where the batch status says (`precision/plan`, `+N redecoded`);
   * undefined for versions whose status has no `sampling`.
   */
  sampling: (string | undefined)[];
  concurrency: { ingest: number; embed: number; index: number };
  /** The worker's "active model" log line. */
  activeModel: string;
  /** What this version's config made of REEL_SAMPLING_PRECISION (undefined: not a setting there). */
  samplingPrecision?: string;
  node: string;
}

/** A cron pattern that never fires during a run: no sweep or upkeep job competes for the cores. */
const NEVER = '0 0 1 1 *';

async function finished(
  service: RunningWorker['pipeline']['service'],
  batchId: string,
  label: string,
  timeoutMs: number,
): Promise<BatchStatus> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  for (;;) {
    const status = await service.status(batchId);
    if (status?.finishedAt !== undefined) return status;
    if (Date.now() > deadline) {
      throw new Error(
        `${label}: batch ${batchId} did not finish within ${timeoutMs / 1000} s (${status?.done ?? 0}/${status?.total ?? '?'} done)`,
      );
    }
    if (Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      process.stderr.write(`    ${label}: ${status?.done ?? 0}/${status?.total ?? '?'} done\n`);
    }
    await sleep(250);
  }
}

async function run(spec: PassSpec): Promise<PassOutput> {
  const modelId = path.basename(spec.modelDir);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    REEL_DATA_DIR: spec.dataDir,
    REEL_QUEUE_PREFIX: spec.queuePrefix,
    REEL_MODEL: modelId,
    REEL_IMAGE_PRECISION: 'fp32',
    REEL_TEXT_PRECISION: 'fp32',
    REEL_LOG_LEVEL: 'warn',
    REEL_SWEEP_CRON: NEVER,
    REEL_UPKEEP_CRON: NEVER,
    ...(process.env.REEL_REDIS_URL ? { REEL_REDIS_URL: process.env.REEL_REDIS_URL } : {}),
    // An encoder setting to compare, given to the bench (older trees ignore it).
    ...(process.env.REEL_ENCODER_THREADS ? { REEL_ENCODER_THREADS: process.env.REEL_ENCODER_THREADS } : {}),
    ...spec.env,
  };
  const config = loadConfig(env, spec.dataDir);
  mkdirSync(config.paths.models, { recursive: true });
  symlinkSync(spec.modelDir, path.join(config.paths.models, modelId));
  const activeLines: { msg: string; image?: { precision?: string } }[] = [];
  const logger = createLogger({
    level: 'info',
    name: 'bench',
    destination: {
      write(line: string) {
        const entry = JSON.parse(line) as { level: number; msg: string; image?: { precision?: string } };
        if (entry.msg.startsWith('active model')) activeLines.push(entry);
        if (entry.level >= 40) process.stderr.write(line);
      },
    },
  });
  const startedWorker = performance.now();
  const worker = await startPipelineWorker(config, logger);
  try {
    const workerStartSeconds = (performance.now() - startedWorker) / 1000;
    const { pipeline } = worker;
    const active = activeLines[0];
    if (active?.image?.precision !== 'fp32') {
      throw new Error(
        `${spec.label}: the worker runs its image encoder at ${active?.image?.precision ?? '(no "active model" log line)'}, not fp32`,
      );
    }
    const model = await pipeline.searchModel();
    const warmStart = performance.now();
    const warm = await pipeline.service.submit({
      tenant: 'warmup',
      model,
      files: [{ path: spec.warmupFile }],
    });
    const warmStatus = await finished(
      pipeline.service,
      warm.batchId,
      `${spec.label} warm-up`,
      spec.timeoutMs,
    );
    if (warmStatus.counts.indexed !== 1) {
      throw new Error(`${spec.label}: warm-up video not indexed: ${JSON.stringify(warmStatus.videos)}`);
    }
    const warmupSeconds = (performance.now() - warmStart) / 1000;

    const before = snapshot();
    const startEpoch = Date.now();
    const submitted = await pipeline.service.submit({
      tenant: 'bench',
      model,
      files: spec.files.map((file) => ({ path: file })),
    });
    const submitSeconds = (Date.now() - startEpoch) / 1000;
    const status = await finished(pipeline.service, submitted.batchId, spec.label, spec.timeoutMs);
    const cpu = cpuBetween(before, snapshot());
    if (status.counts.indexed !== spec.files.length) {
      const failed = status.videos
        .filter((v) => v.status !== 'indexed')
        .map((v) => `${v.name}: ${v.status} ${v.code ?? ''}`);
      throw new Error(
        `${spec.label}: ${status.counts.indexed}/${spec.files.length} videos indexed; others: ${failed.join('; ')}`,
      );
    }
    const samplingPrecision = (config as unknown as Record<string, unknown>).samplingPrecision;
    return {
      label: spec.label,
      videos: spec.files.length,
      wallSeconds: (status.finishedAt! - startEpoch) / 1000,
      fromEnqueueSeconds: (status.finishedAt! - status.createdAt) / 1000,
      submitSeconds,
      workerStartSeconds,
      warmupSeconds,
      cpu: { ...cpu, otherNames: Object.fromEntries(cpu.otherNames) },
      stages: status.videos.map((video) => (video.stages ?? {}) as StageSpans),
      sampling: status.videos.map((video) => {
        const sampling = (video as { sampling?: { precision?: string; plan?: string; redecoded?: number } })
          .sampling;
        if (sampling === undefined) return undefined;
        return `${sampling.precision}/${sampling.plan}${sampling.redecoded ? ` +${sampling.redecoded} redecoded` : ''}`;
      }),
      concurrency: {
        ingest: config.ingestConcurrency,
        embed: config.embedConcurrency,
        index: config.indexConcurrency,
      },
      activeModel: active.msg,
      ...(typeof samplingPrecision === 'string' ? { samplingPrecision } : {}),
      node: process.version,
    };
  } finally {
    await worker.close(60_000);
  }
}

const spec = JSON.parse(process.argv[2] ?? '') as PassSpec;
try {
  const output = await run(spec);
  await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(output)}\n`, () => resolve()));
  process.exit(0);
} catch (error) {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
