/**
 * The index's own types for what it stores: a video's record (one per tenant and video id) and its
 * embeddings (one per video and model fingerprint). The LanceDB adapter turns table rows into these and
 * back; nothing outside `src/adapters/` sees Arrow or LanceDB types.
 */
import type { CompactFrames } from './frame-codec.ts';
import type { XPoolCompactCache } from './xpool/xpool-terms.ts';

/** Where a video is in its life. String values: they are stored as text and shown in the API. */
export const VideoStatus = {
  /** Accepted, waiting for a worker. */
  queued: 'queued',
  /** A worker is decoding or embedding it. */
  processing: 'processing',
  /** Its embeddings for the record's fingerprint are stored: it is searchable. */
  indexed: 'indexed',
  /** A stage failed for good; `error` says why. */
  failed: 'failed',
} as const;
export type VideoStatus = (typeof VideoStatus)[keyof typeof VideoStatus];

/** Every status, in life order (for counts and validation). */
export const VIDEO_STATUSES: readonly VideoStatus[] = Object.values(VideoStatus);

/** Why a video failed: a stable code for programs and a one-line message for people. */
export interface VideoError {
  code: string;
  message: string;
  /** Whether the failure may pass (as the error said); absent on records written before it was kept. */
  retryable?: boolean;
}

/**
 * A subtitle track found for a video: one inside its file (`embedded`) or a caption file beside it
 * (`sidecar`). It is listed and its cues kept in the words index (WordsStore.replaceCues, captionTracks),
 * keyed by `id`, not on the video's record: each track is written on its own.
 */
export interface CaptionTrackInfo {
  /** The track's id within the video (the key of its cues in the words index). */
  id: string;
  source: 'embedded' | 'sidecar';
  /** The subtitle format as read (`subrip`, `webvtt`, `ass`, `mov_text`…). */
  codec: string;
  /** Its language tag as the file says (`en`, `pt-BR`), null when it says none. */
  language: string | null;
  /** Its title as the file says, null when none. */
  label: string | null;
  /** Whether its cues were read (and so are searchable). */
  read: boolean;
  /** Cues stored in the words index (0 when not read). */
  cueCount: number;
  /** Why it was not read, when it was not. */
  error: { code: string; message: string } | null;
}

/** One video of one tenant. `(tenant, id)` is the key: writes with the same key replace the record. */
export interface VideoRecord {
  tenant: string;
  id: string;
  title: string;
  /** Free-form labels; search filters match them exactly (case-sensitive). */
  tags: string[];
  /** When the video was created (recorded or uploaded); the date filter and listing order use it. */
  createdAt: Date;
  /** When its embeddings were last stored; null until indexed. */
  ingestedAt: Date | null;
  /** Length in seconds; null until probed. */
  durationSeconds: number | null;
  /** Where it came from (upload name, path or URL), for people. */
  source: string | null;
  /** sha256 (hex) of the file's bytes: the video's content identity. */
  sha256: string;
  /** Fingerprint of the model its embeddings were (or are being) computed with; null before embedding. */
  fingerprint: string | null;
  status: VideoStatus;
  /** Set when `status` is failed, null otherwise. */
  error: VideoError | null;
  /**
   * The name the video came with (an upload's file name, the requested path's or URL's last part), for
   * people and for the words index (a stored upload's `source` is a name reel made up); null when not
   * known (records written before it was kept: the source's name is used then).
   */
  fileName?: string | null;
}

/**
 * A video's embeddings under one model, everything the two-stage search needs. Built from float frames
 * by {@link buildVideoEmbeddings}; `(tenant, videoId, fingerprint)` is the key.
 */
export interface VideoEmbeddings {
  tenant: string;
  videoId: string;
  /** Model fingerprint the frames were embedded with: searches only read rows of the active one. */
  fingerprint: string;
  /** D, embedding size. */
  dim: number;
  /** F, number of frames (12 in X-Pool's sampling). */
  frameCount: number;
  /** F frame times in seconds from the start, increasing. */
  timestamps: number[];
  /** F thumbnail references (path or URL of each frame's image), null where none was kept. */
  thumbnails: (string | null)[];
  /** The F×D frame embeddings, compact (int8 with a per-frame scale), with per-frame statistics. */
  frames: CompactFrames;
  /** D, the mean of the L2-normalised frames (CLIP4Clip's meanP): the first-stage vector. */
  mean: Float32Array;
  /** F×F Gram matrix of the L2-normalised frames (row-major), for exact attention/top-k/mean rescoring. */
  gram: Float32Array;
  /** The X-Pool head's per-video terms, when a head was configured at index time. */
  xpoolCache?: XPoolCompactCache;
}

/**
 * The row key of a video: JSON of [tenant, id], unambiguous whatever characters either holds. The same
 * key names the video's record and its embeddings under every model.
 */
export function videoKey(tenant: string, id: string): string {
  return JSON.stringify([tenant, id]);
}

/** [tenant, id] of a {@link videoKey}; null when the key is not one. */
export function parseVideoKey(key: string): { tenant: string; id: string } | null {
  try {
    const value = JSON.parse(key) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string'
    )
      return { tenant: value[0], id: value[1] };
  } catch {}
  return null;
}
