/**
 * A video's identity is its content: the sha256 of its bytes, per tenant. The same file uploaded twice
 * (under any name, in one batch or in two) is one video.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface ContentHash {
  sha256: string;
  sizeBytes: number;
}

/** Streams the file through sha256 (never loads it whole). */
export async function hashFile(file: string): Promise<ContentHash> {
  const { size } = await stat(file);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), sizeBytes: size };
}

/** `v_` + 24 hex digits of sha256(tenant, content sha256): stable, URL-safe, distinct per tenant. */
export function videoIdFor(tenant: string, sha256: string): string {
  return `v_${createHash('sha256').update(`${tenant}\0${sha256}`).digest('hex').slice(0, 24)}`;
}
