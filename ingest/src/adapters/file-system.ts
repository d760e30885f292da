/**
 * What the file system says about a path, as plain data: the one place ingest touches `fs` for its
 * checks (sharp and ffmpeg read files in their own adapters).
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';

/** A path's kind, size and readability; `missing` also covers a folder on the path being a file. */
export type PathFacts =
  | { kind: 'missing' }
  | { kind: 'file' | 'directory' | 'other'; size: number; readable: boolean };

export async function pathFacts(file: string): Promise<PathFacts> {
  let stats: Awaited<ReturnType<typeof stat>>;
  try {
    stats = await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'EACCES' || code === 'EPERM') return { kind: 'other', size: 0, readable: false };
    throw error;
  }
  const kind = stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
  const readable = await access(file, constants.R_OK).then(
    () => true,
    () => false,
  );
  return { kind, size: Number(stats.size), readable };
}
