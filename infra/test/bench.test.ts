/** The benchmark helpers every package's benchmarks share. */
import { describe, expect, it } from 'vitest';
import { percentile, withRatios } from '../src/bench.ts';

describe('benchmark helpers', () => {
  it('percentile is the nearest rank of the sorted values, NaN for none', () => {
    const values = [40, 10, 30, 20, 50, 60, 70, 80, 90, 100];
    expect(percentile(values, 0.5)).toBe(60);
    expect(percentile(values, 0.95)).toBe(100);
    expect(percentile(values, 0)).toBe(10);
    expect(percentile(values, 1)).toBe(100);
    expect(values[0]).toBe(40); // the caller's array is left unsorted
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('withRatios divides every row by the baseline row', () => {
    const report = withRatios({
      name: 'x',
      baseline: 'base',
      rows: [
        { case: 'base', value: 4, unit: 'ms' },
        { case: 'other', value: 2, unit: 'ms' },
      ],
    });
    expect(report.rows.map((r) => r.ratio)).toEqual([1, 0.5]);
  });
});
