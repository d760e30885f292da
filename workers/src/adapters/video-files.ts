/**
 * The files a video leaves behind, removed when it is deleted: its thumbnails (`thumbnails/<videoId>/` in
 * storage), its spool (`<spool>/<videoId>/`, always on local disk), its own folder in its tenant's part
 * of the videos area (`videos/<tenant>/<videoId>/`, where URL downloads go, and the legacy
 * `videos/<videoId>/`) and its stored file, but only a file that storage holds for that tenant (inside
 * the tenant's folder of the videos area, or in the bucket): a server-side path someone submitted is
 * theirs, never ours to delete.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { LocalStorage } from './storage/local-storage.ts';
import type { ObjectStorage } from './storage/object-storage.ts';
import { legacyVideoFolder, ownsStoredVideo, thumbnailsFolder, videoFolder } from './storage/storage-keys.ts';

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
   * Removes the video's thumbnails, spool and own folders, and each of `sources` that storage holds for
   * this tenant's video (with its folder when that is left empty). Returns the references removed.
   */
  async remove(tenant: string, videoId: string, sources: readonly string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const source of new Set(sources)) {
      const key = await this.#storage.keyOf(source);
      if (key === undefined || !ownsStoredVideo(key, tenant, videoId)) continue;
      await this.#storage.delete(key);
      removed.push(this.#storage.ref(key));
    }
    await this.#storage.deletePrefix(videoFolder(tenant, videoId));
    await this.#storage.deletePrefix(legacyVideoFolder(videoId));
    await this.#storage.deletePrefix(thumbnailsFolder(videoId));
    await rm(path.join(this.#spool, videoId), { recursive: true, force: true });
    return removed;
  }
}
