import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import {
  decodeCursor,
  encodeCursor,
  hashFingerprint,
  hashQuery,
  MAX_CURSOR_NUMBER,
} from '../src/search/cursor.ts';

const queryHash = hashQuery({ tenant: 't1', text: 'a dog', pooling: 'xpool', filters: {}, minScore: null });
const fingerprintHash = hashFingerprint('sha256:model-a');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isReelError(error) ? error.code : 'other';
  }
  return undefined;
}

describe('page cursors', () => {
  it('round-trip offset and snapshot as an opaque URL-safe string', () => {
    const cursor = encodeCursor({ kind: 'search', offset: 20, queryHash, fingerprintHash, snapshot: 17 });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, { kind: 'search', queryHash, fingerprintHash })).toEqual({
      kind: 'search',
      offset: 20,
      queryHash,
      fingerprintHash,
      snapshot: 17,
    });
  });

  it('rejects a cursor of another query, model or kind with CURSOR_INVALID and says which', () => {
    const cursor = encodeCursor({ kind: 'search', offset: 10, queryHash, fingerprintHash, snapshot: 3 });
    const otherQuery = hashQuery({
      tenant: 't1',
      text: 'a cat',
      pooling: 'xpool',
      filters: {},
      minScore: null,
    });
    expect(() => decodeCursor(cursor, { kind: 'search', queryHash: otherQuery, fingerprintHash })).toThrow(
      /made for another query/,
    );
    expect(() =>
      decodeCursor(cursor, { kind: 'search', queryHash, fingerprintHash: hashFingerprint('sha256:model-b') }),
    ).toThrow(/made for model .* but the active model is/);
    expect(() => decodeCursor(cursor, { kind: 'list', queryHash, fingerprintHash })).toThrow(
      /expected a list cursor, got a search cursor/,
    );
    expect(codeOf(() => decodeCursor(cursor, { kind: 'list', queryHash, fingerprintHash }))).toBe(
      'CURSOR_INVALID',
    );
  });

  it('rejects garbage and tampered payloads with CURSOR_INVALID', () => {
    const expected = { kind: 'search' as const, queryHash, fingerprintHash };
    for (const bad of [
      '',
      'not a cursor!',
      'abc',
      Buffer.from('{"v":1,"k":"search","o":-1}').toString('base64url'),
    ])
      expect(codeOf(() => decodeCursor(bad, expected))).toBe('CURSOR_INVALID');
    const wrongVersion = Buffer.from(
      JSON.stringify({ v: 2, k: 'search', o: 0, q: queryHash, f: fingerprintHash, s: 0 }),
    ).toString('base64url');
    expect(() => decodeCursor(wrongVersion, expected)).toThrow(/expected a version 1 page cursor/);
  });

  it('carries the words table version of a search that read the words, and bounds it', () => {
    const expected = { kind: 'search' as const, queryHash, fingerprintHash };
    const cursor = encodeCursor({ ...expected, offset: 10, snapshot: 4, wordsSnapshot: 9 });
    expect(decodeCursor(cursor, expected)).toEqual({
      ...expected,
      offset: 10,
      snapshot: 4,
      wordsSnapshot: 9,
    });
    const forged = Buffer.from(
      JSON.stringify({ v: 1, k: 'search', o: 0, q: queryHash, f: fingerprintHash, s: 0, w: -1 }),
    ).toString('base64url');
    expect(codeOf(() => decodeCursor(forged, expected))).toBe('CURSOR_INVALID');
  });

  it('bounds offsets and versions: 2^32 wrapped round to the first page in LanceDB', () => {
    const expected = { kind: 'search' as const, queryHash, fingerprintHash };
    const forged = (o: number, s: number) =>
      Buffer.from(JSON.stringify({ v: 1, k: 'search', o, q: queryHash, f: fingerprintHash, s })).toString(
        'base64url',
      );
    for (const [o, s] of [
      [2 ** 32, 0],
      [MAX_CURSOR_NUMBER + 1, 0],
      [0, 2 ** 32],
    ] as const)
      expect(
        codeOf(() => decodeCursor(forged(o, s), expected)),
        `${o} ${s}`,
      ).toBe('CURSOR_INVALID');
    expect(decodeCursor(forged(MAX_CURSOR_NUMBER, 5), expected).offset).toBe(MAX_CURSOR_NUMBER);
  });

  it('hashes queries independently of key order, and distinguishes values', () => {
    expect(hashQuery({ a: 1, b: [1, 2], c: { y: 2, x: 1 } })).toBe(
      hashQuery({ c: { x: 1, y: 2 }, b: [1, 2], a: 1 }),
    );
    expect(hashQuery({ a: 1 })).not.toBe(hashQuery({ a: 2 }));
    expect(hashQuery({ d: new Date(0) })).not.toBe(hashQuery({ d: new Date(1) }));
    expect(hashQuery({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
  });
});
