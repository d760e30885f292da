/**
 * Downloads videos submitted by http(s) URL into storage (`videos/<tenant>/<video id>/download<ext>`: the videos
 * folder, or the bucket) with Node's fetch (undici), streamed (never held in memory) and hashed on the way
 * through; storage makes the object appear only when complete (a temporary file renamed into place, or a
 * multipart upload completed at the end). Limits: `maxBytes` (checked against Content-Length before the
 * body is read, then while it streams), a total time limit, and a small cap on redirects.
 *
 * Where it connects is checked on the address actually connected to, for every hop (see
 * address-guard.ts): loopback, private, metadata and other non-public addresses are refused unless
 * REEL_DOWNLOAD_ALLOW_PRIVATE is set, and a failed lookup fails the download.
 *
 * Failures are classified for the retry policy: bad input (a 4xx answer, too large, too many redirects,
 * a redirect to another scheme or to a URL with credentials, a forbidden address, an empty body) is
 * permanent; the network, 5xx answers, 408/429 and timeouts are transient (ReelError `retryable`), so
 * BullMQ retries them with backoff.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { addAbortSignal, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isReelError, ReelError } from '@reel/infra';
import { Agent, fetch } from 'undici';
import type { UrlDownloader } from '../pipeline-deps.ts';
import type { ContentHash } from '../video-identity.ts';
import { checkVideoUrl } from '../video-url.ts';
import { checkLiteralHost, ForbiddenAddressError, guardedAgent, isPublicAddress } from './address-guard.ts';
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
  /** Permanent: the host (or a redirect's) is or resolves to a non-public address (loopback, private, metadata…). */
  DOWNLOAD_FORBIDDEN: 'DOWNLOAD_FORBIDDEN',
} as const;

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
  /** Allow hosts on loopback and internal networks (default false: see address-guard.ts). */
  allowPrivateHosts?: boolean;
  /** The addresses a download may connect to (default: public unicast; tests have only loopback). */
  allowAddress?: (address: string) => boolean;
}

const TRANSIENT_STATUSES = new Set([408, 425, 429]);

export class UrlFetcher implements UrlDownloader {
  readonly #options: Required<Omit<UrlFetcherOptions, 'storage' | 'allowAddress'>>;
  readonly #allowed: (address: string) => boolean;
  readonly #storage: ObjectStorage;
  /** Connects to public addresses only, unless private hosts are allowed. */
  readonly #agent: Agent;

  constructor(options: UrlFetcherOptions) {
    const { storage, allowAddress, ...rest } = options;
    this.#options = { maxRedirects: 5, allowPrivateHosts: false, ...rest };
    this.#allowed = allowAddress ?? isPublicAddress;
    this.#agent = this.#options.allowPrivateHosts ? new Agent() : guardedAgent(this.#allowed);
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

  /** Closes the connections the downloader keeps open. */
  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** Fetches `url`, following up to maxRedirects redirects to http(s) URLs; returns a 2xx response. */
  async #follow(url: string, signal: AbortSignal): Promise<Awaited<ReturnType<typeof fetch>>> {
    const checked = checkVideoUrl(url);
    // A URL stored before such URLs were refused at submit: refused for good, never retried.
    if (!checked.ok) throw new ReelError(DownloadErrorCode.DOWNLOAD_FAILED, checked.problem);
    let current = url;
    for (let hop = 0; ; hop++) {
      // An IP literal is connected to without a lookup: it is checked here; names, at connect time.
      if (!this.#options.allowPrivateHosts) {
        try {
          checkLiteralHost(new URL(current).hostname, this.#allowed);
        } catch (error) {
          throw forbidden(url, current, error as ForbiddenAddressError);
        }
      }
      let response: Awaited<ReturnType<typeof fetch>>;
      try {
        response = await fetch(current, { redirect: 'manual', signal, dispatcher: this.#agent });
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        if (cause instanceof ForbiddenAddressError) throw forbidden(url, current, cause);
        throw error;
      }
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

function forbidden(url: string, current: string, why: ForbiddenAddressError): ReelError {
  const via = current === url ? '' : ` (redirected to ${current})`;
  return new ReelError(
    DownloadErrorCode.DOWNLOAD_FORBIDDEN,
    `${url}${via}: ${why.host} is an internal address (${why.address}); downloads reach public addresses only (REEL_DOWNLOAD_ALLOW_PRIVATE=true allows private ones)`,
  );
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
