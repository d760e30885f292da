/**
 * The three stages of a video, as plain functions of the job's data and the pipeline's dependencies.
 * Each stage can redo the one before it when that stage's output is gone from the spool (cleaned up,
 * or written on another machine), so a retried job never depends on a file that might be missing.
 */
import { ReelError } from '@reel/infra';
import type { SpooledEmbeddings, SpooledFrames } from '../adapters/frame-spool.ts';
import type { VideoJobData, VideoOutcome } from '../jobs.ts';
import type { CatalogVideo, Frame, PipelineDeps } from '../pipeline-deps.ts';

function catalogRecord(data: VideoJobData, patch: Partial<CatalogVideo>): CatalogVideo {
  return {
    videoId: data.videoId,
    tenant: data.tenant,
    title: data.title,
    tags: data.tags,
    source: data.file,
    sha256: data.sha256,
    sizeBytes: data.sizeBytes,
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

/** Probe, validate, sample, thumbnails; leaves the frames in the spool. */
export async function ingestVideo(
  data: VideoJobData,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<SpooledFrames> {
  await deps.catalog.saveVideo(catalogRecord(data, { status: 'processing' }));
  const sampled = await deps.sampler.sample(data.file, signal);
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
): Promise<SpooledFrames> {
  return (await deps.spool.readFrames(data.videoId)) ?? ingestVideo(data, deps, signal);
}

/** Frames through the image encoder of the job's model; leaves the embeddings in the spool. */
export async function embedFrames(
  data: VideoJobData,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<SpooledEmbeddings> {
  const spooled = await framesFor(data, deps, signal);
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
  const spooled = await framesFor(data, deps, signal);
  const embeddings =
    (await deps.spool.readEmbeddings(data.videoId, data.model.fingerprint)) ??
    (await embedFrames(data, deps, signal));
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
    catalogRecord(data, {
      status: 'indexed',
      durationSeconds: spooled.durationSeconds,
      fingerprint: embeddings.fingerprint,
    }),
  );
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
  await deps.progress.update(data.batchId, data.videoId, { status: 'failed', ...failure });
  await deps.catalog.saveVideo(catalogRecord(data, { status: 'failed', error: failure }));
  await deps.spool.remove(data.videoId);
}
