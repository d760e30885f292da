/**
 * Turns what a person typed (`reel ingest a.mp4 ~/footage/`) into files to submit: folders are walked
 * for video files (by extension), files are taken as they are, so a bad file still gets its own error.
 */
import { readdir, stat } from 'node:fs/promises';
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

/** Files to submit, in a stable order; missing paths are kept so the batch reports them. */
export async function expandPaths(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info?.isDirectory()) {
      const entries = await readdir(input, { recursive: true, withFileTypes: true });
      files.push(
        ...entries
          .filter((e) => e.isFile() && VIDEO_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
          .map((e) => path.join(e.parentPath, e.name))
          .sort(),
      );
    } else {
      files.push(input);
    }
  }
  return files;
}
