/**
 * The error catalogue is complete and coherent: every code any package throws or records (found in the
 * source of every package, as `new ReelError('CODE'`, an HttpProblem or problem reply, a code table
 * `CODE: 'CODE'`, a `code: 'CODE'` field or an exported code constant) has an entry, and each entry's
 * HTTP status agrees with whose fault it is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, errorInfo, isInputFault } from '../src/error-catalogue.ts';
import { ReelError } from '../src/errors.ts';

const root = path.resolve(import.meta.dirname, '../..');
const packages = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
).workspaces;

const PATTERNS = [
  /new ReelError\(\s*'([A-Z][A-Z0-9_]+)'/g,
  /new HttpProblem\(\s*\d+,\s*'([A-Z][A-Z0-9_]+)'/g,
  /sendProblem\(\s*\w+,\s*\d+,\s*'([A-Z][A-Z0-9_]+)'/g,
  /\b([A-Z][A-Z0-9_]+): '\1'/g,
  /export const ([A-Z][A-Z0-9_]+) = '\1'/g,
  /\bcode: '([A-Z][A-Z0-9_]+)'/g,
];
/** errno codes (Node's own, set on errors a fake or a guard makes), not reel's. */
const ERRNO = /^E[A-Z]+$/;

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

function codesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  for (const workspace of packages)
    for (const file of sources(path.join(root, workspace, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of PATTERNS)
        for (const match of text.matchAll(pattern))
          if (!ERRNO.test(match[1]!) && !found.has(match[1]!))
            found.set(match[1]!, path.relative(root, file));
    }
  return found;
}

describe('the error catalogue', () => {
  it('has an entry for every code any package throws or records', () => {
    const found = codesInSource();
    expect(found.size).toBeGreaterThan(80);
    const missing = [...found].filter(([code]) => !Object.hasOwn(ERROR_CATALOGUE, code));
    expect(missing.map(([code, file]) => `${code} (${file})`)).toEqual([]);
  });

  it('answers 4xx for the caller’s input and 5xx for the system’s faults', () => {
    // A stored file gone missing is the server's state, but the answer is a plain 404 for that video.
    const exceptions = new Set(['VIDEO_FILE_MISSING']);
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      if (exceptions.has(code)) continue;
      if (entry.fault === 'input') {
        expect(entry.http, code).toBeGreaterThanOrEqual(400);
        expect(entry.http, code).toBeLessThan(500);
        expect(entry.retryable, code).toBe(false);
      } else expect(entry.http, code).toBeGreaterThanOrEqual(500);
    }
  });

  it('gives ReelError its retryability by default, and knows an unknown code as a retryable 500', () => {
    expect(new ReelError('INDEX_STORE_FAILED', 'x').retryable).toBe(true);
    expect(new ReelError('NOT_A_VIDEO', 'x').retryable).toBe(false);
    expect(new ReelError('MODEL_DOWNLOAD_FAILED', 'a 404', { retryable: false }).retryable).toBe(false);
    expect(errorInfo('SOMETHING_ELSE')).toMatchObject({ fault: 'system', retryable: true, http: 500 });
    expect(isInputFault('UNSUPPORTED_CONTAINER')).toBe(true);
    expect(isInputFault('DOWNLOAD_TIMEOUT')).toBe(false);
  });
});
