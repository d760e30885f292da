import { createLogger } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { openPipeline, startPipelineWorker } from '../src/pipeline.ts';
import { colourVideo, realSetup, until } from './helpers/real-pipeline.ts';

describe('sweep (real pipeline)', () => {
  it('re-enqueues transient failures and videos stuck without a job, and leaves bad input alone', async () => {
    const setup = await realSetup();
    const pipeline = await openPipeline(setup.config);
    const worker = await startPipelineWorker(setup.config, createLogger({ level: 'silent', name: 'test' }));
    try {
      const model = await pipeline.searchModel();
      const record = (
        id: string,
        file: string,
        status: 'failed' | 'processing',
        code?: string,
        retryable?: boolean,
      ) => ({
        tenant: 't',
        id,
        title: id,
        tags: [],
        createdAt: new Date(),
        ingestedAt: null,
        durationSeconds: null,
        source: file,
        sha256: id.padEnd(64, '0'),
        fingerprint: null,
        status,
        error: code
          ? { code, message: `${file}: ${code}`, ...(retryable === undefined ? {} : { retryable }) }
          : null,
      });
      // What a crashed machine leaves behind: a transient failure, a video "processing" with no job, and a
      // video that failed for good (bad input), which must not be retried.
      await pipeline.store.upsertVideo(
        record(
          'v_0000000000000000000000a1',
          colourVideo(setup.videos, 'a.mp4', 'red'),
          'failed',
          'FFMPEG_TIMEOUT',
        ),
      );
      await pipeline.store.upsertVideo(
        record('v_0000000000000000000000b2', colourVideo(setup.videos, 'b.mp4', 'blue'), 'processing'),
      );
      await pipeline.store.upsertVideo(
        record(
          'v_0000000000000000000000c3',
          colourVideo(setup.videos, 'c.mp4', 'green'),
          'failed',
          'NOT_A_VIDEO',
        ),
      );

      // A video that ran out of retries during a LanceDB outage, recorded before failures kept their
      // retryability (the catalogue decides), and one whose recorded flag says it will not pass.
      await pipeline.store.upsertVideo(
        record(
          'v_0000000000000000000000d4',
          colourVideo(setup.videos, 'd.mp4', 'yellow'),
          'failed',
          'INDEX_STORE_FAILED',
        ),
      );
      await pipeline.store.upsertVideo(
        record(
          'v_0000000000000000000000e5',
          colourVideo(setup.videos, 'e.mp4', 'white'),
          'failed',
          'FFMPEG_TIMEOUT',
          false,
        ),
      );

      const outcome = await pipeline.reindex.sweep();
      expect(outcome).toMatchObject({ kind: 'sweep', videos: 3 });
      await until('the sweep batch', async () =>
        (await pipeline.service.status(outcome.batchId!))?.finishedAt ? true : undefined,
      );
      expect((await pipeline.store.getVideo('t', 'v_0000000000000000000000a1'))?.status).toBe('indexed');
      expect((await pipeline.store.getVideo('t', 'v_0000000000000000000000b2'))?.status).toBe('indexed');
      expect((await pipeline.store.getVideo('t', 'v_0000000000000000000000c3'))?.status).toBe('failed');
      expect((await pipeline.store.getVideo('t', 'v_0000000000000000000000d4'))?.status).toBe('indexed');
      expect((await pipeline.store.getVideo('t', 'v_0000000000000000000000e5'))?.status).toBe('failed');
      expect(await pipeline.store.countEmbeddings(model.fingerprint, 't')).toBe(3);

      // Nothing left to do: a second sweep enqueues nothing.
      expect(await pipeline.reindex.sweep()).toMatchObject({ videos: 0 });
    } finally {
      await worker.close(10_000);
      await pipeline.close();
    }
  });
});
