import { describe, expect, it } from 'vitest';
import { parseRange } from '../src/http/byte-range.ts';

describe('parseRange (objects served from a bucket)', () => {
  it('reads one range in its three forms, clamping the end', () => {
    expect(parseRange('bytes=100-199', 1000)).toEqual({ start: 100, end: 199 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange('bytes=990-5000', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange(' bytes=0-0 ', 1000)).toEqual({ start: 0, end: 0 });
  });

  it('serves the whole file for no, several or malformed ranges (RFC 9110 §14.2: ignore the header)', () => {
    for (const header of [undefined, 'bytes=0-1,5-6', 'items=0-1', 'bytes=-', 'bytes=5-2', 'bytes=a-b', ''])
      expect(parseRange(header, 1000), String(header)).toBeUndefined();
  });

  it('is unsatisfiable past the end, for an empty suffix and an empty file', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=1010-2000', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-10', 0)).toBe('unsatisfiable');
  });
});
