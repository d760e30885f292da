/**
 * The sampling precision through the pipeline for real (ffmpeg, the synthetic model, LanceDB, Redis): the
 * default (REEL_SAMPLING_PRECISION, `fast`) and a submit's own precision reach the sampler, each video's
 * batch status says how its frames were taken and how far each landed from its target, and a precision
 * reel does not know, written into a job by someone else, fails that video alone with a clear code.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createLogger, isReelError } from '@reel/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedPrecision, IngestSampler } from '../src/adapters/ingest-sampler.ts';
import { openPipeline, type Pipeline, type RunningWorker, startPipelineWorker } from '../src/pipeline.ts';
import { type RealSetup, realSetup, until } from './helpers/real-pipeline.ts';

let setup: RealSetup;
let pipeline: Pipeline;
let worker: RunningWorker;

/** Moving content with B-frames (x264 fast, High), 4 s at 25 fps: `fast` skips frames on it. */
function movingVideo(name: string, hue: number): string {
  const file = path.join(setup.videos, name);
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-nostdin', '-f', 'lavfi'],
    ...['-i', `testsrc2=size=160x96:rate=25:duration=4,hue=h=${hue}`],
    ...['-c:v', 'libx264', '-preset', 'fast', '-bf', '3', '-pix_fmt', 'yuv420p', file],
  ]);
  return file;
}

beforeAll(async () => {
  setup = await realSetup();
  pipeline = await openPipeline(setup.config);
  worker = await startPipelineWorker(setup.config, createLogger({ level: 'silent', name: 'test' }));
}, 60_000);

afterAll(async () => {
  await worker?.close(5_000);
  const keys = await pipeline.redis.keys(`${setup.config.queuePrefix}:*`);
  if (keys.length > 0) await pipeline.redis.del(...keys);
  await pipeline.close();
});

async function finished(batchId: string) {
  return until(
    `batch ${batchId} to finish`,
    async () => {
      const status = await pipeline.service.status(batchId);
      return status?.finishedAt !== undefined ? status : undefined;
    },
    90_000,
  );
}

describe('sampling precision in the pipeline', () => {
  it('samples at REEL_SAMPLING_PRECISION by default and at the precision a submit asks for, and keeps how', async () => {
    expect(setup.config.samplingPrecision).toBe('fast');
    const model = await pipeline.activeModel();
    const byDefault = await pipeline.service.submit({
      tenant: 't',
      model,
      files: [{ path: movingVideo('default.mp4', 0) }],
    });
    const exact = await pipeline.service.submit({
      tenant: 't',
      model,
      precision: 'exact',
      files: [{ path: movingVideo('exact.mp4', 90) }],
    });
    const [a, b] = [await finished(byDefault.batchId), await finished(exact.batchId)];
    expect(a.counts).toMatchObject({ indexed: 1 });
    expect(b.counts).toMatchObject({ indexed: 1 });
    const fastSampling = a.videos[0]!.sampling!;
    const exactSampling = b.videos[0]!.sampling!;
    expect(fastSampling.precision).toBe('fast');
    expect(exactSampling.precision).toBe('exact');
    for (const sampling of [fastSampling, exactSampling]) {
      expect(sampling.offsetsMs).toHaveLength(setup.config.framesPerVideo);
      expect(['seek', 'single-pass']).toContain(sampling.plan);
    }
    // Exact: the first frame at or after target − ½ frame (20 ms at 25 fps); fast: one frame more at most.
    for (const ms of exactSampling.offsetsMs) expect(Math.abs(ms)).toBeLessThanOrEqual(20);
    for (const ms of fastSampling.offsetsMs) {
      expect(ms).toBeGreaterThanOrEqual(-20);
      expect(ms).toBeLessThanOrEqual(60);
    }
    // Skipping moved at least one of the twelve targets on this stream (B-frames every other frame).
    expect(fastSampling.offsetsMs.some((ms) => ms > 20)).toBe(true);
  });

  it('refuses a precision it does not know, as a job payload may carry, with INGEST_OPTIONS_INVALID', async () => {
    expect(checkedPrecision(undefined, 'fast', 'a.mp4')).toBe('fast');
    expect(checkedPrecision('keyframes', 'fast', 'a.mp4')).toBe('keyframes');
    expect(() => checkedPrecision('bidir', 'fast', 'a.mp4')).toThrow(/a\.mp4: sampling precision "bidir"/);

    // Written into the queue by hand, past the typed submit: the sampler itself refuses it.
    const sampler = new IngestSampler(setup.config, 32);
    const file = movingVideo('hostile.mp4', 180);
    const error = await sampler
      .sample(
        { tenant: 't', videoId: 'v_hostile', source: file, name: 'hostile.mp4' },
        new AbortController().signal,
        {
          precision: '-skip_frame bidir',
        },
      )
      .catch((e: unknown) => e);
    expect(isReelError(error, 'INGEST_OPTIONS_INVALID')).toBe(true);
    expect((error as Error).message).toContain('is not one of exact, fast, keyframes');
  });
});
