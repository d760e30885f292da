/**
 * A redis-server of a test's own, on a port it chooses, so the test can stop and restart it: AOF on with
 * fsync always, as production must run it (a restart keeps the queues).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { until } from './real-pipeline.ts';

export function startOwnRedis(port: number, dir: string): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
}

/** Waits (up to 10 s) until the redis-server on `port` answers PING. */
export async function redisUp(port: number): Promise<void> {
  await until(
    `redis on ${port}`,
    async () => {
      try {
        return execFileSync('redis-cli', ['-p', String(port), 'ping'])
          .toString()
          .trim() === 'PONG'
          ? true
          : undefined;
      } catch {
        return undefined;
      }
    },
    10_000,
  );
}
