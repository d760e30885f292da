/**
 * Videos submitted by URL: which URLs are accepted (http and https only), their provisional identity
 * (before the content is known), and a title from the URL's last path segment.
 */
import path from 'node:path';
import { videoIdFor } from './video-identity.ts';

const SCHEMES = new Set(['http:', 'https:']);

/** True when a record's source is a URL (a video submitted by URL keeps it as its source). */
export function isVideoUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** A URL as it may be shown back: user name and password replaced by `***`. */
export function redactedUrl(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = '***';
  copy.password = '';
  return copy.href;
}

/**
 * The parsed URL, or why it is not one reel downloads, with `shown`: the input as it may be echoed
 * back (credentials redacted). A URL carrying a user name or password is refused: it would be stored,
 * shown in batch statuses and logs, and fetch refuses it anyway.
 */
export function checkVideoUrl(
  text: string,
): { ok: true; url: URL } | { ok: false; problem: string; shown: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    return {
      ok: false,
      shown,
      problem: `${JSON.stringify(shown)} is not a URL (expected http:// or https://...)`,
    };
  }
  const shown = redactedUrl(url);
  if (!SCHEMES.has(url.protocol))
    return {
      ok: false,
      shown,
      problem: `${shown}: expected an http:// or https:// URL, got the ${url.protocol.replace(/:$/, '')} scheme`,
    };
  if (!url.hostname) return { ok: false, shown, problem: `${shown}: the URL has no host` };
  if (url.username || url.password)
    return {
      ok: false,
      shown,
      problem: `${shown}: URLs with a user name or password are refused (they would be stored and shown); use a URL that needs none, such as a presigned one`,
    };
  return { ok: true, url };
}

/**
 * A URL video's id before its content is known: the usual `v_` id over `url:<href>`, so the same URL
 * submitted twice by one tenant is one video (and never collides with a content id).
 */
export function videoIdForUrl(tenant: string, url: URL): string {
  return videoIdFor(tenant, `url:${url.href}`);
}

/**
 * A server-side path's video id before its content is known (the API does not read files on the
 * request path): `v_` over `path:<real path>`, so the same file submitted twice by one tenant is one
 * video (and never collides with a content id).
 */
export function videoIdForPath(tenant: string, realPath: string): string {
  return videoIdFor(tenant, `path:${realPath}`);
}

/** The last path segment without its extension (`/clips/red%20car.mp4` → `red car`), else the host. */
export function titleForUrl(url: URL): string {
  const last = url.pathname.split('/').filter(Boolean).at(-1);
  if (last) {
    let decoded = last;
    try {
      decoded = decodeURIComponent(last);
    } catch {}
    const title = path.parse(decoded).name.trim();
    if (title) return title;
  }
  return url.hostname;
}
