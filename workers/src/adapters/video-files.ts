/**
 * The files a video leaves in the data folder, removed when it is deleted: its thumbnails
 * (`<thumbnails>/<videoId>/`), its spool (`<spool>/<videoId>/`), its own folder in the videos folder
 * (`<videos>/<videoId>/`, where URL downloads go) and its stored file, but only a file that lies inside
 * the videos folder: a server-side path someone submitted is theirs, never ours to delete.
 */
import { realpath, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';

export interface VideoFileDirs {
  videos: string;
  thumbnails: string;
  spool: string;
}

export class VideoFiles {
  readonly #dirs: VideoFileDirs;

  constructor(dirs: VideoFileDirs) {
    this.#dirs = dirs;
  }

  /**
   * The file's path when it lies inside the videos folder (symlinked folders resolved, so a link inside
   * pointing outside does not count; a symlinked file counts as the link itself), else undefined.
   */
  async storedPath(file: string): Promise<string | undefined> {
    if (!path.isAbsolute(file)) return undefined;
    const root = await realpath(this.#dirs.videos).catch(() => undefined);
    const parent = await realpath(path.dirname(file)).catch(() => undefined);
    if (root === undefined || parent === undefined) return undefined;
    const real = path.join(parent, path.basename(file));
    const relative = path.relative(root, real);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
    return real;
  }

  /**
   * Removes the video's thumbnails, spool and own folder, and each of `sources` that lies inside the
   * videos folder (with its folder when that is left empty). Returns the stored files removed.
   */
  async remove(videoId: string, sources: readonly string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const source of new Set(sources)) {
      const stored = await this.storedPath(source);
      if (stored === undefined) continue;
      await rm(stored, { force: true });
      removed.push(stored);
      const parent = path.dirname(stored);
      if (parent !== (await realpath(this.#dirs.videos))) await rmdir(parent).catch(() => {});
    }
    await rm(path.join(this.#dirs.videos, videoId), { recursive: true, force: true });
    await rm(path.join(this.#dirs.thumbnails, videoId), { recursive: true, force: true });
    await rm(path.join(this.#dirs.spool, videoId), { recursive: true, force: true });
    return removed;
  }
}
