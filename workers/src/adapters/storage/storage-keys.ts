/**
 * The storage's key layout, the same in a folder and in a bucket (under `REEL_S3_PREFIX`):
 * - `videos/<tenant>/<uuid><ext>`: uploads (the upload's name is never part of a key);
 * - `videos/<tenant>/<video id>/download<ext>`: URL downloads (before, `videos/<video id>/download<ext>`);
 * - `thumbnails/<video id>/thumb-0000.webp`, …: thumbnails (records keep `<video id>/thumb-0000.webp`).
 */
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { VIDEO_EXTENSIONS } from '../../submit-paths.ts';

/** The top-level folders of the layout. */
export const STORAGE_AREAS = ['videos', 'thumbnails'] as const;
export type StorageArea = (typeof STORAGE_AREAS)[number];

/**
 * Throws unless `key` is a relative `/`-separated name whose segments are not empty, `.` or `..` and
 * hold no backslash or control character, under one of the layout's areas: so a key can never name a
 * file outside the storage's folders, and reads the same on every store.
 */
export function checkKey(key: string, what = 'key'): string {
  const segments = key.split('/');
  const bad = segments.find(
    (segment) =>
      segment === '' ||
      segment === '.' ||
      segment === '..' ||
      segment.includes('\\') ||
      [...segment].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
  );
  if (bad !== undefined || segments.length < 2 || !STORAGE_AREAS.includes(segments[0] as StorageArea))
    throw new ReelError(
      'STORAGE_BAD_KEY',
      `${what} ${JSON.stringify(key)}: expected <${STORAGE_AREAS.join('|')}>/name with no empty, "." or ".." segment`,
    );
  return key;
}

/** True when `key` passes {@link checkKey}. */
export function isKey(key: string): boolean {
  try {
    checkKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Throws unless `prefix` is a key folder: a valid key followed by `/` (or just an area and `/`). */
export function checkPrefix(prefix: string): string {
  if (!prefix.endsWith('/') || !isKey(`${prefix}x`))
    throw new ReelError(
      'STORAGE_BAD_KEY',
      `prefix ${JSON.stringify(prefix)}: expected a folder of keys ending in "/", e.g. thumbnails/v_…/`,
    );
  return prefix;
}

/** Where an upload is stored: a fresh name in the tenant's folder, the upload's extension kept. */
export function uploadKey(tenant: string, uuid: string, extension: string): string {
  return checkKey(`videos/${tenant}/${uuid}${extension}`);
}

/** A video's own folder in its tenant's part of the videos area (URL downloads). */
export function videoFolder(tenant: string, videoId: string): string {
  return checkPrefix(`videos/${tenant}/${videoId}/`);
}

/** Where URL downloads were kept before they moved into their tenant's folder (still read and removed). */
export function legacyVideoFolder(videoId: string): string {
  return checkPrefix(`videos/${videoId}/`);
}

/** Where a URL video's download is stored. */
export function downloadKey(tenant: string, videoId: string, extension: string): string {
  return checkKey(`${videoFolder(tenant, videoId)}download${extension}`);
}

/** Where a URL video's download is stored: the URL path's extension kept when it is a video's. */
export function downloadKeyFor(tenant: string, videoId: string, url: string): string {
  let ext = '';
  try {
    ext = path.posix.extname(new URL(url).pathname).toLowerCase();
  } catch {}
  return downloadKey(tenant, videoId, VIDEO_EXTENSIONS.has(ext) ? ext : '');
}

/**
 * True when stored content under `key` may be read for this tenant's video: an object in the tenant's
 * folder of the videos area, or in the video's own legacy folder (downloads made before they moved).
 */
export function ownsStoredVideo(key: string, tenant: string, videoId: string): boolean {
  return isVideoKey(key) && (key.startsWith(`videos/${tenant}/`) || key.startsWith(`videos/${videoId}/`));
}

/** A video's thumbnails folder. */
export function thumbnailsFolder(videoId: string): string {
  return checkPrefix(`thumbnails/${videoId}/`);
}

/** The key of a thumbnail as records keep it (`<video id>/thumb-0000.webp`, relative to the area). */
export function thumbnailKey(thumbnail: string): string {
  return checkKey(`thumbnails/${thumbnail}`, 'thumbnail');
}

/** True for keys of stored videos (uploads and downloads), the only keys a record's `source` may name. */
export function isVideoKey(key: string): boolean {
  return key.startsWith('videos/') && isKey(key);
}

/** A Content-Type from a key's extension (what is stored has one of these). */
export function contentTypeOf(key: string): string | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase();
  return ext === undefined ? undefined : CONTENT_TYPES[ext];
}

const CONTENT_TYPES: Record<string, string> = {
  webp: 'image/webp',
  mp4: 'video/mp4',
  m4v: 'video/x-m4v',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  avi: 'video/x-msvideo',
  ts: 'video/mp2t',
  mts: 'video/mp2t',
  m2ts: 'video/mp2t',
  mpg: 'video/mpeg',
  mpeg: 'video/mpeg',
  gif: 'image/gif',
  wmv: 'video/x-ms-wmv',
  flv: 'video/x-flv',
  '3gp': 'video/3gpp',
  ogv: 'video/ogg',
};
