import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { findOnPath, redisAnswers, redisForRun, startPrivateRedis } from '../src/cli/private-redis.ts';

function listen(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer().listen(port, '127.0.0.1', () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

function cli(port: number, ...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).trim();
}

describe('private redis-server (real redis-server processes)', () => {
  it('starts on a free port when the preferred one is taken, keeps port and data across restarts, takes over a running one', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-private-redis-'));
    // The preferred port is taken by something else: another port is chosen and kept.
    const squatter = await listen(0);
    const taken = portOf(squatter);
    const first = await startPrivateRedis({ dataDir, preferredPort: taken });
    squatter.close();
    try {
      expect(first.port).not.toBe(taken);
      expect(first.adopted).toBe(false);
      expect(await redisAnswers(first.url)).toBe(true);
      expect(readFileSync(path.join(dataDir, 'redis', 'port'), 'utf8').trim()).toBe(String(first.port));
      expect(cli(first.port, 'CONFIG', 'GET', 'appendonly')).toContain('yes');
      expect(cli(first.port, 'CONFIG', 'GET', 'bind')).toContain('127.0.0.1');
      cli(first.port, 'SET', 'reel:test', 'kept');

      // A second start while the first still runs takes it over instead of starting another on the same files.
      const second = await startPrivateRedis({ dataDir });
      expect(second).toMatchObject({ adopted: true, pid: first.pid, port: first.port });
    } finally {
      await first.stop();
    }
    expect(await redisAnswers(first.url, 300)).toBe(false);
    expect(existsSync(path.join(dataDir, 'redis', 'redis-server.pid'))).toBe(false);

    // Next run: the same port, and the data written before (appendonly file in the data folder).
    const third = await startPrivateRedis({ dataDir });
    try {
      expect(third).toMatchObject({ port: first.port, adopted: false });
      expect(third.pid).not.toBe(first.pid);
      expect(cli(third.port, 'GET', 'reel:test')).toBe('kept');
    } finally {
      await third.stop();
      await third.stop(); // idempotent
    }
    expect(await redisAnswers(third.url, 300)).toBe(false);
  }, 30_000);

  it('is sent SIGTERM when the command dies without stopping it (an uncaught error)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-private-redis-'));
    const module = new URL('../src/cli/private-redis.ts', import.meta.url).href;
    const script = `const { startPrivateRedis } = await import(${JSON.stringify(module)});
const redis = await startPrivateRedis({ dataDir: ${JSON.stringify(dataDir)} });
process.stdout.write(redis.port + ' ' + redis.pid + '\\n');
throw new Error('the command failed');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.dirname(new URL(import.meta.url).pathname),
      encoding: 'utf8',
    });
    expect(child.stderr).toContain('the command failed');
    const [port, pid] = child.stdout.trim().split(' ').map(Number);
    expect(port).toBeGreaterThan(0);
    // SIGTERM makes Redis flush its AOF and exit: wait for that, then nothing answers.
    const running = () => {
      try {
        process.kill(pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && running()) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(running()).toBe(false);
    expect(existsSync(path.join(dataDir, 'redis', 'redis-server.pid'))).toBe(false);
    expect(await redisAnswers(`redis://127.0.0.1:${port}`, 300)).toBe(false);
  });

  it('uses the configured Redis when it answers, and says how to install redis-server when it is missing', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-private-redis-'));
    expect(await redisForRun({ redisUrl: 'redis://127.0.0.1:6379', dataDir })).toEqual({
      url: 'redis://127.0.0.1:6379',
    });
    expect(existsSync(path.join(dataDir, 'redis'))).toBe(false);

    const closed = await listen(0);
    const port = portOf(closed);
    await new Promise((resolve) => closed.close(resolve));
    const error = await redisForRun({ redisUrl: `redis://127.0.0.1:${port}`, dataDir, pathEnv: '' }).catch(
      (e: unknown) => e,
    );
    expect(isReelError(error, 'REDIS_SERVER_MISSING')).toBe(true);
    expect((error as Error).message).toContain('sudo apt-get install -y redis-server');
    expect(findOnPath('redis-server', '')).toBeUndefined();
    expect(findOnPath('redis-server')).toMatch(/redis-server$/);
  });
});
