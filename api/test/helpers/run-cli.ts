import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REEL_BIN = fileURLToPath(new URL('../../bin/reel.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `reel` CLI in a child process with exactly the environment given (plus nothing from the
 * test runner's), so config, PATH and data folder are under the test's control.
 */
export function runCli(
  args: string[],
  env: Record<string, string>,
  node = process.execPath,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [REEL_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
