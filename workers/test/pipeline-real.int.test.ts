import { createLogger } from '@reel/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPipeline, type Pipeline, type RunningWorker, startPipelineWorker } from '../src/pipeline.ts';
import {
  colourVideo,
  type RealSetup,
  realSetup,
  spawnWorker,
  textFile,
  until,
} from './helpers/real-pipeline.ts';

let setup: RealSetup;
let pipeline: Pipeline;

beforeAll(async () => {
  setup = await realSetup();
  pipeline = await openPipeline(setup.config);
});

afterAll(async () => {
  const keys = await pipeline.redis.keys(`${setup.config.queuePrefix}:*`);
  if (keys.length > 0) await pipeline.redis.del(...keys);
  await pipeline.close();
});

async function finished(batchId: string, timeoutMs = 90_000) {
  return until(
    `batch ${batchId} to finish`,
    async () => {
      const status = await pipeline.service.status(batchId);
      return status?.finishedAt !== undefined ? status : undefined;
    },
    timeoutMs,
  );
}

describe('the pipeline for real: ffmpeg, the synthetic model, LanceDB, Redis', () => {
  it('indexes good videos, reports broken ones with their code, and indexes a duplicate once', async () => {
    const logger = createLogger({ level: 'silent', name: 'test' });
    const worker: RunningWorker = await startPipelineWorker(setup.config, logger);
    try {
      const model = await pipeline.activeModel();
      const files = [
        colourVideo(setup.videos, 'red.mp4', 'red'),
        colourVideo(setup.videos, 'blue.webm', 'blue'),
        colourVideo(setup.videos, 'green.mkv', 'green'),
        textFile(setup.videos, 'notes.mp4'),
      ];
      const submitted = await pipeline.service.submit({
        tenant: 'acme',
        model,
        files: [...files.map((path) => ({ path })), { path: files[0]!, name: 'red again.mp4' }],
      });
      const status = await finished(submitted.batchId);
      expect(status.counts).toMatchObject({ indexed: 3, failed: 1, duplicate: 1 });
      expect(status.videos.find((v) => v.name.endsWith('notes.mp4'))).toMatchObject({
        status: 'failed',
        code: 'NOT_A_VIDEO',
      });
      expect(await pipeline.store.countEmbeddings(model.fingerprint, 'acme')).toBe(3);
      const red = status.videos.find((v) => v.name.endsWith('red.mp4'))!;
      const record = await pipeline.store.getVideo('acme', red.videoId);
      expect(record).toMatchObject({ status: 'indexed', fingerprint: model.fingerprint, title: 'red' });
      const embeddings = await pipeline.store.getEmbeddings('acme', red.videoId, model.fingerprint);
      expect(embeddings?.frameCount).toBe(12);
      expect(embeddings?.thumbnails.every((t) => typeof t === 'string' && t.endsWith('.webp'))).toBe(true);

      // The same file in a later batch is a duplicate and writes nothing.
      const again = await pipeline.service.submit({ tenant: 'acme', model, files: [{ path: files[1]! }] });
      expect(again.videos[0]?.status).toBe('duplicate');
      expect(await pipeline.store.countEmbeddings(model.fingerprint, 'acme')).toBe(3);
    } finally {
      await worker.close(10_000);
    }
  });

  it('loses nothing when a worker is killed with SIGKILL mid-batch: all 40 videos indexed exactly once', async () => {
    const model = await pipeline.activeModel();
    const files = Array.from({ length: 40 }, (_, i) =>
      colourVideo(
        setup.videos,
        `clip-${String(i).padStart(2, '0')}.mp4`,
        `0x${((i * 0x0b1d3f + 0x102030) & 0xffffff).toString(16).padStart(6, '0')}`,
        1,
      ),
    );
    const started = performance.now();
    const first = spawnWorker(setup.env);
    const submitted = await pipeline.service.submit({
      tenant: 'kill',
      model,
      files: files.map((path) => ({ path })),
    });
    expect(submitted.videos.every((v) => v.status === 'queued')).toBe(true);
    await until('a few videos indexed', async () => {
      const s = await pipeline.service.status(submitted.batchId);
      return s && s.counts.indexed >= 5 ? s : undefined;
    });
    const killedAt = performance.now();
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const second = spawnWorker(setup.env);
    try {
      const status = await finished(submitted.batchId, 150_000);
      // Where the time went, for a slow CI machine: the second worker's start, the 4 s lock expiry and
      // the remaining videos all come after the kill.
      console.info(
        `SIGKILL test: ${((killedAt - started) / 1000).toFixed(1)} s to 5 indexed, ${((performance.now() - killedAt) / 1000).toFixed(1)} s from the kill to all 40`,
      );
      expect(status.counts).toMatchObject({ indexed: 40, failed: 0 });
      expect(await pipeline.store.countEmbeddings(model.fingerprint, 'kill')).toBe(40);
      const page = await pipeline.store.listVideos('kill', { limit: 100 });
      expect(page.videos).toHaveLength(40);
      expect(page.videos.every((v) => v.status === 'indexed')).toBe(true);
    } finally {
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
    }
    // Two worker start-ups and 40 videos on a CI machine running other suites beside this one took
    // over a minute once: this is a test of losing nothing, not of speed.
  }, 200_000);
});
