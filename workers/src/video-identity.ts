/**
 * A video's identity is its content: the sha256 of its bytes, per tenant. The same file uploaded twice
 * (under any name, in one batch or in two) is one video.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, realpath } from 'node:fs/promises';
import { openRegularFile } from './adapters/regular-file.ts';

export interface ContentHash {
  sha256: string;
  sizeBytes: number;
}

/**
 * Streams the file through sha256 (never loads it whole). Only a regular file is read (symlinks
 * resolved first): a FIFO or device throws NOT_A_REGULAR_FILE at once instead of blocking the reader.
 * Messages call the file `name` (default: the path).
 */
export async function hashFile(
  file: string,
  options: { name?: string; signal?: AbortSignal } = {},
): Promise<ContentHash> {
  const real = await realpath(file).catch(() => file);
  const { handle } = await openRegularFile(real, options.name ?? file);
  try {
    return await hashHandle(handle, options.signal);
  } finally {
    await handle.close();
  }
}

/** sha256 and bytes read of an open file, from its start. */
export async function hashHandle(handle: FileHandle, signal?: AbortSignal): Promise<ContentHash> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of handle.createReadStream({
    start: 0,
    autoClose: false,
    ...(signal ? { signal } : {}),
  })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), sizeBytes: size };
}

/** `v_` + 24 hex digits of sha256(tenant, content sha256): stable, URL-safe, distinct per tenant. */
export function videoIdFor(tenant: string, sha256: string): string {
  return `v_${createHash('sha256').update(`${tenant}\0${sha256}`).digest('hex').slice(0, 24)}`;
}

/**
 * True for a video known by its URL or server path rather than by its content (its id is not its
 * content's): such a video may read differently next time (a server back up, a file put in place).
 */
export function isProvisional(record: { tenant: string; videoId: string; sha256: string }): boolean {
  return record.sha256 === '' || videoIdFor(record.tenant, record.sha256) !== record.videoId;
}
