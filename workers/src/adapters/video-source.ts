/**
 * Where a video's bytes are, from its record's `source`, checked at the point of use (a worker about to
 * decode it, the API about to stream it):
 *
 * - a URL video (the record keeps its URL): its download, at the key its tenant and id give;
 * - stored content (an upload, a download): only an object in the video's tenant's folder of the videos
 *   area, or in the video's own legacy folder;
 * - a server-side path: only an absolute path that is still its own real path (no symlink was put on
 *   the way since it was submitted); the caller opens it as a regular file (regular-file.ts).
 *
 * Anything else is refused with SOURCE_NOT_ALLOWED, never read.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { isVideoUrl } from '../video-url.ts';
import type { ObjectStorage } from './storage/object-storage.ts';
import { downloadKeyFor, ownsStoredVideo } from './storage/storage-keys.ts';

/** Error code of a source a record may not point to (another tenant's content, a swapped path). */
export const SOURCE_NOT_ALLOWED = 'SOURCE_NOT_ALLOWED';

export type ResolvedSource = { kind: 'stored'; key: string } | { kind: 'path'; path: string };

export async function resolveSource(
  storage: ObjectStorage,
  video: { tenant: string; videoId: string; source: string; name: string },
): Promise<ResolvedSource> {
  if (isVideoUrl(video.source))
    return { kind: 'stored', key: downloadKeyFor(video.tenant, video.videoId, video.source) };
  const key = await storage.keyOf(video.source);
  if (key !== undefined) {
    if (!ownsStoredVideo(key, video.tenant, video.videoId))
      throw new ReelError(
        SOURCE_NOT_ALLOWED,
        `${video.name}: its source is stored content of another tenant or video`,
      );
    return { kind: 'stored', key };
  }
  if (!path.isAbsolute(video.source))
    throw new ReelError(
      SOURCE_NOT_ALLOWED,
      `${video.name}: its source is neither stored content nor an absolute path`,
    );
  const real = await realpath(video.source).catch(() => undefined);
  if (real === undefined) throw new ReelError('FILE_NOT_FOUND', `${video.name}: no such file`);
  if (real !== path.normalize(video.source))
    throw new ReelError(
      SOURCE_NOT_ALLOWED,
      `${video.name}: its path leads elsewhere than when it was submitted (a symlink was put on the way)`,
    );
  return { kind: 'path', path: real };
}
