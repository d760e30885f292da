/**
 * Caption files beside a video given as a server-side path: `talk.mp4` takes `talk.srt`, `talk.vtt`,
 * `talk.en.srt`, `talk.pt-BR.forced.ass` from the same folder (the folder the video's checked real path is in,
 * so no other folder is read). Each is opened as a regular file without following a symlink (see
 * regular-file.ts): a FIFO, a device or a link named like a caption file is skipped, and said.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import { CAPTION_EXTENSIONS, isCaptionOf, MAX_CAPTION_BYTES } from '../services/caption.service.ts';
import { openRegularFile } from './regular-file.ts';

/** Most caption files read beside one video. */
const MAX_SIDECARS = 20;

export interface SidecarFiles {
  files: { name: string; bytes: Uint8Array }[];
  /** Files named like captions that were not read, and why (for the video's warnings). */
  skipped: string[];
}

/** Whether `name` is a caption file of the video whose name without extension is `base`. */
export function isSidecarOf(base: string, name: string): boolean {
  return CAPTION_EXTENSIONS.has(path.extname(name).toLowerCase()) && isCaptionOf(base, name);
}

/** The caption files beside `videoPath` (a checked real path), read up to the caption limit. */
export async function sidecarsBeside(videoPath: string): Promise<SidecarFiles> {
  const dir = path.dirname(videoPath);
  const base = path.basename(videoPath, path.extname(videoPath));
  const result: SidecarFiles = { files: [], skipped: [] };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return result; // the folder cannot be listed: the video alone, as before
  }
  for (const name of names
    .filter((n) => isSidecarOf(base, n))
    .sort()
    .slice(0, MAX_SIDECARS)) {
    try {
      const { handle, stats } = await openRegularFile(path.join(dir, name), name);
      try {
        if (stats.size > MAX_CAPTION_BYTES) {
          result.skipped.push(
            `${name}: ${stats.size} bytes, more than the ${MAX_CAPTION_BYTES}-byte limit of a caption file`,
          );
          continue;
        }
        const buffer = Buffer.alloc(stats.size);
        const { bytesRead } = await handle.read(buffer, 0, stats.size, 0);
        result.files.push({ name, bytes: buffer.subarray(0, bytesRead) });
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (!isReelError(error)) throw error;
      result.skipped.push(error.message);
    }
  }
  return result;
}
