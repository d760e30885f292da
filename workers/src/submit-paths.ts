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

/** What a walk of the inputs found. */
export interface ExpandedPaths {
  /** Files to submit, in a stable order. */
  files: string[];
  /** Inputs that do not exist (a typo). */
  missing: string[];
  /** Entries inside folders that are not submitted: no video extension, or not a regular file. */
  skipped: string[];
}

/**
 * Walks the inputs: a folder gives the regular files with a video extension inside it, at any depth
 * (symlinks, FIFOs, devices and other files in it are skipped, and listed); a file is taken as it is,
 * so a bad file still gets its own error; an input that does not exist is listed as missing. With
 * `maxFiles`, a folder's walk stops once that many were found.
 */
export async function walkPaths(
  inputs: readonly string[],
  options: { maxFiles?: number } = {},
): Promise<ExpandedPaths> {
  const result: ExpandedPaths = { files: [], missing: [], skipped: [] };
  const max = options.maxFiles ?? Number.POSITIVE_INFINITY;
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info === undefined) {
      result.missing.push(input);
      result.files.push(input);
    } else if (info.isDirectory()) {
      const found: string[] = [];
      const skipped: string[] = [];
      // opendir walks lazily, so a huge tree is not read whole when `maxFiles` stops it early.
      for await (const entry of await opendir(input, { recursive: true })) {
        if (entry.isDirectory()) continue;
        const full = path.join(entry.parentPath, entry.name);
        if (!entry.isFile() || !VIDEO_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) {
          skipped.push(full);
          continue;
        }
        found.push(full);
        if (result.files.length + found.length >= max) break;
      }
      result.files.push(...found.sort());
      result.skipped.push(...skipped.sort());
    } else {
      result.files.push(input);
    }
  }
  return result;
}

/**
 * Files to submit, in a stable order; missing paths are kept so the batch reports them (see
 * {@link walkPaths}).
 */
export async function expandPaths(
  inputs: readonly string[],
  options: { maxFiles?: number } = {},
): Promise<string[]> {
  return (await walkPaths(inputs, options)).files;
}
