import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@reel/infra';
import { SYNTHETIC_EMBED_DIM } from '@reel/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { colourVideo, writeStill } from './helpers/api-server.ts';
import { REEL_BIN, runCli } from './helpers/run-cli.ts';
import { writeXPoolHead } from './helpers/xpool-head.ts';

let env: Record<string, string>;
let videos: string;

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-cli-pipeline-'));
  videos = path.join(root, 'videos');
  mkdirSync(videos);
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    REEL_DATA_DIR: path.join(root, 'data'),
    REEL_QUEUE_PREFIX: `{cli-${randomUUID().slice(0, 8)}}`,
    REEL_LOG_LEVEL: 'error',
  };
  colourVideo(videos, 'red.mp4', 'red');
  colourVideo(videos, 'blue.mp4', 'blue');
  writeFileSync(path.join(videos, 'broken.mp4'), 'not a video');
  const synth = await runCli(['models', 'synth'], env);
  expect(synth.code).toBe(0);
});

describe('reel ingest, status, search (real CLI, local worker)', () => {
  it('ingests a folder, reports the broken file, and finds the red video first', async () => {
    const ingest = await runCli(['ingest', videos, '--tags', 'demo', '--json'], env);
    expect(ingest.stderr).toContain('no worker is running: starting one in this process');
    expect(ingest.code).toBe(1); // one video failed
    const batch = JSON.parse(ingest.stdout) as {
      id: string;
      counts: Record<string, number>;
      videos: { name: string; status: string; code?: string }[];
    };
    expect(batch.counts).toMatchObject({ indexed: 2, failed: 1 });
    // the CLI's JSON is the API's: GET /v1/batches/:id field names, ISO dates, the tenant's batch id
    expect(batch).toMatchObject({
      kind: 'upload',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      finishedAt: expect.stringMatching(/Z$/),
      etaSeconds: null,
    });
    expect(batch.id).not.toContain('.');
    expect(batch.videos.find((v) => v.name.endsWith('broken.mp4'))).toMatchObject({
      status: 'failed',
      code: 'NOT_A_VIDEO',
    });

    const status = await runCli(['status', batch.id], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/broken\.mp4\s+failed\s+NOT_A_VIDEO: /);

    const search = await runCli(['search', 'red', '--tags', 'demo', '--json'], env);
    expect(search.code).toBe(0);
    const response = JSON.parse(search.stdout) as {
      results: { title: string; score: number; moment: { start: number; end: number } }[];
    };
    expect(response.results.map((r) => r.title)).toEqual(['red', 'blue']);
    expect(response.results[0]!.score).toBeGreaterThan(response.results[1]!.score + 0.1);
    // and a search's JSON is POST /v1/search's
    expect(response.results[0]).toMatchObject({
      rank: 1,
      durationSeconds: expect.any(Number),
      createdAt: expect.stringMatching(/Z$/),
      streamUrl: expect.stringMatching(/^\/v1\/videos\/v_[0-9a-f]{24}\/stream#t=/),
    });
    expect(response.results[0]!.moment.end).toBeGreaterThan(response.results[0]!.moment.start);

    const again = await runCli(['ingest', path.join(videos, 'red.mp4'), '--json'], env);
    expect(JSON.parse(again.stdout).counts).toMatchObject({ duplicate: 1, indexed: 0 });

    // the broken file again, through the whole folder's second run: its failure, not "duplicate", exit 1
    const rerun = await runCli(['ingest', videos], env);
    expect(rerun.code).toBe(1);
    expect(rerun.stdout).toMatch(
      /broken\.mp4\s+failed\s+NOT_A_VIDEO: .*\(when it was submitted before; the same content fails the same way\)/,
    );
    expect(rerun.stdout).not.toMatch(/broken\.mp4\s+duplicate/);
    expect(rerun.stdout).toMatch(/0 indexed, 2 duplicate, 1 failed/);

    const overview = await runCli(['status', '--json'], env);
    const { videos: counts, queues } = JSON.parse(overview.stdout) as {
      videos: Record<string, number>;
      queues: Record<string, unknown>[];
    };
    expect(counts).toMatchObject({ indexed: 2, failed: 1 });
    // the one failed video is counted once, as a video, not as a failed job in each of three queues
    expect(queues.every((q) => !('failed' in q))).toBe(true);
    const table = await runCli(['status'], env);
    expect(table.stdout).toMatch(/^queue\s+waiting\s+active\s+delayed\s+workers$/m);
    expect(table.stdout).toMatch(/^videos: 2 indexed, 1 failed$/m);
  });

  it('without Redis: search still answers; ingest, status and reindex fail at once with one line', async () => {
    const port = await freePort();
    const down = { ...env, REEL_REDIS_URL: `redis://127.0.0.1:${port}` };
    const search = await runCli(['search', 'red', '--json'], down);
    expect(search.code).toBe(0);
    expect((JSON.parse(search.stdout) as { results: { title: string }[] }).results[0]?.title).toBe('red');
    for (const [args, what] of [
      [['status'], 'reel status'],
      [['ingest', path.join(videos, 'red.mp4')], 'reel ingest'],
      [['reindex', '--sweep'], 'reel reindex'],
    ] as const) {
      const run = await runCli([...args], down);
      expect(run.code, what).toBe(1);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trim().split('\n');
      expect(lines, what).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^error REDIS_UNAVAILABLE: ${what} needs Redis: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .+\\. Start it: redis-server --daemonize yes --bind 127\\.0\\.0\\.1 -::1 --port ${port} `,
        ),
      );
    }
  }, 60_000);

  it('says what is wrong with the command line at once: a mistyped path, an empty search, the version', async () => {
    const nope = path.join(videos, 'nope');
    const missing = await runCli(['ingest', nope, path.join(videos, 'red.mp4')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`reel: no such file or folder: ${nope} (nothing was submitted)\n`);
    const empty = await runCli(['search', '  '], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe('reel: search text is empty: say what to look for\n');
    const version = await runCli(['--version'], env);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('names the files a folder walk skipped, and numbers page 2 on from page 1', async () => {
    const folder = path.join(videos, '..', 'mixed');
    mkdirSync(path.join(folder, 'sub'), { recursive: true });
    writeFileSync(path.join(folder, 'notes.txt'), 'not a video by name');
    writeFileSync(path.join(folder, 'sub', 'cover.jpg'), 'nor this');
    copyFileSync(path.join(videos, 'red.mp4'), path.join(folder, 'red-copy.mp4'));
    const run = await runCli(['ingest', folder], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      `skipped 2 file(s) that are not videos by name (.mp4 .m4v .mov .mkv .webm .avi .ts .mts .m2ts .mpg .mpeg .gif .wmv .flv .3gp .ogv) or not regular files: ${path.join(folder, 'notes.txt')}, ${path.join(folder, 'sub', 'cover.jpg')}\n`,
    );
    expect(run.stdout).toMatch(/red-copy\.mp4\s+duplicate/);

    const first = JSON.parse((await runCli(['search', 'red', '-k', '1', '--json'], env)).stdout) as {
      results: { rank: number; videoId: string }[];
      nextCursor: string;
    };
    expect(first.results.map((r) => r.rank)).toEqual([1]);
    const second = await runCli(['search', 'red', '-k', '1', '--cursor', first.nextCursor], env);
    expect(second.code).toBe(0);
    expect(second.stdout.split('\n')[1]).toMatch(/^2\s/); // the row under the header
    // A query the model cannot tell from nonsense: the closest videos, under "no good match".
    const nonsense = await runCli(['search', 'xyzzy plugh'], env);
    expect(nonsense.code).toBe(0);
    expect(nonsense.stdout.split('\n')[0]).toBe(
      'no good match: nothing stands out from queries that match nothing; the closest videos are',
    );
    expect(nonsense.stdout.split('\n')[1]).toMatch(/^#\s+title\s+score\s+conf\s+moment\s+why\s+video$/);
    // Every matching moment: --group moment ranks moments across videos.
    const moments = await runCli(['search', 'red', '--group', 'moment', '--json'], env);
    expect(moments.code, moments.stderr).toBe(0);
    const ranked = JSON.parse(moments.stdout) as {
      results: { rank: number; score: number; moments: unknown[] }[];
    };
    expect(ranked.results.map((r) => r.rank)).toEqual(ranked.results.map((_, i) => i + 1));
    expect(ranked.results.every((r) => r.moments.length === 1)).toBe(true);
    // More like this: by a video's id, never that video itself.
    const redId = first.results[0]!.videoId;
    const similar = await runCli(['search', '--like', redId, '--json'], env);
    expect(similar.code, similar.stderr).toBe(0);
    const similarIds = (JSON.parse(similar.stdout) as { results: { videoId: string }[] }).results.map(
      (r) => r.videoId,
    );
    expect(similarIds.length).toBeGreaterThan(0);
    expect(similarIds).not.toContain(redId);
    const atTime = await runCli(['search', '--like', `${redId}@1.5`], env);
    expect(atTime.code, atTime.stderr).toBe(0);
    expect((await runCli(['search', '--like', `${redId}@soon`], env)).code).toBe(2);
    const nothing = await runCli(['search'], env);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('say what to look for: a text, --like VIDEO or --image FILE');
    // By an image: a red still finds the red video; a text file and a FIFO are refused as usage errors.
    const still = path.join(videos, 'red-still.png');
    writeStill(still, 'color=c=0xE61919:s=64x48');
    const byImage = await runCli(['search', '--image', still, '--json'], env);
    expect(byImage.code, byImage.stderr).toBe(0);
    expect((JSON.parse(byImage.stdout) as { results: { title: string }[] }).results[0]!.title).toBe('red');
    const notImage = path.join(videos, 'notes.png');
    writeFileSync(notImage, 'hello');
    const refused = await runCli(['search', '--image', notImage], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--image ${notImage}: expected a JPEG, PNG or WebP file`);
    const fifo = path.join(videos, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    const fromFifo = await runCli(['search', '--image', fifo], env);
    expect(fromFifo.code).toBe(2);
    expect(fromFifo.stderr).toContain('not a regular file');
    // The API's query-length limit holds for the CLI too; a long query that fits is cut with a warning.
    const tooLong = await runCli(['search', 'x'.repeat(501)], env);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain(
      'search text is 501 characters; the limit is 500 (REEL_API_MAX_QUERY_CHARS)',
    );
    const cut = await runCli(['search', Array.from({ length: 90 }, () => 'red').join(' ')], env);
    expect(cut.code).toBe(0);
    expect(cut.stderr).toContain('warning: query: 92 tokens, but the model reads at most 77');
  });

  it("a worker the command runs itself logs only warnings: no log lines among the command's output", async () => {
    const quiet: Record<string, string> = { ...env };
    delete quiet.REEL_LOG_LEVEL;
    const purple = colourVideo(videos, 'purple.mp4', 'purple');
    const run = await runCli(['ingest', purple], quiet);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('no worker is running: starting one in this process');
    expect(run.stderr.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
    expect(run.stdout).toMatch(/purple\.mp4\s+indexed/);
  });

  it('reel serve on a taken port says which and what to do', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const run = await runCli(['serve'], {
        ...env,
        REEL_API_PORT: String(port),
        REEL_API_HOST: '127.0.0.1',
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `error PORT_IN_USE: 127.0.0.1:${port} is taken by another process: stop it (lsof -i :${port}, or ss -ltnp), or set REEL_API_PORT to a free port`,
      );
    } finally {
      blocker.close();
    }
  });

  it('reel search ranks with the X-Pool head from config, as the API does', async () => {
    // The CLI built its own SearchService without the head: --pooling xpool failed POOLING_UNAVAILABLE.
    const head = path.join(path.dirname(env.REEL_DATA_DIR!), 'head.safetensors');
    writeXPoolHead(head, SYNTHETIC_EMBED_DIM, 7);
    const withHead = {
      ...env,
      REEL_XPOOL_HEAD: head,
      REEL_DATA_DIR: `${env.REEL_DATA_DIR}-xpool`,
      REEL_QUEUE_PREFIX: `{cli-xpool-${randomUUID().slice(0, 8)}}`,
    };
    expect((await runCli(['models', 'synth'], withHead)).code).toBe(0);
    const ingest = await runCli(
      ['ingest', path.join(videos, 'red.mp4'), path.join(videos, 'blue.mp4'), '--json'],
      withHead,
    );
    expect(ingest.code, ingest.stderr).toBe(0);
    const search = await runCli(['search', 'red', '--pooling', 'xpool', '--json'], withHead);
    expect(search.code, search.stderr).toBe(0);
    const response = JSON.parse(search.stdout) as { pooling: string; results: { title: string }[] };
    expect(response.pooling).toBe('xpool');
    expect(response.results.map((r) => r.title).sort()).toEqual(['blue', 'red']);
  });

  it('reel ingest --no-wait returns at once; reel reindex sweeps and runs upkeep on demand', async () => {
    colourVideo(videos, 'green.mp4', 'green');
    const submitted = await runCli(['ingest', path.join(videos, 'green.mp4'), '--no-wait', '--json'], env);
    expect(submitted.code).toBe(0);
    const { batchId, videos: queued } = JSON.parse(submitted.stdout) as {
      batchId: string;
      videos: { status: string }[];
    };
    expect(queued).toEqual([expect.objectContaining({ status: 'queued' })]);
    // The queued video waits for a worker; it has no failed, missing or stuck state, so the sweep
    // re-runs nothing, and upkeep has no retired model to drop.
    const reindex = await runCli(['reindex', '--sweep', '--upkeep', '--json'], env);
    expect(reindex.code).toBe(0);
    const outcomes = JSON.parse(reindex.stdout) as {
      kind: string;
      videos?: number;
      detail?: { dropped: string[] };
    }[];
    expect(outcomes.map((o) => o.kind)).toEqual(['sweep', 'upkeep']);
    expect(outcomes[0]).toMatchObject({ videos: 0 });
    expect(outcomes[1]?.detail?.dropped).toEqual([]);
    const status = await runCli(['status', batchId, '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: batchId, total: 1 });
  });

  it('reel worker drains and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [REEL_BIN, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start: ${stderr}`)), 20_000);
      child.stderr.on('data', () => {
        if (stderr.includes('serving')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const started = Date.now();
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    expect({ code, signal, stderr: stderr.slice(-500) }).toMatchObject({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
