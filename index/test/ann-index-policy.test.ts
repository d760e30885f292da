/**
 * Which ANN index upkeep builds for a table's size, and when it retrains one (pure logic; the
 * LanceDB side is in lancedb-store.int.test.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  annIndexDue,
  annIndexName,
  annIndexType,
  filteredSearchWidth,
  HNSW_FROM_ROWS,
  parseAnnIndexName,
} from '../src/adapters/lancedb-store.ts';

describe('ANN index policy', () => {
  it('auto means IVF_FLAT below HNSW_FROM_ROWS and IVF_HNSW_SQ from there; explicit types stay', () => {
    expect(annIndexType({ type: 'auto' }, HNSW_FROM_ROWS - 1)).toBe('ivf_flat');
    expect(annIndexType({ type: 'auto' }, HNSW_FROM_ROWS)).toBe('ivf_hnsw_sq');
    expect(annIndexType({ type: 'ivf_pq' }, 10 * HNSW_FROM_ROWS)).toBe('ivf_pq');
  });

  it('names record the type and training rows, and only reel-made names parse', () => {
    expect(annIndexName('ivf_hnsw_sq', 1_000_000)).toBe('mean_ivf_hnsw_sq_1000000');
    expect(parseAnnIndexName('mean_ivf_hnsw_sq_1000000')).toEqual({ type: 'ivf_hnsw_sq', rows: 1_000_000 });
    expect(parseAnnIndexName('mean_idx')).toBeNull();
    expect(parseAnnIndexName('mean_ivf_flat_')).toBeNull();
    expect(parseAnnIndexName('mean_ivf_rq_100')).toBeNull();
  });

  it('is due at twice the training rows, when auto crosses to another type, or for an unnamed index', () => {
    const auto = { type: 'auto' as const };
    expect(annIndexDue(auto, 'mean_ivf_flat_5000', 9_999)).toBe(false);
    expect(annIndexDue(auto, 'mean_ivf_flat_5000', 10_000)).toBe(true);
    expect(annIndexDue(auto, 'mean_ivf_flat_200000', HNSW_FROM_ROWS)).toBe(true); // 1.25× but now HNSW
    expect(annIndexDue(auto, 'mean_ivf_hnsw_sq_300000', 500_000)).toBe(false);
    expect(annIndexDue({ type: 'ivf_pq' }, 'mean_ivf_flat_300', 310)).toBe(true); // configured type changed
    expect(annIndexDue(auto, 'mean_idx', 6_000)).toBe(true);
  });

  it('scales the HNSW width of a filtered search by the share of rows passing, never below K′', () => {
    expect(filteredSearchWidth(500, 5, 1)).toBe(2500);
    expect(filteredSearchWidth(500, 5, 0.5003)).toBe(1251);
    expect(filteredSearchWidth(500, 5, 0.1)).toBe(500);
    expect(filteredSearchWidth(500, 5, 0)).toBe(500);
    expect(filteredSearchWidth(20, 5, 0.25)).toBe(25);
    // a share outside [0, 1] (counts taken at different moments) or not a number is clamped
    expect(filteredSearchWidth(500, 5, 1.2)).toBe(2500);
    expect(filteredSearchWidth(500, 5, Number.NaN)).toBe(2500);
  });
});
