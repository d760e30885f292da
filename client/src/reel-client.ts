/**
 * The typed client: openapi-fetch over the types openapi-typescript generated from the spec the server
 * serves (src/openapi.ts, from openapi.json), so every path, parameter, body and answer is checked by
 * the compiler against the API as it is. What the spec cannot say is written by hand beside it
 * (helpers.ts: uploads with progress, waiting for a batch, every page of a listing).
 *
 * An answer that is not 2xx is thrown as a ReelApiError carrying the problem's stable `code` (never a
 * `{ data, error }` pair to forget to check).
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './openapi.ts';

export type ReelPaths = paths;
export type ReelFetchClient = Client<paths>;

/** A non-2xx answer: the HTTP status and the problem+json `code` and `detail` of reel's API. */
export class ReelApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: unknown;
  constructor(status: number, code: string, detail: string, problem: unknown) {
    super(`${code}: ${detail}`);
    this.name = 'ReelApiError';
    this.status = status;
    this.code = code;
    this.problem = problem;
  }
}

export interface ReelClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (no trailing /v1). */
  baseUrl: string;
  /** An API key, sent as `Authorization: Bearer`; none for a keyless local server. */
  apiKey?: string;
  /** Another fetch (tests, proxies); default the global one. */
  fetch?: typeof globalThis.fetch;
}

export interface ReelClient {
  /** openapi-fetch's typed client: `api.GET('/v1/videos/{id}', { params: { path: { id } } })`. */
  api: ReelFetchClient;
  baseUrl: string;
  /** The headers every request carries (the key). */
  headers(): Record<string, string>;
  fetch: typeof globalThis.fetch;
}

/** Turns a problem+json answer into a ReelApiError. */
export async function toApiError(response: Response): Promise<ReelApiError> {
  type Problem = { code?: string; detail?: string; title?: string };
  let body: Problem | null = null;
  try {
    body = (await response.clone().json()) as Problem;
  } catch {
    // not JSON (a proxy's page): the status line says what there is
  }
  return new ReelApiError(
    response.status,
    body?.code ?? `HTTP_${response.status}`,
    body?.detail ?? body?.title ?? (response.statusText || `HTTP ${response.status}`),
    body,
  );
}

export function createReelClient(options: ReelClientOptions): ReelClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const headers = (): Record<string, string> =>
    options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  const api = createClient<paths>({ baseUrl, fetch: doFetch });
  const errors: Middleware = {
    onRequest({ request }) {
      for (const [name, value] of Object.entries(headers())) request.headers.set(name, value);
      return request;
    },
    async onResponse({ response }) {
      if (!response.ok) throw await toApiError(response);
      return response;
    },
  };
  api.use(errors);
  return { api, baseUrl, headers, fetch: doFetch };
}

/**
 * The answer's data: openapi-fetch's `data`, which the error middleware guarantees for every answer
 * that got this far (a 204 has none: undefined).
 */
export function dataOf<T>(answer: { data?: T }): T {
  return answer.data as T;
}
