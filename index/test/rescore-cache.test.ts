import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { encodeFrames } from '../src/frame-codec.ts';
import { meanPool, scoreMean } from '../src/pooling/mean-pooling.ts';
import {
  attentionFromCosines,
  maxFromCosines,
  meanFromCosines,
  topKFromCosines,
} from '../src/pooling/pooling-kernels.ts';
import { scoreAttention, scoreMax, scoreTopK } from '../src/pooling/text-conditioned-pooling.ts';
import { gramMatrix, l2NormalizeRows } from '../src/pooling/vector-math.ts';
import { type PreparedQuery, RescoreCache, type RescoreEntry } from '../src/search/rescore-cache.ts';
import { dot2Int8, dot2Int8x4 } from '../src/search/rescore-kernels.ts';
import { prepareXPoolCompactQuery, scoreXPoolCompact } from '../src/xpool/xpool-score.ts';
import { buildXPoolCompactCache } from '../src/xpool/xpool-terms.ts';
import { clipLikeFrames, clipLikeText, randomHead, rng } from './helpers/pooling-fixtures.ts';

const F = 12;
const D = 128;

function entry(
  key: string,
  frames: Float32Array,
  revision = 1,
  xpool: RescoreEntry['xpool'] = null,
): RescoreEntry {
  const encoded = encodeFrames(frames, F, D);
  return {
    key,
    revision,
    frameCount: F,
    dim: D,
    frames: encoded.data as Int8Array,
    scales: encoded.scales,
    norms: encoded.norms,
    means: encoded.means,
    variances: encoded.variances,
    gram: gramMatrix(l2NormalizeRows(frames, F, D), F, D),
    timestamps: Array.from({ length: F }, (_, f) => f + 0.5),
    xpool,
  };
}

function cosines(text: Float32Array, normalised: Float32Array): Float64Array {
  const out = new Float64Array(2 * F);
  let tn = 0;
  for (let d = 0; d < D; d++) tn += text[d]! * text[d]!;
  for (let f = 0; f < F; f++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += text[d]! * normalised[f * D + d]!;
    out[f] = s / Math.sqrt(tn);
  }
  return out;
}

describe('rescore kernels from cosines', () => {
  const r = rng(21);
  it('equal the pooling functions on float frames (mean, attention, top-k, max)', () => {
    for (let v = 0; v < 5; v++) {
      const frames = clipLikeFrames(r, F, D);
      const text = clipLikeText(r, frames, F, D);
      const normalised = l2NormalizeRows(frames, F, D);
      const gram = gramMatrix(normalised, F, D);
      const w1 = new Float32Array(F);
      const w2 = new Float32Array(F);
      expect(attentionFromCosines(cosines(text, normalised), F, gram, 0, 0.01, w1)).toBeCloseTo(
        scoreAttention(text, normalised, gram, F, D, 0.01, w2),
        7,
      );
      for (let f = 0; f < F; f++) expect(w1[f]).toBeCloseTo(w2[f]!, 6);
      expect(topKFromCosines(cosines(text, normalised), F, gram, 0, 3, w1)).toBeCloseTo(
        scoreTopK(text, normalised, gram, F, D, 3, w2),
        7,
      );
      expect(Array.from(w1)).toEqual(Array.from(w2));
      expect(maxFromCosines(cosines(text, normalised), F)).toBeCloseTo(scoreMax(text, normalised, F, D), 7);
      expect(meanFromCosines(cosines(text, normalised), F, gram, 0)).toBeCloseTo(
        scoreMean(text, meanPool(normalised, F, D), F),
        7,
      );
    }
  });
});

describe('int8 products', () => {
  it('four frames at once equal frame by frame', () => {
    const r = rng(23);
    const q = Int8Array.from({ length: 5 * D }, () => Math.round(r.normal() * 40));
    const a = Float32Array.from({ length: D }, () => r.normal());
    const b = Float32Array.from({ length: D }, () => r.normal());
    const four = new Float64Array(8);
    const one = new Float64Array(2);
    dot2Int8x4(q, D, a, b, D, four, 0, 4);
    for (let i = 0; i < 4; i++) {
      dot2Int8(q, (i + 1) * D, a, b, D, one, 0, 1);
      expect(four[i]).toBeCloseTo(one[0]!, 9);
      expect(four[4 + i]).toBeCloseTo(one[1]!, 9);
    }
  });
});

describe('RescoreCache', () => {
  const r = rng(22);
  const videos = Array.from({ length: 4 }, () => clipLikeFrames(r, F, D));

  it('scores int8 frames within 2e-3 of the float poolings, and writes weights and cosines', () => {
    const cache = new RescoreCache({ dim: D, capacity: 8, maxFrames: 16, withXPool: false });
    let worst = 0;
    for (let v = 0; v < videos.length; v++) {
      const frames = videos[v]!;
      const slot = cache.insert(entry(`k${v}`, frames));
      const text = clipLikeText(r, frames, F, D);
      const normalised = l2NormalizeRows(frames, F, D);
      const gram = gramMatrix(normalised, F, D);
      let tn = 0;
      for (let d = 0; d < D; d++) tn += text[d]! ** 2;
      const q = (pooling: 'mean' | 'attention' | 'topk' | 'max'): PreparedQuery => ({
        pooling,
        text,
        textNorm: Math.sqrt(tn),
        tau: 0.01,
        k: 3,
      });
      const weights = new Float32Array(F);
      const cos = new Float32Array(F);
      worst = Math.max(
        worst,
        Math.abs(
          cache.score(slot, q('attention'), weights, cos) - scoreAttention(text, normalised, gram, F, D),
        ),
        Math.abs(cache.score(slot, q('topk')) - scoreTopK(text, normalised, gram, F, D, 3)),
        Math.abs(cache.score(slot, q('max')) - scoreMax(text, normalised, F, D)),
        Math.abs(cache.score(slot, q('mean')) - scoreMean(text, meanPool(normalised, F, D), F)),
      );
      expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const exactCos = cosines(text, normalised);
      for (let f = 0; f < F; f++) expect(Math.abs(cos[f]! - exactCos[f]!)).toBeLessThan(2e-3);
    }
    expect(worst).toBeLessThan(2e-3);
    expect(Array.from(cache.timestamps(0))).toEqual(Array.from({ length: F }, (_, f) => f + 0.5));
  });

  it('scores X-Pool from int8 frames and compact terms within 2e-3 of the float form', () => {
    const head = randomHead(rng(3), D, 4242);
    const cache = new RescoreCache({ dim: D, capacity: 4 });
    const frames = videos[0]!;
    const compact = buildXPoolCompactCache(head, frames, F);
    const slot = cache.insert(entry('x', frames, 1, compact));
    expect(cache.hasXPool(slot, head.checksum)).toBe(true);
    const text = clipLikeText(r, frames, F, D);
    const xq = prepareXPoolCompactQuery(head, text);
    const stats = encodeFrames(frames, F, D);
    const exact = scoreXPoolCompact(xq, frames, stats.means, stats.variances, compact);
    const got = cache.score(slot, { pooling: 'xpool', text, textNorm: 1, xpool: xq });
    expect(Math.abs(got - exact)).toBeLessThan(2e-3);
    const other = prepareXPoolCompactQuery(randomHead(rng(4), D, 99), text);
    try {
      cache.score(slot, { pooling: 'xpool', text, textNorm: 1, xpool: other });
      expect.unreachable();
    } catch (error) {
      expect(isReelError(error, 'XPOOL_CACHE_INVALID')).toBe(true);
    }
  });

  it('looks up by key and revision, replaces on re-insert, and evicts with a clock', () => {
    const cache = new RescoreCache({ dim: D, capacity: 3, chunkSlots: 2, withXPool: false });
    cache.insert(entry('a', videos[0]!, 1));
    cache.insert(entry('b', videos[1]!, 1));
    cache.insert(entry('c', videos[2]!, 1));
    expect(cache.lookup('a', 2)).toBe(-1); // stale revision
    const slotA = cache.lookup('a', 1);
    expect(slotA).toBeGreaterThanOrEqual(0);
    cache.insert(entry('a', videos[3]!, 2)); // same slot, new revision
    expect(cache.lookup('a', 2)).toBe(slotA);
    expect(cache.size).toBe(3);
    cache.beginBatch();
    cache.lookup('b');
    cache.insert(entry('d', videos[3]!, 1)); // evicts a or c, never b (used by this batch)
    expect(cache.size).toBe(3);
    expect(cache.lookup('b')).toBeGreaterThanOrEqual(0);
    expect(cache.lookup('d')).toBeGreaterThanOrEqual(0);
    expect([cache.lookup('a'), cache.lookup('c')].filter((s) => s >= 0)).toHaveLength(1);
  });

  it('refuses entries of another D or with more frames than a slot holds', () => {
    const cache = new RescoreCache({ dim: D, capacity: 2, maxFrames: 8 });
    expect(() => cache.insert(entry('a', videos[0]!))).toThrow(
      /expected 1 to 8 frames \(raise the rescore cache's maxFrames\), got 12/,
    );
    const wrong = new RescoreCache({ dim: D + 1, capacity: 2 });
    expect(() => wrong.insert(entry('a', videos[0]!))).toThrow(/expected D = 129, got 128/);
  });
});
