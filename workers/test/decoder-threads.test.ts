/** How many decoder threads each of the pipeline's ffmpeg processes gets, and its encoder (pure logic). */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { decoderThreads } from '../src/adapters/ingest-sampler.ts';
import { QueueName } from '../src/jobs.ts';
import { encoderThreads } from '../src/pipeline.ts';

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

describe('encoderThreads', () => {
  it('gives the encoder one thread where the worker also decodes, every core where it only embeds', () => {
    expect(encoderThreads({ encoderThreads: 0 })).toBe(1);
    expect(encoderThreads({ encoderThreads: 0 }, [QueueName.ingest, QueueName.embed])).toBe(1);
    expect(encoderThreads({ encoderThreads: 0 }, [QueueName.embed, QueueName.index])).toBe(
      availableParallelism(),
    );
  });

  it('takes REEL_ENCODER_THREADS as given', () => {
    expect(encoderThreads({ encoderThreads: 2 }, [QueueName.ingest])).toBe(2);
  });
});
