import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type ChildResult, childResult, collectOutput } from '@reel/infra';
import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

export const REEL_BIN = fileURLToPath(new URL('../../bin/reel.js', import.meta.url));

export type CliRun = ChildResult;

/**
 * Runs the real `reel` CLI in a child process with exactly the environment given (plus nothing from the
 * test runner's), so config, PATH and data folder are under the test's control.
 */
export function runCli(
  args: string[],
  env: Record<string, string>,
  node = process.execPath,
): Promise<CliRun> {
  return childResult(spawn(node, [REEL_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A `reel` process left running, with its output so far and a way to wait for a line of it. */
export interface SpawnedCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; rejects when the process ends first or on timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (null when killed by a signal) once the process has ended. */
  exited: Promise<number | null>;
}

/** Starts the real `reel` CLI as {@link runCli} does, without waiting for it to end (servers, signals). */
export function spawnCli(args: string[], env: Record<string, string>, node = process.execPath): SpawnedCli {
  const child = spawn(node, [REEL_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { stdout, stderr, exited } = collectOutput(child);
  return {
    child,
    stdout,
    stderr,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        let ended = false;
        void exited.then(() => {
          ended = true;
        });
        const poll = () => {
          const match = pattern.exec(stdout());
          if (match) return resolve(match);
          if (ended)
            return reject(
              new Error(`reel ended before printing ${pattern}\nstdout:\n${stdout()}\nstderr:\n${stderr()}`),
            );
          if (Date.now() > deadline)
            return reject(
              new Error(`no ${pattern} within ${timeoutMs} ms\nstdout:\n${stdout()}\nstderr:\n${stderr()}`),
            );
          setTimeout(poll, 50);
        };
        poll();
      });
    },
  };
}

/**
 * Runs the CLI's `main()` in this process with stdout and stderr captured: for checks of usage and
 * output that need no child process (faster, and a test can spy on what commands call).
 */
export async function runCliInProcess(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(['node', 'reel', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}
