/**
 * The files a video leaves behind, removed when it is deleted: its thumbnails (`thumbnails/<videoId>/` in
 * storage), its spool (`<spool>/<videoId>/`, always on local disk), its own folder in the videos area
 * (`videos/<videoId>/`, where URL downloads go) and its stored file, but only a file that storage holds
 * (inside the videos folder, or in the bucket): a server-side path someone submitted is theirs, never
 * ours to delete.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { LocalStorage } from './storage/local-storage.ts';
import type { ObjectStorage } from './storage/object-storage.ts';
import { isVideoKey, thumbnailsFolder, videoFolder } from './storage/storage-keys.ts';

export interface VideoFileDirs {
  videos: string;
  thumbnails: string;
  spool: string;
  /** Where videos and thumbnails are stored (default: the `videos` and `thumbnails` folders). */
  storage?: ObjectStorage;
}

export class VideoFiles {
  readonly #spool: string;
  readonly #storage: ObjectStorage;

  constructor(dirs: VideoFileDirs) {
    this.#spool = dirs.spool;
    this.#storage = dirs.storage ?? new LocalStorage({ videos: dirs.videos, thumbnails: dirs.thumbnails });
  }

  /**
   * The file's path when it lies inside the videos folder (symlinked folders resolved, so a link inside
   * pointing outside does not count; a symlinked file counts as the link itself), else undefined.
   */
  async storedPath(file: string): Promise<string | undefined> {
    const key = await this.#storage.keyOf(file);
    return key !== undefined && isVideoKey(key) ? this.#storage.localPath(key) : undefined;
  }

  /**
   * Removes the video's thumbnails, spool and own folder, and each of `sources` that storage holds in
   * its videos area (with its folder when that is left empty). Returns the references removed.
   */
  async remove(videoId: string, sources: readonly string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const source of new Set(sources)) {
      const key = await this.#storage.keyOf(source);
      if (key === undefined || !isVideoKey(key)) continue;
      await this.#storage.delete(key);
      removed.push(this.#storage.ref(key));
    }
    await this.#storage.deletePrefix(videoFolder(videoId));
    await this.#storage.deletePrefix(thumbnailsFolder(videoId));
    await rm(path.join(this.#spool, videoId), { recursive: true, force: true });
    return removed;
  }
}
