/**
 * Videos submitted by URL: which URLs are accepted (http and https only), their provisional identity
 * (before the content is known), and a title from the URL's last path segment.
 */
import path from 'node:path';
import { videoIdFor } from './video-identity.ts';

const SCHEMES = new Set(['http:', 'https:']);

/** The parsed URL, or why it is not one reel downloads. */
export function checkVideoUrl(text: string): { ok: true; url: URL } | { ok: false; problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: `${JSON.stringify(text)} is not a URL (expected http:// or https://...)` };
  }
  if (!SCHEMES.has(url.protocol))
    return {
      ok: false,
      problem: `${text}: expected an http:// or https:// URL, got the ${url.protocol.replace(/:$/, '')} scheme`,
    };
  if (!url.hostname) return { ok: false, problem: `${text}: the URL has no host` };
  return { ok: true, url };
}

/**
 * A URL video's id before its content is known: the usual `v_` id over `url:<href>`, so the same URL
 * submitted twice by one tenant is one video (and never collides with a content id).
 */
export function videoIdForUrl(tenant: string, url: URL): string {
  return videoIdFor(tenant, `url:${url.href}`);
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
