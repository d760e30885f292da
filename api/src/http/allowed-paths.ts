/**
 * Server-side paths a batch may index: only files under the configured roots (REEL_API_ALLOWED_ROOTS).
 * A path is refused when it has a `..` segment, when it is absolute outside every root, or when its real
 * path (symlinks resolved) leaves the root it was found under. Relative paths are looked up under each
 * root in order. Folders are expanded to the video files inside them, each checked the same way.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { expandPaths } from '@reel/workers';
import { HttpProblem } from './problem.ts';

function inside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

export class AllowedPaths {
  readonly roots: string[];

  constructor(roots: readonly string[], cwd = process.cwd()) {
    this.roots = roots.map((r) => path.resolve(cwd, r));
  }

  /** The real files to index for the requested paths, or an HttpProblem naming the first refused one. */
  async resolve(requested: readonly string[]): Promise<string[]> {
    if (this.roots.length === 0)
      throw new HttpProblem(
        403,
        'PATHS_DISABLED',
        'this server indexes no server-side paths: set REEL_API_ALLOWED_ROOTS to the folders it may read, or upload the files',
      );
    const files: string[] = [];
    for (const input of requested) {
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
          `${input}: outside the allowed folders (${this.roots.join(', ')})`,
        );
      let found: { root: string; full: string } | undefined;
      for (const candidate of candidates)
        if (await stat(candidate.full).catch(() => null)) {
          found = candidate;
          break;
        }
      if (!found)
        throw new HttpProblem(400, 'FILE_NOT_FOUND', `${input}: no such file under the allowed folders`);
      const realRoot = await realpath(found.root);
      for (const file of await expandPaths([found.full])) {
        const real = await realpath(file).catch(() => null);
        if (real === null || !inside(realRoot, real))
          throw new HttpProblem(
            403,
            'PATH_NOT_ALLOWED',
            `${input}: leads outside the allowed folders (a symlink?)`,
          );
        files.push(real);
      }
    }
    return files;
  }
}
