/**
 * The three stages of a video, as plain functions of the job's data and the pipeline's dependencies.
 * Each stage can redo the one before it when that stage's output is gone from the spool (cleaned up,
 * or written on another machine), so a retried job never depends on a file that might be missing.
 *
 * A job only names a video (tenant, id, batch, model): everything else is read from the video's record
 * in the catalog, which the service wrote when the video was submitted. A job naming a video with no
 * record fails with VIDEO_NOT_SUBMITTED and writes nothing, so a payload someone else wrote cannot make
 * a worker read a file of its choice or write into another tenant's catalogue.
 *
 * A video whose content was not known at submit (a URL, a server-side path) is hashed by its ingest
 * stage, from the file it decodes; when the tenant already has that content, the video ends as a
 * duplicate there (its provisional record removed) and the later stages skip it. A video deleted after
 * its job was submitted is skipped by every stage, and whatever a stage wrote meanwhile is purged (the
 * index stage checks again after its writes), so a job that was running during the delete never brings
 * it back.
 */
import { ReelError } from '@reel/infra';
import type { SpooledEmbeddings, SpooledFrames } from '../adapters/frame-spool.ts';
import { clientBatchId } from '../batch-id.ts';
import type { StageSkip, VideoJobData, VideoOutcome } from '../jobs.ts';
import type { CatalogVideo, ContentClaim, Frame, PipelineDeps } from '../pipeline-deps.ts';
import { type ContentHash, isProvisional, videoIdFor } from '../video-identity.ts';
import { isVideoUrl } from '../video-url.ts';

/** Error code of a job that names a video nobody submitted. */
export const VIDEO_NOT_SUBMITTED = 'VIDEO_NOT_SUBMITTED';

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

/**
 * The video's record: what the job's stage works on. A video deleted meanwhile is skipped; with no
 * record and no delete, the job names a video nobody submitted (VIDEO_NOT_SUBMITTED).
 */
async function recordOf(data: VideoJobData, deps: PipelineDeps): Promise<CatalogVideo | StageSkip> {
  const record = await deps.catalog.getVideo(data.tenant, data.videoId);
  if (record) return record;
  if (await wasDeleted(data, deps)) return dropDeleted(data, deps);
  throw new ReelError(
    VIDEO_NOT_SUBMITTED,
    `${data.videoId}: no such video in tenant ${JSON.stringify(data.tenant)}'s catalogue; the job names a video nobody submitted`,
  );
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

/** Why a stage should not run: the video was deleted, or its ingest found it to be a duplicate. */
async function skipReason(data: VideoJobData, deps: PipelineDeps): Promise<StageSkip | undefined> {
  if (await wasDeleted(data, deps)) return dropDeleted(data, deps);
  if ((await deps.progress.video(data.batchId, data.videoId))?.status === 'duplicate')
    return { videoId: data.videoId, status: 'duplicate' };
  return undefined;
}

/**
 * Settles whose content a video whose content was just learnt is: a video the tenant already has
 * (indexed, or claimed by another upload, URL or path) makes this one a duplicate: its provisional
 * record and its download are removed. Returns undefined when this video holds the content.
 */
async function settleContent(
  data: VideoJobData,
  record: CatalogVideo,
  hash: ContentHash,
  deps: PipelineDeps,
): Promise<StageSkip | undefined> {
  if (!deps.claims)
    throw new ReelError('INTERNAL', `${data.name}: this worker was started without content claims`, {
      retryable: true,
    });
  const contentId = videoIdFor(data.tenant, hash.sha256);
  const indexed = await deps.catalog.getVideo(data.tenant, contentId);
  const claim: ContentClaim =
    indexed?.status === 'indexed'
      ? { claimed: false, videoId: contentId }
      : await deps.claims.claimContent({
          tenant: data.tenant,
          sha256: hash.sha256,
          videoId: data.videoId,
          batchId: data.batchId,
        });
  if (claim.claimed) return undefined;
  // The video holds no content of its own: free it, so submitting it again reads it again.
  await deps.downloader?.discard(data.tenant, data.videoId);
  await deps.claims.releaseClaim(data.videoId, { ifBatch: data.batchId });
  // Only the provisional record this submit wrote: a video indexed before keeps its own.
  if (record.status !== 'indexed') await deps.catalog.deleteVideo(data.tenant, data.videoId);
  const where = claim.batchId ? ` (batch ${clientBatchId(claim.batchId)})` : '';
  await deps.progress.update(data.batchId, data.videoId, {
    status: 'duplicate',
    message: `${data.name}: same content as video ${claim.videoId}${where}`,
    existingVideoId: claim.videoId,
    ...(claim.batchId ? { duplicateOf: clientBatchId(claim.batchId) } : {}),
  });
  deps.logger.info(
    { videoId: data.videoId, name: data.name, existing: claim.videoId },
    'video is a duplicate',
  );
  return { videoId: data.videoId, status: 'duplicate' };
}

/**
 * True for a video whose id is not its content's (a URL or a server-side path submitted through the
 * API): its id was given before its content was known.
 */

/** Downloads a URL video into its tenant's storage; returns the record's new source and hash. */
async function download(
  data: VideoJobData,
  url: string,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<({ file: string } & ContentHash) | StageSkip> {
  if (!deps.downloader)
    throw new ReelError('INTERNAL', `${data.name}: this worker was started without a URL downloader`, {
      retryable: true,
    });
  try {
    return await deps.downloader.fetch(data.tenant, data.videoId, url, signal);
  } catch (error) {
    // A delete during the download removes its folder: that is why it failed, not the server.
    if (await wasDeleted(data, deps)) return dropDeleted(data, deps);
    throw error;
  }
}

/** Download (URL videos), probe, validate, sample, thumbnails; leaves the frames in the spool. */
export async function ingestVideo(
  data: VideoJobData,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<SpooledFrames | StageSkip> {
  const skip = await skipReason(data, deps);
  if (skip) return skip;
  const found = await recordOf(data, deps);
  if (isSkip(found)) return found;
  let record = found;
  // A URL video keeps its URL as its source; its bytes are in its tenant's storage, at a key derived
  // from its id, once downloaded.
  let readFrom = record.source;
  if (isVideoUrl(record.source)) {
    const fetched = await download(data, record.source, deps, signal);
    if (isSkip(fetched)) return fetched;
    if (await wasDeleted(data, deps)) return dropDeleted(data, deps);
    const duplicate = await settleContent(data, record, fetched, deps);
    if (duplicate) return duplicate;
    record = { ...record, sha256: fetched.sha256, sizeBytes: fetched.sizeBytes };
    readFrom = fetched.file;
  }
  const unknownContent = record.sha256 === '';
  // A video already indexed (re-run for a new model) stays indexed: searchable and playable meanwhile.
  const working = record.status === 'indexed' ? 'indexed' : 'processing';
  await deps.catalog.saveVideo({ ...record, status: working });
  const sampled = await deps.sampler.sample(
    { tenant: data.tenant, videoId: data.videoId, source: readFrom, name: data.name },
    signal,
    { hash: unknownContent, ...(data.precision === undefined ? {} : { precision: data.precision }) },
  );
  if (unknownContent) {
    if (!sampled.hash) throw new ReelError('INTERNAL', `${data.name}: the sampler returned no hash`);
    const duplicate = await settleContent(data, record, sampled.hash, deps);
    if (duplicate) return duplicate;
    record = { ...record, sha256: sampled.hash.sha256, sizeBytes: sampled.hash.sizeBytes };
    await deps.catalog.saveVideo({ ...record, status: working });
  }
  const first = sampled.frames[0];
  if (!first) throw new ReelError('DECODE_FAILED', `${data.name}: no frame could be sampled`);
  // Its words: each track that could not be read says why on its own listing; the video goes on.
  const tracks =
    (await deps.captions?.saveRead(data.tenant, data.videoId, {
      tracks: sampled.captions ?? [],
      sidecars: sampled.sidecars ?? [],
    })) ?? [];
  for (const track of tracks)
    if (track.error)
      deps.logger.warn(
        { videoId: data.videoId, file: data.name, track: track.id, code: track.error.code },
        track.error.message,
      );
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
    ...(sampled.sampling ? { sampling: sampled.sampling } : {}),
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
  const record = await recordOf(data, deps);
  if (isSkip(record)) return record;
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
  const before = await recordOf(data, deps);
  if (isSkip(before)) return before;
  // The frames' times, thumbnails and duration; their pixels only if the embeddings must be made again.
  const spooled = (await deps.spool.readFrameMeta(data.videoId)) ?? (await ingestVideo(data, deps, signal));
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
  // Read again: the ingest stage (possibly this one, just now) recorded the source and hash.
  const record = await recordOf(data, deps);
  if (isSkip(record)) return record;
  await deps.catalog.saveVideo({
    ...record,
    status: 'indexed',
    durationSeconds: spooled.durationSeconds,
    fingerprint: embeddings.fingerprint,
  });
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
  failure: { code: string; message: string; retryable: boolean },
): Promise<void> {
  // A job naming a video nobody submitted: there is no record to fail, and nothing is written.
  if (failure.code === VIDEO_NOT_SUBMITTED) return;
  // A deleted video leaves no record behind, failed or not (its file may be gone because of the delete).
  if (await wasDeleted(data, deps)) {
    await dropDeleted(data, deps);
    return;
  }
  const record = await deps.catalog.getVideo(data.tenant, data.videoId);
  if (!record) return;
  // Messages name the file as the user gave it (upload name, requested path), not where it is stored.
  const shown =
    record.source.length > 0 && record.source !== data.name
      ? { ...failure, message: failure.message.replaceAll(record.source, data.name) }
      : failure;
  await deps.progress.update(data.batchId, data.videoId, { status: 'failed', ...shown });
  await deps.catalog.saveVideo({ ...record, status: 'failed', error: shown });
  await deps.spool.remove(data.videoId);
  if (isProvisional(record) && record.status !== 'indexed') {
    // A URL or path may work later (a server back up, a file put in place): let it be submitted again.
    // (A video indexed before, failing a re-run, keeps its download: it is still what plays.)
    await deps.downloader?.discard(data.tenant, data.videoId);
    await deps.claims?.releaseClaim(data.videoId, { ifBatch: data.batchId });
  }
  // The failure is recorded whatever happens to its webhooks: a failed emit is logged, not thrown over it.
  await deps.events
    ?.failed(data, shown)
    .catch((error: unknown) =>
      deps.logger.error(
        { videoId: data.videoId, err: (error as Error).message },
        'video.failed event not queued',
      ),
    );
}
