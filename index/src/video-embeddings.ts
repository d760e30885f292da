/**
 * Turns a video's float frame embeddings (as the image encoder returns them) into what the index stores:
 * the compact frames with their statistics, the mean-pooled first-stage vector, the Gram of the
 * normalised frames and, when an X-Pool head is configured, its per-video terms. Pure: the indexing
 * worker calls it, then hands the result to the store.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from './errors.ts';
import { encodeFrames, FrameCodec } from './frame-codec.ts';
import { meanPool } from './pooling/mean-pooling.ts';
import { gramMatrix, l2NormalizeRows } from './pooling/vector-math.ts';
import type { VideoEmbeddings } from './video-record.ts';
import type { XPoolHead } from './xpool/xpool-head.ts';
import { buildXPoolCompactCache } from './xpool/xpool-terms.ts';

export interface VideoEmbeddingsInput {
  tenant: string;
  videoId: string;
  fingerprint: string;
  /** F×D row-major raw frame embeddings (any norm). */
  frames: Float32Array;
  frameCount: number;
  dim: number;
  /** F frame times in seconds, non-decreasing. */
  timestamps: number[];
  /** F thumbnail references; all null when omitted. */
  thumbnails?: (string | null)[];
  /** Builds the X-Pool terms when given (its D must equal `dim`). */
  xpoolHead?: XPoolHead;
  /** Frame codec; int8 by default (see frame-codec.ts and DESIGN.md). */
  codec?: FrameCodec;
}

function fail(message: string): never {
  throw new ReelError(IndexErrorCode.EMBEDDINGS_INVALID, message);
}

/**
 * Everything the index stores for one video under one model.
 *
 * @throws ReelError EMBEDDINGS_INVALID on mismatched counts, non-finite values or decreasing times;
 *   EMBEDDING_DIM_MISMATCH when the X-Pool head's D differs.
 */
export function buildVideoEmbeddings(input: VideoEmbeddingsInput): VideoEmbeddings {
  const { tenant, videoId, fingerprint, frames, frameCount: F, dim: D, timestamps } = input;
  for (const [name, value] of [
    ['tenant', tenant],
    ['videoId', videoId],
    ['fingerprint', fingerprint],
  ] as const)
    if (typeof value !== 'string' || value.length === 0)
      fail(`embeddings ${name}: expected a non-empty string, got ${JSON.stringify(value)}`);
  const compact = encodeFrames(frames, F, D, input.codec ?? FrameCodec.int8);
  if (!Array.isArray(timestamps) || timestamps.length !== F)
    fail(`embeddings of ${videoId}: expected ${F} timestamps, got ${timestamps?.length}`);
  for (let f = 0; f < F; f++) {
    const t = timestamps[f]!;
    if (!Number.isFinite(t) || t < 0 || (f > 0 && t < timestamps[f - 1]!))
      fail(
        `embeddings of ${videoId}: expected finite, non-negative, non-decreasing timestamps, got ${t} at frame ${f}`,
      );
  }
  const thumbnails = input.thumbnails ?? new Array<string | null>(F).fill(null);
  if (thumbnails.length !== F)
    fail(`embeddings of ${videoId}: expected ${F} thumbnails, got ${thumbnails.length}`);
  if (input.xpoolHead !== undefined && input.xpoolHead.dim !== D)
    throw new ReelError(
      IndexErrorCode.EMBEDDING_DIM_MISMATCH,
      `embeddings of ${videoId}: the X-Pool head has D = ${input.xpoolHead.dim}, the frames D = ${D}`,
    );
  const normalised = l2NormalizeRows(frames, F, D);
  const embeddings: VideoEmbeddings = {
    tenant,
    videoId,
    fingerprint,
    dim: D,
    frameCount: F,
    timestamps: [...timestamps],
    thumbnails: [...thumbnails],
    frames: compact,
    mean: meanPool(normalised, F, D),
    gram: gramMatrix(normalised, F, D),
  };
  if (input.xpoolHead !== undefined)
    embeddings.xpoolCache = buildXPoolCompactCache(input.xpoolHead, frames, F);
  return embeddings;
}
