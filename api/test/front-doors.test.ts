/**
 * The rule docs/ARCHITECTURE.md states for the front doors: routes, plugins and CLI commands parse,
 * call a service, and format. None of them reaches BullMQ, Redis, LanceDB or storage itself, neither by
 * importing their clients nor through the pipeline's repositories.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.join(import.meta.dirname, '..', 'src');
const FRONT_DOORS = ['http/routes', 'http/plugins', 'cli/commands'];

/**
 * bull-board is BullMQ's own admin UI: it takes BullMQ Queue objects and nothing else, so its plugin is
 * the one place a front door is handed the queues.
 */
const EXEMPT = new Map([['http/plugins/queues-board.ts', ['queues']]]);

/** The pipeline's repositories (the I/O under its services). */
const REPOSITORIES = ['redis', 'store', 'storage', 'queues', 'claims', 'catalog', 'progress', 'pointer'];
const CLIENT_PACKAGES = /from '(bullmq|ioredis|@lancedb\/lancedb|@aws-sdk\/[^']+|apache-arrow)'/g;

function frontDoorFiles(): string[] {
  return FRONT_DOORS.flatMap((dir) =>
    readdirSync(path.join(SRC, dir))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => `${dir}/${name}`),
  );
}

/** Every `pipeline.<repository>` (and `deps.pipeline.<repository>`) a source reads, except the exempt ones. */
export function repositoryUses(relative: string, source: string): string[] {
  const allowed = EXEMPT.get(relative) ?? [];
  const uses = [...source.matchAll(/\bpipeline\??\.(\w+)\b/g)].map((m) => m[1]!);
  return uses.filter((name) => REPOSITORIES.includes(name) && !allowed.includes(name));
}

describe('front doors call services', () => {
  it('finds the front doors it checks', () => {
    const files = frontDoorFiles();
    expect(files).toContain('http/routes/videos.routes.ts');
    expect(files).toContain('http/plugins/metrics.ts');
    expect(files).toContain('cli/commands/pipeline.ts');
  });

  it('the check sees a repository read, and an exempt one only where it is exempt', () => {
    expect(repositoryUses('http/routes/x.ts', 'await pipeline.store.getVideo(t, id)')).toEqual(['store']);
    expect(repositoryUses('http/routes/x.ts', 'app.deps.pipeline.redis.status')).toEqual(['redis']);
    expect(repositoryUses('http/routes/x.ts', 'pipeline.videos.get(t, id)')).toEqual([]);
    expect(repositoryUses('http/plugins/queues-board.ts', 'pipeline.queues')).toEqual([]);
    expect(repositoryUses('http/plugins/queues-board.ts', 'pipeline.store')).toEqual(['store']);
  });

  it.each(frontDoorFiles())('%s reads no repository of the pipeline', (relative) => {
    const source = readFileSync(path.join(SRC, relative), 'utf8');
    expect(repositoryUses(relative, source)).toEqual([]);
  });

  it.each(frontDoorFiles())('%s imports no client of BullMQ, Redis, LanceDB or S3', (relative) => {
    const source = readFileSync(path.join(SRC, relative), 'utf8');
    expect([...source.matchAll(CLIENT_PACKAGES)].map((m) => m[1])).toEqual([]);
  });
});
