/**
 * The one place reel reads its settings. Sources, lowest priority first: built-in defaults (the embedded
 * setup: local Redis, data under ./.reel), an optional JSON config file (REEL_CONFIG), then REEL_*
 * environment variables. Everything is validated once, every bad value reported together, and the result
 * is passed explicitly to whoever needs it: nothing else in reel reads process.env.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { ReelError } from './errors.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Encoder precision settings: see `@reel/models` precision.ts. */
const PRECISIONS = ['auto', 'fp32', 'int8'] as const;
/** Frame sampling precisions: see `@reel/ingest` sampling-precision.ts (not imported: infra depends on nothing). */
export const SAMPLING_PRECISIONS = ['exact', 'fast', 'keyframes'] as const;

/** A URL whose scheme is one of `protocols` (e.g. "redis:"). */
function url(protocols: string[], expected: string) {
  return z.string({ error: expected }).refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, expected);
}

/**
 * A cron pattern as BullMQ's job schedulers read it (cron-parser, the library BullMQ uses), so a pattern
 * that cannot run ("99 99 * * *") fails at start-up, not when the first worker upserts its schedule.
 */
function cronPattern(example: string) {
  return z.string({ error: `expected a cron pattern, e.g. "${example}"` }).superRefine((value, ctx) => {
    if (!/^\S+( \S+){4,5}$/.test(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a cron pattern of 5 or 6 fields, e.g. "${example}"`,
      });
      return;
    }
    try {
      CronExpressionParser.parse(value);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a cron pattern of 5 or 6 fields, e.g. "${example}" (${(error as Error).message})`,
      });
    }
  });
}

/** "true" / "false" (from the environment) or a JSON boolean (from the config file). */
function trueFalse() {
  return z.preprocess(
    (value) => (value === 'true' ? true : value === 'false' ? false : value),
    z.boolean({ error: 'expected true or false' }),
  );
}

/** The node URLs in a comma-separated `REEL_REDIS_URL` (one for a single Redis). */
function redisNodeUrls(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

/** One redis:// or rediss:// URL, or a comma-separated list of them (Redis Cluster seed nodes). */
function redisUrls() {
  const one = url(['redis:', 'rediss:'], 'expected a redis:// or rediss:// URL');
  return z
    .string({ error: 'expected a redis:// or rediss:// URL' })
    .superRefine((value, ctx) => {
      const urls = redisNodeUrls(value);
      if (urls.length > 0 && urls.every((node) => one.safeParse(node).success)) return;
      ctx.addIssue({
        code: 'custom',
        message: value.includes(',')
          ? 'expected a comma-separated list of redis:// or rediss:// URLs (Redis Cluster nodes)'
          : 'expected a redis:// or rediss:// URL',
      });
    })
    .transform((value) => redisNodeUrls(value).join(','));
}

/**
 * The hash tag Redis Cluster hashes a key by: what lies between the key's first `{` and the next `}`,
 * if that is not empty (otherwise the whole key is hashed).
 */
function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * Redis Cluster needs every reel key on one slot (BullMQ's flows and reel's Lua scripts touch keys of
 * several queues at once), so the queue prefix, which starts every key, must carry a hash tag; the nodes
 * share one database (0), one scheme and one set of credentials.
 */
function redisClusterProblems(values: {
  redisUrl: string;
  redisCluster: boolean;
  queuePrefix: string;
}): string[] {
  const urls = redisNodeUrls(values.redisUrl).map((one) => new URL(one));
  if (!values.redisCluster && urls.length < 2) return [];
  const why = urls.length > 1 ? `REEL_REDIS_URL lists ${urls.length} nodes` : 'REEL_REDIS_CLUSTER is true';
  const problems: string[] = [];
  if (hashTagOf(values.queuePrefix) === undefined) {
    problems.push(
      `REEL_QUEUE_PREFIX: Redis Cluster mode (${why}) needs a prefix with a {hash tag}, e.g. "{reel}", so every reel key lands on one slot (BullMQ flows and reel's scripts touch keys of several queues at once), got ${JSON.stringify(values.queuePrefix)}`,
    );
  }
  const first = urls[0];
  if (first && urls.some((one) => one.protocol !== first.protocol)) {
    problems.push(
      'REEL_REDIS_URL: the nodes of a Redis Cluster share one scheme: use redis:// or rediss:// for all',
    );
  }
  if (first && urls.some((one) => one.username !== first.username || one.password !== first.password)) {
    problems.push(
      'REEL_REDIS_URL: the nodes of a Redis Cluster share one user and password: give the same in every URL',
    );
  }
  if (urls.some((one) => one.pathname !== '' && one.pathname !== '/' && one.pathname !== '/0')) {
    problems.push('REEL_REDIS_URL: Redis Cluster has only database 0: drop the /<db> from the node URLs');
  }
  return problems;
}

/** Environment strings become numbers here; a file may give the number itself. */
function integer(min: number, max: number) {
  const expected = `expected an integer from ${min} to ${max}`;
  return z.preprocess(
    (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
    z
      .number({ error: expected })
      .int({ error: expected })
      .min(min, { error: expected })
      .max(max, { error: expected }),
  );
}

/** A number of seconds (fractions allowed), from an environment string or a file's number. */
function seconds(min: number, max: number) {
  const expected = `expected a number of seconds from ${min} to ${max}`;
  return z.preprocess(
    (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
    z.number({ error: expected }).min(min, { error: expected }).max(max, { error: expected }),
  );
}

function nonEmpty(expected: string) {
  return z.string({ error: expected }).trim().min(1, { error: expected });
}

/** `REEL_INDEX_URI`: a folder path, or an `s3://bucket/path` URL (LanceDB on S3-compatible storage). */
function indexUri() {
  const expected = 'expected a folder path or an s3://bucket/path URL';
  return z
    .string({ error: expected })
    .trim()
    .min(1, { error: expected })
    .refine(
      (value) => !value.includes('://') || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(value),
      { error: expected },
    );
}

/** Settings of object storage that only make sense together (see workers/README.md, "Storage"). */
function storageProblems(values: {
  storage?: string;
  s3Bucket?: string | undefined;
  s3AccessKeyId?: string | undefined;
  s3SecretAccessKey?: string | undefined;
}): string[] {
  const problems: string[] = [];
  // (a bucket given but invalid is reported by its own schema: `s3Bucket` is then missing from values)
  if (values.storage === 's3' && 's3Bucket' in values && values.s3Bucket === undefined)
    problems.push(
      'REEL_S3_BUCKET: REEL_STORAGE=s3 keeps videos and thumbnails in a bucket: name it (REEL_S3_BUCKET=my-bucket), got nothing',
    );
  if ((values.s3AccessKeyId === undefined) !== (values.s3SecretAccessKey === undefined))
    problems.push(
      `REEL_S3_ACCESS_KEY_ID and REEL_S3_SECRET_ACCESS_KEY go together: got only ${values.s3AccessKeyId === undefined ? 'the secret' : 'the key id'} (unset both to use the AWS SDK's credential chain)`,
    );
  return problems;
}

/**
 * Every setting: its key in the config file, its environment variable, its schema, its default and one
 * line for the README (kept here so the docs and the code cannot drift apart: see `configReference()`).
 */
const SETTINGS = {
  redisUrl: {
    env: 'REEL_REDIS_URL',
    schema: redisUrls(),
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis that holds the job queues (BullMQ needs Redis 6.2 or newer). A comma-separated list of node URLs makes it a Redis Cluster (the seed nodes; see workers/README.md).',
  },
  redisCluster: {
    env: 'REEL_REDIS_CLUSTER',
    schema: trueFalse(),
    default: false,
    doc: 'Connect to `REEL_REDIS_URL` as a Redis Cluster even when it names one seed node (a list of URLs always does). Needs a `{hash tag}` in `REEL_QUEUE_PREFIX`.',
  },
  dataDir: {
    env: 'REEL_DATA_DIR',
    schema: nonEmpty('expected a folder path'),
    default: './.reel',
    doc: 'Folder for the LanceDB index, uploaded videos, thumbnails and models (relative to the working directory).',
  },
  apiHost: {
    env: 'REEL_API_HOST',
    schema: nonEmpty('expected a host name or IP address to listen on'),
    default: '127.0.0.1',
    doc: 'Address the HTTP API listens on.',
  },
  apiPort: {
    env: 'REEL_API_PORT',
    schema: integer(0, 65535),
    default: 3000,
    doc: 'Port the HTTP API listens on (0 picks a free one).',
  },
  apiAllowedRoots: {
    env: 'REEL_API_ALLOWED_ROOTS',
    schema: z.preprocess(
      (value) =>
        typeof value === 'string'
          ? value
              .split(',')
              .map((v) => v.trim())
              .filter(Boolean)
          : value,
      z.array(nonEmpty('expected folder paths'), { error: 'expected a comma-separated list of folders' }),
    ),
    default: [] as string[],
    doc: 'Folders whose files `POST /v1/batches` may index by path (comma-separated). Empty: batches of server-side paths are refused.',
  },
  apiMaxUploadBytes: {
    env: 'REEL_API_MAX_UPLOAD_BYTES',
    schema: integer(1, Number.MAX_SAFE_INTEGER),
    default: 4 * 1024 ** 3,
    doc: 'Largest file one upload may carry, in bytes (default 4 GiB; larger parts are refused with 413).',
  },
  apiMaxRequestBytes: {
    env: 'REEL_API_MAX_REQUEST_BYTES',
    schema: integer(1, Number.MAX_SAFE_INTEGER),
    default: 16 * 1024 ** 3,
    doc: 'Most bytes of files one upload request may carry in all (default 16 GiB).',
  },
  apiMaxFiles: {
    env: 'REEL_API_MAX_FILES',
    schema: integer(1, 10_000),
    default: 100,
    doc: 'Most files (or paths and URLs) in one batch request.',
  },
  apiRateLimit: {
    env: 'REEL_API_RATE_LIMIT',
    schema: integer(1, 1_000_000),
    default: 600,
    doc: 'Requests per minute one API key (or, without keys, one client address) may make; more get 429.',
  },
  apiRequestTimeoutSeconds: {
    env: 'REEL_API_REQUEST_TIMEOUT_SECONDS',
    schema: integer(1, 7 * 24 * 3600),
    default: 3600,
    doc: 'Longest one request may take to arrive, body included: an upload still sending after this is cut (408).',
  },
  apiIdleTimeoutSeconds: {
    env: 'REEL_API_IDLE_TIMEOUT_SECONDS',
    schema: integer(1, 3600),
    default: 60,
    doc: 'Longest a connection may stay silent: a client that stops sending mid-request (a stalled upload) is disconnected and what it sent is discarded.',
  },
  queuesBoardWritable: {
    env: 'REEL_QUEUES_BOARD_WRITABLE',
    schema: trueFalse(),
    default: false,
    doc: 'Whether the queues board at `/admin/queues` (operator keys only) may retry, promote, clean or remove jobs; off, it only shows them. Jobs it adds are refused by workers either way (a job only names a video it must find in the catalogue).',
  },
  apiMaxQueryChars: {
    env: 'REEL_API_MAX_QUERY_CHARS',
    schema: integer(1, 100_000),
    default: 500,
    doc: 'Longest search text accepted, in characters.',
  },
  apiMaxImageBytes: {
    env: 'REEL_API_MAX_IMAGE_BYTES',
    schema: integer(1, 1024 ** 3),
    default: 10 * 1024 ** 2,
    doc: 'Largest image a search by image may send, in bytes (JPEG, PNG or WebP; at most 40 megapixels).',
  },
  apiMaxK: {
    env: 'REEL_API_MAX_K',
    schema: integer(1, 1000),
    default: 100,
    doc: 'Most results one search page may ask for (`k`).',
  },
  model: {
    env: 'REEL_MODEL',
    schema: nonEmpty(
      'expected a model id (a folder under <data dir>/models) or a path to a model folder',
    ).optional(),
    default: undefined,
    doc: 'Active model: an id under `<data dir>/models/` or a path to a model folder. Unset: the model chosen with `reel models use`, else `reel-synthetic-clip`.',
  },
  imagePrecision: {
    env: 'REEL_IMAGE_PRECISION',
    schema: z.enum(PRECISIONS, { error: `expected one of ${PRECISIONS.join(', ')}` }),
    default: 'auto',
    doc: "Image encoder precision: `int8` uses the active model's quantized copy (`reel models quantize`), `auto` does so only when its calibration's 1st-percentile cosine to fp32 is at least 0.99 and its top-10 retrieval agreement (near-ties counted as agreeing) at least 0.95, `fp32` never. Changing it is a model change (backfill).",
  },
  textPrecision: {
    env: 'REEL_TEXT_PRECISION',
    schema: z.enum(PRECISIONS, { error: `expected one of ${PRECISIONS.join(', ')}` }),
    default: 'fp32',
    doc: 'Text encoder precision (`auto`, `fp32`, `int8`), as `REEL_IMAGE_PRECISION`; fp32 by default: one query per search gains little from int8.',
  },
  logLevel: {
    env: 'REEL_LOG_LEVEL',
    schema: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }),
    default: 'info',
    doc: `Log level: ${LOG_LEVELS.join(', ')}.`,
  },
  ffmpegPath: {
    env: 'REEL_FFMPEG_PATH',
    schema: nonEmpty('expected a path to the ffmpeg executable'),
    default: 'ffmpeg',
    doc: 'ffmpeg executable (looked up on PATH by default).',
  },
  ffprobePath: {
    env: 'REEL_FFPROBE_PATH',
    schema: nonEmpty('expected a path to the ffprobe executable'),
    default: 'ffprobe',
    doc: 'ffprobe executable (looked up on PATH by default).',
  },
  ffmpegSpawnHost: {
    env: 'REEL_FFMPEG_SPAWN_HOST',
    schema: trueFalse(),
    default: true,
    doc: "Workers start each video's ffprobe and ffmpeg through a small helper process: a fork from a worker holding a model costs about 45 ms of CPU per process (`false` spawns them directly).",
  },
  queuePrefix: {
    env: 'REEL_QUEUE_PREFIX',
    schema: nonEmpty('expected a Redis key prefix for the job queues'),
    default: '{reel}',
    doc: "Redis key prefix of the job queues and reel's own keys; the braces make it a Redis Cluster hash tag, so every reel key lands on one slot (required in cluster mode).",
  },
  ingestConcurrency: {
    env: 'REEL_INGEST_CONCURRENCY',
    schema: integer(1, 64),
    default: 2,
    doc: 'Videos one worker process probes and samples at once (ffmpeg processes).',
  },
  embedConcurrency: {
    env: 'REEL_EMBED_CONCURRENCY',
    schema: integer(1, 64),
    default: 2,
    doc: "Videos one worker process embeds at once; their frames share the image encoder's batches.",
  },
  indexConcurrency: {
    env: 'REEL_INDEX_CONCURRENCY',
    schema: integer(1, 64),
    default: 2,
    doc: 'Videos one worker process pools and writes to the index at once.',
  },
  jobLockSeconds: {
    env: 'REEL_JOB_LOCK_SECONDS',
    schema: integer(2, 3600),
    default: 30,
    doc: 'How long a job stays locked to a worker that stopped answering (killed, frozen) before another worker takes it over.',
  },
  sweepCron: {
    env: 'REEL_SWEEP_CRON',
    schema: cronPattern('*/15 * * * *'),
    default: '*/15 * * * *',
    doc: 'When workers check for a model change (and start the backfill) and re-enqueue failed, missing or stuck videos.',
  },
  upkeepCron: {
    env: 'REEL_UPKEEP_CRON',
    schema: cronPattern('30 3 * * *'),
    default: '30 3 * * *',
    doc: 'When workers compact the index, prune old versions and rebuild the vector index if it is due.',
  },
  maxVideoSeconds: {
    env: 'REEL_MAX_VIDEO_SECONDS',
    schema: integer(1, 7 * 24 * 3600),
    default: 4 * 3600,
    doc: 'Longest video accepted, in seconds (longer ones fail with TOO_LONG).',
  },
  maxVideoPixels: {
    env: 'REEL_MAX_VIDEO_PIXELS',
    schema: integer(1, 2 ** 31),
    default: 7680 * 4320,
    doc: 'Most pixels per frame accepted (width × height; default 8K UHD; larger fail with TOO_LARGE).',
  },
  maxVideoBytes: {
    env: 'REEL_MAX_VIDEO_BYTES',
    schema: integer(1, Number.MAX_SAFE_INTEGER),
    default: 20 * 1024 ** 3,
    doc: 'Largest video file accepted, in bytes (default 20 GiB; larger fail with TOO_LARGE).',
  },
  framesPerVideo: {
    env: 'REEL_FRAMES_PER_VIDEO',
    schema: integer(1, 1000),
    default: 12,
    doc: 'Frames sampled per video (uniform sampling, as in X-Pool).',
  },
  samplingPrecision: {
    env: 'REEL_SAMPLING_PRECISION',
    schema: z.enum(SAMPLING_PRECISIONS, { error: `expected one of ${SAMPLING_PRECISIONS.join(', ')}` }),
    default: 'fast',
    doc: "How precisely sampled frames land on their targets, unless a submit asks otherwise: `fast` (default: the decoder skips unreferenced frames and deblocking, for about 40-45 % less decode CPU; each frame at most one frame after `exact`'s), `exact` (the first frame at or after each target), `keyframes` (the nearest keyframe per target, for archives; a video whose keyframes are too sparse for its targets falls back to `fast` and says so).",
  },
  ffmpegThreads: {
    env: 'REEL_FFMPEG_THREADS',
    schema: integer(0, 64),
    default: 0,
    doc: "Decoder threads of each ffmpeg a worker runs; 0 (default) shares the cores among the REEL_INGEST_CONCURRENCY decodes (at least 1 each): frame threads beyond a decode's share of the cores cost CPU the image encoder needs.",
  },
  encoderThreads: {
    env: 'REEL_ENCODER_THREADS',
    schema: integer(0, 64),
    default: 0,
    doc: "onnxruntime intra-op threads of a worker's image encoder; 0 (default): 1 when the worker also decodes (its ingest queue), where one thread gives the most frames per CPU second beside ffmpeg (47.6 ms of CPU per ViT-B/32 frame against 55.3 with two threads here), else every core.",
  },
  ffmpegTimeoutSeconds: {
    env: 'REEL_FFMPEG_TIMEOUT_SECONDS',
    schema: integer(1, 24 * 3600),
    default: 600,
    doc: 'Longest an ffmpeg or ffprobe call may run before it is killed.',
  },
  downloadTimeoutSeconds: {
    env: 'REEL_DOWNLOAD_TIMEOUT_SECONDS',
    schema: integer(1, 24 * 3600),
    default: 600,
    doc: 'Longest a worker may take to download a video submitted by http(s) URL (slower downloads fail with DOWNLOAD_TIMEOUT and are retried).',
  },
  downloadAllowPrivate: {
    env: 'REEL_DOWNLOAD_ALLOW_PRIVATE',
    schema: trueFalse(),
    default: false,
    doc: 'Whether workers may download URLs whose host is a loopback, private, link-local or metadata address (off: such URLs fail with DOWNLOAD_FORBIDDEN, so the API cannot be used to reach the internal network).',
  },
  webhookAllowPrivate: {
    env: 'REEL_WEBHOOK_ALLOW_PRIVATE',
    schema: trueFalse(),
    default: false,
    doc: 'Whether webhooks may be delivered to a loopback, private, link-local or metadata address (off: refused when registered and, whatever the name resolves to later, at connect time).',
  },
  webhookAttempts: {
    env: 'REEL_WEBHOOK_ATTEMPTS',
    schema: integer(1, 50),
    default: 12,
    doc: 'Attempts per webhook delivery; with the default backoff, 12 attempts span about a day.',
  },
  webhookBackoffSeconds: {
    env: 'REEL_WEBHOOK_BACKOFF_SECONDS',
    schema: seconds(0.01, 3600),
    default: 45,
    doc: 'Wait before the second attempt of a webhook delivery; each later wait doubles (45 s: the 12th attempt comes about 25 hours after the first).',
  },
  webhookTimeoutSeconds: {
    env: 'REEL_WEBHOOK_TIMEOUT_SECONDS',
    schema: integer(1, 120),
    default: 10,
    doc: 'Longest a receiver may take to answer one webhook attempt.',
  },
  webhookDisableAfter: {
    env: 'REEL_WEBHOOK_DISABLE_AFTER',
    schema: integer(1, 1000),
    default: 5,
    doc: 'Deliveries in a row that failed every attempt before an endpoint is disabled (a 410 Gone disables it at once).',
  },
  xpoolHead: {
    env: 'REEL_XPOOL_HEAD',
    schema: nonEmpty('expected a path to a .safetensors file with the X-Pool head').optional(),
    default: undefined,
    doc: 'A learned X-Pool pooling head (`.safetensors`, reference parameter names). Unset: X-Pool search is off and attention pooling is the default.',
  },
  storage: {
    env: 'REEL_STORAGE',
    schema: z.enum(['local', 's3'], { error: 'expected local or s3' }),
    default: 'local',
    doc: 'Where uploaded and downloaded videos and thumbnails are kept: `local` (the data folder) or `s3` (a bucket of S3-compatible storage, `REEL_S3_*`; see workers/README.md, "Storage").',
  },
  s3Endpoint: {
    env: 'REEL_S3_ENDPOINT',
    schema: url(['http:', 'https:'], 'expected an http:// or https:// URL').optional(),
    default: undefined,
    doc: "Endpoint of S3-compatible storage (MinIO, R2, Ceph…). Unset: AWS S3, the bucket's regional endpoint.",
  },
  s3Region: {
    env: 'REEL_S3_REGION',
    schema: nonEmpty('expected a region name, e.g. us-east-1').optional(),
    default: undefined,
    doc: "The bucket's region. Unset: the AWS SDK's (`AWS_REGION`, `~/.aws/config`), or `us-east-1` when `REEL_S3_ENDPOINT` is set.",
  },
  s3Bucket: {
    env: 'REEL_S3_BUCKET',
    schema: z
      .string({ error: 'expected a bucket name' })
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
        error: 'expected a bucket name (3-63 lowercase letters, digits, dots and hyphens)',
      })
      .optional(),
    default: undefined,
    doc: 'Bucket that holds videos and thumbnails with `REEL_STORAGE=s3` (required then; it must exist).',
  },
  s3Prefix: {
    env: 'REEL_S3_PREFIX',
    schema: z
      .string({ error: 'expected a key prefix, e.g. reel/' })
      .transform((value) => {
        const trimmed = value.trim().replace(/^\/+|\/+$/g, '');
        return trimmed === '' ? '' : `${trimmed}/`;
      })
      .optional(),
    default: undefined,
    doc: 'Key prefix in the bucket (e.g. `reel/`): objects are `<prefix>videos/…` and `<prefix>thumbnails/…`. Unset: none.',
  },
  s3ForcePathStyle: {
    env: 'REEL_S3_FORCE_PATH_STYLE',
    schema: trueFalse(),
    default: false,
    doc: 'Path-style requests (`endpoint/bucket/key`), which MinIO and most self-hosted servers need; `false`: virtual-hosted style (`bucket.endpoint/key`), as AWS prefers. Also used for LanceDB on `s3://`.',
  },
  s3AccessKeyId: {
    env: 'REEL_S3_ACCESS_KEY_ID',
    schema: nonEmpty('expected an access key id').optional(),
    default: undefined,
    doc: "Access key for the bucket (and LanceDB on `s3://`), with `REEL_S3_SECRET_ACCESS_KEY`. Unset: the AWS SDK's credential chain (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, instance and pod roles).",
  },
  s3SecretAccessKey: {
    env: 'REEL_S3_SECRET_ACCESS_KEY',
    schema: nonEmpty('expected a secret access key').optional(),
    default: undefined,
    doc: 'Secret of `REEL_S3_ACCESS_KEY_ID`.',
  },
  indexUri: {
    env: 'REEL_INDEX_URI',
    schema: indexUri().optional(),
    default: undefined,
    doc: 'Where the LanceDB index lives: a folder, or `s3://bucket/path` (LanceDB on S3-compatible storage, with the endpoint, region, path style and credentials of `REEL_S3_*`). Unset: `<data dir>/lancedb`. Several writers on `s3://` need a store with conditional PUT (AWS S3, MinIO, R2).',
  },
  hfEndpoint: {
    env: 'HF_ENDPOINT',
    schema: url(['http:', 'https:'], 'expected an http:// or https:// URL'),
    default: 'https://huggingface.co',
    doc: 'Hugging Face-compatible endpoint that `reel models pull` downloads from.',
  },
  hfToken: {
    env: 'HF_TOKEN',
    schema: z.string().optional(),
    default: undefined,
    doc: 'Access token sent to HF_ENDPOINT for gated or private models (optional). Unset: the token `hf auth login` saved (`HF_TOKEN_PATH`, default `$HF_HOME/token`), if any.',
  },
} as const;

type Settings = typeof SETTINGS;
type SettingValues = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

/** reel's validated settings, with the data folder's sub-folders resolved to absolute paths. */
export interface ReelConfig extends SettingValues {
  /** Path of the config file that was read, if any. */
  configFile: string | undefined;
  paths: {
    dataDir: string;
    /** The LanceDB index: a folder, or an `s3://bucket/path` URL (`REEL_INDEX_URI`). */
    lancedb: string;
    videos: string;
    thumbnails: string;
    models: string;
    tmp: string;
    /** The API keys (hashed), written by `reel keys`. */
    apiKeys: string;
  };
}

const CONFIG_FILE_ENV = 'REEL_CONFIG';

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ReelError(
      'CONFIG_INVALID',
      `${CONFIG_FILE_ENV}: cannot read config file ${file}: ${(error as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ReelError(
      'CONFIG_INVALID',
      `${CONFIG_FILE_ENV}: config file ${file} is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ReelError('CONFIG_INVALID', `${CONFIG_FILE_ENV}: config file ${file} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Reads and validates reel's settings. Throws one {@link ReelError} `CONFIG_INVALID` listing every bad
 * value by its variable (or config-file key) and what was expected.
 *
 * @param env the environment to read (pass `process.env` at a process's start; tests pass their own)
 * @param cwd folder that relative paths are resolved against
 */
export function loadConfig(env: Record<string, string | undefined>, cwd = process.cwd()): ReelConfig {
  const configFile = env[CONFIG_FILE_ENV]?.trim() ? path.resolve(cwd, env[CONFIG_FILE_ENV]) : undefined;
  const fromFile = configFile ? readConfigFile(configFile) : {};
  const problems: string[] = [];

  for (const key of Object.keys(fromFile)) {
    if (!(key in SETTINGS)) {
      problems.push(
        `${configFile}: unknown key "${key}" (expected one of ${Object.keys(SETTINGS).join(', ')})`,
      );
    }
  }

  const values: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const envValue = env[setting.env];
    const [source, raw] =
      envValue !== undefined && envValue !== ''
        ? [setting.env, envValue]
        : key in fromFile
          ? [`${configFile}: ${key}`, fromFile[key]]
          : [undefined, setting.default];
    const result = (setting.schema as z.ZodType).safeParse(raw);
    if (result.success) {
      values[key] = result.data;
    } else {
      const expected = result.error.issues[0]?.message ?? 'invalid value';
      problems.push(`${source ?? setting.env}: ${expected}, got ${describe(raw)}`);
    }
  }

  if (
    typeof values.redisUrl === 'string' &&
    typeof values.redisCluster === 'boolean' &&
    typeof values.queuePrefix === 'string'
  ) {
    problems.push(
      ...redisClusterProblems(values as { redisUrl: string; redisCluster: boolean; queuePrefix: string }),
    );
  }

  problems.push(...storageProblems(values as Parameters<typeof storageProblems>[0]));

  if (problems.length > 0) {
    throw new ReelError('CONFIG_INVALID', `Invalid configuration:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }

  const settings = values as SettingValues;
  const dataDir = path.resolve(cwd, settings.dataDir);
  return {
    ...settings,
    // A list of nodes is a cluster: everyone downstream reads the mode from this one flag.
    redisCluster: settings.redisCluster || redisNodeUrls(settings.redisUrl).length > 1,
    dataDir,
    configFile,
    paths: {
      dataDir,
      lancedb:
        settings.indexUri === undefined
          ? path.join(dataDir, 'lancedb')
          : settings.indexUri.startsWith('s3://')
            ? settings.indexUri
            : path.resolve(cwd, settings.indexUri),
      videos: path.join(dataDir, 'videos'),
      thumbnails: path.join(dataDir, 'thumbnails'),
      models: path.join(dataDir, 'models'),
      tmp: path.join(dataDir, 'tmp'),
      apiKeys: path.join(dataDir, 'api-keys.json'),
    },
  };
}

/** One row per setting, for the README and `reel config`: variable, file key, default, meaning. */
export function configReference(): { env: string; key: string; default: string; doc: string }[] {
  return [
    {
      env: CONFIG_FILE_ENV,
      key: '-',
      default: '(none)',
      doc: 'Optional JSON config file; its keys are the ones below, and environment variables win over it.',
    },
    ...Object.entries(SETTINGS).map(([key, setting]) => ({
      env: setting.env,
      key,
      default:
        setting.default === undefined || (Array.isArray(setting.default) && setting.default.length === 0)
          ? '(none)'
          : String(setting.default),
      doc: setting.doc,
    })),
  ];
}
