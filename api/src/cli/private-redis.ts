/**
 * A private `redis-server` for commands that must run on a machine without a Redis (the demo): started
 * as a child process on a loopback port, its append-only file in `<data dir>/redis` so that a later run
 * finds the queues and content claims again, and stopped with SIGTERM (Redis then flushes the AOF and
 * exits; SHUTDOWN NOSAVE would be wrong with an AOF).
 *
 * The port is kept in `<data dir>/redis/port` so that it stays the same between runs. A server left
 * running by a run that was killed (its pid in `redis-server.pid`, still answering on the kept port) is
 * taken over rather than started twice on the same files. An adapter: it spawns processes and opens
 * sockets.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { freePort, ReelError } from '@reel/infra';
import { checkRedis } from '@reel/workers';

/** Port tried first for a private Redis (next to Redis's own 6379). */
export const PRIVATE_REDIS_PORT = 6390;

/** The commands that install redis-server, for the message when it is missing. */
export const REDIS_INSTALL = {
  debian: 'sudo apt-get install -y redis-server',
  macos: 'brew install redis',
} as const;

export interface PrivateRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  pid: number;
  /** Folder of its append-only file, pid file and log. */
  dir: string;
  /** True when a server left by an earlier run was taken over instead of started. */
  adopted: boolean;
  /** SIGTERM, then waits for the process to end (SIGKILL after `timeoutMs`). Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
}

/** The absolute path of `name` on `pathEnv` (PATH's format), or undefined. */
export function findOnPath(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** True when a Redis answers at `url` within `timeoutMs` (a version check; any failure is false). */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  return (await checkRedis(url, timeoutMs)).ok;
}

/** Whether something accepts connections on 127.0.0.1:`port` (binding it fails). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readNumber(file: string): Promise<number | undefined> {
  try {
    const value = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

function logTail(file: string): string {
  if (!existsSync(file)) return '';
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  return lines.slice(-5).join('\n');
}

/** Resolves when `pid` is gone (polling: a taken-over server is not our child). */
async function waitGone(pid: number, child: ChildProcess | undefined, timeoutMs: number): Promise<boolean> {
  if (child && child.exitCode === null && child.signalCode === null) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function handle(
  port: number,
  pid: number,
  dir: string,
  adopted: boolean,
  child: ChildProcess | undefined,
): PrivateRedis {
  let stopping: Promise<void> | undefined;
  // Last resort when the command dies without stopping it (an uncaught error, process.exit): SIGTERM
  // still flushes the AOF. Only SIGKILL leaves it running, and the next run takes it over.
  const onExit = () => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  };
  process.once('exit', onExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid,
    dir,
    adopted,
    stop(timeoutMs = 10_000) {
      process.off('exit', onExit);
      stopping ??= (async () => {
        if (child ? child.exitCode !== null || child.signalCode !== null : !alive(pid)) return;
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          return;
        }
        if (await waitGone(pid, child, timeoutMs)) return;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
        await waitGone(pid, child, 2000);
      })();
      return stopping;
    },
  };
}

/**
 * Starts (or takes over) the private Redis of a data folder and waits until it answers.
 *
 * @throws ReelError REDIS_SERVER_MISSING when `redis-server` is not on `pathEnv`;
 *   REDIS_SERVER_FAILED when it exits or does not answer within `startTimeoutMs`.
 */
export async function startPrivateRedis(options: {
  dataDir: string;
  pathEnv?: string;
  preferredPort?: number;
  startTimeoutMs?: number;
}): Promise<PrivateRedis> {
  const dir = path.join(options.dataDir, 'redis');
  const portFile = path.join(dir, 'port');
  const pidFile = path.join(dir, 'redis-server.pid');
  const logFile = path.join(dir, 'redis-server.log');
  const kept = await readNumber(portFile);
  const previousPid = await readNumber(pidFile);
  if (kept && previousPid && alive(previousPid) && (await redisAnswers(`redis://127.0.0.1:${kept}`)))
    return handle(kept, previousPid, dir, true, undefined);

  const binary = findOnPath('redis-server', options.pathEnv);
  if (!binary)
    throw new ReelError(
      'REDIS_SERVER_MISSING',
      `redis-server is not installed (not found on PATH). Install it: ${REDIS_INSTALL.debian}   (macOS: ${REDIS_INSTALL.macos})`,
    );
  await mkdir(dir, { recursive: true });
  const wanted = kept ?? options.preferredPort ?? PRIVATE_REDIS_PORT;
  const port = wanted > 0 && (await portFree(wanted)) ? wanted : await freePort();
  await writeFile(portFile, `${port}\n`);
  // Its own process group: Ctrl-C in a terminal reaches the whole foreground group, and this server
  // must outlive the rest of the command's shutdown (the worker drains into it), so it is stopped last.
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--pidfile',
      pidFile,
      '--logfile',
      logFile,
      '--daemonize',
      'no',
    ],
    { detached: true, stdio: 'ignore' },
  );
  child.on('error', () => {}); // a failed spawn shows as a missing pid below
  const pid = child.pid;
  const failed = (reason: string) =>
    new ReelError(
      'REDIS_SERVER_FAILED',
      `redis-server (${binary}) on port ${port} ${reason}${logTail(logFile) ? `; its log:\n${logTail(logFile)}` : ''}`,
    );
  if (pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw failed(`did not start: ${error.message}`);
  }
  const running = handle(port, pid, dir, false, child);
  const url = running.url;
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw failed(`exited with ${child.exitCode ?? child.signalCode}`);
    const check = await checkRedis(url, 500);
    if (check.ok) return running;
    if (check.problem.includes('too old')) {
      await running.stop();
      throw failed(`is too old: ${check.problem}`);
    }
    if (Date.now() > deadline) {
      await running.stop();
      throw failed('did not answer in time');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The Redis a command runs against: the configured one, or a private one it started and must stop. */
export interface RedisForRun {
  url: string;
  /** Set when the configured Redis did not answer and a private one serves this run. */
  private?: PrivateRedis;
  /** Why the configured Redis was not used (set with `private`). */
  reason?: string;
}

/**
 * The configured Redis when it answers (within `timeoutMs`), else a private one (see
 * {@link startPrivateRedis}). A Redis that answers but is too old is an error, not a reason to start
 * another.
 */
export async function redisForRun(options: {
  redisUrl: string;
  dataDir: string;
  pathEnv?: string;
  timeoutMs?: number;
  preferredPort?: number;
}): Promise<RedisForRun> {
  const check = await checkRedis(options.redisUrl, options.timeoutMs ?? 1000);
  if (check.ok) return { url: options.redisUrl };
  if (check.problem.includes('too old'))
    throw new ReelError(
      'REDIS_TOO_OLD',
      `${check.problem}: upgrade it, or set REEL_REDIS_URL to a newer one`,
    );
  const started = await startPrivateRedis({
    dataDir: options.dataDir,
    ...(options.pathEnv !== undefined ? { pathEnv: options.pathEnv } : {}),
    ...(options.preferredPort !== undefined ? { preferredPort: options.preferredPort } : {}),
  });
  return { url: started.url, private: started, reason: check.problem };
}
