/**
 * Starting a worker reads the frame size from the active model's preprocessing config: it used to load
 * the whole model and run both encoders just to read the preprocessor's width, so an ingest-only worker
 * (`reel worker --queues ingest`, on a machine that only decodes) needed a loadable model and paid for
 * loading it. Here the encoders are broken on purpose: the ingest worker must still start and sample
 * frames at the model's size.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { FrameSpool } from '../src/adapters/frame-spool.ts';
import { openPipeline, startPipelineWorker } from '../src/pipeline.ts';
import { colourVideo, realSetup, until } from './helpers/real-pipeline.ts';

describe('worker start-up', () => {
  it('starts an ingest-only worker without loading the encoders, and samples at the model’s size', async () => {
    const setup = await realSetup();
    const modelDir = path.join(setup.config.paths.models, 'reel-synthetic-clip');
    const width = JSON.parse(readFileSync(path.join(modelDir, 'preprocessor_config.json'), 'utf8')) as {
      crop_size?: { width?: number } | number;
      size?: { shortest_edge?: number } | number;
    };
    // Encoders that onnxruntime cannot load: any attempt to load the model would fail the start.
    for (const file of ['onnx/vision_model.onnx', 'onnx/text_model.onnx'])
      writeFileSync(path.join(modelDir, file), 'not an onnx model');
    const pipeline = await openPipeline(setup.config);
    const worker = await startPipelineWorker(setup.config, createLogger({ level: 'silent', name: 'test' }), {
      queues: ['ingest'],
    });
    try {
      const model = await pipeline.searchModel();
      const submitted = await pipeline.service.submit({
        tenant: 't',
        model,
        files: [{ path: colourVideo(setup.videos, 'red.mp4', 'red') }],
      });
      const id = submitted.videos[0]!.videoId!;
      const spool = new FrameSpool(path.join(setup.config.paths.tmp, 'spool'));
      const frames = await until(
        'frames in the spool',
        async () => (await spool.readFrames(id)) ?? undefined,
      );
      const expected = typeof width.crop_size === 'object' ? width.crop_size.width : (width.crop_size ?? 224);
      expect(frames.width).toBe(expected);
      expect(frames.timestamps).toHaveLength(setup.config.framesPerVideo);
    } finally {
      await worker.close(10_000);
      await pipeline.close();
    }
  });
});
