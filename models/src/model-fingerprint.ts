/**
 * A model's fingerprint: sha256 over the sorted list of "<relative path> <sha256 of the file>" lines of
 * the files its layout uses. Stored beside every embedding, so vectors of different models (or of the
 * fp32 and quantized encoders of one model) are never mixed. Hashing a 600 MB folder takes seconds, so
 * the result is remembered in `<dir>/.reel-fingerprint.json`, keyed by each file's size and mtime.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const FINGERPRINT_CACHE_FILE = '.reel-fingerprint.json';

interface FingerprintCache {
  fingerprint: string;
  files: Record<string, { size: number; mtimeMs: number; sha256: string }>;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readCache(dir: string): Promise<FingerprintCache | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, FINGERPRINT_CACHE_FILE), 'utf8')) as FingerprintCache;
  } catch {
    return undefined;
  }
}

/**
 * Fingerprint of the model in `dir` from the given files (relative paths). Returns `sha256:<hex>`.
 * Reuses a file's cached hash only while its size and mtime are unchanged.
 */
export async function modelFingerprint(dir: string, files: readonly string[]): Promise<string> {
  const cache = await readCache(dir);
  const entries: FingerprintCache['files'] = {};
  for (const file of [...files].sort()) {
    const info = await stat(path.join(dir, file));
    const cached = cache?.files[file];
    const sha256 =
      cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs
        ? cached.sha256
        : await sha256File(path.join(dir, file));
    entries[file] = { size: info.size, mtimeMs: info.mtimeMs, sha256 };
  }
  const lines = Object.entries(entries).map(([file, entry]) => `${file} ${entry.sha256}\n`);
  const fingerprint = `sha256:${createHash('sha256').update(lines.join('')).digest('hex')}`;
  if (cache?.fingerprint !== fingerprint || JSON.stringify(cache.files) !== JSON.stringify(entries)) {
    // Best effort: a read-only model folder is fine, it is only slower to fingerprint next time.
    await writeFile(
      path.join(dir, FINGERPRINT_CACHE_FILE),
      JSON.stringify({ fingerprint, files: entries }, null, 2),
    ).catch(() => {});
  }
  return fingerprint;
}
