/**
 * The rules every IndexStore adapter applies before it writes (store-rules.ts): validation names the
 * field, and the revision changes with any of the rescoring data and only with it.
 */
import { describe, expect, it } from 'vitest';
import { checkVideoEmbeddings, checkVideoRecord, embeddingsRevision } from '../src/store-rules.ts';
import { makeEmbeddings, makeRecord, rng, sceneFrames } from './helpers/index-fixtures.ts';

const F = 4;
const D = 8;

describe('store rules', () => {
  it('accept a well-formed record and name the field of a malformed one', () => {
    expect(() => checkVideoRecord(makeRecord('t', 'v'))).not.toThrow();
    expect(() => checkVideoRecord(makeRecord('t', 'v', { tags: [''] }))).toThrow(/video v tags/);
    expect(() => checkVideoRecord(makeRecord('t', 'v', { error: { code: 1 } as never }))).toThrow(
      /video v error: expected \{ code, message \}/,
    );
  });

  it('revise the embeddings when the rescoring data changes, not when a display field does', () => {
    const frames = sceneFrames(rng(3), F, D).frames;
    const base = makeEmbeddings('t', 'v', 'sha256:m', frames, F, D);
    checkVideoEmbeddings(base);
    expect(embeddingsRevision(makeEmbeddings('t', 'v', 'sha256:m', frames, F, D))).toBe(
      embeddingsRevision(base),
    );
    expect(embeddingsRevision({ ...base, thumbnails: base.thumbnails.map((t) => `${t}.webp`) })).toBe(
      embeddingsRevision(base),
    );
    expect(embeddingsRevision({ ...base, timestamps: base.timestamps.map((t) => t + 1) })).not.toBe(
      embeddingsRevision(base),
    );
    const gram = Float32Array.from(base.gram);
    gram[1] = gram[1]! + 0.5;
    expect(embeddingsRevision({ ...base, gram })).not.toBe(embeddingsRevision(base));
    expect(embeddingsRevision(base)).toBeLessThan(2 ** 48);
  });
});
