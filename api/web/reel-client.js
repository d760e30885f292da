// The page's access to reel's HTTP API: the API key (this tab's session storage), JSON requests,
// problem+json errors, uploads with progress, and media URLs that work with and without a key.
// Plain browser JavaScript with no build step: the page is small enough not to need a framework.

const KEY_STORAGE = 'reel.apiKey';

/** An API error: the problem's stable `code` and the `detail` a person can act on. */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

function authHeaders() {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

async function toError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page): fall back to the status line.
  }
  const detail = body?.detail ?? `${response.status} ${response.statusText}`;
  return new ApiError(response.status, body?.code ?? `HTTP_${response.status}`, detail);
}

/**
 * A JSON request; null for a 204 (nothing to say). Throws ApiError for any non-2xx answer, and a network
 * failure as NETWORK.
 */
export async function request(path, { method = 'GET', body, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      signal,
      headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', `the server did not answer (${error.message})`);
  }
  if (!response.ok) throw await toError(response);
  return response.status === 204 ? null : response.json();
}

/** POSTs a multipart form (search by image) and returns the JSON answer, as {@link request} does. */
export async function requestForm(path, form) {
  let response;
  try {
    response = await fetch(path, { method: 'POST', headers: authHeaders(), body: form });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `the server did not answer (${error.message})`);
  }
  if (!response.ok) throw await toError(response);
  return response.json();
}

/**
 * Uploads files as one batch (POST /v1/videos, multipart) and reports progress as a fraction. XHR,
 * not fetch: fetch still cannot report upload progress in browsers.
 */
export function upload(files, { tags, onProgress }) {
  const form = new FormData();
  if (tags) form.append('tags', tags);
  for (const file of files) form.append('file', file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/videos');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress?.(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else
        reject(
          new ApiError(
            xhr.status,
            body?.code ?? `HTTP_${xhr.status}`,
            body?.detail ?? `upload failed (${xhr.status})`,
          ),
        );
    });
    xhr.addEventListener('error', () =>
      reject(new ApiError(0, 'NETWORK', 'the upload was cut off before the server answered')),
    );
    xhr.send(form);
  });
}

/**
 * A URL for an <img> or <video> of the API. Without a key the API's own URL (the browser streams the
 * video with Range requests); with a key, elements cannot send the header, so the file is fetched with
 * it and shown from a blob URL (the whole video is downloaded before it plays).
 */
export async function mediaUrl(path) {
  if (!apiKey()) return path;
  const [bare, fragment] = path.split('#');
  const response = await fetch(bare, { headers: authHeaders() });
  if (!response.ok) throw await toError(response);
  const url = URL.createObjectURL(await response.blob());
  return fragment ? `${url}#${fragment}` : url;
}

export function releaseMediaUrl(url) {
  if (url?.startsWith('blob:')) URL.revokeObjectURL(url.split('#')[0]);
}
