/**
 * HTTP client for a Hugging Face-compatible hub (HF_ENDPOINT): file URLs, auth, HEAD for metadata and
 * GET with `Range` for (resumed) downloads. It turns HTTP outcomes into `ReelError`s; retries, files and
 * hashing belong to the caller (`pull-model.ts`).
 *
 * Contract with the hub (what huggingface.co does):
 * - `GET|HEAD {endpoint}/{repo}/resolve/{revision}/{path}`. Small git files answer 200 with `ETag` (the git
 *   blob sha1) and `Content-Length`. LFS files answer 302 to a CDN with `X-Linked-Size` (bytes) and
 *   `X-Linked-Etag` (the file's sha256, quoted). Renamed repos answer a relative 307.
 * - Every resolve answer carries `X-Repo-Commit` (the commit the revision points at) and, on errors,
 *   `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`) and `X-Error-Message`.
 *
 * Redirects are followed by hand (`redirect: 'manual'`) so that the `Authorization` header goes only to
 * the endpoint's own origin, never to a CDN or any other origin a redirect points at.
 */
import { ReelError } from '@reel/infra';

/** What a HEAD on a hub file says about it. */
export interface HubFileInfo {
  /** Path of the file inside the repo (POSIX separators). */
  path: string;
  /** Size in bytes: `X-Linked-Size` (LFS files) or `Content-Length`; undefined when the hub gave neither. */
  size: number | undefined;
  /** Lowercase hex sha256 of the file, from `X-Linked-Etag` when it is 64 hex digits (LFS files). */
  sha256: string | undefined;
  /** Opaque version fingerprint (`X-Linked-Etag`, else `ETag`, unquoted); undefined when absent. */
  etag: string | undefined;
  /** 40-hex commit the revision resolved to (`X-Repo-Commit`), when the hub says. */
  commit: string | undefined;
}

/** An open download: the body is a stream, read it (or cancel it) exactly once. */
export interface HubDownload {
  /** 200 (whole file) or 206 (from `start`). */
  status: 200 | 206;
  /** Byte offset of the body's first byte in the file: 0 for a 200, the range start for a 206. */
  start: number;
  /** Whole file size in bytes (`Content-Range` total or `Content-Length` of a 200), when known. */
  totalSize: number | undefined;
  body: ReadableStream<Uint8Array>;
}

export interface HubClientOptions {
  /** Hub base URL (HF_ENDPOINT), e.g. `https://huggingface.co`; may carry a path prefix. */
  endpoint: string;
  /** HF_TOKEN: sent as `Authorization: Bearer <token>` to the endpoint's origin only. */
  token?: string;
  /** Fetch implementation (Node's built-in undici fetch by default). */
  fetch?: typeof fetch;
}

/** Redirect hops followed before giving up (huggingface.co needs at most 2: rename, then CDN). */
const MAX_REDIRECTS = 10;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const COMMIT_HEX = /^[0-9a-f]{40}$/;

function unquoteEtag(value: string | null): string | undefined {
  if (!value) return undefined;
  const stripped = value
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  return stripped === '' ? undefined : stripped;
}

function parseSize(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** `bytes <start>-<end>/<total|*>` → start and total. */
function parseContentRange(value: string | null): { start: number; total: number | undefined } | undefined {
  const match = value && /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim());
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** Statuses worth retrying: timeouts, rate limits and server-side failures. */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The abort reason if `signal` fired, else a coded network failure (retryable). */
function networkError(error: unknown, url: URL, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new ReelError('MODEL_DOWNLOAD_FAILED', `network error requesting ${url.href}: ${detail}`, {
    retryable: true,
    details: { url: url.href },
    cause: error,
  });
}

/** Thin HTTP layer over one hub endpoint. Stateless apart from its options: safe to share. */
export class HubClient {
  readonly endpoint: string;
  readonly #endpointOrigin: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: HubClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.endpoint);
    } catch {
      parsed = new URL('invalid:');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ReelError(
        'MODEL_PULL_INVALID',
        `expected HF_ENDPOINT to be an http:// or https:// URL, got ${JSON.stringify(options.endpoint)}`,
      );
    }
    this.endpoint = parsed.href.replace(/\/+$/, '');
    this.#endpointOrigin = parsed.origin;
    this.#token = options.token === '' ? undefined : options.token;
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * URL of a file: `{endpoint}/{repo}/resolve/{revision}/{path}`. The revision is one URL segment (a
   * branch like `refs/pr/1` is percent-encoded, as huggingface_hub does); path segments are encoded.
   */
  fileUrl(repo: string, revision: string, path: string): string {
    const encodedPath = path.split('/').map(encodeURIComponent).join('/');
    return `${this.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
  }

  /**
   * Metadata of one file. Same-origin redirects (renamed repos) are followed; a redirect to another origin
   * that already carries `X-Linked-Size` is not (the CDN URL is signed for GET, and the hub's headers say
   * all we need); one without it is followed (without credentials) to read the CDN's `Content-Length`.
   *
   * @throws ReelError `MODEL_NOT_FOUND` (404, or 401 with `X-Error-Code: RepoNotFound`), `MODEL_AUTH`
   *   (401/403), `MODEL_DOWNLOAD_FAILED` (other statuses, network; `retryable` for 408/429/5xx/network).
   */
  async head(repo: string, revision: string, path: string, signal?: AbortSignal): Promise<HubFileInfo> {
    const { response, hops, url } = await this.#send('HEAD', repo, revision, path, {}, signal, true);
    const stoppedAtLinked = isRedirect(response.status) && response.headers.has('x-linked-size');
    if (!response.ok && !stoppedAtLinked) {
      throw this.#statusError(response, url, repo, revision, path);
    }
    let linkedSize: number | undefined;
    let linkedEtag: string | undefined;
    let commit: string | undefined;
    for (const hop of hops) {
      linkedSize ??= parseSize(hop.headers.get('x-linked-size'));
      linkedEtag ??= unquoteEtag(hop.headers.get('x-linked-etag'));
      const hopCommit = hop.headers.get('x-repo-commit')?.trim().toLowerCase();
      if (hopCommit && COMMIT_HEX.test(hopCommit)) commit ??= hopCommit;
    }
    const size = linkedSize ?? (response.ok ? parseSize(response.headers.get('content-length')) : undefined);
    const etag = linkedEtag ?? unquoteEtag(response.headers.get('etag'));
    const sha256 = linkedEtag?.toLowerCase();
    return { path, size, sha256: sha256 && SHA256_HEX.test(sha256) ? sha256 : undefined, etag, commit };
  }

  /**
   * Opens a download of one file, from byte `offset` (a `Range: bytes=<offset>-` request when > 0).
   * Redirects are followed. A server that ignores the range answers 200: the caller must then start over
   * from byte 0 with this body.
   *
   * @throws ReelError as {@link HubClient.head}; a 416 (range past the end) is `MODEL_DOWNLOAD_FAILED` with
   *   `details.status` 416 and `retryable`, so the caller can drop its partial file and retry.
   */
  async get(
    repo: string,
    revision: string,
    path: string,
    options: { offset?: number; signal?: AbortSignal } = {},
  ): Promise<HubDownload> {
    const offset = options.offset ?? 0;
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const { response, url } = await this.#send('GET', repo, revision, path, headers, options.signal, false);
    if (response.status !== 200 && response.status !== 206) {
      await response.body?.cancel().catch(() => {});
      throw this.#statusError(response, url, repo, revision, path);
    }
    if (!response.body) {
      throw new ReelError('MODEL_DOWNLOAD_FAILED', `expected a body downloading ${path}, got none`, {
        retryable: true,
        details: { status: response.status },
      });
    }
    if (response.status === 200) {
      const totalSize = parseSize(response.headers.get('content-length'));
      return { status: 200, start: 0, totalSize, body: response.body };
    }
    const range = parseContentRange(response.headers.get('content-range'));
    if (!range) {
      await response.body.cancel().catch(() => {});
      throw new ReelError(
        'MODEL_DOWNLOAD_FAILED',
        `expected a Content-Range header on the 206 answer for ${path}, got ${JSON.stringify(response.headers.get('content-range'))}`,
        { retryable: true, details: { status: 206 } },
      );
    }
    return { status: 206, start: range.start, totalSize: range.total, body: response.body };
  }

  /** Sends a request and follows redirects by hand; returns the last response, its URL and every hop. */
  async #send(
    method: 'HEAD' | 'GET',
    repo: string,
    revision: string,
    path: string,
    extraHeaders: Record<string, string>,
    signal: AbortSignal | undefined,
    stopAtLinkedRedirect: boolean,
  ): Promise<{ response: Response; hops: Response[]; url: URL }> {
    let url = new URL(this.fileUrl(repo, revision, path));
    const hops: Response[] = [];
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers = new Headers(extraHeaders);
      // Sizes and hashes are of the stored bytes: no transparent decompression.
      headers.set('accept-encoding', 'identity');
      headers.set('user-agent', 'reel (models pull)');
      // Credentials go to the endpoint's origin only, however the redirect chain wanders.
      if (this.#token !== undefined && url.origin === this.#endpointOrigin) {
        headers.set('authorization', `Bearer ${this.#token}`);
      }
      let response: Response;
      try {
        response = await this.#fetch(url, { method, headers, redirect: 'manual', signal });
      } catch (error) {
        throw networkError(error, url, signal);
      }
      hops.push(response);
      const location = response.headers.get('location');
      if (!isRedirect(response.status) || !location) return { response, hops, url };
      await response.body?.cancel().catch(() => {});
      const next = new URL(location, url);
      if (stopAtLinkedRedirect && next.origin !== url.origin && response.headers.has('x-linked-size')) {
        return { response, hops, url };
      }
      url = next;
    }
    throw new ReelError(
      'MODEL_DOWNLOAD_FAILED',
      `expected at most ${MAX_REDIRECTS} redirects fetching ${path} from ${repo}, got more (redirect loop?)`,
    );
  }

  /** Maps a failed response to a coded error naming repo, revision and file. */
  #statusError(response: Response, at: URL, repo: string, revision: string, path: string): ReelError {
    const status = response.status;
    const hubCode = response.headers.get('x-error-code') ?? undefined;
    const hubMessage = response.headers.get('x-error-message') ?? undefined;
    const url = at.href;
    const details = { status, hubCode, url, repo, revision, file: path };
    const said = hubMessage ? ` (hub says: ${hubMessage})` : '';
    // A non-hub origin (the CDN) answering 401/403 means an expired signed URL, not a bad token: a new
    // request through the hub gets a fresh one.
    const fromHub = at.origin === this.#endpointOrigin;

    if (hubCode === 'RepoNotFound' && (status === 401 || status === 404)) {
      const hint = this.#token === undefined ? '; if it is private, set HF_TOKEN' : '';
      return new ReelError(
        'MODEL_NOT_FOUND',
        `expected repo ${repo} at ${this.endpoint}, got ${status} repository not found${hint}`,
        { details },
      );
    }
    if ((status === 401 || status === 403) && fromHub) {
      const fix =
        this.#token === undefined
          ? 'set HF_TOKEN to an access token that can read it'
          : hubCode === 'GatedRepo'
            ? "HF_TOKEN was accepted but lacks access: accept the model's terms on its hub page"
            : 'HF_TOKEN was rejected or lacks access to it: set HF_TOKEN to a token that can read it';
      return new ReelError(
        'MODEL_AUTH',
        `expected access to ${repo}@${revision} ${path}, got ${status}${said}: ${fix}`,
        { details },
      );
    }
    if (status === 404) {
      const what =
        hubCode === 'RevisionNotFound'
          ? `revision ${revision} not found in ${repo}`
          : `file ${path} not found in ${repo} at revision ${revision}`;
      return new ReelError(
        'MODEL_NOT_FOUND',
        `expected ${path} in ${repo}@${revision}, got 404: ${what}${said}`,
        {
          details,
        },
      );
    }
    return new ReelError(
      'MODEL_DOWNLOAD_FAILED',
      `expected 200 for ${path} in ${repo}@${revision}, got HTTP ${status} from ${url}${said}`,
      { retryable: isRetryableStatus(status) || status === 416 || !fromHub, details },
    );
  }
}
