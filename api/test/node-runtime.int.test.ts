/**
 * The README's commands run on Node 24 even when the machine's own Node is older (these machines have 20):
 * `npm ci` installs the registry's `node` package as a dev dependency, and npm scripts and `npx` put its
 * `node_modules/.bin/node` first on PATH. These tests fail when that dev dependency is missing or when a
 * command would fall back to whatever Node the machine has.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pinned = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).devDependencies
  .node as string;
const installed = JSON.parse(readFileSync(path.join(root, 'node_modules/node/package.json'), 'utf8'))
  .version as string;

/** PATH as a person's shell has it: without the `node_modules/.bin` folders npm put in front for this run. */
const shellPath = (process.env.PATH ?? '/usr/bin:/bin')
  .split(path.delimiter)
  .filter((dir) => !dir.split(path.sep).includes('node_modules'))
  .join(path.delimiter);

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: root,
        env: { PATH: shellPath, HOME: tmpdir(), REEL_DATA_DIR: path.join(tmpdir(), 'reel-node-runtime') },
        timeout: 60_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the project's Node", () => {
  it('is the pinned node dev dependency, Node 24 or newer', () => {
    expect(installed).toBe(pinned);
    expect(Number(pinned.split('.')[0])).toBeGreaterThanOrEqual(24);
  });

  it('runs the tests themselves (npm test put the dev dependency first on PATH)', () => {
    expect(process.versions.node).toBe(installed);
  });

  it('runs `npx reel` from a shell whose PATH has only the machine’s Node', async () => {
    const result = await run('npx', ['reel', 'doctor', '--json']);
    const checks = JSON.parse(result.stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
    expect(checks.checks.find((c) => c.name === 'node')).toMatchObject({ ok: true, detail: `v${installed}` });
  }, 90_000);

  it('runs `npm run` scripts (the demo, the tests) on it too', async () => {
    // `npm run -s reel -- …` is the same route as `npm run demo` and `npm test`: a script run by npm.
    const result = await run('npm', ['run', '-s', 'reel', '--', 'doctor', '--json']);
    const checks = JSON.parse(result.stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
    expect(checks.checks.find((c) => c.name === 'node')).toMatchObject({ ok: true, detail: `v${installed}` });
  }, 90_000);
});
