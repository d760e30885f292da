/**
 * reel's one error catalogue: every code any package throws or records, once, with what it means for
 * whoever decides (the retry policy, the sweep, the HTTP problem handler, the CLI's exit status).
 *
 * - `fault`: `input` when the caller's input is wrong (a file, a field, a key, a URL): retrying the same
 *   input cannot help, HTTP answers 4xx, the CLI exits 2; `system` when the machine or a dependency
 *   failed (a store, ffmpeg, the network, a model folder): HTTP answers 5xx, the CLI exits 1.
 * - `retryable`: whether the same work may succeed later (a system fault that passes). A ReelError can
 *   say otherwise for one occurrence (a hub's 404 is not worth retrying, its 503 is); recorded failures
 *   keep the flag the error had.
 * - `http`: the status an API answer with this code gets (routes may be more precise).
 *
 * Codes are never renamed: clients and stored records keep them. `test/error-catalogue.test.ts` walks the
 * source of every package and fails on a code that is thrown or recorded here and not catalogued.
 */

export type ErrorFault = 'input' | 'system';

export interface ErrorEntry {
  fault: ErrorFault;
  retryable: boolean;
  http: number;
  /** What it means, for the docs and for a person reading the catalogue. */
  summary: string;
}

const input = (http: number, summary: string): ErrorEntry => ({
  fault: 'input',
  retryable: false,
  http,
  summary,
});
const system = (http: number, summary: string, retryable = true): ErrorEntry => ({
  fault: 'system',
  retryable,
  http,
  summary,
});

export const ERROR_CATALOGUE = {
  // Files and videos (ingest, uploads, server paths)
  FILE_NOT_FOUND: input(400, 'the file does not exist (or a folder on its path does not)'),
  EMPTY_FILE: input(400, 'the file has 0 bytes'),
  NOT_A_VIDEO: input(400, 'not a video: text, random bytes, a still image, a folder'),
  UNSUPPORTED_CONTAINER: input(
    400,
    'a container reel does not read: playlists, concat lists, image sequences…',
  ),
  NO_VIDEO_STREAM: input(400, 'a media file with no usable video stream (audio only, cover art)'),
  UNREADABLE: input(
    400,
    'looks like a video but cannot be read: corrupt, truncated, no decoder, no permission',
  ),
  TOO_LONG: input(400, 'longer than REEL_MAX_VIDEO_SECONDS'),
  TOO_LARGE: input(413, 'bigger than a size or pixel limit'),
  DECODE_FAILED: input(400, 'ffmpeg failed part-way through decoding the file'),
  NOT_A_REGULAR_FILE: input(400, 'a FIFO, device, socket, folder or symlink where a regular file was needed'),
  SOURCE_NOT_ALLOWED: input(
    400,
    "a video's recorded source points where it may not (another tenant, a swapped path)",
  ),
  INGEST_OPTIONS_INVALID: input(400, 'sampling options out of range'),
  FFMPEG_TIMEOUT: system(503, 'ffmpeg or ffprobe ran past its timeout and was killed'),
  FFMPEG_NOT_FOUND: system(503, 'the ffmpeg or ffprobe executable could not be started'),
  INGEST_ABORTED: system(503, 'sampling was cancelled (the worker is stopping)'),
  DELETED: input(410, 'the video was deleted while it was being processed'),
  VIDEO_NOT_SUBMITTED: input(400, 'a job names a video nobody submitted'),
  CAPTIONS_MALFORMED: input(422, 'a caption file or subtitle track is broken (the message names the line)'),
  CAPTIONS_UNSUPPORTED: input(415, 'a caption file that is not SubRip, WebVTT or ASS/SSA by its content'),
  CAPTIONS_TOO_LARGE: input(413, 'a caption file or subtitle track over 5 MiB or over its cue limit'),
  SUBTITLE_TRACK_UNREADABLE: input(422, 'ffmpeg cannot read one text subtitle track of a video'),
  CAPTIONS_UNMATCHED: input(422, 'a caption file uploaded with no video of its name beside it'),
  CAPTION_TRACK_NOT_FOUND: input(404, 'no such caption track on the video (or it could not be read)'),

  // URL downloads
  BAD_URL: input(400, 'not an http(s) URL reel downloads (or one with credentials)'),
  DOWNLOAD_FAILED: input(400, 'the server refused (4xx), too many redirects, or a redirect elsewhere'),
  DOWNLOAD_FORBIDDEN: input(400, 'the host is or resolves to a non-public address'),
  DOWNLOAD_UNAVAILABLE: system(503, 'the network failed, or the server answered 5xx, 408 or 429'),

  // Webhooks
  WEBHOOK_NOT_FOUND: input(404, 'no such webhook endpoint for this tenant'),
  WEBHOOK_URL_INVALID: input(400, 'a webhook URL that is not http(s), carries credentials or is too long'),
  WEBHOOK_URL_FORBIDDEN: input(400, "a webhook URL's host is or resolves to a non-public address"),
  WEBHOOK_LIMIT: input(409, 'the tenant has as many webhook endpoints as it may'),
  WEBHOOK_DELIVERY_FAILED: system(503, 'a receiver did not answer 2xx (network, timeout, its status)'),
  WEBHOOK_JOB_INVALID: system(
    500,
    'a delivery job that names no tenant, endpoint or event (written by someone else)',
    false,
  ),
  DOWNLOAD_TIMEOUT: system(503, 'the download did not finish within REEL_DOWNLOAD_TIMEOUT_SECONDS'),

  // Storage
  STORAGE_UNAVAILABLE: system(503, 'the object storage (bucket) did not answer or refused'),
  STORAGE_BAD_KEY: system(500, 'a storage key outside the layout', false),

  // Jobs
  JOB_UNKNOWN: input(400, 'a job whose name no handler runs (one someone else added)'),
  JOB_HANDLERS_INVALID: system(500, 'a worker started with a job lacking a handler, or with two', false),

  // Batches
  BATCH_ID_INVALID: input(400, 'a batch id outside 1-100 letters, digits, _ or -'),
  BATCH_NOT_FOUND: input(404, 'no such batch for this tenant'),

  // Index and search
  SEARCH_INPUT_INVALID: input(400, 'search or listing input is invalid'),
  CURSOR_INVALID: input(400, 'a page cursor is malformed or made for another query or model'),
  POOLING_UNAVAILABLE: input(422, 'the pooling asked for cannot run (X-Pool without a head)'),
  POOLING_INPUT_INVALID: input(400, 'pooling inputs disagree in size, or a parameter is out of range'),
  EMBEDDING_DIM_MISMATCH: system(500, "a vector's size differs from the index's for that model", false),
  EMBEDDINGS_INVALID: system(500, 'embeddings to store are malformed', false),
  VIDEO_INVALID: system(500, 'a video record is malformed', false),
  VIDEO_NOT_FOUND: input(404, 'no such video for this tenant'),
  INDEX_SCHEMA_MISMATCH: system(500, 'an index table on disk does not match what this code writes', false),
  INDEX_STORE_FAILED: system(503, 'a LanceDB operation failed (I/O, commit conflicts after retries)'),
  QUERY_ENCODING_FAILED: system(500, 'the text encoder returned no vector, or one of the wrong size'),
  SAFETENSORS_INVALID: input(400, 'a .safetensors file is malformed'),
  XPOOL_HEAD_INVALID: input(400, 'a .safetensors file is not an X-Pool head'),
  XPOOL_DIM_MISMATCH: input(400, "the X-Pool head's size differs from the model's"),
  XPOOL_CACHE_INVALID: system(500, 'serialised X-Pool cache bytes are malformed, or of another head', false),
  NPY_INVALID: input(400, 'a .npy file is malformed or unsupported'),
  CAPTIONS_INVALID: input(400, 'a captions CSV is malformed'),
  EVAL_INPUT_INVALID: input(400, 'evaluation inputs disagree in size'),

  // Models and inference
  MODEL_NOT_FOUND: system(503, 'the model folder or one of its files is missing', false),
  MODEL_INVALID: system(503, 'a model file is not a loadable model of the kind asked for', false),
  MODEL_FAMILY_UNSUPPORTED: system(
    503,
    "the model folder's config names a model family reel cannot run",
    false,
  ),
  MODEL_CHANGED: system(503, "the model folder's fingerprint changed since the video was submitted"),
  MODEL_NOT_ALLOWED: input(400, 'a job or pointer names a model folder reel may not load'),
  MODEL_AUTH: input(401, 'the hub refused the request: no, wrong or insufficient HF_TOKEN'),
  MODEL_DOWNLOAD_CORRUPT: system(502, "a downloaded file's size or sha256 differs from the hub's"),
  MODEL_DOWNLOAD_FAILED: system(502, 'an HTTP error or network failure retries did not get past'),
  MODEL_PULL_INVALID: input(400, 'bad input to models pull (repo, revision, endpoint)'),
  PREPROCESS_CONFIG_INVALID: system(
    503,
    "a model's preprocessing config is unreadable or has a bad field",
    false,
  ),
  TOKENIZER_INVALID: system(503, "a model's tokenizer file is missing, unreadable or malformed", false),
  TOKENIZER_OPTIONS_INVALID: input(400, 'tokenizer options out of range'),
  IMAGE_INVALID: input(400, 'an image cannot be decoded, or a raw frame has the wrong length'),
  IMAGE_TOO_LARGE: input(413, 'an image to search by is larger than REEL_API_MAX_IMAGE_BYTES'),
  INFERENCE_FAILED: system(500, 'onnxruntime rejected or failed a run'),
  INFERENCE_WORKER_DIED: system(503, 'an inference worker thread died with calls in flight'),
  INFERENCE_POOL_CLOSED: system(503, 'a call reached an inference pool after close()'),
  INFERENCE_OPTIONS_INVALID: system(500, 'inference pool or session options out of range', false),
  ONNX_GRAPH_INVALID: system(500, 'a graph built in code is malformed', false),
  SYNTHETIC_MODEL_INVALID: system(500, "a synthetic model's definition is inconsistent", false),

  // Keys, access and the HTTP API
  UNAUTHORIZED: input(401, 'no, a malformed, an unknown or a revoked API key'),
  FORBIDDEN: input(403, 'the key lacks the scope the route needs'),
  OPERATOR_REQUIRED: input(403, 'the route spans tenants: it needs an operator key'),
  TENANT_KEY_REQUIRED: input(403, "an operator key acts on no tenant's videos"),
  KEY_INVALID: input(400, 'a key to create has a bad tenant or scopes'),
  KEY_NOT_FOUND: input(404, 'no such API key for this tenant'),
  KEYS_FILE_INVALID: system(500, 'the API keys file is not valid', false),
  KEYS_FILE_BUSY: system(503, 'the API keys file stayed locked by another process'),
  API_KEYS_REQUIRED: input(400, 'refusing to listen off loopback without an API key (start-up)'),
  VALIDATION_FAILED: input(400, 'the request does not match the route schema'),
  NOT_MULTIPART: input(415, 'an upload that is not multipart/form-data'),
  NO_FILES: input(400, 'an upload with no file parts'),
  PATHS_DISABLED: input(403, 'this server indexes no server-side paths'),
  PATH_NOT_ALLOWED: input(403, 'a path outside the allowed folders, or with ..'),
  TOO_MANY_FILES: input(413, 'more files in one batch than REEL_API_MAX_FILES'),
  RANGE_NOT_SATISFIABLE: input(416, "a Range outside the file's bytes"),
  RATE_LIMITED: input(429, 'more requests a minute than REEL_API_RATE_LIMIT'),
  ROUTE_NOT_FOUND: input(404, 'no such route'),
  METHOD_NOT_ALLOWED: input(405, 'the route exists, for other methods (Allow lists them)'),
  UNSUPPORTED_MEDIA_TYPE: input(415, 'a body of a Content-Type the route does not take'),
  INVALID_JSON: input(400, 'a JSON body that does not parse, or is empty'),
  BAD_REQUEST: input(400, 'a request refused before any route ran (malformed headers, URL or body)'),
  VIDEO_FILE_MISSING: system(404, "the video's file is no longer stored", false),
  VIDEO_NOT_INDEXED: input(409, 'only indexed videos are streamed'),
  VIDEO_NOT_FAILED: input(409, 'only a failed video is retried'),
  THUMBNAIL_NOT_FOUND: input(404, 'no such frame thumbnail'),
  REDIS_UNAVAILABLE: system(503, 'Redis does not answer: ingest and reindexing wait for it'),

  // Start-up and the command line
  CONFIG_INVALID: input(400, 'a setting has a bad value (start-up)'),
  REDIS_SERVER_MISSING: system(503, 'no redis-server to start for the demo', false),
  PORT_IN_USE: system(503, 'the API port is taken by another process (start-up)', false),
  REDIS_SERVER_FAILED: system(503, 'the private redis-server did not start'),
  REDIS_TOO_OLD: system(503, 'Redis is older than BullMQ needs (6.2)', false),
  INTERNAL: system(500, 'an unexpected failure (a bug, or a dependency failing oddly)'),
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An unknown code (another version's, a library's) is a system fault worth retrying, answered 500. */
const UNKNOWN: ErrorEntry = system(500, 'a code this version does not know');

/** The catalogue's entry for `code`. */
export function errorInfo(code: string): ErrorEntry {
  return Object.hasOwn(ERROR_CATALOGUE, code) ? ERROR_CATALOGUE[code as ErrorCode] : UNKNOWN;
}

/** True when `code` means the caller's input was wrong (never worth retrying unchanged). */
export function isInputFault(code: string): boolean {
  return errorInfo(code).fault === 'input';
}
