import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { layoutFiles } from '@reel/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkNode } from '../src/doctor/checks.ts';
import { runCli } from './helpers/run-cli.ts';

let dataDir: string;
let modelDir: string;
/** PATH of the machine minus nothing: the healthy case. */
const healthyPath = process.env.PATH ?? '/usr/bin:/bin';

/** A model folder with every file the HF layout needs (content is not checked by doctor's file check). */
function fakeModelFolder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'reel-doctor-model-'));
  for (const file of layoutFiles('hf').all) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), 'x');
  }
  return dir;
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: healthyPath, HOME: tmpdir(), REEL_DATA_DIR: dataDir, REEL_MODEL: modelDir, ...extra };
}

function line(stdout: string, check: string): string {
  return stdout.split('\n').find((l) => new RegExp(`^(ok  |FAIL) ${check}\\s`).test(l)) ?? '';
}

beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'reel-doctor-data-'));
  modelDir = fakeModelFolder();
});

describe('reel doctor (real CLI, real Redis, real ffmpeg, real onnxruntime)', () => {
  it('is all green on a healthy machine', async () => {
    const run = await runCli(['doctor'], env());
    expect(run.stdout).toContain('All checks passed.');
    for (const check of ['node', 'ffmpeg', 'ffprobe', 'redis', 'data dir', 'model', 'onnxruntime']) {
      expect(line(run.stdout, check)).toMatch(/^ok {3}/);
    }
    expect(line(run.stdout, 'redis')).toMatch(/Redis \d+\.\d+\.\d+ at redis:\/\/127\.0\.0\.1:6379/);
    expect(run.code).toBe(0);
  });

  it('fails the Redis check and prints the fix when Redis is not answering', async () => {
    const port = await unusedPort();
    const run = await runCli(['doctor'], env({ REEL_REDIS_URL: `redis://127.0.0.1:${port}` }));
    expect(run.code).toBe(1);
    expect(line(run.stdout, 'redis')).toContain(`FAIL redis`);
    expect(line(run.stdout, 'redis')).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);
    // the fix starts Redis where the configuration looks for it, not on 6379
    expect(run.stdout).toContain(
      `fix: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port ${port} --save`,
    );
    expect(line(run.stdout, 'ffmpeg')).toMatch(/^ok/);
    expect(run.stdout).toContain('1 check(s) failed.');
  });

  it('says so when ffmpeg and ffprobe are missing from PATH', async () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'reel-doctor-path-'));
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const run = await runCli(['doctor'], env({ PATH: bin }));
    expect(run.code).toBe(1);
    expect(line(run.stdout, 'ffmpeg')).toContain('FAIL ffmpeg');
    expect(line(run.stdout, 'ffmpeg')).toContain('ffmpeg not found on PATH');
    expect(line(run.stdout, 'ffprobe')).toContain('ffprobe not found on PATH');
    expect(run.stdout).toContain('fix: apt-get update && apt-get install -y ffmpeg');
  });

  it('reports a missing model with the command that makes it', async () => {
    const run = await runCli(['doctor'], env({ REEL_MODEL: 'reel-synthetic-clip' }));
    expect(run.code).toBe(1);
    expect(line(run.stdout, 'model')).toContain(
      `${path.join(dataDir, 'models', 'reel-synthetic-clip')} does not exist`,
    );
    expect(run.stdout).toContain('fix: npx reel models synth');
  });

  it('reports a data folder that cannot be written', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'reel-doctor-file-')), 'not-a-folder');
    writeFileSync(file, 'x');
    const run = await runCli(['doctor'], env({ REEL_DATA_DIR: path.join(file, 'data') }));
    expect(run.code).toBe(1);
    expect(line(run.stdout, 'data dir')).toContain('is not writable: ENOTDIR');
  });

  it('prints JSON with --json', async () => {
    const run = await runCli(['doctor', '--json'], env());
    const report = JSON.parse(run.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      'node',
      'ffmpeg',
      'ffprobe',
      'redis',
      'data dir',
      'model',
      'onnxruntime',
    ]);
  });

  it('exits 2 naming the variable when config is invalid', async () => {
    const run = await runCli(['doctor'], env({ REEL_API_PORT: 'eighty' }));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('REEL_API_PORT: expected an integer from 0 to 65535, got "eighty"');
  });
});

describe('node version', () => {
  it('accepts 24 and refuses 20 with the install command', () => {
    expect(checkNode('24.11.1').ok).toBe(true);
    expect(checkNode('20.20.2')).toMatchObject({ ok: false, fix: expect.stringContaining('node@24') });
  });

  // The machines here ship Node 20 at /usr/bin/node: the CLI itself must refuse it with the fix.
  const oldNode = '/usr/bin/node';
  const oldMajor = existsSync(oldNode)
    ? Number(execFileSync(oldNode, ['-p', 'process.versions.node']).toString().split('.')[0])
    : undefined;
  it.runIf(oldMajor !== undefined && oldMajor < 24)(
    `the CLI refuses an old Node (${oldNode} v${oldMajor})`,
    async () => {
      const run = await runCli(['doctor'], env(), oldNode);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('reel needs Node.js 24 LTS or newer');
      expect(run.stderr).toContain('fix: run it as `npx reel …` inside the reel folder');
      expect(run.stderr).toContain('npm install --prefix ~/.reel-node node@24');
    },
  );
});

describe('reel with no arguments', () => {
  it('lists the commands and exits 0', async () => {
    const run = await runCli([], env());
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Commands:[\s\S]*doctor/);
  });

  it('exits 2 on an unknown command', async () => {
    const run = await runCli(['frobnicate'], env());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
  });
});
