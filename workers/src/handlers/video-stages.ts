/**
 * The three stages of a video, as plain functions of the job's data and the pipeline's dependencies.
 * Each stage can redo the one before it when that stage's output is gone from the spool (cleaned up,
 * or written on another machine), so a retried job never depends on a file that might be missing.
 *
 * A URL video is downloaded and hashed by its ingest stage; when the tenant already has that content,
 * the video ends as a duplicate there and the later stages skip it. A video deleted after its job was
 * submitted is skipped by every stage, and whatever a stage wrote meanwhile is purged (the index stage
 * checks again after its writes), so a job that was running during the delete never brings it back.
 */
import { ReelError } from '@reel/infra';
import type { SpooledEmbeddings, SpooledFrames } from '../adapters/frame-spool.ts';
import type { StageSkip, VideoJobData, VideoOutcome } from '../jobs.ts';
import type { CatalogVideo, ContentClaim, Frame, PipelineDeps } from '../pipeline-deps.ts';
import { videoIdFor } from '../video-identity.ts';

type VideoSource = NonNullable<SpooledFrames['source']>;

function catalogRecord(data: VideoJobData, patch: Partial<CatalogVideo>, source?: VideoSource): CatalogVideo {
  return {
    videoId: data.videoId,
    tenant: data.tenant,
    title: data.title,
    tags: data.tags,
    source: source?.file ?? data.file,
    sha256: source?.sha256 ?? data.sha256,
    sizeBytes: source?.sizeBytes ?? data.sizeBytes,
    status: 'processing',
    ...patch,
  };
}

function framesOf(spooled: SpooledFrames): Frame[] {
  const size = spooled.width * spooled.height * 3;
  return spooled.timestamps.map((timestamp, i) => ({
    timestamp,
    width: spooled.width,
    height: spooled.height,
    data: spooled.data.subarray(i * size, (i + 1) * size),
  }));
}

export function isSkip(value: object): value is StageSkip {
  const status = (value as { status?: unknown }).status;
  return status === 'duplicate' || status === 'deleted';
}

/** Purges what jobs wrote for a deleted video and records, on its batch, why it stopped. */
async function dropDeleted(data: VideoJobData, deps: PipelineDeps): Promise<StageSkip> {
  await deps.deleted?.purge(data);
  await deps.progress.update(data.batchId, data.videoId, {
    status: 'failed',
    code: 'DELETED',
    message: `${data.name}: the video was deleted while it was being processed`,
  });
  return { videoId: data.videoId, status: 'deleted' };
}

async function wasDeleted(data: VideoJobData, deps: PipelineDeps): Promise<boolean> {
  return (await deps.deleted?.wasDeleted(data)) ?? false;
}

/** Why a stage should not run: the video was deleted, or (a URL video) found to be a duplicate. */
async function skipReason(data: VideoJobData, deps: PipelineDeps): Promise<StageSkip | undefined> {
  if (await wasDeleted(data, deps)) return dropDeleted(data, deps);
  if (data.url && (await deps.progress.video(data.batchId, data.videoId))?.status === 'duplicate')
    return { videoId: data.videoId, status: 'duplicate' };
  return undefined;
}

/**
 * Downloads a URL video and settles whose content it is: a video the tenant already has (indexed, or
 * claimed by another upload or URL) makes this one a duplicate, and its download is discarded.
 */
async function fetchUrlVideo(
  data: VideoJobData,
  url: string,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<VideoSource | StageSkip> {
  if (!deps.downloader || !deps.claims)
    throw new ReelError('INTERNAL', `${data.name}: this worker was started without a URL downloader`, {
      retryable: true,
    });
  let fetched: VideoSource;
  try {
    fetched = await deps.downloader.fetch(data.videoId, url, signal);
  } catch (error) {
    // A delete during the download removes its folder: that is why it failed, not the server.
    if (await wasDeleted(data, deps)) return dropDeleted(data, deps);
    throw error;
  }
  if (await wasDeleted(data, deps)) return dropDeleted(data, deps);
  const contentId = videoIdFor(data.tenant, fetched.sha256);
  const indexed = await deps.catalog.getVideo(data.tenant, contentId);
  const claim: ContentClaim =
    indexed?.status === 'indexed'
      ? { claimed: false, videoId: contentId }
      : await deps.claims.claimContent({
          tenant: data.tenant,
          sha256: fetched.sha256,
          videoId: data.videoId,
          batchId: data.batchId,
        });
  if (!claim.claimed) {
    // The URL holds no content of its own: free it, so submitting it again downloads it again.
    await deps.downloader.discard(data.videoId);
    await deps.claims.releaseClaim(data.videoId, { ifBatch: data.batchId });
    const where = claim.batchId ? ` (batch ${claim.batchId})` : '';
    await deps.progress.update(data.batchId, data.videoId, {
      status: 'duplicate',
      message: `${url}: same content as video ${claim.videoId}${where}`,
      existingVideoId: claim.videoId,
      ...(claim.batchId ? { duplicateOf: claim.batchId } : {}),
    });
    deps.logger.info({ videoId: data.videoId, url, existing: claim.videoId }, 'URL video is a duplicate');
    return { videoId: data.videoId, status: 'duplicate' };
  }
  return fetched;
}

/** Download (URL videos), probe, validate, sample, thumbnails; leaves the frames in the spool. */
export async function ingestVideo(
  data: VideoJobData,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<SpooledFrames | StageSkip> {
  const skip = await skipReason(data, deps);
  if (skip) return skip;
  let source: VideoSource | undefined;
  if (data.url) {
    const fetched = await fetchUrlVideo(data, data.url, deps, signal);
    if (isSkip(fetched)) return fetched;
    source = fetched;
  }
  await deps.catalog.saveVideo(catalogRecord(data, { status: 'processing' }, source));
  const sampled = await deps.sampler.sample(source?.file ?? data.file, signal);
  const first = sampled.frames[0];
  if (!first) throw new ReelError('DECODE_FAILED', `${data.name}: no frame could be sampled`);
  const thumbnails = await deps.sampler.writeThumbnails(data.videoId, sampled.frames);
  const data24 = new Uint8Array(sampled.frames.length * first.width * first.height * 3);
  for (const [i, frame] of sampled.frames.entries()) data24.set(frame.data, i * frame.data.length);
  const spooled: SpooledFrames = {
    width: first.width,
    height: first.height,
    timestamps: sampled.frames.map((f) => f.timestamp),
    thumbnails,
    durationSeconds: sampled.durationSeconds,
    warnings: sampled.warnings,
    ...(source ? { source } : {}),
    data: data24,
  };
  await deps.spool.writeFrames(data.videoId, spooled);
  for (const warning of sampled.warnings)
    deps.logger.warn({ videoId: data.videoId, file: data.name }, warning);
  return spooled;
}

async function framesFor(
  data: VideoJobData,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<SpooledFrames | StageSkip> {
  return (await deps.spool.readFrames(data.videoId)) ?? ingestVideo(data, deps, signal);
}

/** Frames through the image encoder of the job's model; leaves the embeddings in the spool. */
export async function embedFrames(
  data: VideoJobData,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<SpooledEmbeddings | StageSkip> {
  const skip = await skipReason(data, deps);
  if (skip) return skip;
  const spooled = await framesFor(data, deps, signal);
  if (isSkip(spooled)) return spooled;
  const embedder = await deps.embedders.get(data.model);
  const vectors = await embedder.embed(framesOf(spooled));
  const packed = new Float32Array(vectors.length * embedder.dim);
  for (const [i, v] of vectors.entries()) packed.set(v, i * embedder.dim);
  const embeddings = { fingerprint: embedder.fingerprint, dim: embedder.dim, vectors: packed };
  await deps.spool.writeEmbeddings(data.videoId, embeddings);
  return embeddings;
}

/** Pooling, caches and the index write; then the spool is cleaned. */
export async function indexVideo(
  data: VideoJobData,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<VideoOutcome> {
  const skip = await skipReason(data, deps);
  if (skip) return skip;
  const spooled = await framesFor(data, deps, signal);
  if (isSkip(spooled)) return spooled;
  const embeddings =
    (await deps.spool.readEmbeddings(data.videoId, data.model.fingerprint)) ??
    (await embedFrames(data, deps, signal));
  if (isSkip(embeddings)) return embeddings;
  await deps.catalog.saveEmbeddings({
    videoId: data.videoId,
    tenant: data.tenant,
    fingerprint: embeddings.fingerprint,
    dim: embeddings.dim,
    vectors: embeddings.vectors,
    timestamps: spooled.timestamps,
    thumbnails: spooled.thumbnails,
    durationSeconds: spooled.durationSeconds,
  });
  await deps.catalog.saveVideo(
    catalogRecord(
      data,
      {
        status: 'indexed',
        durationSeconds: spooled.durationSeconds,
        fingerprint: embeddings.fingerprint,
      },
      spooled.source,
    ),
  );
  // A delete that landed while this stage wrote: its rows may have been written after the delete
  // removed them. The delete set its tombstone first, so this check sees it and undoes the writes.
  if (await wasDeleted(data, deps)) return dropDeleted(data, deps);
  await deps.spool.remove(data.videoId);
  return {
    videoId: data.videoId,
    status: 'indexed',
    frames: spooled.timestamps.length,
    durationSeconds: spooled.durationSeconds,
  };
}

/** Records a video's final failure where people look: its batch and the index. */
export async function recordFailure(
  data: VideoJobData,
  deps: PipelineDeps,
  failure: { code: string; message: string },
): Promise<void> {
  // A deleted video leaves no record behind, failed or not (its file may be gone because of the delete).
  if (await wasDeleted(data, deps)) {
    await dropDeleted(data, deps);
    return;
  }
  // Messages name the file as the user gave it (upload name, requested path), not where it is stored.
  const shown =
    data.name !== data.file && data.file.length > 0
      ? { ...failure, message: failure.message.replaceAll(data.file, data.name) }
      : failure;
  await deps.progress.update(data.batchId, data.videoId, { status: 'failed', ...shown });
  await deps.catalog.saveVideo(catalogRecord(data, { status: 'failed', error: shown }));
  await deps.spool.remove(data.videoId);
  if (data.url) {
    // A URL may work later (a server back up, a file put in place): let it be submitted again.
    await deps.downloader?.discard(data.videoId);
    await deps.claims?.releaseClaim(data.videoId, { ifBatch: data.batchId });
  }
}
