/**
 * Services hold use cases and receive repositories (docs/ARCHITECTURE.md): no file under
 * src/services/ imports a client of BullMQ, Redis, LanceDB or S3, or sampling and inference code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SERVICES = path.join(import.meta.dirname, '..', 'src', 'services');
const FORBIDDEN =
  /from '(bullmq|ioredis|@lancedb\/lancedb|@aws-sdk\/[^']+|apache-arrow|fluent-ffmpeg|onnxruntime-node|sharp)'/g;

const files = readdirSync(SERVICES).filter((name) => name.endsWith('.ts'));

describe('services receive repositories', () => {
  it('finds the services', () => {
    expect(files).toEqual(
      expect.arrayContaining(['batch.service.ts', 'reindex.service.ts', 'video.service.ts']),
    );
  });

  it.each(files)('%s imports no I/O client', (name) => {
    const source = readFileSync(path.join(SERVICES, name), 'utf8');
    expect([...source.matchAll(FORBIDDEN)].map((m) => m[1])).toEqual([]);
  });
});
