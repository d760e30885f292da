/** Gathering a real child process's output (node itself as the child). */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { childResult, collectOutput } from '../src/child-output.ts';

describe('child output', () => {
  it('gathers stdout and stderr apart, with the exit code', async () => {
    const child = spawn(
      process.execPath,
      ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exit(3)'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(await childResult(child)).toEqual({ code: 3, stdout: 'out', stderr: 'err' });
  });

  it('shows output while the child runs, and rejects when it cannot start', async () => {
    const child = spawn(process.execPath, ['-e', 'console.log("ready"); setTimeout(() => {}, 60_000)'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collectOutput(child);
    while (!output.stdout().includes('ready')) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    expect(await output.exited).toBeNull();
    await expect(childResult(spawn('/nowhere/no-such-binary'))).rejects.toThrow(/ENOENT/);
  });
});
