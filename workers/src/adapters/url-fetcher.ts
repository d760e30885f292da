/**
 * Downloads videos submitted by http(s) URL into storage (`videos/<tenant>/<video id>/download<ext>`: the videos
 * folder, or the bucket) with Node's fetch (undici), streamed (never held in memory) and hashed on the way
 * through; storage makes the object appear only when complete (a temporary file renamed into place, or a
 * multipart upload completed at the end). Limits: `maxBytes` (checked against Content-Length before the
 * body is read, then while it streams), a total time limit, and a small cap on redirects.
 *
 * Failures are classified for the retry policy: bad input (a 4xx answer, too large, too many redirects,
 * a redirect to another scheme, an empty body) is permanent; the network, 5xx answers, 408/429 and
 * timeouts are transient (ReelError `retryable`), so BullMQ retries them with backoff.
 */
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import path from 'node:path';
import { addAbortSignal, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isReelError, ReelError } from '@reel/infra';
import type { UrlDownloader } from '../pipeline-deps.ts';
import type { ContentHash } from '../video-identity.ts';
import { checkVideoUrl } from '../video-url.ts';
import { LocalStorage } from './storage/local-storage.ts';
import type { ObjectStorage } from './storage/object-storage.ts';
import { downloadKeyFor, legacyVideoFolder, videoFolder } from './storage/storage-keys.ts';

/** Error codes of downloads (besides TOO_LARGE and EMPTY_FILE, shared with uploads). */
export const DownloadErrorCode = {
  /** Permanent: the server refused (4xx), too many redirects, or a redirect to a non-http(s) URL. */
  DOWNLOAD_FAILED: 'DOWNLOAD_FAILED',
  /** Transient: the network failed, or the server answered 5xx, 408 or 429. */
  DOWNLOAD_UNAVAILABLE: 'DOWNLOAD_UNAVAILABLE',
  /** Transient: the download did not finish within the time limit. */
  DOWNLOAD_TIMEOUT: 'DOWNLOAD_TIMEOUT',
  /** Permanent: the host (or a redirect's) is a loopback, private, link-local or metadata address. */
  DOWNLOAD_FORBIDDEN: 'DOWNLOAD_FORBIDDEN',
} as const;

/** Addresses a download must not reach unless allowed: the machine itself and internal networks. */
const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv6');

/** True for loopback, private, link-local, CGNAT, multicast and unspecified addresses (IPv4-mapped too). */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return INTERNAL.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return false;
  return INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface UrlFetcherOptions {
  /** Folder downloads are stored in (`config.paths.videos`): `<videosDir>/<tenant>/<videoId>/download<ext>`. */
  videosDir: string;
  /** Where downloads are stored (default: the `videosDir` folder): `videos/<tenant>/<videoId>/download<ext>`. */
  storage?: ObjectStorage;
  /** Largest body accepted, in bytes (`config.maxVideoBytes`). */
  maxBytes: number;
  /** Total time limit of one download, headers to last byte, in ms. */
  timeoutMs: number;
  /** Redirects followed before giving up (default 5). */
  maxRedirects?: number;
  /** Allow hosts on loopback and internal networks (default false: see isInternalAddress). */
  allowPrivateHosts?: boolean;
}

const TRANSIENT_STATUSES = new Set([408, 425, 429]);

export class UrlFetcher implements UrlDownloader {
  readonly #options: Required<Omit<UrlFetcherOptions, 'storage'>>;
  readonly #storage: ObjectStorage;

  constructor(options: UrlFetcherOptions) {
    const { storage, ...rest } = options;
    this.#options = { maxRedirects: 5, allowPrivateHosts: false, ...rest };
    this.#storage =
      storage ??
      new LocalStorage({
        videos: options.videosDir,
        thumbnails: path.join(path.dirname(options.videosDir), 'thumbnails'),
      });
  }

  destination(tenant: string, videoId: string, url: string): string {
    return this.#storage.ref(downloadKeyFor(tenant, videoId, url));
  }

  async fetch(
    tenant: string,
    videoId: string,
    url: string,
    signal: AbortSignal,
  ): Promise<{ file: string } & ContentHash> {
    const key = downloadKeyFor(tenant, videoId, url);
    const file = this.#storage.ref(key);
    // Only complete downloads are stored: one that exists is whole (a retried job reuses it).
    const earlier = await this.#storage.get(key);
    if (earlier !== undefined) return { file, ...(await hashStream(earlier.stream)) };
    return { file, ...(await this.download(url, key, signal)) };
  }

  async discard(tenant: string, videoId: string): Promise<void> {
    await this.#storage.deletePrefix(videoFolder(tenant, videoId));
    await this.#storage.deletePrefix(legacyVideoFolder(videoId));
  }

  /** Streams `url` into storage under `key`, which appears only when complete. */
  async download(url: string, key: string, signal: AbortSignal): Promise<ContentHash> {
    const { maxBytes, timeoutMs } = this.#options;
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    try {
      const response = await this.#follow(url, both);
      const announced = Number(response.headers.get('content-length') ?? Number.NaN);
      if (Number.isFinite(announced) && announced > maxBytes) {
        await response.body?.cancel().catch(() => {});
        throw tooLarge(url, `${announced} bytes announced`, maxBytes);
      }
      const hash = createHash('sha256');
      let size = 0;
      const body = response.body
        ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)
        : Readable.from([]);
      // Aborting destroys the response too, so a stalled server is not waited for.
      addAbortSignal(both, body);
      async function* metered(): AsyncGenerator<Uint8Array> {
        for await (const chunk of body) {
          size += (chunk as Uint8Array).length;
          if (size > maxBytes) throw tooLarge(url, `more than ${maxBytes} bytes sent`, maxBytes);
          hash.update(chunk as Uint8Array);
          yield chunk as Uint8Array;
        }
        // Thrown before storage completes the object, so nothing empty is ever stored.
        if (size === 0) throw new ReelError('EMPTY_FILE', `${url}: the server sent an empty body (0 bytes)`);
      }
      await this.#storage.put(key, addAbortSignal(both, Readable.from(metered())));
      return { sha256: hash.digest('hex'), sizeBytes: size };
    } catch (error) {
      throw classify(error, url, { timeout, job: signal, timeoutMs });
    }
  }

  /**
   * Refuses hosts on loopback and internal networks (every address the name resolves to), so a URL
   * submitted through the API cannot reach services behind it. A name that does not resolve is left to
   * fetch, which reports it as a network failure.
   */
  async #checkHost(url: string, current: string): Promise<void> {
    if (this.#options.allowPrivateHosts) return;
    const host = new URL(current).hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host)
      ? [host]
      : await lookup(host, { all: true }).then(
          (found) => found.map((a) => a.address),
          () => [],
        );
    const internal = addresses.find(isInternalAddress);
    if (internal !== undefined) {
      const via = current === url ? '' : ` (redirected to ${current})`;
      throw new ReelError(
        DownloadErrorCode.DOWNLOAD_FORBIDDEN,
        `${url}${via}: ${host} is an internal address (${internal}); downloads from loopback and private networks are off (REEL_DOWNLOAD_ALLOW_PRIVATE=true allows them)`,
      );
    }
  }

  /** Fetches `url`, following up to maxRedirects redirects to http(s) URLs; returns a 2xx response. */
  async #follow(url: string, signal: AbortSignal): Promise<Response> {
    let current = url;
    for (let hop = 0; ; hop++) {
      await this.#checkHost(url, current);
      const response = await fetch(current, { redirect: 'manual', signal });
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel().catch(() => {});
        if (hop >= this.#options.maxRedirects)
          throw new ReelError(
            DownloadErrorCode.DOWNLOAD_FAILED,
            `${url}: more than ${this.#options.maxRedirects} redirects`,
          );
        const next = new URL(location, current).href;
        const checked = checkVideoUrl(next);
        if (!checked.ok)
          throw new ReelError(DownloadErrorCode.DOWNLOAD_FAILED, `${url}: redirected to ${checked.problem}`);
        current = checked.url.href;
        continue;
      }
      if (response.status < 200 || response.status >= 300) {
        await response.body?.cancel().catch(() => {});
        const via = current === url ? '' : ` (redirected to ${current})`;
        const answer = `${url}${via}: the server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
        if (response.status >= 500 || TRANSIENT_STATUSES.has(response.status))
          throw new ReelError(DownloadErrorCode.DOWNLOAD_UNAVAILABLE, answer, { retryable: true });
        throw new ReelError(DownloadErrorCode.DOWNLOAD_FAILED, answer);
      }
      return response;
    }
  }
}

/** sha256 and size of a stored object's bytes. */
async function hashStream(stream: Readable): Promise<ContentHash> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { sha256: hash.digest('hex'), sizeBytes: size };
}

function tooLarge(url: string, found: string, maxBytes: number): ReelError {
  return new ReelError(
    'TOO_LARGE',
    `${url}: ${found}, more than the ${maxBytes}-byte limit (REEL_MAX_VIDEO_BYTES)`,
  );
}

/** Our own errors pass through; an abort is a timeout (or the worker stopping); anything else is the network. */
function classify(
  error: unknown,
  url: string,
  signals: { timeout: AbortSignal; job: AbortSignal; timeoutMs: number },
): ReelError {
  if (isReelError(error)) return error;
  if (signals.timeout.aborted)
    return new ReelError(
      DownloadErrorCode.DOWNLOAD_TIMEOUT,
      `${url}: the download did not finish within ${signals.timeoutMs / 1000} s (REEL_DOWNLOAD_TIMEOUT_SECONDS)`,
      { retryable: true, cause: error },
    );
  if (signals.job.aborted)
    return new ReelError(
      DownloadErrorCode.DOWNLOAD_UNAVAILABLE,
      `${url}: the download was interrupted (the worker is stopping)`,
      { retryable: true, cause: error },
    );
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  return new ReelError(DownloadErrorCode.DOWNLOAD_UNAVAILABLE, `${url}: the download failed (${reason})`, {
    retryable: true,
    cause: error,
  });
}
