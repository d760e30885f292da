/**
 * Server-side paths a batch may index: only regular files under the configured roots
 * (REEL_API_ALLOWED_ROOTS). A path is refused when it has a `..` segment, when it is absolute outside
 * every root, when its real path (symlinks resolved) leaves the root it was found under, or when it is
 * not a regular file or a folder (a FIFO, a device, a socket: reading one would block or misbehave).
 * Relative paths are looked up under each root in order. Folders are expanded to the video files inside
 * them (regular files only), each checked the same way, and expansion stops past `maxFiles`.
 *
 * Nothing here reads a file's content: workers open each file themselves, as a regular file, when they
 * index it. Messages name the path as the caller gave it, never the roots or real paths behind it.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { expandPaths, kindOf } from '@reel/workers';
import { HttpProblem } from './problem.ts';

function inside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** A file to index: its real path, and the path as the caller gave it (for messages and titles). */
export interface AllowedFile {
  real: string;
  /** The requested path, with the file's place inside a requested folder appended. */
  name: string;
}

export class AllowedPaths {
  readonly roots: string[];

  constructor(roots: readonly string[], cwd = process.cwd()) {
    this.roots = roots.map((r) => path.resolve(cwd, r));
  }

  /**
   * The real files to index for one requested path, or an HttpProblem. `maxFiles` bounds a folder's
   * expansion (413 TOO_MANY_FILES past it).
   */
  async resolve(input: string, maxFiles: number): Promise<AllowedFile[]> {
    if (this.roots.length === 0)
      throw new HttpProblem(
        403,
        'PATHS_DISABLED',
        'this server indexes no server-side paths (its operator can allow folders with REEL_API_ALLOWED_ROOTS); upload the files instead',
      );
    if (input.split(/[\\/]/).includes('..'))
      throw new HttpProblem(400, 'PATH_NOT_ALLOWED', `${input}: ".." is not allowed in paths`);
    if (input.includes('\0'))
      throw new HttpProblem(400, 'PATH_NOT_ALLOWED', `${JSON.stringify(input)}: NUL byte`);
    const candidates = path.isAbsolute(input)
      ? this.roots
          .filter((root) => inside(root, path.normalize(input)))
          .map((root) => ({ root, full: path.normalize(input) }))
      : this.roots.map((root) => ({ root, full: path.join(root, input) }));
    if (candidates.length === 0)
      throw new HttpProblem(
        403,
        'PATH_NOT_ALLOWED',
        `${input}: outside the folders this server indexes (REEL_API_ALLOWED_ROOTS)`,
      );
    let found: { root: string; full: string } | undefined;
    for (const candidate of candidates)
      if (await lstat(candidate.full).catch(() => null)) {
        found = candidate;
        break;
      }
    if (!found)
      throw new HttpProblem(400, 'FILE_NOT_FOUND', `${input}: no such file under the allowed folders`);
    const realRoot = await realpath(found.root);
    const real = await realpath(found.full).catch(() => null);
    if (real === null || !inside(realRoot, real))
      throw new HttpProblem(
        403,
        'PATH_NOT_ALLOWED',
        `${input}: leads outside the allowed folders (a symlink?)`,
      );
    // lstat of the real path: the kind of the file itself, not of a link to it.
    const info = await lstat(real);
    if (info.isFile()) return [{ real, name: input }];
    if (!info.isDirectory())
      throw new HttpProblem(
        400,
        'NOT_A_REGULAR_FILE',
        `${input}: ${kindOf(info)}, not a regular file or folder; only regular files are indexed`,
      );
    const files: AllowedFile[] = [];
    for (const file of await expandPaths([real], { maxFiles: maxFiles + 1 })) {
      const inner = await realpath(file).catch(() => null);
      const shown = path.join(input, path.relative(real, file));
      if (inner === null || !inside(realRoot, inner))
        throw new HttpProblem(
          403,
          'PATH_NOT_ALLOWED',
          `${shown}: leads outside the allowed folders (a symlink?)`,
        );
      if (!(await stat(inner)).isFile()) continue; // a folder's entries are regular files already
      files.push({ real: inner, name: shown });
      if (files.length > maxFiles)
        throw new HttpProblem(
          413,
          'TOO_MANY_FILES',
          `${input}: more than ${maxFiles} videos; at most ${maxFiles} per batch (REEL_API_MAX_FILES)`,
        );
    }
    return files;
  }
}
