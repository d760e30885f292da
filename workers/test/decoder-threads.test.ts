/** How many decoder threads each of the pipeline's ffmpeg processes gets (pure logic). */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { decoderThreads } from '../src/adapters/ingest-sampler.ts';

describe('decoderThreads', () => {
  it('shares the cores among the concurrent decodes, at least one thread each', () => {
    const cores = availableParallelism();
    expect(decoderThreads({ ffmpegThreads: 0, ingestConcurrency: 1 })).toBe(cores);
    expect(decoderThreads({ ffmpegThreads: 0, ingestConcurrency: 2 })).toBe(
      Math.max(1, Math.floor(cores / 2)),
    );
    expect(decoderThreads({ ffmpegThreads: 0, ingestConcurrency: 64 })).toBe(
      Math.max(1, Math.floor(cores / 64)),
    );
  });

  it('takes REEL_FFMPEG_THREADS as given', () => {
    expect(decoderThreads({ ffmpegThreads: 3, ingestConcurrency: 2 })).toBe(3);
  });
});
