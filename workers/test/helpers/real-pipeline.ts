/**
 * Real-everything fixtures for pipeline tests: a data folder with the synthetic model, a unique queue
 * prefix on the real Redis, and tiny videos made by the real ffmpeg.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type ReelConfig } from '@reel/infra';
import { colourVideoArgs } from '@reel/ingest';
import { writeSyntheticClip } from '@reel/models';

export const REEL_BIN = fileURLToPath(new URL('../../../api/bin/reel.js', import.meta.url));

export interface RealSetup {
  root: string;
  env: Record<string, string>;
  config: ReelConfig;
  videos: string;
}

export async function realSetup(extra: Record<string, string> = {}): Promise<RealSetup> {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-pipeline-'));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    REEL_DATA_DIR: path.join(root, 'data'),
    REEL_QUEUE_PREFIX: `{test-${randomUUID().slice(0, 8)}}`,
    REEL_LOG_LEVEL: 'warn',
    REEL_JOB_LOCK_SECONDS: '4',
    ...extra,
  };
  const config = loadConfig(env, root);
  await writeSyntheticClip(path.join(config.paths.models, 'reel-synthetic-clip'));
  const videos = path.join(root, 'videos');
  mkdirSync(videos, { recursive: true });
  return { root, env, config, videos };
}

/** A solid-colour video at 96×72, 8 fps (colour: an ffmpeg name or 0xRRGGBB), rendered by ingest's ffmpeg module. */
export function colourVideo(dir: string, name: string, colour: string, seconds = 2): string {
  const file = path.join(dir, name);
  execFileSync('ffmpeg', colourVideoArgs(file, [{ colour, seconds }], { width: 96, height: 72, fps: 8 }), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return file;
}

export function textFile(dir: string, name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, 'this is not a video\n');
  return file;
}

/** Starts `reel worker` as a separate process (so a test can SIGKILL it). */
export function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [REEL_BIN, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  return child;
}

export async function until<T>(
  what: string,
  poll: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await poll();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
