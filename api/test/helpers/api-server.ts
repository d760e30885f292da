/**
 * A real API for tests: the synthetic model in a temp data folder, a unique queue prefix on the real
 * Redis, the server on a free loopback port, and (optionally) a pipeline worker in the same process.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createReelClient, uploadFiles, waitForBatch as waitForBatchOf } from '@reel/client';
import { createLogger, loadConfig, type ReelConfig } from '@reel/infra';
import { type ColourSegment, colourVideoArgs } from '@reel/ingest';
import { writeSyntheticClip } from '@reel/models';
import { type RunningWorker, startPipelineWorker } from '@reel/workers';
import { colourVideo, until as untilFor } from '../../../workers/test/helpers/real-pipeline.ts';
import { type RunningServer, startServer } from '../../src/http/server.ts';

export { colourVideo };

/** As the workers' `until`, with 90 s by default: API tests wait through HTTP and a worker. */
export function until<T>(what: string, poll: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  return untilFor(what, poll, timeoutMs);
}

export interface ApiFixture {
  root: string;
  config: ReelConfig;
  server: RunningServer;
  worker: RunningWorker | undefined;
  url: string;
  videos: string;
  close(): Promise<void>;
}

export function configFor(root: string, env: Record<string, string> = {}): ReelConfig {
  return loadConfig(
    {
      REEL_DATA_DIR: path.join(root, 'data'),
      REEL_QUEUE_PREFIX: `{api-${randomUUID().slice(0, 8)}}`,
      REEL_LOG_LEVEL: 'warn',
      REEL_API_PORT: '0',
      REEL_JOB_LOCK_SECONDS: '4',
      ...env,
    },
    root,
  );
}

export async function startApi(
  options: { env?: Record<string, string>; worker?: boolean; root?: string } = {},
): Promise<ApiFixture> {
  const root = options.root ?? mkdtempSync(path.join(tmpdir(), 'reel-api-'));
  const config = configFor(root, options.env);
  await writeSyntheticClip(path.join(config.paths.models, 'reel-synthetic-clip'));
  const videos = path.join(root, 'videos');
  mkdirSync(videos, { recursive: true });
  const logger = createLogger({ level: config.logLevel, name: 'reel-test' });
  const server = await startServer(config, logger, { search: { refreshMs: 200 } });
  const worker = options.worker === false ? undefined : await startPipelineWorker(config, logger);
  return {
    root,
    config,
    server,
    worker,
    url: server.url,
    videos,
    async close() {
      await server.close();
      await worker?.close();
    },
  };
}

/** A video of coloured segments at 160×90, 12 fps (H.264 in MP4 unless the name ends in .webm). */
export function renderColourVideo(dir: string, name: string, segments: ColourSegment[]): string {
  const file = path.join(dir, name);
  execFileSync('ffmpeg', colourVideoArgs(file, segments, { width: 160, height: 90, fps: 12 }), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return file;
}

/** A multipart body of `file` parts (and fields before them), as a browser's form sends. */
export function uploadForm(
  files: { file: string; name?: string }[],
  fields: Record<string, string> = {},
): FormData {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  for (const f of files)
    body.append('file', new Blob([readFileSync(f.file)]), f.name ?? path.basename(f.file));
  return body;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read loosely shaped JSON answers
export async function json(response: Response): Promise<Record<string, any>> {
  // biome-ignore lint/suspicious/noExplicitAny: as above
  return (await response.json()) as Record<string, any>;
}

/** The Authorization header of an API key, with any other headers. */
export function bearer(key: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${key}`, ...extra };
}

/**
 * Waits (through @reel/client, as `key` or keyless) until the batch has finished; returns its status.
 * The tests' own waits go through the typed client, so a change of the batch route's answer that the
 * client does not know fails them.
 */
// biome-ignore lint/suspicious/noExplicitAny: as above
export async function waitForBatch(baseUrl: string, id: string, key?: string): Promise<Record<string, any>> {
  const client = createReelClient({ baseUrl, ...(key ? { apiKey: key } : {}) });
  return waitForBatchOf(client, id, { pollMs: 100, timeoutMs: 90_000 });
}

/** Uploads one file through `POST /v1/videos` as `key` (@reel/client); throws unless it is accepted. */
// biome-ignore lint/suspicious/noExplicitAny: as above
export async function uploadAs(baseUrl: string, key: string, file: string): Promise<Record<string, any>> {
  return uploadFiles(createReelClient({ baseUrl, apiKey: key }), [file]);
}

/** Files (not folders) under `dir`, recursively; none when it does not exist. */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

/**
 * The picture size a WebP file declares, from whichever first chunk it has (RIFF container, then
 * 'VP8 ' lossy, 'VP8L' lossless or 'VP8X' extended; layouts from Google's WebP container spec).
 */
export function webpSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.subarray(0, 4).toString() !== 'RIFF' || bytes.subarray(8, 12).toString() !== 'WEBP') {
    throw new Error('not a WebP file');
  }
  const chunk = bytes.subarray(12, 16).toString();
  if (chunk === 'VP8X') {
    return { width: bytes.readUIntLE(24, 3) + 1, height: bytes.readUIntLE(27, 3) + 1 };
  }
  if (chunk === 'VP8L') {
    const bits = bytes.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8 ') {
    return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
  }
  throw new Error(`unknown WebP chunk ${JSON.stringify(chunk)}`);
}

/** Writes one still image (PNG, JPEG, … by `file`'s extension) of an ffmpeg lavfi `source`; returns `file`. */
export function writeStill(file: string, source: string): string {
  execFileSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', source, '-frames:v', '1', file],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return file;
}
