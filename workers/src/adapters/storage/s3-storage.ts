/**
 * Object storage in a bucket of S3-compatible storage (AWS S3, MinIO, R2, Ceph…) through
 * @aws-sdk/client-s3; bodies are streamed with @aws-sdk/lib-storage (one PUT for small bodies, a
 * multipart upload of 8 MiB parts, 4 at a time, for large ones, aborted when the body fails), so no
 * object is ever partial. Keys live under an optional prefix; a reference is `s3://<bucket>/<prefix><key>`.
 *
 * Failures of the store (network, 5xx, throttling, access denied, missing bucket) are ReelError
 * `STORAGE_UNAVAILABLE`, retryable: jobs retry with backoff and the API answers 503 until it is fixed.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isReelError, ReelError } from '@reel/infra';
import type { ByteRange, LocalCopy, ObjectInfo, ObjectStorage, StoredObject } from './object-storage.ts';
import { checkKey, checkPrefix, contentTypeOf, isKey } from './storage-keys.ts';

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix in the bucket: empty, or ending in `/`. */
  prefix?: string;
  /** The client's settings (endpoint, region, path style, credentials): see `s3ClientConfig`. */
  client: S3ClientConfig;
  /** Multipart part size in bytes (default 8 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
}

const PART_SIZE = 8 * 1024 * 1024;

export class S3Storage implements ObjectStorage {
  readonly kind = 's3' as const;
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #partSize: number;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    if (this.prefix !== '' && !this.prefix.endsWith('/'))
      throw new ReelError(
        'STORAGE_BAD_KEY',
        `S3 prefix ${JSON.stringify(this.prefix)}: expected it to end in "/"`,
      );
    this.#client = new S3Client(options.client);
    this.#partSize = Math.max(5 * 1024 * 1024, options.partSize ?? PART_SIZE);
    this.location = `s3://${this.bucket}/${this.prefix}`;
  }

  #key(key: string): string {
    return `${this.prefix}${checkKey(key)}`;
  }

  ref(key: string): string {
    return `s3://${this.bucket}/${this.#key(key)}`;
  }

  async keyOf(ref: string): Promise<string | undefined> {
    const start = `s3://${this.bucket}/${this.prefix}`;
    if (!ref.startsWith(start)) return undefined;
    const key = ref.slice(start.length);
    return isKey(key) ? key : undefined;
  }

  localPath(): undefined {
    return undefined;
  }

  async put(
    key: string,
    body: Readable | Uint8Array,
    options: { contentType?: string } = {},
  ): Promise<{ size: number }> {
    let size = 0;
    let bodyError: unknown;
    const counted =
      body instanceof Uint8Array
        ? body
        : Readable.from(
            (async function* () {
              try {
                for await (const chunk of body) {
                  size += (chunk as Uint8Array).length;
                  yield chunk as Uint8Array;
                }
              } catch (error) {
                bodyError = error;
                throw error;
              }
            })(),
          );
    const upload = new Upload({
      client: this.#client,
      params: {
        Bucket: this.bucket,
        Key: this.#key(key),
        Body: counted,
        ContentType: options.contentType ?? contentTypeOf(key),
      },
      partSize: this.#partSize,
      queueSize: 4,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      // The body's own failure (a size limit, a download that broke) is the reason, not the upload's.
      if (bodyError !== undefined) throw bodyError;
      throw this.#failed(`put ${key}`, error);
    }
    return { size: body instanceof Uint8Array ? body.length : size };
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }),
      );
      return {
        size: head.ContentLength ?? 0,
        contentType: head.ContentType,
        etag: head.ETag,
        lastModified: head.LastModified,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.#failed(`stat ${key}`, error);
    }
  }

  async get(key: string, options: { range?: ByteRange } = {}): Promise<StoredObject | undefined> {
    let answer: GetObjectCommandOutput;
    const range = options.range;
    try {
      answer = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.#key(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.#failed(`get ${key}`, error);
    }
    const stream = answer.Body as Readable;
    const total = /\/(\d+)$/.exec(answer.ContentRange ?? '')?.[1];
    const size = total === undefined ? (answer.ContentLength ?? 0) : Number(total);
    const served = /^bytes (\d+)-(\d+)\//.exec(answer.ContentRange ?? '');
    return {
      stream,
      size,
      contentType: answer.ContentType,
      etag: answer.ETag,
      lastModified: answer.LastModified,
      range:
        range === undefined
          ? undefined
          : served
            ? { start: Number(served[1]), end: Number(served[2]) }
            : { start: 0, end: size - 1 },
    };
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.#failed(`delete ${key}`, error);
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    checkPrefix(prefix);
    // Listed again after each round: a page is at most 1000 keys, as is one DeleteObjects.
    for (;;) {
      const keys = await this.#listPage(`${this.prefix}${prefix}`);
      if (keys.length === 0) return;
      try {
        const answer = await this.#client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failed = answer.Errors?.[0];
        if (failed) throw new Error(`${failed.Key}: ${failed.Code} ${failed.Message}`);
      } catch (error) {
        throw this.#failed(`delete ${prefix}`, error);
      }
    }
  }

  async list(prefix: string): Promise<string[]> {
    if (prefix !== '') checkPrefix(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      try {
        const page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${prefix}`,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const object of page.Contents ?? [])
          if (object.Key) keys.push(object.Key.slice(this.prefix.length));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } catch (error) {
        throw this.#failed(`list ${prefix}`, error);
      }
    } while (token);
    return keys.sort();
  }

  async #listPage(fullPrefix: string): Promise<string[]> {
    try {
      const page = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: fullPrefix }),
      );
      return (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
    } catch (error) {
      throw this.#failed(`list ${fullPrefix}`, error);
    }
  }

  async localCopy(
    key: string,
    options: { dir: string; signal?: AbortSignal },
  ): Promise<LocalCopy | undefined> {
    const object = await this.get(key);
    if (object === undefined) return undefined;
    await mkdir(options.dir, { recursive: true });
    const file = path.join(options.dir, `${randomUUID()}${path.extname(key)}`);
    try {
      await pipeline(
        object.stream,
        createWriteStream(file),
        options.signal ? { signal: options.signal } : {},
      );
    } catch (error) {
      await rm(file, { force: true });
      if (options.signal?.aborted) throw error;
      throw this.#failed(`download ${key}`, error);
    }
    return { path: file, release: () => rm(file, { force: true }) };
  }

  close(): void {
    this.#client.destroy();
  }

  #failed(what: string, error: unknown): ReelError {
    if (isReelError(error)) return error;
    const e = error as {
      name?: string;
      Code?: string;
      message?: string;
      $metadata?: { httpStatusCode?: number };
    };
    const status = e.$metadata?.httpStatusCode;
    const reason = [e.Code ?? e.name, status ? `HTTP ${status}` : undefined, e.message]
      .filter(Boolean)
      .join(', ');
    return new ReelError('STORAGE_UNAVAILABLE', `${this.location}: ${what} failed (${reason})`, {
      retryable: true,
      cause: error,
    });
  }
}

/** The object is absent (a missing bucket is a failure, not an absent object). */
function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchBucket') return false;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
