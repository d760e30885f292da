import { describe, expect, it } from 'vitest';
import {
  cosineStats,
  cosines,
  generatedCalibrationImages,
  topKAgreement,
} from '../src/quantize/calibrate.ts';

const unit = (...values: number[]) => {
  const norm = Math.hypot(...values);
  return Float32Array.from(values, (v) => v / norm);
};

describe('calibration figures', () => {
  it('cosines compares matching rows; stats give mean, nearest-rank 1st percentile and minimum', () => {
    expect(cosines([unit(1, 0), unit(1, 1)], [unit(1, 0), unit(1, 0)]).map((c) => c.toFixed(4))).toEqual([
      '1.0000',
      '0.7071',
    ]);
    const values = Array.from({ length: 200 }, (_, i) => 1 - i / 1000); // 1.000 … 0.801
    const stats = cosineStats(values);
    expect(stats.count).toBe(200);
    expect(stats.min).toBeCloseTo(0.801, 6);
    expect(stats.p1).toBeCloseTo(0.802, 6); // 2nd smallest of 200
    expect(stats.mean).toBeCloseTo(0.9005, 6);
    expect(cosineStats([0.5, 0.9]).p1).toBe(0.5);
    expect(() => cosineStats([])).toThrow(/no values/);
  });

  it('topKAgreement is 1 for the same ranking and counts the overlap of top-k sets otherwise', () => {
    const gallery = [unit(1, 0), unit(0.9, 0.1), unit(0.5, 0.5), unit(0, 1)];
    const queries = [unit(1, 0), unit(0, 1)];
    const same = { queries, gallery };
    expect(topKAgreement(same, same, 2)).toBe(1);
    // The candidate swaps what query 0 ranks second: gallery item 2 instead of 1.
    const swapped = { queries, gallery: [gallery[0]!, unit(0.2, 0.8), unit(0.9, 0.1), gallery[3]!] };
    expect(topKAgreement(same, swapped, 2)).toBe(0.5 * (1 / 2) + 0.5 * (1 / 2));
    expect(topKAgreement(same, swapped, 10)).toBe(1); // k capped at the gallery size
  });

  it('topKAgreement counts a swap between near-ties (reference scores within 1e-3) as agreeing', () => {
    // Items 1 and 2 are near-duplicates (two frames of one shot): which of them is second is a tie.
    const gallery = [unit(1, 0), unit(0.8, 0.2), unit(0.8, 0.2005), unit(0, 1)];
    const queries = [unit(1, 0)];
    const reference = { queries, gallery };
    // the candidate ranks item 2 above item 1 (a rounding difference), and item 3 not at all
    const candidate = { queries, gallery: [gallery[0]!, unit(0.8, 0.21), unit(0.8, 0.19), gallery[3]!] };
    expect(topKAgreement(reference, candidate, 2)).toBe(1);
    // a real change (item 3, far from the edge, instead of item 1) still counts against
    const changed = { queries, gallery: [gallery[0]!, unit(0, 1), gallery[2]!, unit(0.85, 0.15)] };
    expect(topKAgreement(reference, changed, 2)).toBe(0.5);
  });

  it('generates the same varied RGB frames every time', () => {
    const a = generatedCalibrationImages(8, 32);
    const b = generatedCalibrationImages(8, 32);
    expect(a).toHaveLength(8);
    expect(a[0]).toMatchObject({ width: 32, height: 32 });
    expect(a[0]!.data).toHaveLength(32 * 32 * 3);
    expect(a.map((f) => Buffer.from(f.data).toString('base64'))).toEqual(
      b.map((f) => Buffer.from(f.data).toString('base64')),
    );
    const distinct = new Set(a.map((f) => Buffer.from(f.data).toString('base64')));
    expect(distinct.size).toBe(8);
  });
});
