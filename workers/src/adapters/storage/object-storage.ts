/**
 * Where reel keeps the files a video brings and makes: the video itself (an upload or a URL download)
 * and its thumbnails. Two implementations: the data folder (`LocalStorage`, the default) and a bucket of
 * S3-compatible storage (`S3Storage`, `REEL_STORAGE=s3`). Spool and models stay on each machine's disk.
 *
 * Objects are named by keys (`videos/<tenant>/<uuid>.mp4`, `thumbnails/<video id>/thumb-0000.webp`: see
 * storage-keys.ts). Records and jobs keep a reference instead (`ref`): the absolute path for the data
 * folder (what they have always kept) or `s3://<bucket>/<prefix><key>`, so any process reading a record
 * knows where the object is, and a path somebody submitted (never ours) is told apart by `keyOf`.
 */
import type { Readable } from 'node:stream';

/** Bytes `start` to `end` of an object, both included (HTTP's byte ranges). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ObjectInfo {
  /** The whole object's size in bytes. */
  size: number;
  contentType: string | undefined;
  etag: string | undefined;
  lastModified: Date | undefined;
}

export interface StoredObject extends ObjectInfo {
  /** The object's bytes, or only the range asked for. Consume or destroy it. */
  stream: Readable;
  /** The bytes `stream` holds when a range was asked for. */
  range: ByteRange | undefined;
}

/** A file on this machine with an object's bytes, for programs that read files (ffmpeg). */
export interface LocalCopy {
  path: string;
  /** Removes the copy (nothing, when `path` is the stored file itself). */
  release(): Promise<void>;
}

export interface ObjectStorage {
  readonly kind: 'local' | 's3';
  /** For messages: the folders, or `s3://bucket/prefix`. */
  readonly location: string;
  /** What records and jobs keep for `key`: its absolute path, or `s3://<bucket>/<prefix><key>`. */
  ref(key: string): string;
  /**
   * The key of a reference to an object of this storage; undefined for anything else (a server-side path
   * outside the storage's folders, a symlink leading out, another bucket, a URL).
   */
  keyOf(ref: string): Promise<string | undefined>;
  /** The object's path when this storage is a local folder (LocalStorage), else undefined. */
  localPath(key: string): string | undefined;
  /**
   * Stores `body` under `key`, complete or not at all (a temporary file renamed into place; a multipart
   * upload completed only after its last part), replacing any object there. A body stream that fails
   * fails the put with the stream's error. Returns the bytes stored.
   */
  put(
    key: string,
    body: Readable | Uint8Array,
    options?: { contentType?: string },
  ): Promise<{ size: number }>;
  /**
   * The object's bytes, or undefined when absent. With `range`, only those bytes: its end is clamped to
   * the object's last byte, its start must lie within the object (check with `stat` first).
   */
  get(key: string, options?: { range?: ByteRange }): Promise<StoredObject | undefined>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Removes one object (nothing when absent). */
  delete(key: string): Promise<void>;
  /** Removes every object whose key starts with `prefix`, a folder ending in `/` (e.g. `thumbnails/v_…/`). */
  deletePrefix(prefix: string): Promise<void>;
  /** Keys of the objects under `prefix` (ending in `/`, or empty for all), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * A local file with the object's bytes, or undefined when absent: the stored file itself for a local
   * folder, else a download into `dir` that `release()` removes.
   */
  localCopy(key: string, options: { dir: string; signal?: AbortSignal }): Promise<LocalCopy | undefined>;
  /** Releases connections. */
  close(): void;
}
