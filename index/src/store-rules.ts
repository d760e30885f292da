/**
 * The rules every IndexStore adapter applies before it writes: what a valid video record and a valid
 * set of embeddings are (VIDEO_INVALID, EMBEDDINGS_INVALID name the field), and the revision of a
 * video's rescoring data (48 bits of sha256: equal data, equal revision), which the search's rescore
 * cache compares. Engine-neutral, so another adapter applies the same rules (test/store-rules.test.ts).
 */
import { createHash } from 'node:crypto';
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from './errors.ts';
import { frameDataBytes } from './frame-codec.ts';
import { VIDEO_STATUSES, type VideoEmbeddings, type VideoRecord } from './video-record.ts';
import { xpoolCompactLength } from './xpool/xpool-terms.ts';

function videoInvalid(message: string): never {
  throw new ReelError(IndexErrorCode.VIDEO_INVALID, message);
}

export function checkId(value: unknown, what: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512)
    videoInvalid(
      `${what}: expected a non-empty string of at most 512 characters, got ${JSON.stringify(value)}`,
    );
}

export function checkVideoRecord(record: VideoRecord): void {
  checkId(record.tenant, 'video tenant');
  checkId(record.id, 'video id');
  const where = `video ${record.id}`;
  if (typeof record.title !== 'string')
    videoInvalid(`${where} title: expected a string, got ${typeof record.title}`);
  if (!Array.isArray(record.tags) || record.tags.some((t) => typeof t !== 'string' || t.length === 0))
    videoInvalid(`${where} tags: expected an array of non-empty strings, got ${JSON.stringify(record.tags)}`);
  if (!(record.createdAt instanceof Date) || Number.isNaN(record.createdAt.getTime()))
    videoInvalid(`${where} createdAt: expected a valid Date, got ${String(record.createdAt)}`);
  if (
    record.ingestedAt !== null &&
    (!(record.ingestedAt instanceof Date) || Number.isNaN(record.ingestedAt.getTime()))
  )
    videoInvalid(`${where} ingestedAt: expected a valid Date or null, got ${String(record.ingestedAt)}`);
  if (
    record.durationSeconds !== null &&
    (typeof record.durationSeconds !== 'number' ||
      !Number.isFinite(record.durationSeconds) ||
      record.durationSeconds < 0)
  )
    videoInvalid(
      `${where} durationSeconds: expected a finite number ≥ 0 or null, got ${record.durationSeconds}`,
    );
  if (!VIDEO_STATUSES.includes(record.status))
    videoInvalid(
      `${where} status: expected one of ${VIDEO_STATUSES.join(', ')}, got ${JSON.stringify(record.status)}`,
    );
  if (typeof record.sha256 !== 'string') videoInvalid(`${where} sha256: expected a hex string`);
  if (
    record.error !== null &&
    (typeof record.error?.code !== 'string' ||
      typeof record.error?.message !== 'string' ||
      (record.error.retryable !== undefined && typeof record.error.retryable !== 'boolean'))
  )
    videoInvalid(
      `${where} error: expected { code, message } strings (and retryable, a boolean) or null, got ${JSON.stringify(record.error)}`,
    );
}

function embeddingsInvalid(message: string): never {
  throw new ReelError(IndexErrorCode.EMBEDDINGS_INVALID, message);
}

export function checkVideoEmbeddings(e: VideoEmbeddings): void {
  checkId(e.tenant, 'embeddings tenant');
  checkId(e.videoId, 'embeddings videoId');
  if (typeof e.fingerprint !== 'string' || e.fingerprint.length === 0)
    embeddingsInvalid(
      `embeddings of ${e.videoId}: expected a fingerprint, got ${JSON.stringify(e.fingerprint)}`,
    );
  const F = e.frameCount;
  const D = e.dim;
  const where = `embeddings of ${e.videoId}`;
  if (!Number.isInteger(F) || F < 1 || F > 255)
    embeddingsInvalid(`${where}: expected 1 to 255 frames, got ${F}`);
  if (!Number.isInteger(D) || D < 1) embeddingsInvalid(`${where}: expected D ≥ 1, got ${D}`);
  const fr = e.frames;
  if (fr.frameCount !== F || fr.dim !== D || fr.data.length !== F * D)
    embeddingsInvalid(
      `${where}: expected ${F}×${D} compact frame values, got ${fr.frameCount}×${fr.dim} (${fr.data.length})`,
    );
  for (const [name, arr] of [
    ['scales', fr.scales],
    ['norms', fr.norms],
    ['means', fr.means],
    ['variances', fr.variances],
  ] as const)
    if (arr.length !== F) embeddingsInvalid(`${where}: expected ${F} frame ${name}, got ${arr.length}`);
  if (e.timestamps.length !== F)
    embeddingsInvalid(`${where}: expected ${F} timestamps, got ${e.timestamps.length}`);
  if (e.thumbnails.length !== F)
    embeddingsInvalid(`${where}: expected ${F} thumbnails, got ${e.thumbnails.length}`);
  if (e.mean.length !== D)
    embeddingsInvalid(`${where}: expected a mean vector of ${D}, got ${e.mean.length}`);
  if (e.gram.length !== F * F)
    embeddingsInvalid(`${where}: expected a ${F}×${F} Gram, got ${e.gram.length} values`);
  if (
    e.xpoolCache !== undefined &&
    (e.xpoolCache.frameCount !== F || e.xpoolCache.data.length !== xpoolCompactLength(F))
  )
    embeddingsInvalid(`${where}: expected X-Pool terms of ${F} frames, got ${e.xpoolCache.frameCount}`);
}

/** 48 bits of sha256 over the stored rescoring data: equal data, equal revision. */
export function embeddingsRevision(e: VideoEmbeddings): number {
  const hash = createHash('sha256');
  const add = (a: ArrayBufferView) => hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  hash.update(e.frames.codec);
  add(frameDataBytes(e.frames));
  for (const a of [e.frames.scales, e.frames.norms, e.frames.means, e.frames.variances, e.gram]) add(a);
  add(Float64Array.from(e.timestamps));
  if (e.xpoolCache !== undefined) {
    add(new Uint32Array([e.xpoolCache.headChecksum >>> 0]));
    add(e.xpoolCache.data);
  }
  return hash.digest().readUIntBE(0, 6);
}
