/**
 * HTTP Range requests (RFC 9110 §14) for files served from object storage: one `bytes=` range is
 * served (206), several or a malformed header are ignored (the whole file, 200), and a range starting
 * past the end is unsatisfiable (416).
 *
 * Written by hand, not with `range-parser` (nor @fastify/send's copy of it, which serves local files):
 * both answer 416 to a suffix longer than the file (`bytes=-5000` of 1 000 bytes, which §14.1.2 says
 * is the whole file) and to a malformed or reversed range (`bytes=a-b`, `bytes=5-2`, which §14.2 says
 * to ignore), since they report both as "unsatisfiable" (-1). The rules here are RFC 9110's; the tests
 * (test/byte-range.test.ts) pin each case.
 */
import type { ByteRange } from '@reel/workers';

/**
 * The byte range `header` asks for in a file of `size` bytes: undefined for the whole file, or
 * `'unsatisfiable'`. `bytes=a-b`, `bytes=a-` and the suffix form `bytes=-n` (the last n bytes); an end
 * past the file is clamped to its last byte.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // the last n bytes
    const n = Number(last);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.MAX_SAFE_INTEGER : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}
