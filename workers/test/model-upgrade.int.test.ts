import path from 'node:path';
import { SearchService } from '@reel/index';
import { createLogger, loadConfig } from '@reel/infra';
import { ClipModel, createInferencePool, writeSyntheticClip } from '@reel/models';
import { describe, expect, it } from 'vitest';
import { openPipeline, startPipelineWorker } from '../src/pipeline.ts';
import { colourVideo, realSetup, until } from './helpers/real-pipeline.ts';

describe('model upgrade without downtime (synthetic model A → B with other weights)', () => {
  it('backfills B while every search answers from one model, switches in one step, then drops A', async () => {
    const setup = await realSetup();
    const modelB = path.join(setup.config.paths.models, 'reel-synthetic-b');
    await writeSyntheticClip(modelB, { projectionSeed: 7 });
    const logger = createLogger({ level: 'silent', name: 'test' });
    const pipeline = await openPipeline(setup.config);
    const worker = await startPipelineWorker(setup.config, logger);
    const pool = createInferencePool({ size: 1 });
    try {
      const colours = ['red', 'blue', 'green', 'yellow', 'purple', 'white'];
      const files = colours.map((c) => colourVideo(setup.videos, `${c}.mp4`, c));
      const a = await pipeline.searchModel();
      const first = await pipeline.service.submit({
        tenant: 't',
        model: a,
        files: files.map((p) => ({ path: p })),
      });
      await until('model A batch', async () =>
        (await pipeline.service.status(first.batchId))?.finishedAt ? true : undefined,
      );

      // The user makes B the active model; searches stay on A until the backfill is complete.
      const configB = loadConfig({ ...setup.env, REEL_MODEL: modelB }, setup.root);
      const pipelineB = await openPipeline(configB);
      const b = await pipelineB.activeModel();
      expect(b.fingerprint).not.toBe(a.fingerprint);
      const models = new Map([
        [a.fingerprint, await ClipModel.load(a.dir, { pool })],
        [b.fingerprint, await ClipModel.load(b.dir, { pool })],
      ]);

      const answers: { fingerprint: string; searched: string; results: number; top: string | undefined }[] =
        [];
      let searching = true;
      const loop = (async () => {
        while (searching) {
          const current = await pipeline.searchModel();
          const service = new SearchService({
            store: pipeline.store,
            embedder: models.get(current.fingerprint)!,
          });
          const response = await service.search('red', { tenant: 't', k: 10 });
          answers.push({
            fingerprint: current.fingerprint,
            searched: response.fingerprint,
            results: response.results.length,
            top: response.results[0]?.title,
          });
        }
      })();

      const outcome = await pipelineB.reindex.backfill(b);
      expect(outcome).toMatchObject({ kind: 'backfill', videos: colours.length, switched: false });
      await until(
        'searches to switch to B',
        async () => ((await pipeline.searchModel()).fingerprint === b.fingerprint ? true : undefined),
        90_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      searching = false;
      await loop;

      expect(answers.length).toBeGreaterThan(3);
      for (const answer of answers) {
        // One model per answer, every video found, and the colour still ranks first.
        expect(answer.searched).toBe(answer.fingerprint);
        expect(answer.results).toBe(colours.length);
        expect(answer.top).toBe('red');
      }
      expect(answers.some((x) => x.fingerprint === a.fingerprint)).toBe(true);
      expect(answers.at(-1)?.fingerprint).toBe(b.fingerprint);

      // Upkeep after the grace period drops A's vectors; only B's remain.
      const upkeep = await pipeline.reindex.upkeep({ graceMs: 0 });
      expect(upkeep.detail).toMatchObject({ dropped: [a.fingerprint] });
      expect(await pipeline.store.fingerprints()).toEqual([b.fingerprint]);
      expect(await pipeline.store.countEmbeddings(b.fingerprint, 't')).toBe(colours.length);
      for (const model of models.values()) await model.close();
      await pipelineB.close();
    } finally {
      await worker.close(10_000);
      await pool.close();
      await pipeline.close();
    }
  });
});
