/**
 * The pictures of nothing that searches by example are measured against: real PNGs sharp decodes, the
 * same bytes on every run (seeded noise), no two alike.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { referenceStills } from '../src/index.ts';

describe('referenceStills', () => {
  it('gives 8 distinct 64×64 PNGs, the same every time', async () => {
    const first = await referenceStills();
    const again = await referenceStills();
    const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(first.map(hash)).toEqual(again.map(hash));
    expect(new Set(first.map(hash)).size).toBe(8);
    for (const png of first) {
      const meta = await sharp(png).metadata();
      expect(meta).toMatchObject({ format: 'png', width: 64, height: 64 });
    }
    // the flat field is mid-grey, and the noise is not flat
    const stats = await Promise.all(first.map((png) => sharp(png).stats()));
    expect(stats[0]!.channels[0]!.mean).toBe(128);
    expect(stats[0]!.channels[0]!.stdev).toBe(0);
    expect(stats.at(-1)!.channels[0]!.stdev).toBeGreaterThan(50);
  });
});
