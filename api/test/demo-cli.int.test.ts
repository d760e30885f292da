import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkRedis } from '@reel/workers';
import { describe, expect, it } from 'vitest';
import { DEMO_SEARCHES, DEMO_SEARCHES_MULTILINGUAL, DEMO_VIDEOS } from '../src/cli/commands/demo.ts';
import { findOnPath } from '../src/cli/private-redis.ts';
import { runCli, spawnCli } from './helpers/run-cli.ts';

interface DemoSearch {
  query: string;
  results: { title: string; score: number; moment: { start: number; end: number } }[];
}

/** A loopback port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const VIDEO_COUNT = Object.keys(DEMO_VIDEOS).length;
// One data folder for the whole file: the serving test reuses the videos, model and index of the first.
const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-demo-'));
const baseEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: tmpdir(),
  REEL_DATA_DIR: dataDir,
  REEL_LOG_LEVEL: 'error',
};

describe('reel demo (the README main command: real ffmpeg, onnxruntime, Redis, LanceDB, HTTP)', () => {
  it('renders, ingests and finds each example query at its moment through the API; a second run reuses everything', async () => {
    const env = { ...baseEnv, REEL_QUEUE_PREFIX: `{demo-${randomUUID().slice(0, 8)}}`, REEL_API_PORT: '0' };
    const run = await runCli(['demo', '--no-serve', '--json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as {
      model: { name: string; synthetic: boolean };
      batch: Record<string, number>;
      searches: DemoSearch[];
      url: string | null;
      redis: { private: boolean };
    };
    expect(VIDEO_COUNT).toBeGreaterThanOrEqual(20);
    expect(out.batch).toMatchObject({ indexed: VIDEO_COUNT, failed: 0, duplicate: 0 });
    expect(out.model).toMatchObject({ name: 'reel-synthetic-clip', synthetic: true });
    expect(out.redis.private).toBe(false);
    // --no-serve: the server stopped with the demo, so no URL is offered that serves nothing
    expect(out.url).toBeNull();
    expect(out.searches.map((s) => s.query)).toEqual(DEMO_SEARCHES.map((s) => s.query));
    for (const expected of DEMO_SEARCHES) {
      const { results } = out.searches.find((s) => s.query === expected.query)!;
      const [top, second] = results;
      // The right video first, clearly ahead, and its moment inside the segment that shows the query.
      expect(top, expected.query).toMatchObject({ title: expected.expect });
      expect(top!.score - second!.score, expected.query).toBeGreaterThan(0.05);
      expect(top!.moment.start, expected.query).toBeGreaterThanOrEqual(expected.within[0] - 0.25);
      expect(top!.moment.end, expected.query).toBeLessThanOrEqual(expected.within[1] + 0.25);
    }
    // One query's moment is the second half of its video (X-Pool's moments, not whole videos).
    const sunset = out.searches[0]!.results[0]!;
    expect(sunset.moment.start).toBeGreaterThan(2.5);

    const again = await runCli(['demo', '--no-serve'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`ingest: 0 indexed, ${VIDEO_COUNT} already there, 0 failed`);
    expect(again.stdout).toContain('(all there from an earlier run)');
    expect(again.stdout).not.toContain('writing the synthetic model');
    expect(again.stdout).toMatch(/search "a purple sky"\n#\s+video\s+score\s+moment\n1\s+sunset\s/);
    expect(again.stdout).not.toContain('Open http');
  }, 120_000);

  it('--multilingual finds the same videos in German, French, Spanish and Chinese (same data folder)', async () => {
    const env = { ...baseEnv, REEL_QUEUE_PREFIX: `{demo-${randomUUID().slice(0, 8)}}`, REEL_API_PORT: '0' };
    const run = await runCli(['demo', '--no-serve', '--json', '--multilingual'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as {
      model: { name: string; synthetic: boolean };
      searches: DemoSearch[];
    };
    expect(out.model).toMatchObject({ name: 'reel-synthetic-multilingual', synthetic: true });
    for (const expected of [...DEMO_SEARCHES, ...DEMO_SEARCHES_MULTILINGUAL]) {
      const found = out.searches.find((s) => s.query === expected.query);
      expect(found?.results[0]?.title, expected.query).toBe(expected.expect);
    }
  }, 180_000);

  it('starts a private redis-server when Redis does not answer, serves until SIGINT, then stops it', async () => {
    const deadRedis = `redis://127.0.0.1:${await closedPort()}`;
    const env = { ...baseEnv, REEL_REDIS_URL: deadRedis, REEL_API_PORT: '0' };
    const demo = spawnCli(['demo'], env);
    try {
      const [, port] = await demo.waitFor(/started a private redis-server on 127\.0\.0\.1:(\d+)/);
      const [, url] = await demo.waitFor(/Open (http:\/\/127\.0\.0\.1:\d+)\/ /);
      expect(demo.stdout()).toContain(`Redis: ${deadRedis} does not answer`);
      expect((await checkRedis(`redis://127.0.0.1:${port}`, 1000)).ok).toBe(true);

      const response = await fetch(
        `${url}/v1/search?q=${encodeURIComponent('pink in the centre')}&k=2&tags=demo`,
      );
      expect(response.status).toBe(200);
      const body = (await response.json()) as { results: { title: string }[] };
      expect(body.results[0]?.title).toBe('rose-garden');
      expect((await fetch(`${url}/`)).status).toBe(200);

      demo.child.kill('SIGINT');
      expect(await demo.exited).toBe(0);
      expect(demo.stderr()).toContain('stopping: worker, API, private Redis');
      expect((await checkRedis(`redis://127.0.0.1:${port}`, 500)).ok).toBe(false);
      // The queue state stays in the data folder for the next run (AOF), the pid file is gone.
      expect(existsSync(path.join(dataDir, 'redis', 'appendonlydir'))).toBe(true);
      expect(existsSync(path.join(dataDir, 'redis', 'redis-server.pid'))).toBe(false);
    } finally {
      demo.child.kill('SIGKILL');
    }
  }, 90_000);

  it('stops with the install command when Redis does not answer and redis-server is missing', async () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'reel-demo-path-'));
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const ffmpeg = findOnPath('ffmpeg');
    const ffprobe = findOnPath('ffprobe');
    expect(ffmpeg && ffprobe).toBeTruthy();
    const run = await runCli(['demo', '--no-serve'], {
      ...baseEnv,
      PATH: bin,
      REEL_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'reel-demo-noredis-')),
      REEL_REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
      REEL_FFMPEG_PATH: ffmpeg!,
      REEL_FFPROBE_PATH: ffprobe!,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('redis-server is not installed');
    expect(run.stderr).toContain('sudo apt-get install -y redis-server');
    expect(run.stderr).toContain('brew install redis');
    expect(run.stdout).toBe('');
  }, 30_000);
});
