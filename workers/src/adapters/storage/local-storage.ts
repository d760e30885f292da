/**
 * Object storage in local folders: the data folder's layout as it has always been (`<data>/videos/…`,
 * `<data>/thumbnails/…`), one folder per area of the key layout. A reference is the file's absolute path.
 * Writes go to a temporary file beside the target that is renamed into place, so an object is whole or
 * absent; removing an object also removes the folders it leaves empty (as a bucket has no empty folders),
 * never an area's own folder.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { retrying } from '@reel/infra';
import type { ByteRange, LocalCopy, ObjectInfo, ObjectStorage, StoredObject } from './object-storage.ts';
import { checkKey, checkPrefix, contentTypeOf, STORAGE_AREAS, type StorageArea } from './storage-keys.ts';

/** Temporary files of unfinished writes: `<name>.<pid>-<8 hex>.part`. */
const PART = /\.\d+-[0-9a-f]{8}\.part$/;

export class LocalStorage implements ObjectStorage {
  readonly kind = 'local' as const;
  readonly location: string;
  readonly #folders: Record<StorageArea, string>;

  /** @param folders the folder of each area: `config.paths.videos` and `config.paths.thumbnails`. */
  constructor(folders: Record<StorageArea, string>) {
    this.#folders = {
      videos: path.resolve(folders.videos),
      thumbnails: path.resolve(folders.thumbnails),
    };
    this.location = `${this.#folders.videos}, ${this.#folders.thumbnails}`;
  }

  #path(key: string): string {
    checkKey(key);
    const [area, ...rest] = key.split('/');
    return path.join(this.#folders[area as StorageArea], ...rest);
  }

  ref(key: string): string {
    return this.#path(key);
  }

  /**
   * The key of a path inside one of the folders, symlinked folders resolved (a link inside pointing
   * outside does not count; a symlinked file counts as the link itself), else undefined.
   */
  async keyOf(ref: string): Promise<string | undefined> {
    if (!path.isAbsolute(ref)) return undefined;
    const parent = await realpath(path.dirname(ref)).catch(() => undefined);
    if (parent === undefined) return undefined;
    const real = path.join(parent, path.basename(ref));
    for (const area of STORAGE_AREAS) {
      const root = await realpath(this.#folders[area]).catch(() => undefined);
      if (root === undefined) continue;
      const relative = path.relative(root, real);
      if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) continue;
      const key = `${area}/${relative.split(path.sep).join('/')}`;
      try {
        return checkKey(key);
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  localPath(key: string): string {
    return this.#path(key);
  }

  async put(key: string, body: Readable | Uint8Array): Promise<{ size: number }> {
    const file = this.#path(key);
    const part = `${file}.${process.pid}-${randomUUID().slice(0, 8)}.part`;
    const handle = await openCreating(part);
    try {
      if (body instanceof Uint8Array) {
        await handle.writeFile(body);
        await handle.close();
      } else {
        await pipeline(body, handle.createWriteStream());
      }
      const { size } = await stat(part);
      await rename(part, file);
      return { size };
    } catch (error) {
      await handle.close().catch(() => {});
      await rm(part, { force: true });
      throw error;
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const info = await stat(this.#path(key)).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    return {
      size: info.size,
      contentType: contentTypeOf(key),
      etag: `"${info.size.toString(16)}-${info.mtimeMs.toString(16)}"`,
      lastModified: info.mtime,
    };
  }

  async get(key: string, options: { range?: ByteRange } = {}): Promise<StoredObject | undefined> {
    const info = await this.stat(key);
    if (info === undefined) return undefined;
    const range = options.range && clampRange(options.range, info.size);
    const stream = createReadStream(this.#path(key), range ?? {});
    return { ...info, stream, range };
  }

  async delete(key: string): Promise<void> {
    const file = this.#path(key);
    await rm(file, { force: true });
    await this.#pruneEmpty(key, path.dirname(file));
  }

  async deletePrefix(prefix: string): Promise<void> {
    checkPrefix(prefix);
    const folder = this.#path(prefix.slice(0, -1));
    await rm(folder, { recursive: true, force: true });
    await this.#pruneEmpty(prefix, path.dirname(folder));
  }

  async list(prefix: string): Promise<string[]> {
    const areas = prefix === '' ? STORAGE_AREAS : [checkPrefix(prefix).split('/')[0] as StorageArea];
    const keys: string[] = [];
    for (const area of areas) {
      const root = this.#folders[area];
      const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (!entry.isFile() || PART.test(entry.name)) continue;
        const relative = path.relative(root, path.join(entry.parentPath, entry.name));
        const key = `${area}/${relative.split(path.sep).join('/')}`;
        if (key.startsWith(prefix)) keys.push(key);
      }
    }
    return keys.sort();
  }

  async localCopy(key: string): Promise<LocalCopy | undefined> {
    if ((await this.stat(key)) === undefined) return undefined;
    return { path: this.#path(key), release: async () => {} };
  }

  close(): void {}

  /** Removes `folder` and its parents while they are empty, up to (never including) the area's folder. */
  async #pruneEmpty(key: string, folder: string): Promise<void> {
    const root = this.#folders[key.split('/')[0] as StorageArea];
    for (let dir = folder; dir !== root && dir.startsWith(`${root}${path.sep}`); dir = path.dirname(dir)) {
      const removed = await rmdir(dir).then(
        () => true,
        () => false,
      );
      if (!removed) return;
    }
  }
}

/**
 * Creates `file` (which must not exist) and its folders. Retried when a folder vanishes in between: a
 * delete elsewhere may remove the folder it just left empty.
 */
async function openCreating(file: string): Promise<FileHandle> {
  const create = async () => {
    await mkdir(path.dirname(file), { recursive: true });
    return open(file, 'wx');
  };
  return retrying(create, {
    attempts: 5,
    firstDelayMs: 0,
    retryIf: (error) => (error as NodeJS.ErrnoException).code === 'ENOENT',
  });
}

/** `range` within an object of `size` bytes (its end clamped to the last byte). */
export function clampRange(range: ByteRange, size: number): ByteRange {
  return { start: range.start, end: Math.min(range.end, size - 1) };
}
