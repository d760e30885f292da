/**
 * What the pipeline's job handlers need from the outside world, as small interfaces: the real ones wrap
 * ffmpeg (@reel/ingest), onnxruntime (@reel/models) and LanceDB (@reel/index); unit tests pass fakes.
 */
import type { Logger } from '@reel/infra';
import type { ReadTrack, SamplingPrecision } from '@reel/ingest';
import type { FrameSpool } from './adapters/frame-spool.ts';
import type { BatchProgress, BatchStatus } from './batch-progress.ts';
import type { ModelRef, VideoJobData } from './jobs.ts';
import type { ContentHash } from './video-identity.ts';

/** A decoded frame at the model's input size: rgb24 HWC. */
export interface Frame {
  timestamp: number;
  width: number;
  height: number;
  data: Uint8Array;
  /** The frame at the video's display aspect (PNG or WebP, as `previewFormat` says), for its thumbnail; not spooled. */
  preview?: Uint8Array;
  previewFormat?: 'png' | 'webp';
}

/** How a video's frames were sampled (kept in its batch status). */
export interface FrameSampling {
  /** The precision the frames have (`keyframes` asked for may have fallen back to `fast`). */
  precision: SamplingPrecision;
  /** How ffmpeg decoded: `seek`, `single-pass` or `keyframes`. */
  plan: string;
  /** Per frame, milliseconds from its target to where it landed (positive: after). */
  offsetsMs: number[];
  /** Targets `fast` had moved more than a frame, decoded again exactly. */
  redecoded: number;
}

/** Where a video comes from, as its catalog record says, and whose video it is. */
export interface VideoSourceRef {
  tenant: string;
  videoId: string;
  /** The record's source: a reference to stored content (upload, download) or a server-side path. */
  source: string;
  /** What messages call the video (its upload name or requested path), never the stored path. */
  name: string;
}

export interface VideoSampler {
  /**
   * Opens the video's source where it is (checked at the point of use: stored content must lie in the
   * tenant's area of storage; a server-side path must still be the regular file it was, opened without
   * following a symlink), probes, validates and samples it; throws ingest's typed errors for bad input.
   * With `hash`, also hashes the very file it decoded (a server-side path whose content was not known
   * at submit).
   */
  sample(
    video: VideoSourceRef,
    signal: AbortSignal,
    options?: { hash?: boolean; precision?: string },
  ): Promise<{
    durationSeconds: number;
    frames: Frame[];
    warnings: string[];
    /** How the frames were sampled and how far each landed from its target. */
    sampling?: FrameSampling;
    hash?: ContentHash;
    /** The subtitle tracks inside the file, as read. */
    captions?: ReadTrack[];
    /** Caption files beside a server-side path (`talk.mp4`: `talk.srt`, `talk.en.vtt`), unread. */
    sidecars?: { name: string; bytes: Uint8Array }[];
  }>;
  /** Writes one small thumbnail per frame; returns their paths relative to the thumbnails folder. */
  writeThumbnails(videoId: string, frames: Frame[]): Promise<string[]>;
}

export interface FrameEmbedder {
  readonly fingerprint: string;
  readonly dim: number;
  /** One L2-normalised embedding per frame, in order. */
  embed(frames: Frame[]): Promise<Float32Array[]>;
}

export interface EmbedderProvider {
  /** The embedder for a model (loaded once per process); throws if the folder no longer matches the fingerprint. */
  get(model: ModelRef): Promise<FrameEmbedder>;
}

export type VideoState = 'queued' | 'processing' | 'indexed' | 'failed';

/** The index's record of a video, as the pipeline writes it. */
export interface CatalogVideo {
  videoId: string;
  tenant: string;
  title: string;
  tags: string[];
  /**
   * Where the video is read from, as the service recorded it at submit: stored content (an upload's or
   * download's storage reference), a server-side path, or an http(s) URL until it is downloaded.
   */
  source: string;
  /** The name it came with (upload name, requested path, URL), for the words index; kept once given. */
  fileName?: string;
  /** The content's sha256; '' until known (a URL before its download, a server-side path before ingest). */
  sha256: string;
  sizeBytes: number;
  status: VideoState;
  /** The model whose embeddings made the video searchable (set when indexed). */
  fingerprint?: string;
  durationSeconds?: number;
  /** Why it failed for good; `retryable` when the failure may pass (the sweep runs it again). */
  error?: { code: string; message: string; retryable?: boolean };
}

export interface CatalogEmbeddings {
  videoId: string;
  tenant: string;
  fingerprint: string;
  dim: number;
  /** Row-major `[frames, dim]`, L2-normalised rows. */
  vectors: Float32Array;
  timestamps: number[];
  thumbnails: string[];
  durationSeconds: number;
}

export interface VideoCatalog {
  /**
   * Creates or updates a video's record (idempotent per video id): a stage's write. An existing record
   * keeps its title and tags (a person may have edited them since the stage read the record).
   */
  saveVideo(video: CatalogVideo): Promise<void>;
  /** Creates or updates several records in one write (a batch's records at submit). */
  saveVideos(videos: readonly CatalogVideo[]): Promise<void>;
  /** Writes a video's frame embeddings and everything ranking needs from them (idempotent per video and fingerprint). */
  saveEmbeddings(embeddings: CatalogEmbeddings): Promise<void>;
  getVideo(tenant: string, videoId: string): Promise<CatalogVideo | undefined>;
  /** The records of those of `videoIds` the tenant has, by id, in one read (a submit's duplicate check). */
  getVideos(tenant: string, videoIds: readonly string[]): Promise<Map<string, CatalogVideo>>;
  /** Those of `videoIds` that have vectors of model `fingerprint`, in one read. */
  embeddedIds(tenant: string, videoIds: readonly string[], fingerprint: string): Promise<Set<string>>;
  /** Removes a record that turned out to be a duplicate (and any vectors); false when there was none. */
  deleteVideo(tenant: string, videoId: string): Promise<boolean>;
}

/** Downloads videos submitted by URL (see adapters/url-fetcher.ts). */
export interface UrlDownloader {
  /** Where a URL video is stored once downloaded: in its tenant's area, fixed per video id. */
  destination(tenant: string, videoId: string, url: string): string;
  /**
   * Streams `url` to the video's destination (complete or not at all) and returns it with its hash; a
   * complete earlier download (a retried job) is reused. Throws ReelError: TOO_LARGE, EMPTY_FILE,
   * DOWNLOAD_FAILED, DOWNLOAD_FORBIDDEN (permanent); DOWNLOAD_UNAVAILABLE, DOWNLOAD_TIMEOUT (retryable).
   */
  fetch(
    tenant: string,
    videoId: string,
    url: string,
    signal: AbortSignal,
  ): Promise<{ file: string } & ContentHash>;
  /** Removes a video's download (a duplicate, a failure or a delete). */
  discard(tenant: string, videoId: string): Promise<void>;
}

/** Who owns a piece of content in a tenant, once a URL video's content is known. */
export type ContentClaim =
  | { claimed: true }
  /** Another video has (or is getting) this content: its id, and its batch when known. */
  | { claimed: false; videoId: string; batchId?: string };

export interface ContentClaims {
  /** Claims `sha256` in `tenant` for a URL video; idempotent for the same video. */
  claimContent(input: {
    tenant: string;
    sha256: string;
    videoId: string;
    batchId: string;
  }): Promise<ContentClaim>;
  /** Frees a video's claims (with `ifBatch`: only those that batch holds), so it can be submitted again. */
  releaseClaim(videoId: string, options?: { ifBatch?: string }): Promise<void>;
}

/** Deleted videos: a job submitted before its video was deleted must not bring it back. */
export interface DeletedVideos {
  /** True when the video was deleted after this job was submitted. */
  wasDeleted(data: VideoJobData): Promise<boolean>;
  /** Removes whatever a job wrote for a deleted video (rows, thumbnails, spool, download, its claims). */
  purge(data: VideoJobData): Promise<void>;
}

/** What the stages tell beyond the batch's progress (webhooks); a throw fails the stage, which retries. */
export interface VideoEvents {
  indexed(data: VideoJobData, outcome: { frames: number; durationSeconds: number }): Promise<void>;
  failed(data: VideoJobData, failure: { code: string; message: string; retryable: boolean }): Promise<void>;
}

export interface PipelineDeps {
  /**
   * Called when a batch's finish job runs, with the batch's final status (a backfill batch ending may
   * switch searches to its model; webhooks tell who asked).
   */
  onBatchFinished?: (status: Omit<BatchStatus, 'videos'>) => Promise<unknown>;
  events?: VideoEvents;
  progress: BatchProgress;
  spool: FrameSpool;
  sampler: VideoSampler;
  embedders: EmbedderProvider;
  catalog: VideoCatalog;
  /** Where the words a video's ingest read go (none: they are not kept). */
  captions?: {
    saveRead(
      tenant: string,
      videoId: string,
      read: { tracks: readonly ReadTrack[]; sidecars: readonly { name: string; bytes: Uint8Array }[] },
    ): Promise<ReadTrack[]>;
  };
  logger: Logger;
  /** Needed for URL videos (a URL job fails with INTERNAL without them). */
  downloader?: UrlDownloader;
  claims?: ContentClaims;
  /** When set, every stage checks for a delete that happened after its job was submitted. */
  deleted?: DeletedVideos;
}
