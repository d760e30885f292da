/**
 * Turns what a person typed (`reel ingest a.mp4 ~/footage/`) into files to submit: folders are walked
 * for video files (by extension), files are taken as they are, so a bad file still gets its own error.
 */
import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';

export const VIDEO_EXTENSIONS = new Set([
  '.mp4',
  '.m4v',
  '.mov',
  '.mkv',
  '.webm',
  '.avi',
  '.ts',
  '.mts',
  '.m2ts',
  '.mpg',
  '.mpeg',
  '.gif',
  '.wmv',
  '.flv',
  '.3gp',
  '.ogv',
]);

/**
 * Files to submit, in a stable order; missing paths are kept so the batch reports them. A folder gives
 * the regular files with a video extension inside it, at any depth (symlinks, FIFOs and devices in it
 * are skipped); with `maxFiles`, a folder's walk stops once that many were found.
 */
export async function expandPaths(
  inputs: readonly string[],
  options: { maxFiles?: number } = {},
): Promise<string[]> {
  const files: string[] = [];
  const max = options.maxFiles ?? Number.POSITIVE_INFINITY;
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info?.isDirectory()) {
      const found: string[] = [];
      // opendir walks lazily, so a huge tree is not read whole when `maxFiles` stops it early.
      for await (const entry of await opendir(input, { recursive: true })) {
        if (!entry.isFile() || !VIDEO_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) continue;
        found.push(path.join(entry.parentPath, entry.name));
        if (files.length + found.length >= max) break;
      }
      files.push(...found.sort());
    } else {
      files.push(input);
    }
  }
  return files;
}
