/**
 * The image without Docker: the file tree infra/docker/Dockerfile builds, assembled from its own COPY
 * instructions (and .dockerignore's exclusions), with its deps stage's RUN executed as written
 * (`npm ci --omit=dev`, the onnxruntime prune) under the stage's ENV, then the commands compose and
 * Kubernetes run, started from the ENTRYPOINT with the runtime stage's ENV: the init job's
 * `models synth`, `doctor`, the default CMD refusing a non-loopback address without a key, `keys create`,
 * `serve` and `worker` side by side, the image's HEALTHCHECK passing against that server, and both
 * stopping on SIGTERM. It proves the production dependencies and the copied files are enough to run
 * reel; what it cannot prove (the base image, apt's ffmpeg, the user, the build itself) is in
 * infra/README.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { childResult } from '../src/child-output.ts';
import { copies, envOf, execForm, healthcheck, lastOf, parseDockerfile, runs } from './helpers/dockerfile.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const stages = parseDockerfile(readFileSync(path.join(ROOT, 'infra/docker/Dockerfile'), 'utf8'));
const deps = stages.find((s) => s.name === 'deps')!;
const runtime = stages.at(-1)!;
const compose = parse(readFileSync(path.join(ROOT, 'infra/compose.yaml'), 'utf8'), { merge: true });

const work = mkdtempSync(path.join(os.tmpdir(), 'reel-image-tree-'));
/** The image's /app: the deps stage's tree, which the runtime stage copies whole (COPY --from=deps /app ./). */
const app = path.join(work, 'app');
const dataDir = path.join(work, 'data');
const prefix = `{reel-image-${randomUUID()}}`;

/** Copies one COPY instruction's sources from the repository into `dir`, as the builder would. */
function copyInto(dir: string, sources: string[], dest: string): void {
  const target = path.resolve(dir, dest);
  for (const source of sources) {
    const from = path.join(ROOT, source);
    // A directory's contents go to dest; a file goes into dest/ (several sources, or dest ends in /).
    const into = statSync(from).isDirectory()
      ? target
      : dest.endsWith('/') || sources.length > 1
        ? path.join(target, path.basename(source))
        : target;
    // .dockerignore keeps tests out of the context even beside the sources.
    cpSync(from, into, { recursive: true, filter: (file) => !file.endsWith('.test.ts') });
  }
}

/** The environment of a process in the image: the stage's ENV over this one's PATH, HOME and Redis. */
function imageEnv(stageEnv: Record<string, string>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...stageEnv,
    REEL_DATA_DIR: dataDir,
    REEL_API_PORT: '0',
    REEL_QUEUE_PREFIX: prefix,
    ...(process.env.REEL_REDIS_URL ? { REEL_REDIS_URL: process.env.REEL_REDIS_URL } : {}),
    ...extra,
  };
}

/** `docker run image ARGS`: the ENTRYPOINT with ARGS (or the CMD), in /app, with the runtime ENV. */
function reel(args: string[] = execForm(lastOf(runtime, 'CMD')!.args)): ChildProcess {
  const [command, ...entry] = execForm(lastOf(runtime, 'ENTRYPOINT')!.args);
  expect(command).toBe('node');
  return spawn(process.execPath, [...entry, ...args], { cwd: app, env: imageEnv(envOf(runtime)) });
}

beforeAll(async () => {
  // deps stage: its COPYs, then its RUNs as written, in its WORKDIR with its ENV.
  expect(lastOf(deps, 'WORKDIR')?.args).toBe('/app');
  for (const copy of copies(deps)) copyInto(app, copy.sources, copy.dest);
  for (const command of runs(deps)) {
    const result = await childResult(
      spawn('sh', ['-c', command], {
        cwd: app,
        env: {
          // Not the npm_* variables of an `npm test` around this run (workspace, prefix...).
          ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
          ...envOf(deps),
          // The machine's npm cache has every package already (npm ci ran here); the registry otherwise.
          npm_config_prefer_offline: 'true',
        },
      }),
    );
    expect(result.code, `RUN ${command}\n${result.stderr}`).toBe(0);
  }
  // runtime stage: everything from deps (the same tree), then the sources.
  const runtimeCopies = copies(runtime);
  expect(runtimeCopies[0]).toEqual({ from: 'deps', sources: ['/app'], dest: './' });
  for (const copy of runtimeCopies.slice(1)) {
    expect(copy.from).toBeUndefined();
    copyInto(app, copy.sources, copy.dest);
  }
}, 600_000);

afterAll(async () => {
  // Redis keys of this run's queues, removed with the tree's own ioredis.
  const script = `const { Redis } = require('ioredis');
    const redis = new Redis(process.env.REEL_REDIS_URL || 'redis://127.0.0.1:6379');
    (async () => {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', process.argv[1] + '*', 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    })();`;
  if (existsSync(path.join(app, 'node_modules/ioredis'))) {
    const cleanup = await childResult(
      spawn(process.execPath, ['-e', script, prefix], { cwd: app, env: imageEnv({}) }),
    );
    expect(cleanup.code, cleanup.stderr).toBe(0);
  }
  rmSync(work, { recursive: true, force: true });
});

describe('the image tree, without Docker', () => {
  it('holds production dependencies only: no TypeScript compiler tooling, test runner or linter', () => {
    for (const dev of [
      'vitest',
      '@biomejs/biome',
      'turbo',
      'playwright-core',
      'autocannon',
      'kubernetes-models',
    ])
      expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
    // Only this platform's onnxruntime binaries are kept.
    const ort = path.join(app, 'node_modules/onnxruntime-node/bin/napi-v6');
    expect(readdirSync(path.join(ort, 'linux'))).toEqual([process.arch]);
    expect(readdirSync(path.join(ort, 'darwin'))).toEqual([]);
  });

  it("writes the demo model (the compose init service's command), twice without harm", async () => {
    const command = compose.services.init.command;
    const first = await childResult(reel(command));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^wrote reel-synthetic-clip/);
    const again = await childResult(reel(command));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^already present: reel-synthetic-clip/);
  });

  it('passes reel doctor: ffmpeg, Redis, the data folder, the model and onnxruntime', async () => {
    const doctor = await childResult(reel(['doctor', '--json']));
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
  });

  it('refuses to serve on the image address without an API key, then serves with one', async () => {
    const refused = await childResult(reel());
    // A setting to fix, not a failure of the machine: exit 2, "bad usage or invalid settings".
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('API_KEYS_REQUIRED');

    const key = await childResult(reel(['keys', 'create', '--tenant', 'acme', '--scopes', 'search,ingest']));
    expect(key.code, key.stderr).toBe(0);

    const worker = reel(compose.services.worker.command);
    const workerDone = childResult(worker);
    const server = reel();
    const serverDone = childResult(server);
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      server.stderr!.on('data', (chunk) => {
        stderr += chunk;
        const match = /reel is serving: web page http:\/\/[^:]+:(\d+)\//.exec(stderr);
        if (match) resolve(Number(match[1]));
      });
      server.once('close', () => reject(new Error(`serve stopped: ${stderr}`)));
    });
    try {
      // The image's HEALTHCHECK, run as the container would (it reads REEL_API_PORT).
      const [command, ...args] = healthcheck(runtime).command;
      expect(command).toBe('node');
      const check = await childResult(
        spawn(process.execPath, args, { env: imageEnv(envOf(runtime), { REEL_API_PORT: String(port) }) }),
      );
      expect(check.code).toBe(0);
      const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
      expect(ready).toMatchObject({ search: true });
      // The web page ships too.
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    } finally {
      server.kill('SIGTERM');
      worker.kill('SIGTERM');
    }
    // Both stop on SIGTERM, well within the grace periods compose and Kubernetes give them.
    const started = Date.now();
    expect((await serverDone).code).toBe(0);
    expect((await workerDone).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 120_000);
});
