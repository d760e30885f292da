import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { filtersToSql, normalizeFilters, sqlString } from '../src/search/filter-sql.ts';

describe('filter SQL', () => {
  it('escapes quotes by doubling them and leaves backslashes literal', () => {
    expect(sqlString("it's")).toBe("'it''s'");
    expect(sqlString("''")).toBe("''''''");
    expect(sqlString('back\\slash')).toBe("'back\\slash'");
  });

  it('always constrains the tenant, then tags (all-of), dates (half-open) and duration (inclusive)', () => {
    const filters = normalizeFilters({
      tags: ["o'clock", 'beach', 'beach'],
      createdAt: { from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-02-01T00:00:00Z') },
      durationSeconds: { min: 0.5, max: 120 },
    });
    expect(filtersToSql("ten'ant", filters)).toBe(
      "tenant = 'ten''ant' AND array_has_all(tags, ['beach', 'o''clock']) AND created_at >= 1704067200000 AND created_at < 1706745600000 AND duration >= 0.5 AND duration <= 120",
    );
    expect(filtersToSql('t', normalizeFilters(undefined))).toBe("tenant = 't'");
    expect(filtersToSql('t', normalizeFilters({ status: ['failed', 'queued'] }))).toBe(
      "tenant = 't' AND status IN ('failed', 'queued')",
    );
  });

  it('normalises tags (sorted, unique) and drops empty ranges', () => {
    expect(normalizeFilters({ tags: ['b', 'a', 'b'], createdAt: {}, durationSeconds: {} })).toEqual({
      tags: ['a', 'b'],
    });
  });

  it('rejects bad input with SEARCH_INPUT_INVALID naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ tags: [''] }, /filters.tags: expected non-empty strings/],
      [{ createdAt: { from: new Date(5), to: new Date(5) } }, /filters.createdAt: expected from < to/],
      [{ createdAt: { from: new Date(Number.NaN) } }, /filters.createdAt.from: expected a valid Date/],
      [{ durationSeconds: { min: 10, max: 5 } }, /expected min ≤ max, got min 10 and max 5/],
      [
        { durationSeconds: { max: Number.POSITIVE_INFINITY } },
        /durationSeconds.max: expected a finite number ≥ 0/,
      ],
      [
        { status: ['done'] },
        /filters.status: expected one of queued, processing, indexed, failed, got "done"/,
      ],
    ];
    for (const [filters, message] of cases) {
      try {
        normalizeFilters(filters as never);
        expect.unreachable();
      } catch (error) {
        expect(isReelError(error, 'SEARCH_INPUT_INVALID')).toBe(true);
        expect((error as Error).message).toMatch(message);
      }
    }
    expect(() => filtersToSql('', {})).toThrow(/tenant: expected a non-empty string/);
  });
});
