/**
 * Scale-out on one machine, for real: 2 API processes (`reel serve`) and 3 worker processes (`reel
 * worker`) share one Redis and one data folder. 100 generated videos are uploaded through both APIs
 * while both are searched in a loop; afterwards there must be exactly 100 videos, one row of vectors
 * each, and no failed search.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, openAsBlob } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '@reel/infra';
import { colourVideoArgs } from '@reel/ingest';
import { writeSyntheticClip } from '@reel/models';
import { openPipeline } from '@reel/workers';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from './helpers/api-server.ts';
import { REEL_BIN } from './helpers/run-cli.ts';

const VIDEOS = 100;
const PER_UPLOAD = 10;
const children: ChildProcess[] = [];

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
          child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
});

/** Starts a `reel` process; its stderr is kept so a failure can show it. */
function start(args: string[], env: Record<string, string>): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [REEL_BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  children.push(child);
  return { child, stderr: () => stderr };
}

async function serve(env: Record<string, string>): Promise<string> {
  const api = start(['serve'], env);
  return until(
    'an API process to print its address',
    async () => {
      if (api.child.exitCode !== null) throw new Error(`reel serve exited: ${api.stderr()}`);
      return /web page (http:\/\/\S+?)\/ /.exec(api.stderr())?.[1];
    },
    60_000,
  );
}

describe('2 API and 3 worker processes on one Redis and one data folder', () => {
  it('indexes 100 videos uploaded through both APIs exactly once while both keep answering searches', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reel-scale-'));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmpdir(),
      REEL_DATA_DIR: path.join(root, 'data'),
      REEL_QUEUE_PREFIX: `{scale-${randomUUID().slice(0, 8)}}`,
      REEL_LOG_LEVEL: 'warn',
      REEL_API_PORT: '0',
      REEL_JOB_LOCK_SECONDS: '10',
      // Every upload and search of this test comes from one address.
      REEL_API_RATE_LIMIT: '100000',
    };
    const config = loadConfig(env, root);
    await writeSyntheticClip(path.join(config.paths.models, 'reel-synthetic-clip'));

    // 100 distinct one-second videos (distinct colours, so no two share content).
    const dir = path.join(root, 'videos');
    mkdirSync(dir, { recursive: true });
    const files = Array.from({ length: VIDEOS }, (_, i) =>
      path.join(dir, `clip-${String(i).padStart(3, '0')}.mp4`),
    );
    const run = promisify(execFile);
    for (let i = 0; i < files.length; i += 4)
      await Promise.all(
        files.slice(i, i + 4).map((file, j) => {
          const colour = `0x${(((i + j) * 0x0a1b37 + 0x203040) & 0xffffff).toString(16).padStart(6, '0')}`;
          return run(
            'ffmpeg',
            colourVideoArgs(file, [{ colour, seconds: 1 }], { width: 96, height: 72, fps: 8 }),
          );
        }),
      );

    const apis = await Promise.all([serve(env), serve(env)]);
    for (let i = 0; i < 3; i++) start(['worker'], env);

    // Search both APIs in a loop until the uploads are all indexed; every answer must be a 200.
    let searching = true;
    const searches = { ok: 0, failed: [] as string[] };
    const loop = (async () => {
      for (let n = 0; searching; n++) {
        const api = apis[n % 2]!;
        try {
          const response = await fetch(`${api}/v1/search?q=${n % 3 === 0 ? 'red' : 'dark blue'}&k=5`);
          if (response.status === 200) searches.ok++;
          else searches.failed.push(`${api}: ${response.status} ${await response.text()}`);
        } catch (error) {
          searches.failed.push(`${api}: ${(error as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    const batches: { api: string; batchId: string }[] = [];
    for (let i = 0; i < VIDEOS; i += PER_UPLOAD) {
      const api = apis[(i / PER_UPLOAD) % 2]!;
      const form = new FormData();
      for (const file of files.slice(i, i + PER_UPLOAD))
        form.append('file', await openAsBlob(file), path.basename(file));
      const response = await fetch(`${api}/v1/videos`, { method: 'POST', body: form });
      expect(response.status).toBe(202);
      batches.push({ api, batchId: ((await response.json()) as { batchId: string }).batchId });
    }

    // Each batch is followed through the other API: progress lives in Redis, not in a process.
    const counts = { indexed: 0, duplicate: 0, failed: 0 };
    for (const { api, batchId } of batches) {
      const other = apis.find((a) => a !== api)!;
      const status = await until(
        `batch ${batchId}`,
        async () => {
          const response = await fetch(`${other}/v1/batches/${batchId}`);
          const body = (await response.json()) as {
            finishedAt: string | null;
            counts: Record<string, number>;
          };
          return body.finishedAt ? body : undefined;
        },
        300_000,
      );
      for (const key of Object.keys(counts) as (keyof typeof counts)[])
        counts[key] += status.counts[key] ?? 0;
    }
    searching = false;
    await loop;

    expect(counts).toEqual({ indexed: VIDEOS, duplicate: 0, failed: 0 });
    expect(searches.failed).toEqual([]);
    expect(searches.ok).toBeGreaterThan(20);

    // Exactly 100 videos, all indexed, through either API; one row of vectors per video.
    for (const api of apis) {
      const list = (await (await fetch(`${api}/v1/videos?limit=200`)).json()) as {
        videos: { id: string; status: string }[];
      };
      expect(list.videos).toHaveLength(VIDEOS);
      expect(new Set(list.videos.map((v) => v.id)).size).toBe(VIDEOS);
      expect(list.videos.every((v) => v.status === 'indexed')).toBe(true);
    }
    const pipeline = await openPipeline(config);
    try {
      const model = await pipeline.searchModel();
      expect(await pipeline.store.countEmbeddings(model.fingerprint, 'default')).toBe(VIDEOS);
    } finally {
      const keys = await pipeline.redis.keys(`${config.queuePrefix}:*`);
      if (keys.length > 0) await pipeline.redis.del(...keys);
      await pipeline.close();
    }
    // And both APIs find a searched colour among the new videos.
    for (const api of apis) {
      const body = (await (await fetch(`${api}/v1/search?q=red&k=3`)).json()) as { results: unknown[] };
      expect(body.results).toHaveLength(3);
    }
  }, 600_000);
});
