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
import type { ObjectStorage } from '../adapters/storage/object-storage.ts';
import { uploadKey } from '../adapters/storage/storage-keys.ts';
import type { ModelRef } from '../jobs.ts';
import { VIDEO_EXTENSIONS } from '../submit-paths.ts';
import type { BatchService, SubmitBatchResult, SubmitFile } from './batch.service.ts';

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

/** One upload in progress: files are added as they arrive, then it is finished or aborted. */
export class Upload {
  readonly #tenant: string;
  readonly #storage: ObjectStorage;
  readonly #batches: BatchService;
  readonly #limits: UploadLimits;
  /** Keys stored by this upload. */
  readonly #stored: string[] = [];
  readonly #files: SubmitFile[] = [];
  #requestBytes = 0;

  constructor(tenant: string, deps: { storage: ObjectStorage; batches: BatchService; limits: UploadLimits }) {
    this.#tenant = tenant;
    this.#storage = deps.storage;
    this.#batches = deps.batches;
    this.#limits = deps.limits;
  }

  /** Streams one file into storage, hashed on the way; throws TOO_LARGE past a limit (nothing kept of it). */
  async addFile(file: UploadedFile): Promise<void> {
    const name = displayName(file.filename, this.#files.length);
    const key = uploadKey(this.#tenant, randomUUID(), storedExtension(name));
    this.#stored.push(key);
    const hash = createHash('sha256');
    let size = 0;
    const limits = this.#limits;
    const upload = this;
    // Limits fail the stream before storage completes the object: nothing too large is stored.
    async function* metered(): AsyncGenerator<Uint8Array> {
      for await (const chunk of file.stream) {
        upload.#requestBytes += chunk.length;
        if (upload.#requestBytes > limits.maxRequestBytes)
          throw new ReelError(
            'TOO_LARGE',
            `the files of this request exceed ${limits.maxRequestBytes} bytes in all (REEL_API_MAX_REQUEST_BYTES)`,
          );
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
  async finish(model: ModelRef): Promise<SubmitBatchResult> {
    if (this.#files.length === 0)
      throw new ReelError('NO_FILES', 'the request carries no file parts (send the videos as "file" parts)');
    const result = await this.#batches.submit({ tenant: this.#tenant, files: this.#files, model });
    const queued = new Set(
      result.videos.flatMap((v, i) => (v.status === 'queued' ? [this.#files[i]!.path] : [])),
    );
    await Promise.all(
      this.#stored.filter((k) => !queued.has(this.#storage.ref(k))).map((k) => this.#storage.delete(k)),
    );
    return result;
  }

  /** Removes everything this upload stored (a failed or abandoned upload). */
  async abort(): Promise<void> {
    await Promise.all(this.#stored.map((k) => this.#storage.delete(k).catch(() => {})));
  }
}

export class UploadService {
  readonly #deps: { storage: ObjectStorage; batches: BatchService; limits: UploadLimits };

  constructor(deps: { storage: ObjectStorage; batches: BatchService; limits: UploadLimits }) {
    this.#deps = deps;
  }

  /** A new upload into `tenant`'s videos. */
  start(tenant: string): Upload {
    return new Upload(tenant, this.#deps);
  }
}
