import { describe, expect, it } from 'vitest';
import { FrameBatcher } from '../src/frame-batcher.ts';

function recordingEncoder(fail?: (items: readonly number[]) => boolean) {
  const batches: number[][] = [];
  return {
    batches,
    encoder: {
      async encode(items: readonly number[]) {
        batches.push([...items]);
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (fail?.(items)) throw new Error(`batch ${items.join(',')} failed`);
        return items.map((x) => x * 10);
      },
    },
  };
}

describe('FrameBatcher', () => {
  it('fills batches across requests that arrive together and returns each its own outputs in order', async () => {
    const { batches, encoder } = recordingEncoder();
    const batcher = new FrameBatcher(encoder, { batchSize: 8, maxWaitMs: 20 });
    const a = Array.from({ length: 12 }, (_, i) => i);
    const b = Array.from({ length: 12 }, (_, i) => 100 + i);
    const [ra, rb] = await Promise.all([batcher.encode(a), batcher.encode(b)]);
    expect(ra).toEqual(a.map((x) => x * 10));
    expect(rb).toEqual(b.map((x) => x * 10));
    expect(batches.map((batch) => batch.length)).toEqual([8, 8, 8]);
  });

  it('sends a partial batch after the wait instead of holding it', async () => {
    const { batches, encoder } = recordingEncoder();
    const batcher = new FrameBatcher(encoder, { batchSize: 8, maxWaitMs: 5 });
    expect(await batcher.encode([1, 2, 3])).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('fails only the requests whose frames were in a failed batch', async () => {
    const { encoder } = recordingEncoder((items) => items.includes(13));
    const batcher = new FrameBatcher(encoder, { batchSize: 4, maxWaitMs: 5 });
    const ok = batcher.encode([1, 2, 3, 4]);
    const bad = batcher.encode([11, 12, 13]);
    await expect(ok).resolves.toEqual([10, 20, 30, 40]);
    await expect(bad).rejects.toThrow('batch 11,12,13 failed');
  });
});
