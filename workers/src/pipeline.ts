/**
 * The composition root of the pipeline: builds the real dependencies (Redis, LanceDB, ffmpeg through
 * @reel/ingest, onnxruntime through @reel/models) from config, for the CLI, the API and tests that run
 * everything for real. Nothing else in workers constructs adapters.
 */

import { availableParallelism } from 'node:os';
import path from 'node:path';
import { type IndexStore, LanceIndexStore, loadXPoolHead, type XPoolHead } from '@reel/index';
import { createLogger, type Logger, type ReelConfig, ReelError } from '@reel/infra';
import type { FrameGeometry } from '@reel/ingest';
import {
  createInferencePool,
  DEFAULT_MODEL_ID,
  ImagePreprocessor,
  type InferencePool,
  inspectModelFolder,
  loadPreprocessConfig,
  modelFiles,
  modelFingerprint,
  resolveActiveModel,
  videoFrameGeometry,
} from '@reel/models';
import { FlowProducer, Queue } from 'bullmq';
import { ClaimStore } from './adapters/claim-store.ts';
import { ClipEmbedders } from './adapters/clip-embedders.ts';
import { FrameSpool } from './adapters/frame-spool.ts';
import { IndexCatalog } from './adapters/index-catalog.ts';
import { IngestSampler } from './adapters/ingest-sampler.ts';
import { JobQueue } from './adapters/job-queue.ts';
import { createRedisConnection, type RedisClient } from './adapters/redis.ts';
import type { ObjectStorage } from './adapters/storage/object-storage.ts';
import { lanceConnection, openStorage } from './adapters/storage/open-storage.ts';
import { UrlFetcher } from './adapters/url-fetcher.ts';
import { VideoFiles } from './adapters/video-files.ts';
import { WebhookSender } from './adapters/webhook-sender.ts';
import { WebhookStore } from './adapters/webhook-store.ts';
import { BatchProgress, type BatchStatus } from './batch-progress.ts';
import { type ModelRef, QueueName } from './jobs.ts';
import { checkModelDir } from './model-dirs.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import type { RecoveryOptions } from './queue-options.ts';
import { SearchModelPointer } from './search-model.ts';
import { BatchService } from './services/batch.service.ts';
import { CaptionService } from './services/caption.service.ts';
import { ReindexService } from './services/reindex.service.ts';
import { StatusService } from './services/status.service.ts';
import { UploadService } from './services/upload.service.ts';
import { VideoService } from './services/video.service.ts';
import { WebhookService } from './services/webhook.service.ts';
import { startWorkers, type WorkerRuntime } from './worker-runtime.ts';

export interface Pipeline {
  config: ReelConfig;
  /** One Redis, or a Redis Cluster client (`REEL_REDIS_CLUSTER`, or a list of nodes in `REEL_REDIS_URL`). */
  redis: RedisClient;
  store: IndexStore;
  /** Where videos and thumbnails are stored: the data folder, or a bucket (`REEL_STORAGE`). */
  storage: ObjectStorage;
  progress: BatchProgress;
  service: BatchService;
  /** Uploads streamed into storage and submitted (the API's multipart route, any other front door). */
  uploads: UploadService;
  /** Who does the work for which content (Redis). */
  claims: ClaimStore;
  catalog: IndexCatalog;
  /** BullMQ's queues, for the workers that run them and for bull-board; services use `jobs`. */
  queues: Record<QueueName, Queue>;
  /** The queues as the services see them. */
  jobs: JobQueue;
  pointer: SearchModelPointer;
  reindex: ReindexService;
  /** Webhook endpoints, events and deliveries. */
  webhooks: WebhookService;
  /** A tenant's videos: read, listed, streamed, their thumbnails, deleted (index rows, files, claims). */
  videos: VideoService;
  /** A video's caption tracks: read at ingest, attached, listed, served as WebVTT. */
  captions: CaptionService;
  /** Counts and connection states for operators (health, metrics, `reel status`). */
  status: StatusService;
  /** The active model's folder and fingerprint (what the index is being brought to). */
  activeModel(): Promise<ModelRef>;
  /**
   * The model searches read and new batches are embedded with: the active model on a fresh install;
   * during a model change, the old one until the backfill switches searches over.
   */
  searchModel(): Promise<ModelRef>;
  /** Polls a batch until it finishes, calling `onProgress` with each status read. */
  waitForBatch(
    batchId: string,
    onProgress?: (status: BatchStatus) => void,
    pollMs?: number,
  ): Promise<BatchStatus>;
  /** Closes everything: waits for Redis at most 5 s, and not at all while it does not answer. */
  close(): Promise<void>;
}

/**
 * How frames are cut for a model, from its folder's preprocessing config (no ONNX is loaded): the side
 * it takes and its own resize (shortest edge and crop, or squash; its interpolation), so the encoder
 * sees video frames as it was trained to see images.
 */
async function frameCut(dir: string, logger: Logger): Promise<{ size: number; geometry?: FrameGeometry }> {
  const report = inspectModelFolder(dir);
  if (!report.ok) throw new ReelError('MODEL_NOT_FOUND', `active model: ${report.problem}`);
  const config = await loadPreprocessConfig(path.join(dir, report.files.preprocess));
  const cut = videoFrameGeometry(config);
  if (!cut) {
    logger.warn(
      { dir },
      `${report.files.preprocess}: a resize ffmpeg cannot cut square (non-square input, or an exact resize then a crop); frames are cut CLIP's way`,
    );
    return { size: new ImagePreprocessor(config).width };
  }
  const { size, ...geometry } = cut;
  return { size, geometry };
}

/** Where frames and embeddings wait between stages. */
function spoolDir(config: ReelConfig): string {
  return path.join(config.paths.tmp, 'spool');
}

async function readHead(config: ReelConfig): Promise<XPoolHead | undefined> {
  return config.xpoolHead ? loadXPoolHead(config.xpoolHead) : undefined;
}

/** Opens everything a process needs to submit batches and read progress (no workers). */
export async function openPipeline(config: ReelConfig, logger?: Logger): Promise<Pipeline> {
  const redis = createRedisConnection(config.redisUrl, { cluster: config.redisCluster });
  // ioredis reconnects by itself; connection errors are logged, never thrown at the process. Every
  // queue's connection reports the same outage on every retry: one line per outage and minute is enough.
  let loggedAt = Number.NEGATIVE_INFINITY;
  const onError = (error: Error) => {
    if (Date.now() - loggedAt < 60_000) return;
    loggedAt = Date.now();
    logger?.warn({ err: error.message }, 'redis connection error (reconnecting; logged once a minute)');
  };
  redis.on('error', onError);
  redis.on('ready', () => {
    loggedAt = Number.NEGATIVE_INFINITY;
  });
  const index = lanceConnection(config);
  const store = await LanceIndexStore.open({
    dir: index.uri,
    ...(index.storageOptions ? { storageOptions: index.storageOptions } : {}),
  });
  const storage = openStorage(config);
  const head = await readHead(config);
  const catalog = new IndexCatalog(store, head ? { xpoolHead: head } : {});
  const progress = new BatchProgress(redis, config.queuePrefix);
  const flows = new FlowProducer({ connection: redis, prefix: config.queuePrefix });
  flows.on('error', onError);
  const queues = Object.fromEntries(
    Object.values(QueueName).map((name) => {
      const queue = new Queue(name, { connection: redis, prefix: config.queuePrefix });
      queue.on('error', onError);
      return [name, queue];
    }),
  ) as Record<QueueName, Queue>;
  const claims = new ClaimStore(redis, config.queuePrefix);
  const jobs = new JobQueue(queues, flows);
  const service = new BatchService({ redis, claims, jobs, progress, catalog });
  const captions = new CaptionService({ index: catalog });
  const uploads = new UploadService({
    storage,
    batches: service,
    captions,
    limits: { maxFileBytes: config.apiMaxUploadBytes, maxRequestBytes: config.apiMaxRequestBytes },
  });
  const pointer = new SearchModelPointer(redis, config.queuePrefix);
  const videos = new VideoService({
    redis,
    library: store,
    storage,
    onRefusedSource: (videoId, reason) =>
      logger?.warn({ videoId, err: reason }, 'refused to open a video source'),
    prefix: config.queuePrefix,
    index: catalog,
    files: new VideoFiles({
      videos: config.paths.videos,
      thumbnails: config.paths.thumbnails,
      spool: spoolDir(config),
      storage,
    }),
    claims,
    progress,
    jobs,
    searchFingerprint: async () => (await pointer.get())?.fingerprint,
  });
  const webhookSender = new WebhookSender({
    timeoutMs: config.webhookTimeoutSeconds * 1000,
    allowPrivate: config.webhookAllowPrivate,
  });
  const webhooks = new WebhookService({
    store: new WebhookStore(redis, config.queuePrefix),
    jobs,
    sender: webhookSender,
    options: {
      attempts: config.webhookAttempts,
      backoffMs: Math.round(config.webhookBackoffSeconds * 1000),
      disableAfter: config.webhookDisableAfter,
    },
    logger: logger ?? createLogger({ level: 'silent', name: 'reel' }),
  });
  const status = new StatusService({ redis, jobs, countByStatus: () => store.countByStatus() });
  const reindex = new ReindexService({
    index: catalog,
    batches: service,
    pointer,
    jobs,
    activeModel: () => activeModel(),
    logger: logger ?? createLogger({ level: 'silent', name: 'reel' }),
  });
  const activeModel = async (): Promise<ModelRef> => {
    const active = resolveActiveModel(config.model, config.paths.models, {
      image: config.imagePrecision,
      text: config.textPrecision,
    });
    const report = inspectModelFolder(active.dir);
    if (!report.ok) {
      const fix =
        active.name === DEFAULT_MODEL_ID
          ? 'write it with: npx reel models synth'
          : 'install one with: npx reel models pull <repo>';
      throw new ReelError(
        'MODEL_NOT_FOUND',
        `active model ${active.name} (from ${active.source}): ${report.problem}; ${fix}`,
      );
    }
    const { all } = await modelFiles(active.dir, report.files);
    return { dir: active.dir, fingerprint: await modelFingerprint(active.dir, all) };
  };
  return {
    config,
    redis,
    store,
    storage,
    progress,
    service,
    uploads,
    claims,
    catalog,
    queues,
    jobs,
    pointer,
    reindex,
    videos,
    captions,
    webhooks,
    status,
    activeModel,
    async searchModel() {
      const current = await pointer.get();
      if (current) return { dir: current.dir, fingerprint: current.fingerprint };
      const initial = await pointer.initialise(await activeModel());
      return { dir: initial.dir, fingerprint: initial.fingerprint };
    },
    async waitForBatch(batchId, onProgress, pollMs = 250) {
      for (;;) {
        const status = await progress.get(batchId);
        if (!status)
          throw new ReelError(
            'BATCH_NOT_FOUND',
            `batch ${batchId} is not in Redis (batches are kept 30 days after they end)`,
          );
        onProgress?.(status);
        if (status.finishedAt !== undefined) return status;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    async close() {
      // Closing the queues waits for Redis: while it does not answer, give up after a few seconds (a
      // command that searched without Redis must still exit).
      const graceful = Promise.all([...Object.values(queues).map((q) => q.close()), flows.close()]);
      graceful.catch(() => {});
      if (redis.status === 'ready') {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([graceful, new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
        clearTimeout(timer);
      }
      store.close();
      storage.close();
      await webhookSender.close();
      redis.disconnect();
    },
  };
}

export interface RunningWorker {
  pipeline: Pipeline;
  runtime: WorkerRuntime;
  pool: InferencePool;
  /** Drains (see WorkerRuntime.close), then releases the models and connections. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Intra-op threads of the worker's image encoder: REEL_ENCODER_THREADS, else one where the worker also
 * decodes (ffmpeg keeps the other cores busy, and one thread costs the least CPU per frame), else all cores.
 */
export function encoderThreads(
  config: Pick<ReelConfig, 'encoderThreads'>,
  queues?: readonly QueueName[],
): number {
  if (config.encoderThreads > 0) return config.encoderThreads;
  const decodes = queues === undefined || queues.includes(QueueName.ingest);
  return decodes ? 1 : availableParallelism();
}

/** Starts a worker process's BullMQ workers with the real media, model and index adapters. */
export async function startPipelineWorker(
  config: ReelConfig,
  logger: Logger,
  options: { queues?: QueueName[]; recovery?: Partial<RecoveryOptions> } = {},
): Promise<RunningWorker> {
  const pipeline = await openPipeline(config, logger);
  // The encoder shares the cores with ffmpeg, sharp and LanceDB: its idle threads must not spin.
  const pool = createInferencePool({
    size: 1,
    allowSpinning: false,
    threadsPerSession: encoderThreads(config, options.queues),
  });
  const embedders = new ClipEmbedders(pool, {
    checkDir: (dir) => checkModelDir(config, dir),
    log: (message) => logger.info(message),
  });
  // Frames are sampled at the active model's input size; a model with another size (during a model
  // change) resizes them in its preprocessor.
  const active = resolveActiveModel(config.model, config.paths.models, {
    image: config.imagePrecision,
    text: config.textPrecision,
  });
  logger.info(
    { model: active.name, dir: active.dir, image: active.precision.image, text: active.precision.text },
    `active model ${active.name}: image encoder ${active.precision.image.precision} (${active.precision.image.reason}), text encoder ${active.precision.text.precision} (${active.precision.text.reason})`,
  );
  // Frames are sampled at the active model's input size, read from its preprocessing config: an
  // ingest-only worker never loads the encoders (embed workers load them on their first job).
  const cut = await frameCut(active.dir, logger);
  const downloader = new UrlFetcher({
    videosDir: config.paths.videos,
    maxBytes: config.maxVideoBytes,
    timeoutMs: config.downloadTimeoutSeconds * 1000,
    allowPrivateHosts: config.downloadAllowPrivate,
    storage: pipeline.storage,
  });
  const webhooks = pipeline.webhooks;
  // A model backfill re-embeds what is indexed: its videos are told of by reindex.finished alone.
  const told = async (batchId: string) => (await pipeline.progress.meta(batchId))?.kind !== 'backfill';
  const deps: PipelineDeps = {
    onBatchFinished: async (status) => {
      if (status.kind === 'backfill' && status.target) await pipeline.reindex.backfillFinished(status.target);
      await webhooks.batchFinished(status);
      // The batch's words join the full-text index (searches scan words outside it one by one); a
      // failure waits for the next batch or upkeep, it fails nothing.
      const words = await pipeline.catalog.refreshWords().catch((error: unknown) => {
        logger.warn({ err: (error as Error).message }, 'words index not refreshed');
        return undefined;
      });
      if (words?.optimized)
        logger.info({ unindexed: words.unindexed }, 'words folded into the full-text index');
    },
    events: {
      indexed: async (data, outcome) => {
        if (await told(data.batchId))
          await webhooks.videoIndexed({ ...data, fingerprint: data.model.fingerprint }, outcome);
      },
      failed: async (data, failure) => {
        if (await told(data.batchId)) await webhooks.videoFailed(data, failure);
      },
    },
    progress: pipeline.progress,
    spool: new FrameSpool(spoolDir(config)),
    sampler: new IngestSampler(config, cut.size, pipeline.storage, cut.geometry),
    embedders,
    catalog: pipeline.catalog,
    captions: pipeline.captions,
    logger,
    downloader,
    claims: pipeline.claims,
    deleted: pipeline.videos,
  };
  const runtime = startWorkers({
    connection: pipeline.redis,
    prefix: config.queuePrefix,
    ...(options.queues ? { queues: options.queues } : {}),
    concurrency: {
      ingest: config.ingestConcurrency,
      embed: config.embedConcurrency,
      index: config.indexConcurrency,
    },
    deps,
    handlers: [...pipeline.reindex.handlers(), ...webhooks.handlers()],
    recovery: {
      lockDurationMs: config.jobLockSeconds * 1000,
      stalledIntervalMs: Math.max(1000, (config.jobLockSeconds * 1000) / 2),
      ...options.recovery,
    },
  });
  if (!options.queues || options.queues.includes('reindex'))
    await pipeline.reindex.schedule({ sweep: config.sweepCron, upkeep: config.upkeepCron });
  return {
    pipeline,
    runtime,
    pool,
    async close(timeoutMs) {
      await runtime.close(timeoutMs);
      await embedders.close();
      await downloader.close();
      // Never exit while onnxruntime is inside run() in a worker thread: the pool waits for it.
      await pool.close();
      await pipeline.close();
    },
  };
}
