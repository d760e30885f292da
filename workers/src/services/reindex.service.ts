/**
 * Keeping the index fresh, run by the `reindex` queue on a schedule or on demand:
 *
 * - model upgrade: a backfill batch re-embeds every indexed video with the new model while searches keep
 *   reading the old model's vectors; when the backfill batch ends and every indexed video has new
 *   vectors, the search pointer moves to the new model in one step; the old vectors are dropped by the
 *   first upkeep after a grace period (a search already under way keeps its vectors).
 *   Videos whose source file is gone cannot be re-embedded: they are reported failed in the backfill
 *   batch (FILE_NOT_FOUND) and do not block the switch.
 * - sweep: re-enqueues videos that failed with a transient error, that are indexed but lack vectors of
 *   the search model, or that sit in a stage with no live job (their worker and its job were lost).
 * - upkeep: compacts the LanceDB tables, prunes old versions, (re)builds the ANN index when due.
 */
import { errorInfo, type Logger, ReelError } from '@reel/infra';
import type { JobQueue } from '../adapters/job-queue.ts';
import { batchKey } from '../batch-id.ts';
import type { JobHandler } from '../job-handlers.ts';
import { JobName, type ModelRef, type VideoJobData } from '../jobs.ts';
import type { SearchModelPointer } from '../search-model.ts';
import type { BatchService, SubmitBatchResult } from './batch.service.ts';

/** A video as the index knows it, with what deciding on a re-run needs (its record says the rest). */
export interface KnownVideo {
  tenant: string;
  id: string;
  title: string;
  status: 'queued' | 'processing' | 'indexed' | 'failed';
  error: { code: string; message: string; retryable?: boolean } | null;
}

export interface ReindexIndex {
  /**
   * Every video of every tenant with one of these statuses, in batches: memory holds one batch,
   * whatever the catalogue's size.
   */
  scan(statuses: KnownVideo['status'][]): AsyncIterable<KnownVideo[]>;
  /** Those of `videos` without vectors of model `fingerprint` (one keyed read per batch). */
  withoutEmbeddings(fingerprint: string, videos: readonly KnownVideo[]): Promise<KnownVideo[]>;
  /** One tenant's video, for a retry. */
  video(tenant: string, id: string): Promise<KnownVideo | undefined>;
  /** Removes every vector of a model. */
  dropModel(fingerprint: string): Promise<void>;
  /** Compaction, pruning, ANN index upkeep; returns a summary for the log. */
  upkeep(): Promise<unknown>;
}

/**
 * True for a failure worth another try: the machine or a dependency, not the file. The flag recorded
 * with the failure says so; records written before it was kept go by the error catalogue.
 */
export function mayPass(error: { code: string; retryable?: boolean }): boolean {
  return error.retryable ?? errorInfo(error.code).retryable;
}

export interface ReindexOutcome {
  kind: 'backfill' | 'sweep' | 'upkeep' | 'retry';
  batchId?: string;
  videos?: number;
  switched?: boolean;
  detail?: unknown;
}

/** What a request for reindexing asks for (none set: all three). */
export interface ReindexRequest {
  model?: boolean;
  sweep?: boolean;
  upkeep?: boolean;
}

export class ReindexService {
  readonly #index: ReindexIndex;
  readonly #batches: BatchService;
  readonly #pointer: SearchModelPointer;
  readonly #jobs: JobQueue;
  readonly #logger: Logger;
  readonly #graceMs: number;
  readonly #activeModel: () => Promise<ModelRef>;

  constructor(deps: {
    index: ReindexIndex;
    batches: BatchService;
    pointer: SearchModelPointer;
    /** Where reindex jobs and schedules go, and which video jobs are live. */
    jobs: JobQueue;
    logger: Logger;
    /** The model the index is being brought to (config's; needed to run the reindex queue's jobs). */
    activeModel?: () => Promise<ModelRef>;
    /** How long a retired model's vectors stay after searches moved off it (default 10 min). */
    retiredGraceMs?: number;
  }) {
    this.#graceMs = deps.retiredGraceMs ?? 10 * 60_000;
    this.#index = deps.index;
    this.#batches = deps.batches;
    this.#pointer = deps.pointer;
    this.#jobs = deps.jobs;
    this.#logger = deps.logger;
    this.#activeModel =
      deps.activeModel ??
      (async () => {
        throw new ReelError('INTERNAL', 'this ReindexService was built without the active model');
      });
  }

  /**
   * Queues reindexing now, as the schedule does: a model backfill, a sweep and/or upkeep (all three
   * when `what` sets none). With `tenant` (a tenant admin's request) only a sweep of that tenant's
   * videos: a backfill and upkeep act on every tenant (OPERATOR_REQUIRED).
   */
  async request(
    what: ReindexRequest,
    scope: { tenant?: string } = {},
  ): Promise<{ kind: string; jobId: string }[]> {
    const all = !what.model && !what.sweep && !what.upkeep;
    if (scope.tenant !== undefined && (what.model || what.upkeep))
      throw new ReelError(
        'OPERATOR_REQUIRED',
        'a model backfill and upkeep act on every tenant: they need an operator key (a tenant admin may sweep its own videos: {"sweep": true})',
      );
    const jobs: { kind: string; jobId: string }[] = [];
    if (scope.tenant === undefined && (all || what.model)) {
      const model = await this.#activeModel();
      jobs.push({
        kind: 'backfill',
        jobId: await this.#jobs.addReindex(JobName.backfill, { kind: 'backfill', model }),
      });
    }
    if (all || what.sweep) {
      const data = {
        kind: 'sweep' as const,
        ...(scope.tenant !== undefined ? { tenant: scope.tenant } : {}),
      };
      jobs.push({ kind: 'sweep', jobId: await this.#jobs.addReindex(JobName.sweep, data) });
    }
    if (scope.tenant === undefined && (all || what.upkeep))
      jobs.push({ kind: 'upkeep', jobId: await this.#jobs.addReindex(JobName.upkeep, { kind: 'upkeep' }) });
    return jobs;
  }

  /** Upserts the sweep's and upkeep's schedules (by id: any number of workers may, there is one each). */
  async schedule(cron: { sweep: string; upkeep: string }): Promise<void> {
    await this.#jobs.scheduleReindex('sweep', cron.sweep, JobName.sweep, { kind: 'sweep' });
    await this.#jobs.scheduleReindex('upkeep', cron.upkeep, JobName.upkeep, { kind: 'upkeep' });
  }

  /**
   * The reindex queue's handlers, by job name. A backfill always goes to the active model (the payload
   * is not trusted with a model folder); a sweep first checks for a model change and, when the active
   * model is not the one searches read, starts (or continues) the backfill to it; a tenant's sweep only
   * re-runs that tenant's videos.
   */
  handlers(): JobHandler[] {
    return [
      { name: JobName.backfill, run: async () => this.backfill(await this.#activeModel()) },
      { name: JobName.upkeep, run: () => this.upkeep() },
      {
        name: JobName.sweep,
        run: async (job: { data: unknown }) => {
          const tenant = (job.data as { tenant?: unknown }).tenant;
          if (typeof tenant === 'string') return { sweep: await this.sweep({ tenant }) };
          const active = await this.#activeModel();
          // A fresh install's first sweep points searches at the active model, as a first submit does.
          const current = (await this.#pointer.get()) ?? (await this.#pointer.initialise(active));
          const backfill =
            active.fingerprint !== current.fingerprint ? await this.backfill(active) : undefined;
          return { backfill, sweep: await this.sweep() };
        },
      },
    ];
  }

  #job(video: KnownVideo, batchId: string, model: ModelRef): VideoJobData {
    // The video's record says where it comes from: the job only names it. Messages call it by title,
    // never by where it is stored.
    return { batchId, videoId: video.id, tenant: video.tenant, name: video.title || video.id, model };
  }

  /**
   * Starts (or returns the running) backfill to `target`. When nothing is left to embed, switches
   * searches at once.
   */
  async backfill(target: ModelRef): Promise<ReindexOutcome> {
    const current = await this.#pointer.get();
    if (!current) {
      await this.#pointer.switchTo(target);
      return { kind: 'backfill', videos: 0, switched: true };
    }
    if (current.fingerprint === target.fingerprint) return { kind: 'backfill', videos: 0, switched: false };
    const missing: KnownVideo[] = [];
    for await (const batch of this.#index.scan(['indexed']))
      missing.push(...(await this.#index.withoutEmbeddings(target.fingerprint, batch)));
    if (missing.length === 0) {
      await this.#switch(current, target);
      return { kind: 'backfill', videos: 0, switched: true };
    }
    // One batch per target model and round: re-running the job returns the batch already under way.
    const round = missing.length;
    const batchId = `backfill-${target.fingerprint.slice(7, 23)}-${round}`;
    const result: SubmitBatchResult = await this.#batches.enqueueKnown(
      { id: batchId, kind: 'backfill', target },
      missing.map((video) => this.#job(video, batchId, target)),
    );
    this.#logger.info({ batchId, videos: missing.length, target: target.fingerprint }, 'backfill started');
    return { kind: 'backfill', batchId: result.batchId, videos: missing.length, switched: false };
  }

  /**
   * Called when a backfill batch ends: switches searches when every indexed video has vectors of the
   * target (or could not get them); otherwise starts another round for the videos indexed meanwhile.
   */
  async backfillFinished(target: ModelRef): Promise<ReindexOutcome> {
    const current = await this.#pointer.get();
    if (current?.fingerprint === target.fingerprint) return { kind: 'backfill', switched: false };
    const again = await this.backfill(target);
    return again;
  }

  async #switch(from: ModelRef, to: ModelRef): Promise<void> {
    await this.#pointer.switchTo(to);
    await this.#pointer.retire(from.fingerprint);
    this.#logger.info({ from: from.fingerprint, to: to.fingerprint }, 'searches switched to the new model');
  }

  /**
   * Re-enqueues transient failures, indexed videos missing search vectors, and videos stuck without a
   * job: every tenant's, or with `tenant` only that tenant's (a tenant admin's sweep), as a batch of
   * that tenant's.
   */
  async sweep(options: { tenant?: string } = {}): Promise<ReindexOutcome> {
    const model = await this.#pointer.get();
    if (!model) return { kind: 'sweep', videos: 0 };
    // Memory holds one batch of the catalogue and the videos to re-run, whatever the catalogue's size.
    const rerun: KnownVideo[] = [];
    for await (const scanned of this.#index.scan(['failed', 'processing', 'queued', 'indexed'])) {
      const batch =
        options.tenant === undefined ? scanned : scanned.filter((v) => v.tenant === options.tenant);
      const indexed = batch.filter((v) => v.status === 'indexed');
      rerun.push(...(await this.#index.withoutEmbeddings(model.fingerprint, indexed)));
      for (const video of batch) {
        if (video.status === 'failed') {
          if (video.error && mayPass(video.error)) rerun.push(video);
        } else if (
          video.status !== 'indexed' &&
          !(await this.#jobs.hasLiveJob(video.id, model.fingerprint))
        ) {
          rerun.push(video);
        }
      }
    }
    if (rerun.length === 0) return { kind: 'sweep', videos: 0 };
    const id = `sweep-${Date.now()}`;
    const batchId = options.tenant === undefined ? id : batchKey(options.tenant, id);
    await this.#batches.enqueueKnown(
      { id: batchId, kind: 'sweep', ...(options.tenant !== undefined ? { tenant: options.tenant } : {}) },
      rerun.map((v) => this.#job(v, batchId, model)),
    );
    this.#logger.info({ batchId, videos: rerun.length }, 'sweep re-enqueued videos');
    return { kind: 'sweep', batchId, videos: rerun.length };
  }

  /**
   * Runs a tenant's failed video again, whatever its failure (a person asked: the file or a setting may
   * have changed since), as a batch of its own. VIDEO_NOT_FOUND for a video the tenant does not have,
   * VIDEO_NOT_FAILED for one that is not failed (it is indexed, or under way).
   */
  async retry(tenant: string, videoId: string): Promise<SubmitBatchResult> {
    const video = await this.#index.video(tenant, videoId);
    if (!video) throw new ReelError('VIDEO_NOT_FOUND', `no video ${videoId}`);
    if (video.status !== 'failed')
      throw new ReelError(
        'VIDEO_NOT_FAILED',
        `video ${videoId} is ${video.status}: only a failed video is retried`,
      );
    const model = await this.#pointer.get();
    if (!model) throw new ReelError('VIDEO_NOT_FAILED', `video ${videoId}: no model to embed it with yet`);
    const batchId = batchKey(tenant, `retry-${videoId}-${Date.now()}`);
    const result = await this.#batches.enqueueKnown({ id: batchId, kind: 'retry', tenant }, [
      this.#job(video, batchId, model),
    ]);
    this.#logger.info({ batchId, videoId }, 'retry of a failed video enqueued');
    return result;
  }

  /** Drops retired models past their grace period, then compacts and maintains the tables. */
  async upkeep(options: { graceMs?: number } = {}): Promise<ReindexOutcome> {
    const dropped: string[] = [];
    const current = await this.#pointer.get();
    for (const fingerprint of await this.#pointer.retiredBefore(
      Date.now() - (options.graceMs ?? this.#graceMs),
    )) {
      if (fingerprint !== current?.fingerprint) {
        await this.#index.dropModel(fingerprint);
        dropped.push(fingerprint);
      }
      await this.#pointer.forget(fingerprint);
    }
    return { kind: 'upkeep', detail: { dropped, tables: await this.#index.upkeep() } };
  }
}
