/**
 * Opaque page cursors: base64url of a small JSON object carrying where the next page starts (offset),
 * which query it belongs to (a hash of the tenant, text, pooling, filters and minScore), which model
 * (a hash of the fingerprint) and which table snapshot (version) the first page read. A cursor handed
 * back with another query, tenant or model is rejected with CURSOR_INVALID instead of returning a page
 * of some other result list. Cursors are not secret: tampering can only move the offset within the
 * caller's own results, so they are not signed.
 */
import { createHash } from 'node:crypto';
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';

/** What a page cursor is for: a search's results or a video listing. */
export type CursorKind = 'search' | 'list';

export interface CursorState {
  kind: CursorKind;
  /** Results already returned (the next page's first index). */
  offset: number;
  /** {@link hashQuery} of the request that made it. */
  queryHash: string;
  /** {@link hashFingerprint} of the model it searched ('' for listings). */
  fingerprintHash: string;
  /** Table version the first page read (0 when not pinned). */
  snapshot: number;
  /** The words table's version the first page read, for a search that read the words. */
  wordsSnapshot?: number;
}

const VERSION = 1;

/**
 * Largest offset and table version a cursor may carry. LanceDB takes offsets as 32-bit numbers: 2^32
 * wrapped round to 0 and returned the first page again. No listing or search gets near this.
 */
export const MAX_CURSOR_NUMBER = 2 ** 31 - 1;

function fail(message: string): never {
  throw new ReelError(IndexErrorCode.CURSOR_INVALID, message);
}

/** JSON with object keys sorted, so equal values hash equal whatever their key order. */
function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** 16 hex digits of sha256 over the canonical JSON of `value` (key order does not matter). */
export function hashQuery(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

/** 16 hex digits of sha256 of a model fingerprint. */
export function hashFingerprint(fingerprint: string): string {
  return createHash('sha256').update(fingerprint).digest('hex').slice(0, 16);
}

/** State → opaque URL-safe string. */
export function encodeCursor(state: CursorState): string {
  const payload = {
    v: VERSION,
    k: state.kind,
    o: state.offset,
    q: state.queryHash,
    f: state.fingerprintHash,
    s: state.snapshot,
    ...(state.wordsSnapshot !== undefined ? { w: state.wordsSnapshot } : {}),
  };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/**
 * Opaque string → state, checked against the request it came back with.
 *
 * @throws ReelError CURSOR_INVALID when the cursor is malformed, of another kind, or made for another
 *   query (tenant, text, pooling, filters, minScore) or model fingerprint.
 */
export function decodeCursor(
  cursor: string,
  expected: { kind: CursorKind; queryHash: string; fingerprintHash: string },
): CursorState {
  if (
    typeof cursor !== 'string' ||
    cursor.length === 0 ||
    cursor.length > 1024 ||
    !/^[A-Za-z0-9_-]+$/.test(cursor)
  )
    fail('cursor: expected the opaque nextCursor string of a previous page (base64url), got something else');
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    fail('cursor: expected the opaque nextCursor string of a previous page, got undecodable text');
  }
  const p = payload as Record<string, unknown>;
  if (
    typeof p !== 'object' ||
    p === null ||
    p.v !== VERSION ||
    (p.k !== 'search' && p.k !== 'list') ||
    !Number.isSafeInteger(p.o) ||
    (p.o as number) < 0 ||
    (p.o as number) > MAX_CURSOR_NUMBER ||
    typeof p.q !== 'string' ||
    typeof p.f !== 'string' ||
    !Number.isSafeInteger(p.s) ||
    (p.s as number) < 0 ||
    (p.s as number) > MAX_CURSOR_NUMBER ||
    (p.w !== undefined &&
      (!Number.isSafeInteger(p.w) || (p.w as number) < 0 || (p.w as number) > MAX_CURSOR_NUMBER))
  )
    fail(`cursor: expected a version ${VERSION} page cursor, got a malformed one`);
  const state: CursorState = {
    kind: p.k as CursorKind,
    offset: p.o as number,
    queryHash: p.q as string,
    fingerprintHash: p.f as string,
    snapshot: p.s as number,
    ...(p.w !== undefined ? { wordsSnapshot: p.w as number } : {}),
  };
  if (state.kind !== expected.kind)
    fail(`cursor: expected a ${expected.kind} cursor, got a ${state.kind} cursor`);
  if (state.fingerprintHash !== expected.fingerprintHash)
    fail(
      `cursor: made for model ${state.fingerprintHash || '(none)'}, but the active model is ${expected.fingerprintHash || '(none)'}; start again without a cursor`,
    );
  if (state.queryHash !== expected.queryHash)
    fail(
      'cursor: made for another query (tenant, text, pooling, filters or minScore differ); repeat the same request with it, or start again without a cursor',
    );
  return state;
}
