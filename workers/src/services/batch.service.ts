/**
 * Submitting a batch: hash every file (a video is its content, per tenant), drop duplicates (in the
 * batch, in flight elsewhere, or already indexed), write each queued video's record to the catalog
 * (where it comes from, its title and tags: what workers read, since a job only names its video), record
 * the batch's progress, and add one BullMQ flow for the rest. Claims in Redis (SET NX per video) make two
 * concurrent submits of the same file agree on which one does the work.
 *
 * URLs and server-side paths submitted through the API are not read at submit time (a request never
 * waits on a download or on hashing a large file): each such video gets a provisional id from its URL or
 * real path and is claimed by it; its ingest stage downloads or opens it, hashes it and then claims its
 * content (`claimContent`), which makes it a duplicate when the tenant already has the same bytes under
 * another id.
 *
 * Batch ids are the tenant's own (see batch-id.ts): a batch is kept under `<tenant>.<id>`, which is the
 * `batchId` results carry; the API shows the part after the tenant.
 */

import { randomUUID } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { isInputFault, isReelError } from '@reel/infra';
import type { SamplingPrecision } from '@reel/ingest';
import type { ClaimStore } from '../adapters/claim-store.ts';
import type { JobQueue } from '../adapters/job-queue.ts';
import type { RedisClient } from '../adapters/redis.ts';
import { BATCH_ID_PATTERN, batchKey, clientBatchId } from '../batch-id.ts';
import type { BatchKind, BatchProgress, BatchStatus, BatchVideo } from '../batch-progress.ts';
import type { ModelRef, VideoJobData } from '../jobs.ts';
import type { CatalogVideo, VideoCatalog } from '../pipeline-deps.ts';
import { type ContentHash, hashFile, isProvisional, videoIdFor } from '../video-identity.ts';
import { checkVideoUrl, titleForUrl, videoIdForPath, videoIdForUrl } from '../video-url.ts';

export interface SubmitFile {
  /** Where the file is now (absolute or relative to the working directory). */
  path: string;
  /**
   * The content's hash, when it was taken while the file was stored (an upload): the file is then not
   * read again, and `path` is kept as it is (a storage reference, such as `s3://bucket/key`).
   */
  hash?: ContentHash;
  /** Name to show (upload name); default: the path. */
  name?: string;
  title?: string;
  tags?: string[];
}

export interface SubmitBatchInput {
  tenant: string;
  /** How precisely frames land on their targets (`exact`, `fast`, `keyframes`); default REEL_SAMPLING_PRECISION. */
  precision?: SamplingPrecision;
  files: SubmitFile[];
  model: ModelRef;
  /** A client-chosen id makes the submit idempotent: submitting it again returns the first batch. */
  batchId?: string;
}

export interface SubmitUrl {
  /** An http:// or https:// URL; anything else fails this video with BAD_URL. */
  url: string;
  /** Default: the URL's last path segment without extension (else its host). */
  title?: string;
  tags?: string[];
}

export interface SubmitUrlsInput {
  tenant: string;
  /** How precisely frames land on their targets (`exact`, `fast`, `keyframes`); default REEL_SAMPLING_PRECISION. */
  precision?: SamplingPrecision;
  videos: SubmitUrl[];
  model: ModelRef;
  /** A client-chosen id makes the submit idempotent: submitting it again returns the first batch. */
  batchId?: string;
}

export interface SubmitPath {
  /** The file's real path (symlinks resolved), checked by the caller (an allowed root). */
  path: string;
  /** Name to show (the path as requested). */
  name: string;
  title?: string;
  tags?: string[];
}

export interface SubmitPathsInput {
  tenant: string;
  /** How precisely frames land on their targets (`exact`, `fast`, `keyframes`); default REEL_SAMPLING_PRECISION. */
  precision?: SamplingPrecision;
  files: SubmitPath[];
  model: ModelRef;
  /** A client-chosen id makes the submit idempotent: submitting it again returns the first batch. */
  batchId?: string;
}

export interface SubmittedVideo {
  name: string;
  videoId?: string;
  status: 'queued' | 'duplicate' | 'failed';
  duplicateOf?: string;
  code?: string;
  message?: string;
}

/** What became of a caption file uploaded beside videos. */
export interface SubmittedCaption {
  name: string;
  /** The video it was attached to (the upload's video of the same base name); null when none. */
  videoId: string | null;
  trackId: string | null;
  /** Cues read; 0 when it could not be read (code and message say why). */
  cues: number;
  code?: string;
  message?: string;
}

export interface SubmitBatchResult {
  /** The batch's key: `<tenant>.<id>` for a tenant's batch (the API shows `<id>`), see batch-id.ts. */
  batchId: string;
  /** True when `batchId` was already submitted: nothing new was enqueued. */
  existing: boolean;
  videos: SubmittedVideo[];
  /** Caption files of an upload, each attached to its video or said why not. */
  captions?: SubmittedCaption[];
}

export class BatchService {
  readonly #redis: RedisClient;
  readonly #claims: ClaimStore;
  readonly #jobs: JobQueue;
  readonly #progress: BatchProgress;
  readonly #catalog: VideoCatalog;

  constructor(deps: {
    /** Redis's clock stamps each batch's jobs (see #enqueue). */
    redis: RedisClient;
    claims: ClaimStore;
    /** Where the batch's jobs go. */
    jobs: JobQueue;
    progress: BatchProgress;
    catalog: VideoCatalog;
  }) {
    this.#redis = deps.redis;
    this.#claims = deps.claims;
    this.#jobs = deps.jobs;
    this.#progress = deps.progress;
    this.#catalog = deps.catalog;
  }

  /**
   * A duplicate entry when `videoId` is already in this batch, indexed with the model, or claimed by
   * another batch; the earlier failure when the video failed before for bad input (the same bytes fail
   * the same way); otherwise claims it for this batch (taking the claim over from the batch a video that
   * failed for a system reason ran in) and returns the video's record, if it has one (the video is to
   * be queued).
   */
  async #settle(
    known: KnownVideos,
    batchId: string,
    seen: Map<string, string>,
    name: string,
    videoId: string,
  ): Promise<
    | { duplicate: SubmittedVideo }
    | { failed: SubmittedVideo }
    | { existing: CatalogVideo | undefined; retry: boolean }
  > {
    const twin = seen.get(videoId);
    if (twin !== undefined)
      return {
        duplicate: {
          name,
          videoId,
          status: 'duplicate',
          duplicateOf: clientBatchId(batchId),
          message: `${name}: same content as ${twin}`,
        },
      };
    seen.set(videoId, name);
    const existing = known.records.get(videoId);
    if (existing?.status === 'indexed' && known.embedded.has(videoId))
      return {
        duplicate: { name, videoId, status: 'duplicate', message: `${name}: already indexed as ${videoId}` },
      };
    const failedBefore = existing?.status === 'failed' ? existing.error : undefined;
    // Only content fails the same way again; a URL or path may read differently now.
    if (failedBefore && isInputFault(failedBefore.code) && existing && !isProvisional(existing))
      return {
        failed: {
          name,
          videoId,
          status: 'failed',
          code: failedBefore.code,
          message: `${failedBefore.message} (when it was submitted before; the same content fails the same way)`,
        },
      };
    const claim = await this.#claims.claim(videoId, batchId);
    // A video whose last run failed for a system reason runs again: its claim is that run's, which ended.
    const retaken =
      !claim.held &&
      failedBefore !== undefined &&
      (await this.#claims.takeOver(videoId, claim.owner ?? '', batchId));
    if (!claim.held && !retaken) {
      const { owner, holder } = claim;
      return {
        duplicate: {
          name,
          videoId,
          status: 'duplicate',
          ...(owner ? { duplicateOf: clientBatchId(owner) } : {}),
          message: `${name}: already submitted in batch ${owner ? clientBatchId(owner) : '(unknown)'}${holder ? ` as video ${holder}` : ''}`,
        },
      };
    }
    return { existing, retry: failedBefore !== undefined };
  }

  /**
   * The record a queued video gets at submit: a new one (status queued), or, for a video already
   * indexed (re-queued for a model it lacks), the same record with the new source, so searches keep it.
   */
  #recordFor(existing: CatalogVideo | undefined, fresh: Omit<CatalogVideo, 'status'>): CatalogVideo {
    if (existing?.status === 'indexed') return { ...existing, source: fresh.source };
    return { ...fresh, status: 'queued' };
  }

  /** The result of a batch id submitted before (nothing is enqueued again), or undefined. */
  async #submitted(batchId: string): Promise<SubmitBatchResult | undefined> {
    if (!(await this.#progress.exists(batchId))) return undefined;
    const status = await this.#progress.get(batchId);
    return { batchId, existing: true, videos: (status?.videos ?? []).map(toSubmitted) };
  }

  /**
   * Submits http(s) URLs as one batch; workers download them (within REEL_MAX_VIDEO_BYTES and
   * REEL_DOWNLOAD_TIMEOUT_SECONDS). A URL that is not http(s) fails at once with BAD_URL; the same URL
   * twice is one video; content the tenant already has is found once downloaded (status `duplicate`).
   */
  async submitUrls(input: SubmitUrlsInput): Promise<SubmitBatchResult> {
    // A URL that failed before (its claim was freed) left failed jobs under the same ids.
    return this.#submitBatch(input, { clearFinished: true }, async () =>
      input.videos.map((video): Entry => {
        const checked = checkVideoUrl(video.url);
        if (!checked.ok)
          return {
            failed: { name: checked.shown, status: 'failed', code: 'BAD_URL', message: checked.problem },
          };
        const url = checked.url;
        return {
          name: url.href,
          record: {
            videoId: videoIdForUrl(input.tenant, url),
            tenant: input.tenant,
            title: video.title ?? titleForUrl(url),
            tags: video.tags ?? [],
            source: url.href,
            sha256: '',
            sizeBytes: 0,
          },
        };
      }),
    );
  }

  /**
   * Submits server-side paths (already checked by the caller) without reading them: each file's
   * content is hashed by its ingest stage, from the very file it decodes.
   */
  async submitPaths(input: SubmitPathsInput): Promise<SubmitBatchResult> {
    return this.#submitBatch(input, { clearFinished: true }, async () =>
      input.files.map(
        (file): Entry => ({
          name: file.name,
          record: {
            videoId: videoIdForPath(input.tenant, file.path),
            tenant: input.tenant,
            title: file.title ?? path.parse(file.name).name,
            tags: file.tags ?? [],
            source: file.path,
            fileName: path.basename(file.name),
            sha256: '',
            sizeBytes: 0,
          },
        }),
      ),
    );
  }

  async submit(input: SubmitBatchInput): Promise<SubmitBatchResult> {
    return this.#submitBatch(input, { clearFinished: false }, async () => {
      const entries: Entry[] = [];
      for (const file of input.files) entries.push(await this.#hashed(input.tenant, file));
      return entries;
    });
  }

  /** A file to submit by its content: hashed now (unless an upload brought its hash), or its failure. */
  async #hashed(tenant: string, file: SubmitFile): Promise<Entry> {
    const name = file.name ?? file.path;
    // A local file is recorded by its real path: the worker that reads it requires the path to be its
    // own real path still (no symlink put on the way since), see video-source.ts.
    const absolute = file.hash
      ? file.path
      : await realpath(path.resolve(file.path)).catch(() => path.resolve(file.path));
    let hash: ContentHash;
    try {
      hash = file.hash ?? (await hashFile(absolute, { name }));
    } catch (error) {
      // hashFile's errors name the file already (FILE_NOT_FOUND, NOT_A_REGULAR_FILE, UNREADABLE).
      const coded = isReelError(error);
      return {
        failed: {
          name,
          status: 'failed',
          code: coded ? error.code : 'UNREADABLE',
          message: coded ? error.message : `${name}: ${(error as Error).message}`,
        },
      };
    }
    if (hash.sizeBytes === 0)
      return {
        failed: {
          name,
          status: 'failed',
          code: 'EMPTY_FILE',
          message: `${name}: the file is empty (0 bytes)`,
        },
      };
    return {
      name,
      record: {
        videoId: videoIdFor(tenant, hash.sha256),
        tenant,
        title: file.title ?? path.parse(name).name,
        tags: file.tags ?? [],
        source: absolute,
        fileName: name,
        sha256: hash.sha256,
        sizeBytes: hash.sizeBytes,
      },
    };
  }

  /**
   * One submit: the batch id in the tenant's namespace (a batch id submitted before returns that
   * batch, and `prepare` is not called), then each prepared video settled (a duplicate, or queued with
   * its record), then the records, progress and flow written.
   */
  async #submitBatch(
    input: { tenant: string; model: ModelRef; batchId?: string; precision?: SamplingPrecision },
    options: { clearFinished: boolean },
    prepare: () => Promise<Entry[]>,
  ): Promise<SubmitBatchResult> {
    const batchId = batchKey(input.tenant, input.batchId ?? randomUUID());
    const earlier = input.batchId ? await this.#submitted(batchId) : undefined;
    if (earlier) return earlier;
    const videos: SubmittedVideo[] = [];
    const queued: Queued[] = [];
    const seen = new Map<string, string>();
    const entries = await prepare();
    // What the catalogue already has of these videos, in two keyed reads for the whole batch (not two
    // per file): its cost follows the batch's size, not the catalogue's.
    const ids = entries.flatMap((e) => ('failed' in e ? [] : [e.record.videoId]));
    const known: KnownVideos = {
      records: await this.#catalog.getVideos(input.tenant, ids),
      embedded: await this.#catalog.embeddedIds(input.tenant, ids, input.model.fingerprint),
    };
    for (const entry of entries) {
      if ('failed' in entry) {
        videos.push(entry.failed);
        continue;
      }
      const { videoId } = entry.record;
      const settled = await this.#settle(known, batchId, seen, entry.name, videoId);
      if ('duplicate' in settled || 'failed' in settled) {
        videos.push('duplicate' in settled ? settled.duplicate : settled.failed);
        continue;
      }
      videos.push({ name: entry.name, videoId, status: 'queued' });
      queued.push({ name: entry.name, record: this.#recordFor(settled.existing, entry.record) });
      // A failed run's jobs keep their ids a week: new ones under the same ids would be ignored.
      if (options.clearFinished || settled.retry)
        await this.#jobs.clearFinished(videoId, input.model.fingerprint);
    }
    await this.#enqueueSubmitted(
      { id: batchId, tenant: input.tenant },
      videos,
      queued,
      input.model,
      input.precision,
    );
    return { batchId, existing: false, videos };
  }

  /**
   * Writes the queued videos' records, then the batch's progress and flow. Records come first: a
   * submit that fails after them leaves queued videos without a job, which the sweep finds and runs.
   */
  async #enqueueSubmitted(
    meta: { id: string; tenant: string },
    videos: SubmittedVideo[],
    queued: Queued[],
    model: ModelRef,
    precision: SamplingPrecision | undefined,
  ): Promise<void> {
    await this.#catalog.saveVideos(queued.map((q) => q.record));
    await this.#enqueue(
      { ...meta, kind: 'upload' },
      videos,
      queued.map((q) => ({
        batchId: meta.id,
        videoId: q.record.videoId,
        tenant: meta.tenant,
        name: q.name,
        model,
        ...(precision ? { precision } : {}),
      })),
    );
  }

  /**
   * Enqueues videos the index already knows (a backfill for a new model, a sweep re-run) as one batch,
   * without hashing or claims: their identity is settled. Idempotent per batch id.
   */
  async enqueueKnown(
    batch: { id: string; kind: BatchKind; target?: ModelRef; tenant?: string },
    jobs: VideoJobData[],
  ): Promise<SubmitBatchResult> {
    const earlier = await this.#submitted(batch.id);
    if (earlier) return earlier;
    for (const job of jobs) await this.#jobs.clearFinished(job.videoId, job.model.fingerprint);
    const videos: SubmittedVideo[] = jobs.map((job) => ({
      name: job.name,
      videoId: job.videoId,
      status: 'queued',
    }));
    await this.#enqueue(
      {
        id: batch.id,
        tenant: batch.tenant ?? '*',
        kind: batch.kind,
        ...(batch.target ? { target: batch.target } : {}),
      },
      videos,
      jobs,
    );
    return { batchId: batch.id, existing: false, videos };
  }

  async #enqueue(
    meta: { id: string; tenant: string; kind: BatchKind; target?: ModelRef },
    videos: SubmittedVideo[],
    jobs: VideoJobData[],
  ) {
    const now = Date.now();
    await this.#progress.create(
      { ...meta, createdAt: now },
      videos.map((v, i) => ({
        videoId: v.videoId ?? `file-${i}`,
        name: v.name,
        status: v.status,
        updatedAt: now,
        ...(v.code ? { code: v.code } : {}),
        ...(v.message ? { message: v.message } : {}),
        ...(v.duplicateOf ? { duplicateOf: v.duplicateOf } : {}),
      })),
    );
    // Stamped with Redis's clock (one clock for every process): a delete after this wins over the jobs.
    const [seconds, micros] = await this.#redis.time();
    const submittedAt = Number(seconds) * 1_000_000 + Number(micros);
    await this.#jobs.enqueueBatch(
      meta.id,
      jobs.map((data) => ({ ...data, submittedAt })),
    );
  }

  async status(batchId: string): Promise<BatchStatus | undefined> {
    return this.#progress.get(batchId);
  }

  /** A tenant's recent batches, newest first, without their per-video lists (see BatchProgress.recent). */
  recentOf(tenant: string, options: { limit: number; before?: number }): ReturnType<BatchProgress['recent']> {
    return this.#progress.recent(tenant, options);
  }

  /**
   * A tenant's batch by the id the tenant knows it by (see batch-id.ts): undefined for a malformed id and
   * for a batch of another tenant, which is another batch even when its id reads the same.
   */
  async statusOf(tenant: string, id: string): Promise<BatchStatus | undefined> {
    if (!BATCH_ID_PATTERN.test(id)) return undefined;
    const status = await this.#progress.get(batchKey(tenant, id));
    return status?.tenant === tenant ? status : undefined;
  }
}

/** A video to queue at submit: its name as the user gave it, and the record it gets. */
interface Queued {
  name: string;
  record: CatalogVideo;
}

/** What the catalogue has of a batch's videos: their records, and which have the model's vectors. */
interface KnownVideos {
  records: Map<string, CatalogVideo>;
  embedded: Set<string>;
}

/** A video prepared for a submit (its identity known, its record but for the status), or its failure. */
type Entry = { failed: SubmittedVideo } | { name: string; record: Omit<CatalogVideo, 'status'> };

function toSubmitted(video: BatchVideo): SubmittedVideo {
  const status = video.status === 'duplicate' ? 'duplicate' : video.status === 'failed' ? 'failed' : 'queued';
  return {
    name: video.name,
    videoId: video.videoId,
    status,
    ...(video.duplicateOf ? { duplicateOf: video.duplicateOf } : {}),
    ...(video.code ? { code: video.code } : {}),
    ...(video.message ? { message: video.message } : {}),
  };
}
