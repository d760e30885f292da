/**
 * What the spec cannot say, by hand: uploading files or a folder as one multipart batch with byte
 * progress, waiting for a batch to end, and every page of a cursor listing.
 *
 * The multipart body is written here as a stream (boundary, headers, each file read from disk as it is
 * sent) because fetch's FormData gives no progress and reads Blobs whole; the rest is plain typed calls.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { components, paths } from './openapi.ts';
import { dataOf, type ReelClient, toApiError } from './reel-client.ts';

export type BatchAccepted = paths['/v1/videos']['post']['responses'][202]['content']['application/json'];
export type BatchStatus = paths['/v1/batches/{id}']['get']['responses'][200]['content']['application/json'];
export type Video = components['schemas']['Video'];
type VideoQuery = NonNullable<paths['/v1/videos']['get']['parameters']['query']>;

/** File name endings the server takes as videos (its upload route checks the bytes, not the name). */
export const VIDEO_FILE = /\.(mp4|m4v|mov|mkv|webm|avi|mpg|mpeg|ts|mts|m2ts|wmv|flv|3gp|ogv)$/i;

export interface UploadOptions {
  /** Applies to every file: the server's `title` field is per file and left to its name here. */
  tags?: string[];
  /** Bytes sent so far of the whole request, and its size. */
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

/** The video files of a folder (recursively, sorted), as an upload of it takes them. */
export async function videoFilesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && VIDEO_FILE.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Uploads files as one batch (`POST /v1/videos`), reporting bytes sent; resolves with the 202 answer. */
export async function uploadFiles(
  client: ReelClient,
  files: readonly string[],
  options: UploadOptions = {},
): Promise<BatchAccepted> {
  if (files.length === 0) throw new Error('uploadFiles: no files to upload');
  const boundary = `reel-${crypto.randomUUID()}`;
  const encoder = new TextEncoder();
  const quote = (s: string) => s.replace(/["\\\r\n]/g, '_');
  const head = options.tags?.length
    ? encoder.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="tags"\r\n\r\n${options.tags.join(',')}\r\n`,
      )
    : new Uint8Array();
  const parts = await Promise.all(
    files.map(async (file) => ({
      file,
      size: (await stat(file)).size,
      header: encoder.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(path.basename(file))}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
    })),
  );
  const tail = encoder.encode(`--${boundary}--\r\n`);
  const total = head.length + parts.reduce((sum, p) => sum + p.header.length + p.size + 2, 0) + tail.length;
  let sent = 0;
  const progress = (n: number) => {
    sent += n;
    options.onProgress?.(sent, total);
  };
  async function* body(): AsyncGenerator<Uint8Array> {
    if (head.length) {
      progress(head.length);
      yield head;
    }
    for (const part of parts) {
      progress(part.header.length);
      yield part.header;
      for await (const chunk of createReadStream(part.file)) {
        progress((chunk as Buffer).length);
        yield chunk as Buffer;
      }
      progress(2);
      yield encoder.encode('\r\n');
    }
    progress(tail.length);
    yield tail;
  }
  const response = await client.fetch(`${client.baseUrl}/v1/videos`, {
    method: 'POST',
    headers: {
      ...client.headers(),
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(total),
    },
    body: streamOf(body()),
    // a streamed request body (Node's fetch needs it said)
    duplex: 'half',
    ...(options.signal ? { signal: options.signal } : {}),
  } as RequestInit);
  if (response.status !== 202) throw await toApiError(response);
  return (await response.json()) as BatchAccepted;
}

/** Uploads a folder's video files (see {@link videoFilesIn}) as one batch. */
export async function uploadFolder(
  client: ReelClient,
  dir: string,
  options: UploadOptions = {},
): Promise<BatchAccepted> {
  const files = await videoFilesIn(dir);
  if (files.length === 0) throw new Error(`uploadFolder: no video files under ${dir}`);
  return uploadFiles(client, files, options);
}

/** Polls a batch until it has ended; `onProgress` sees every status read. */
export async function waitForBatch(
  client: ReelClient,
  batchId: string,
  options: { pollMs?: number; timeoutMs?: number; onProgress?: (status: BatchStatus) => void } = {},
): Promise<BatchStatus> {
  const deadline = Date.now() + (options.timeoutMs ?? 3_600_000);
  for (;;) {
    const status = dataOf(await client.api.GET('/v1/batches/{id}', { params: { path: { id: batchId } } }));
    options.onProgress?.(status);
    if (status.finishedAt !== null) return status;
    if (Date.now() > deadline)
      throw new Error(
        `batch ${batchId}: not finished after ${options.timeoutMs} ms (${status.done} of ${status.total} done)`,
      );
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
}

/**
 * Every item of a cursor listing, page by page: `fetchPage(cursor)` returns a page and its
 * `nextCursor` (null at the end).
 */
export async function* allPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
): AsyncGenerator<T> {
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.items;
    if (!page.nextCursor) return;
    cursor = page.nextCursor;
  }
}

/** Every video of the tenant (filters and order as `GET /v1/videos` takes them), all pages. */
export function allVideos(client: ReelClient, query: Omit<VideoQuery, 'cursor'> = {}): AsyncGenerator<Video> {
  return allPages(async (cursor) => {
    const page = dataOf(
      await client.api.GET('/v1/videos', { params: { query: { ...query, ...(cursor ? { cursor } : {}) } } }),
    );
    return { items: page.videos, nextCursor: page.nextCursor };
  });
}

/** A web stream of a generator's chunks, pulled as the request sends them. */
function streamOf(chunks: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
