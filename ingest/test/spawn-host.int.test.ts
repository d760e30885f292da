/**
 * The spawn host (src/adapters/spawn-host.ts) with real processes: output relayed byte for byte, exits
 * and signals, kills, binaries that cannot start, a host that dies under its runs, a parent it never
 * keeps alive; and ffprobe and the frame command through it giving what they give when spawned directly.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isReelError } from '@reel/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfprobe } from '../src/adapters/ffmpeg.ts';
import { type RunningProcess, SpawnHost, startProcess } from '../src/adapters/spawn-host.ts';
import { sampleVideo } from '../src/sample-frames.ts';
import { ffmpeg, rampSource } from './helpers/videos.ts';

const execFileAsync = promisify(execFile);

let dir: string;
let host: SpawnHost;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'reel-spawn-host-'));
  host = new SpawnHost();
});

afterAll(() => {
  host.close();
  rmSync(dir, { recursive: true, force: true });
});

async function drained(run: RunningProcess) {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  run.onStdout((chunk) => out.push(chunk));
  run.onStderr((chunk) => err.push(chunk));
  const exit = await run.exited;
  return { exit, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
}

describe('SpawnHost', () => {
  it('relays stdout byte for byte and stderr, then the exit code', async () => {
    const file = path.join(dir, 'random.bin');
    const bytes = randomBytes(6 * 1024 * 1024 + 17);
    writeFileSync(file, bytes);
    const ran = await drained(host.spawn('/bin/sh', ['-c', `cat "$1"; echo oops >&2; exit 3`, 'sh', file]));
    expect(ran.exit).toEqual({ code: 3, signal: null });
    expect(ran.stdout.equals(bytes)).toBe(true);
    expect(ran.stderr).toBe('oops\n');
  });

  it('reports a process killed by a signal, and kills on request', async () => {
    const crashed = await drained(host.spawn('/bin/sh', ['-c', 'kill -SEGV $$']));
    expect(crashed.exit).toEqual({ code: null, signal: 'SIGSEGV' });

    const started = Date.now();
    const sleeper = host.spawn('sleep', ['30']);
    setTimeout(() => sleeper.kill('SIGKILL'), 100);
    expect((await drained(sleeper)).exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('rejects with ENOENT for a binary that does not exist, and goes on', async () => {
    await expect(host.spawn(path.join(dir, 'no-such-ffmpeg'), []).exited).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect((await drained(host.spawn('true', []))).exit.code).toBe(0);
  });

  it('fails the runs of a host that died, kills what they started, and starts a new host', async () => {
    const own = new SpawnHost();
    try {
      const marker = `reel-spawn-host-orphan-${process.pid}`;
      // `exec -a` names the sleep so that the test can look for it afterwards.
      const run = own.spawn('/bin/bash', ['-c', `exec -a ${marker} sleep 60`]);
      const failed = expect(run.exited).rejects.toMatchObject({ code: 'SPAWN_HOST_EXITED' });
      // Once the host has said the pid, kill the host.
      await expect.poll(() => own.pid, { timeout: 5_000 }).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const first = own.pid!;
      process.kill(first, 'SIGKILL');
      await failed;
      await expect
        .poll(async () => (await execFileAsync('ps', ['-eo', 'args'])).stdout.includes(marker), {
          timeout: 5_000,
        })
        .toBe(false);

      const again = await drained(own.spawn('/bin/echo', ['back']));
      expect(again.stdout.toString()).toBe('back\n');
      expect(own.pid).not.toBe(first);
    } finally {
      own.close();
    }
  });

  it('never keeps its parent alive: a process that used it exits by itself', async () => {
    const script = path.join(dir, 'uses-host.ts');
    const module = path.resolve(import.meta.dirname, '../src/adapters/spawn-host.ts');
    writeFileSync(
      script,
      `import { SpawnHost } from ${JSON.stringify(module)};
const host = new SpawnHost();
const run = host.spawn('/bin/echo', ['hello']);
let out = '';
run.onStdout((c) => { out += c; });
await run.exited;
console.log(out.trim(), typeof host.pid);
`,
    );
    const started = Date.now();
    const { stdout } = await execFileAsync(process.execPath, [script], { timeout: 15_000 });
    expect(stdout.trim()).toBe('hello number');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('ffmpeg and ffprobe through the spawn host', () => {
  const direct = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };
  const hosted = { ...direct, viaSpawnHost: true };

  const makeVideo = (name: string, seconds: number) => {
    const file = path.join(dir, name);
    ffmpeg(['-f', 'lavfi', '-i', rampSource('64x48', 10, seconds), '-c:v', 'libx264', file]);
    return file;
  };

  it('probe and frames equal those of a direct spawn', async () => {
    const video = makeVideo('host.mp4', 3);
    const probeArgs = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', video];
    const options = { timeoutMs: 30_000, file: video };
    const [a, b] = [
      await runFfprobe(probeArgs, { ...options, binaries: direct }),
      await runFfprobe(probeArgs, { ...options, binaries: hosted }),
    ];
    expect(a.ok).toBe(true);
    expect(b).toEqual(a);

    const sample = (binaries: typeof direct) =>
      sampleVideo(video, {
        limits: { maxVideoSeconds: 3600, maxVideoPixels: 7680 * 4320, maxVideoBytes: 2 ** 40 },
        strategy: { kind: 'uniform', count: 4 },
        size: 32,
        binaries,
        timeoutMs: 30_000,
      });
    const [x, y] = [await sample(direct), await sample(hosted)];
    expect(y.frames).toHaveLength(4);
    expect(y.frames.map((f) => f.timestamp)).toEqual(x.frames.map((f) => f.timestamp));
    for (const [i, frame] of y.frames.entries())
      expect(Buffer.from(frame.data).equals(Buffer.from(x.frames[i]!.data))).toBe(true);
  });

  it('a missing binary and a timeout give the same errors as a direct spawn', async () => {
    const video = makeVideo('host-errors.mp4', 1);
    const missing = { ...hosted, ffprobePath: path.join(dir, 'no-ffprobe') };
    const error = await runFfprobe(['-version'], { binaries: missing, timeoutMs: 5_000, file: video }).catch(
      (e: unknown) => e,
    );
    expect(isReelError(error, 'FFMPEG_NOT_FOUND')).toBe(true);

    const slow = path.join(dir, 'slow-ffprobe');
    writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const started = Date.now();
    const timedOut = await runFfprobe(['-version'], {
      binaries: { ...hosted, ffprobePath: slow },
      timeoutMs: 500,
      file: video,
    }).catch((e: unknown) => e);
    expect(isReelError(timedOut, 'FFMPEG_TIMEOUT')).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const aborted = await runFfprobe(['-version'], {
      binaries: { ...hosted, ffprobePath: slow },
      timeoutMs: 30_000,
      signal: controller.signal,
      file: video,
    }).catch((e: unknown) => e);
    expect(isReelError(aborted, 'INGEST_ABORTED')).toBe(true);
  });

  it('startProcess spawns directly without the host', async () => {
    const ran = await drained(startProcess('/bin/sh', ['-c', 'echo $PPID'], { viaHost: false }));
    expect(Number(ran.stdout.toString())).toBe(process.pid);
  });
});
