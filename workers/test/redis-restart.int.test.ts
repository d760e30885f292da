import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, freePort, loadConfig } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { openPipeline, startPipelineWorker } from '../src/pipeline.ts';
import { redisUp, startOwnRedis as startRedis } from './helpers/own-redis.ts';
import { colourVideo, realSetup, until } from './helpers/real-pipeline.ts';

describe('Redis restarts during a batch (own redis-server with AOF)', () => {
  it('workers reconnect by themselves and the batch completes', async () => {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-redis-'));
    let redis = startRedis(port, dir);
    await redisUp(port);
    const setup = await realSetup({ REEL_REDIS_URL: `redis://127.0.0.1:${port}` });
    const config = loadConfig(setup.env, setup.root);
    const pipeline = await openPipeline(config);
    const worker = await startPipelineWorker(config, createLogger({ level: 'silent', name: 'test' }));
    try {
      const files = Array.from({ length: 12 }, (_, i) =>
        colourVideo(setup.videos, `r-${i}.mp4`, `0x${(0x203040 + i * 0x0a0b0c).toString(16)}`, 1),
      );
      const submitted = await pipeline.service.submit({
        tenant: 't',
        model: await pipeline.activeModel(),
        files: files.map((p) => ({ path: p })),
      });
      await until('some progress', async () => {
        const s = await pipeline.service.status(submitted.batchId);
        return s && s.counts.indexed >= 2 ? s : undefined;
      });
      execFileSync('redis-cli', ['-p', String(port), 'shutdown']);
      await new Promise((resolve) => redis.once('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      redis = startRedis(port, dir);
      await redisUp(port);
      const status = await until(
        'the batch to finish after the restart',
        async () => {
          const s = await pipeline.service.status(submitted.batchId);
          return s?.finishedAt !== undefined ? s : undefined;
        },
        120_000,
      );
      expect(status.counts).toMatchObject({ indexed: 12, failed: 0 });
      expect(await pipeline.store.countEmbeddings((await pipeline.activeModel()).fingerprint, 't')).toBe(12);
    } finally {
      await worker.close(10_000);
      await pipeline.close();
      redis.kill('SIGKILL');
    }
  });
});
