/**
 * Uploads, whatever front door they come through: each file streams into storage under a fresh key in
 * its tenant's folder (`videos/<tenant>/<uuid><ext>`: the upload's name is only ever shown), hashed on
 * the way and cut off at the per-file and per-request limits before storage completes the object
 * (nothing too large is stored); then the batch is submitted, and the files that will not be indexed
 * (duplicates, failures) are removed. An upload that fails or is abandoned removes everything it stored.
 */

import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ReelError } from '@reel/infra';
import type { SamplingPrecision } from '@reel/ingest';
import type { ObjectStorage } from '../adapters/storage/object-storage.ts';
import { uploadKey } from '../adapters/storage/storage-keys.ts';
import type { ModelRef } from '../jobs.ts';
import { VIDEO_EXTENSIONS } from '../submit-paths.ts';
import type { BatchService, SubmitBatchResult, SubmitFile, SubmittedCaption } from './batch.service.ts';
import {
  CAPTION_EXTENSIONS,
  type CaptionService,
  isCaptionOf,
  MAX_CAPTION_BYTES,
} from './caption.service.ts';

export interface UploadLimits {
  /** Largest file one upload may carry, in bytes (REEL_API_MAX_UPLOAD_BYTES). */
  maxFileBytes: number;
  /** Most bytes of files one upload may carry in all (REEL_API_MAX_REQUEST_BYTES). */
  maxRequestBytes: number;
}

/** One file part of an upload, as the front door received it. */
export interface UploadedFile {
  /** The name the client gave (only shown, never a path). */
  filename: string | undefined;
  /** The bytes, as they arrive. */
  stream: AsyncIterable<Uint8Array>;
  /** True once the front door cut the part at the per-file limit (checked when the stream ends). */
  truncated(): boolean;
  title?: string;
  tags: string[];
}

/**
 * A display name from an upload's file name: the last path segment, control characters and anything
 * outside printable text dropped, at most 200 characters (`upload-<n>` when nothing is left).
 */
export function displayName(filename: string | undefined, index: number): string {
  const base = (filename ?? '').split(/[\\/]/).pop() ?? '';
  const clean = [...base]
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f) // no control characters
    .join('')
    .trim()
    .slice(0, 200);
  return clean.length > 0 && clean !== '.' && clean !== '..' ? clean : `upload-${index + 1}`;
}

/** The stored file's extension: the upload's, when it is a known video extension (else none). */
function storedExtension(name: string): string {
  const ext = path.extname(name).toLowerCase();
  return VIDEO_EXTENSIONS.has(ext) ? ext : '';
}

/** A video's name without its extension (what its caption files are named after). */
function baseName(name: string): string {
  return name.replace(/\.[^.]*$/, '');
}

interface UploadDeps {
  storage: ObjectStorage;
  batches: BatchService;
  limits: UploadLimits;
  /** Caption files (.srt, .vtt, .ass) beside the videos are read and attached to theirs. */
  captions?: CaptionService;
}

/** One upload in progress: files are added as they arrive, then it is finished or aborted. */
export class Upload {
  readonly #tenant: string;
  readonly #storage: ObjectStorage;
  readonly #batches: BatchService;
  readonly #limits: UploadLimits;
  readonly #captions: CaptionService | undefined;
  /** Keys stored by this upload. */
  readonly #stored: string[] = [];
  readonly #files: SubmitFile[] = [];
  /** Caption files, kept in memory (at most MAX_CAPTION_BYTES each) until the videos are submitted. */
  readonly #captionFiles: { name: string; bytes: Uint8Array; tooLarge: boolean }[] = [];
  #requestBytes = 0;

  constructor(tenant: string, deps: UploadDeps) {
    this.#tenant = tenant;
    this.#storage = deps.storage;
    this.#batches = deps.batches;
    this.#limits = deps.limits;
    this.#captions = deps.captions;
  }

  #countRequestBytes(bytes: number): void {
    this.#requestBytes += bytes;
    if (this.#requestBytes > this.#limits.maxRequestBytes)
      throw new ReelError(
        'TOO_LARGE',
        `the files of this request exceed ${this.#limits.maxRequestBytes} bytes in all (REEL_API_MAX_REQUEST_BYTES)`,
      );
  }

  /** A caption file: read into memory, up to one byte past the caption limit (the rest is drained). */
  async #addCaption(name: string, file: UploadedFile): Promise<void> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of file.stream) {
      this.#countRequestBytes(chunk.length);
      if (size <= MAX_CAPTION_BYTES) chunks.push(chunk);
      size += chunk.length;
    }
    const bytes = Buffer.concat(chunks);
    const tooLarge = size > MAX_CAPTION_BYTES || file.truncated();
    this.#captionFiles.push({ name, bytes: tooLarge ? bytes.subarray(0, 0) : bytes, tooLarge });
  }

  /**
   * Streams one file into storage, hashed on the way; throws TOO_LARGE past a limit (nothing kept of
   * it). A caption file (by its extension, with a caption service) is kept for its video instead.
   */
  async addFile(file: UploadedFile): Promise<void> {
    const name = displayName(file.filename, this.#files.length + this.#captionFiles.length);
    if (this.#captions !== undefined && CAPTION_EXTENSIONS.has(path.extname(name).toLowerCase()))
      return this.#addCaption(name, file);
    const key = uploadKey(this.#tenant, randomUUID(), storedExtension(name));
    this.#stored.push(key);
    const hash = createHash('sha256');
    let size = 0;
    const limits = this.#limits;
    const upload = this;
    // Limits fail the stream before storage completes the object: nothing too large is stored.
    async function* metered(): AsyncGenerator<Uint8Array> {
      for await (const chunk of file.stream) {
        upload.#countRequestBytes(chunk.length);
        size += chunk.length;
        hash.update(chunk);
        yield chunk;
      }
      if (file.truncated())
        throw new ReelError(
          'TOO_LARGE',
          `${name}: larger than ${limits.maxFileBytes} bytes (REEL_API_MAX_UPLOAD_BYTES)`,
        );
    }
    await this.#storage.put(key, Readable.from(metered()));
    this.#files.push({
      path: this.#storage.ref(key),
      hash: { sha256: hash.digest('hex'), sizeBytes: size },
      name,
      ...(file.title ? { title: file.title } : {}),
      tags: file.tags,
    });
  }

  /**
   * Submits the files as one batch (embedded with `model`) and removes those that will not be indexed
   * (duplicates, failures). Throws NO_FILES when no file was added.
   */
  /** Submits the stored files as one batch, sampled at `options.precision` (default REEL_SAMPLING_PRECISION). */
  async finish(model: ModelRef, options: { precision?: SamplingPrecision } = {}): Promise<SubmitBatchResult> {
    if (this.#files.length === 0)
      throw new ReelError(
        'NO_FILES',
        this.#captionFiles.length > 0
          ? 'the request carries caption files but no video (send each video as a "file" part beside its captions)'
          : 'the request carries no file parts (send the videos as "file" parts)',
      );
    const result = await this.#batches.submit({
      tenant: this.#tenant,
      files: this.#files,
      model,
      ...(options.precision ? { precision: options.precision } : {}),
    });
    const queued = new Set(
      result.videos.flatMap((v, i) => (v.status === 'queued' ? [this.#files[i]!.path] : [])),
    );
    await Promise.all(
      this.#stored.filter((k) => !queued.has(this.#storage.ref(k))).map((k) => this.#storage.delete(k)),
    );
    if (this.#captionFiles.length === 0) return result;
    return { ...result, captions: await this.#attachCaptions(result) };
  }

  /**
   * Each caption file goes to the upload's video of the same base name (`talk.mp4` takes `talk.srt`
   * and `talk.fr.vtt`); one that cannot be read is attached as a track that was not read, with why.
   */
  async #attachCaptions(result: SubmitBatchResult): Promise<SubmittedCaption[]> {
    const videoOf = new Map<string, string>();
    for (const [i, video] of result.videos.entries())
      if (video.videoId !== undefined && video.status !== 'failed')
        videoOf.set(baseName(this.#files[i]!.name ?? ''), video.videoId);
    // The longest video name a caption file is named after: talk.en.srt is talk.en's before talk's.
    const owner = (name: string) =>
      [...videoOf.keys()].filter((base) => isCaptionOf(base, name)).sort((a, b) => b.length - a.length)[0];
    const outcomes: SubmittedCaption[] = [];
    for (const file of this.#captionFiles) {
      const base = owner(file.name);
      const videoId = base === undefined ? null : videoOf.get(base)!;
      if (videoId === null) {
        outcomes.push({
          name: file.name,
          videoId: null,
          trackId: null,
          cues: 0,
          code: 'CAPTIONS_UNMATCHED',
          message: `${file.name}: no video of this upload is named after it (a caption file takes the name of its video, e.g. talk.mp4 and talk.srt or talk.en.srt)`,
        });
        continue;
      }
      if (file.tooLarge) {
        outcomes.push({
          name: file.name,
          videoId,
          trackId: null,
          cues: 0,
          code: 'CAPTIONS_TOO_LARGE',
          message: `${file.name}: more than the ${MAX_CAPTION_BYTES}-byte limit of a caption file`,
        });
        continue;
      }
      try {
        const track = await this.#captions!.attachOrRecord(this.#tenant, videoId, file);
        outcomes.push({
          name: file.name,
          videoId,
          trackId: track.id,
          cues: track.cueCount,
          ...(track.error ? { code: track.error.code, message: track.error.message } : {}),
        });
      } catch (error) {
        // The videos are submitted: a caption that could not be attached is said, not thrown over them.
        const coded = error instanceof ReelError ? error : undefined;
        outcomes.push({
          name: file.name,
          videoId,
          trackId: null,
          cues: 0,
          code: coded?.code ?? 'INTERNAL',
          message: `${file.name}: ${(error as Error).message}`,
        });
      }
    }
    return outcomes;
  }

  /** Removes everything this upload stored (a failed or abandoned upload). */
  async abort(): Promise<void> {
    await Promise.all(this.#stored.map((k) => this.#storage.delete(k).catch(() => {})));
  }
}

export class UploadService {
  readonly #deps: UploadDeps;

  constructor(deps: UploadDeps) {
    this.#deps = deps;
  }

  /** A new upload into `tenant`'s videos. */
  start(tenant: string): Upload {
    return new Upload(tenant, this.#deps);
  }
}
