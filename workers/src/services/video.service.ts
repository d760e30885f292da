/**
 * A tenant's videos: one read, a page listed, its file opened for streaming, a frame's thumbnail, and
 * deleting one.
 *
 * Streaming opens only what a record may point to (see adapters/video-source.ts): an object storage
 * holds, or a server-side path inside the allowed roots, opened as a regular file so what is streamed
 * is the file that was checked.
 *
 * Deleting a video: its rows in the index (the record and its vectors under every model), its
 * thumbnails, spool and download, its stored file (only one that storage holds: inside the videos folder,
 * or in the bucket with `REEL_STORAGE=s3`; never a server-side path), and its claims in Redis, so the
 * same content can be submitted again.
 *
 * A delete wins over jobs already under way. It first leaves a tombstone in Redis (the deletion time on
 * Redis's clock); every stage compares it with its job's `submittedAt` and, for a job submitted before the
 * delete, purges whatever it wrote instead of going on (the index stage checks again after its writes).
 * Jobs not running are removed outright and their batch entries fail with DELETED. A job submitted after
 * the delete (the same file uploaded again) is newer than the tombstone and runs normally.
 */
import type { Readable } from 'node:stream';
import type { IndexStore, VideoRecord } from '@reel/index';
import { isReelError, ReelError } from '@reel/infra';
import type { JobQueue, VideoJob } from '../adapters/job-queue.ts';
import type { RedisClient } from '../adapters/redis.ts';
import { openRegularFile } from '../adapters/regular-file.ts';
import type { ByteRange, ObjectStorage, StoredObject } from '../adapters/storage/object-storage.ts';
import { contentTypeOf, thumbnailKey } from '../adapters/storage/storage-keys.ts';
import type { VideoFiles } from '../adapters/video-files.ts';
import { type ResolvedSource, resolveSource, SOURCE_NOT_ALLOWED } from '../adapters/video-source.ts';
import type { BatchProgress } from '../batch-progress.ts';
import type { VideoJobData } from '../jobs.ts';
import type { CatalogVideo, DeletedVideos } from '../pipeline-deps.ts';

/** What deleting needs from the index. */
export interface VideoIndex {
  getVideo(tenant: string, videoId: string): Promise<CatalogVideo | undefined>;
  /** Removes the record and the vectors under every model; false when there was nothing. */
  deleteVideo(tenant: string, videoId: string): Promise<boolean>;
  /** Every model with a vectors table. */
  modelFingerprints(): Promise<string[]>;
  /** A person's edit of the title and tags; null when the tenant has no such video. */
  editLabels(
    tenant: string,
    videoId: string,
    labels: { title?: string; tags?: string[] },
  ): Promise<VideoRecord | null>;
}

/** Most tags a video keeps, and the longest tag and title, in characters. */
export const LABEL_LIMITS = { tags: 20, tagLength: 100, titleLength: 500 } as const;

/** What the library shows of one video beyond its record. */
export interface VideoDetails {
  video: VideoRecord;
  /** The stored file's size; null when it is not known (not stored yet, or gone). */
  sizeBytes: number | null;
  /** The sampled frames' times (seconds) under the model it was embedded with; [] before it is. */
  frameTimes: number[];
}

/** What reading needs from the index: one record, a page of them, a video's frames under a model. */
export type VideoLibrary = Pick<IndexStore, 'getVideo' | 'listVideos' | 'getEmbeddings'>;

/** A video's file, opened for streaming with HTTP ranges. */
export interface VideoFile {
  size: number;
  /** From reel's key or the file's extension, never a type stored with the object. */
  contentType: string | undefined;
  etag: string | undefined;
  lastModified: Date | undefined;
  /** The bytes, or the range asked for; VIDEO_FILE_MISSING when the file vanished meanwhile. */
  read(range: ByteRange | undefined): Promise<Readable>;
  /** Releases the file when nothing was read. */
  close(): Promise<void>;
}

/** A frame's thumbnail: a file in the thumbnails folder (its name there), or an object read from a bucket. */
export type Thumbnail = { kind: 'local'; name: string } | { kind: 'object'; object: StoredObject };

/** How long a tombstone outlives its delete: longer than any job waits or retries. */
const TOMBSTONE_SECONDS = 30 * 24 * 3600;

const VIDEO_ID = /^v_[0-9a-f]{24}$/;

export class VideoService implements DeletedVideos {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #index: VideoIndex;
  readonly #files: VideoFiles;
  readonly #claims: { releaseClaim(videoId: string, options?: { ifBatch?: string }): Promise<void> };
  readonly #progress: BatchProgress;
  readonly #jobs: JobQueue;
  readonly #searchFingerprint: () => Promise<string | undefined>;
  readonly #library: VideoLibrary;
  readonly #storage: ObjectStorage;
  readonly #onRefused: (videoId: string, reason: string) => void;

  constructor(deps: {
    redis: RedisClient;
    library: VideoLibrary;
    storage: ObjectStorage;
    /** Told when a record's source is refused (a path outside the allowed roots): a thing to log. */
    onRefusedSource?: (videoId: string, reason: string) => void;
    prefix: string;
    index: VideoIndex;
    files: VideoFiles;
    /** Releases claims (BatchService). */
    claims: { releaseClaim(videoId: string, options?: { ifBatch?: string }): Promise<void> };
    progress: BatchProgress;
    /** The video's jobs, found and removed. */
    jobs: JobQueue;
    /** The model searches read (its jobs may exist before its table does). */
    searchFingerprint?: () => Promise<string | undefined>;
  }) {
    this.#redis = deps.redis;
    this.#prefix = deps.prefix;
    this.#index = deps.index;
    this.#files = deps.files;
    this.#claims = deps.claims;
    this.#progress = deps.progress;
    this.#jobs = deps.jobs;
    this.#searchFingerprint = deps.searchFingerprint ?? (async () => undefined);
    this.#library = deps.library;
    this.#storage = deps.storage;
    this.#onRefused = deps.onRefusedSource ?? (() => {});
  }

  /** A tenant's video; VIDEO_NOT_FOUND when the tenant has none with this id. */
  async get(tenant: string, videoId: string): Promise<VideoRecord> {
    const video = VIDEO_ID.test(videoId) ? await this.#library.getVideo(tenant, videoId) : null;
    if (!video) throw new ReelError('VIDEO_NOT_FOUND', `no video ${videoId}`);
    return video;
  }

  /** A page of a tenant's videos, newest first (see IndexStore.listVideos). */
  list(
    tenant: string,
    options: Parameters<VideoLibrary['listVideos']>[1],
  ): ReturnType<VideoLibrary['listVideos']> {
    return this.#library.listVideos(tenant, options);
  }

  /** A video with its file's size and its sampled frames' times (the library's page of one video). */
  async details(tenant: string, videoId: string): Promise<VideoDetails> {
    const video = await this.get(tenant, videoId);
    const embeddings = video.fingerprint
      ? await this.#library.getEmbeddings(tenant, videoId, video.fingerprint)
      : null;
    let sizeBytes: number | null = null;
    if (video.status === 'indexed') {
      const file = await this.#open(video).catch(() => null);
      if (file) {
        sizeBytes = file.size;
        await file.close();
      }
    }
    return { video, sizeBytes, frameTimes: embeddings?.timestamps ?? [] };
  }

  /**
   * Edits a video's title and tags (each optional): tags trimmed, empty ones and repeats dropped.
   * VIDEO_NOT_FOUND for a video the tenant does not have; VALIDATION_FAILED past the limits.
   */
  async edit(
    tenant: string,
    videoId: string,
    labels: { title?: string; tags?: string[] },
  ): Promise<VideoRecord> {
    const title = labels.title?.trim();
    if (title !== undefined && title.length === 0)
      throw new ReelError('VALIDATION_FAILED', 'title: expected some text, got only spaces');
    if (title !== undefined && title.length > LABEL_LIMITS.titleLength)
      throw new ReelError(
        'VALIDATION_FAILED',
        `title: at most ${LABEL_LIMITS.titleLength} characters, got ${title.length}`,
      );
    const tags =
      labels.tags === undefined ? undefined : [...new Set(labels.tags.map((t) => t.trim()).filter(Boolean))];
    if (tags !== undefined) {
      if (tags.length > LABEL_LIMITS.tags)
        throw new ReelError('VALIDATION_FAILED', `tags: at most ${LABEL_LIMITS.tags}, got ${tags.length}`);
      const long = tags.find((t) => t.length > LABEL_LIMITS.tagLength);
      if (long !== undefined)
        throw new ReelError(
          'VALIDATION_FAILED',
          `tags: ${JSON.stringify(long.slice(0, 40))}… is longer than ${LABEL_LIMITS.tagLength} characters`,
        );
    }
    const edited = VIDEO_ID.test(videoId)
      ? await this.#index.editLabels(tenant, videoId, {
          ...(title !== undefined ? { title } : {}),
          ...(tags !== undefined ? { tags } : {}),
        })
      : null;
    if (!edited) throw new ReelError('VIDEO_NOT_FOUND', `no video ${videoId}`);
    return edited;
  }

  /**
   * An indexed video's file, opened: VIDEO_NOT_INDEXED before it is indexed, VIDEO_FILE_MISSING when its
   * file is gone or its record points somewhere it may not (the refusal is told to `onRefusedSource`).
   */
  async openFile(tenant: string, videoId: string): Promise<VideoFile> {
    return this.#open(await this.get(tenant, videoId));
  }

  /** The file of a video record already read (see openFile). */
  async #open(video: VideoRecord): Promise<VideoFile> {
    if (video.status !== 'indexed')
      throw new ReelError(
        'VIDEO_NOT_INDEXED',
        `video ${video.id} is ${video.status}: only indexed videos are streamed`,
      );
    const missing = () => fileMissing(video.id);
    let source: ResolvedSource;
    try {
      source = await resolveSource(this.#storage, {
        tenant: video.tenant,
        videoId: video.id,
        source: video.source ?? '',
        name: video.title,
      });
    } catch (error) {
      if (!isReelError(error)) throw error;
      if (error.code === SOURCE_NOT_ALLOWED) this.#onRefused(video.id, error.message);
      throw missing();
    }
    const file =
      source.kind === 'stored' ? await this.#storedFile(video.id, source.key) : await serverFile(source.path);
    if (!file) throw missing();
    return file;
  }

  /**
   * Frame `n`'s thumbnail under the model `fingerprint` (default: the model the video was embedded
   * with); THUMBNAIL_NOT_FOUND when there is no such frame or its thumbnail is gone.
   */
  async thumbnail(tenant: string, videoId: string, n: number, fingerprint?: string): Promise<Thumbnail> {
    const video = await this.get(tenant, videoId);
    const model = fingerprint ?? video.fingerprint;
    const embeddings = model ? await this.#library.getEmbeddings(tenant, videoId, model) : null;
    const name = embeddings?.thumbnails[n];
    if (!name)
      throw new ReelError(
        'THUMBNAIL_NOT_FOUND',
        embeddings
          ? `video ${videoId} has ${embeddings.thumbnails.length} frames; no frame ${n}`
          : `video ${videoId} has no frames yet`,
      );
    const key = thumbnailKey(name);
    if (this.#storage.localPath(key) !== undefined) return { kind: 'local', name };
    const object = await this.#storage.get(key);
    if (!object)
      throw new ReelError(
        'THUMBNAIL_NOT_FOUND',
        `video ${videoId}: frame ${n}'s thumbnail is no longer stored`,
      );
    return { kind: 'object', object };
  }

  /** A stored object (the data folder or a bucket), typed by reel's key. */
  async #storedFile(videoId: string, key: string): Promise<VideoFile | undefined> {
    const info = await this.#storage.stat(key);
    if (!info) return undefined;
    return {
      size: info.size,
      contentType: contentTypeOf(key),
      etag: info.etag,
      lastModified: info.lastModified,
      read: async (range) => {
        const object = await this.#storage.get(key, range ? { range } : {});
        if (!object) throw fileMissing(videoId);
        return object.stream;
      },
      close: async () => {},
    };
  }

  #tombstoneKey(videoId: string): string {
    return `${this.#prefix}:reel:deleted:${videoId}`;
  }

  /**
   * Deletes a tenant's video everywhere (see the file header). Returns false, touching nothing, when the
   * tenant has no such video (no record in the index and no job).
   */
  async delete(tenant: string, videoId: string): Promise<boolean> {
    if (!VIDEO_ID.test(videoId)) return false;
    const record = await this.#index.getVideo(tenant, videoId);
    const jobs = (await this.#jobsOf(videoId)).filter((job) => job.data.tenant === tenant);
    if (!record && jobs.length === 0) return false;
    const [seconds, micros] = await this.#redis.time();
    const deletedAt = Number(seconds) * 1_000_000 + Number(micros);
    await this.#redis.set(this.#tombstoneKey(videoId), String(deletedAt), 'EX', TOMBSTONE_SECONDS);

    // Jobs not running go now (a chain from its top, children with it); running ones see the tombstone.
    for (const job of jobs) await job.remove().catch(() => {});
    const left = await this.#jobsOf(videoId);
    const running = new Set(left.map((job) => job.data.batchId));
    const stopped = new Map(jobs.filter((j) => !running.has(j.data.batchId)).map((j) => [j.data.batchId, j]));
    for (const job of stopped.values()) {
      await this.#progress.update(job.data.batchId, videoId, {
        status: 'failed',
        code: 'DELETED',
        message: `${job.data.name}: the video was deleted before it was processed`,
      });
    }

    await this.#index.deleteVideo(tenant, videoId);
    // Only the record's source: a job's payload names no file (see jobs.ts).
    await this.#files.remove(tenant, videoId, record?.source ? [record.source] : []);
    await this.#claims.releaseClaim(videoId);
    return true;
  }

  async wasDeleted(data: VideoJobData): Promise<boolean> {
    const deletedAt = await this.#redis.get(this.#tombstoneKey(data.videoId));
    return deletedAt !== null && (data.submittedAt ?? 0) <= Number(deletedAt);
  }

  async purge(data: VideoJobData): Promise<void> {
    const record = await this.#index.getVideo(data.tenant, data.videoId);
    await this.#index.deleteVideo(data.tenant, data.videoId);
    await this.#files.remove(data.tenant, data.videoId, record?.source ? [record.source] : []);
    // Only the claims this job's batch holds: a submit after the delete may hold them by now.
    await this.#claims.releaseClaim(data.videoId, { ifBatch: data.batchId });
  }

  /** The video's stage jobs still queued (any state) under any model it may have jobs for. */
  async #jobsOf(videoId: string): Promise<VideoJob[]> {
    const fingerprints = new Set(await this.#index.modelFingerprints());
    const search = await this.#searchFingerprint();
    if (search) fingerprints.add(search);
    return this.#jobs.videoJobs(videoId, fingerprints);
  }
}

function fileMissing(videoId: string): ReelError {
  return new ReelError('VIDEO_FILE_MISSING', `video ${videoId}: its file is no longer stored`);
}

/** A server-side path, opened as a regular file: what is streamed is the file that was checked. */
async function serverFile(file: string): Promise<VideoFile | undefined> {
  const opened = await openRegularFile(file).catch(() => undefined);
  if (!opened) return undefined;
  return {
    size: opened.stats.size,
    contentType: contentTypeOf(file),
    etag: undefined,
    lastModified: opened.stats.mtime,
    read: async (range) =>
      opened.handle.createReadStream({
        start: range?.start ?? 0,
        ...(range ? { end: range.end } : {}),
        autoClose: true,
      }),
    close: () => opened.handle.close(),
  };
}
