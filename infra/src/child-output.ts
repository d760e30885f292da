/**
 * What a child process printed, gathered as it runs: for tests and benchmarks that start real processes
 * (the CLI, writers, a load generator) and read their output once they end, or while they run.
 */
import type { ChildProcess } from 'node:child_process';

/** A child's stdout and stderr so far, and its end. */
export interface ChildOutput {
  stdout(): string;
  stderr(): string;
  /** The exit code (null when a signal ended it); rejects when the process could not start. */
  exited: Promise<number | null>;
}

/** The child's output as it ended. */
export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts gathering `child`'s piped stdout and stderr (call it right after spawning). */
export function collectOutput(child: ChildProcess): ChildOutput {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  return { stdout: () => stdout, stderr: () => stderr, exited };
}

/** Resolves with the child's exit code and all it printed, once it has ended. */
export async function childResult(child: ChildProcess): Promise<ChildResult> {
  const output = collectOutput(child);
  const code = await output.exited;
  return { code, stdout: output.stdout(), stderr: output.stderr() };
}
