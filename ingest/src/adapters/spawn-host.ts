/**
 * Starting ffmpeg and ffprobe cheaply from a big process. Node forks to spawn (libuv on Linux), and a fork
 * copies the parent's page tables and marks its memory copy-on-write; the child then pays again to
 * throw them away at exec. A pipeline worker holds the encoder's weights and arenas (about 1.1 GB, nearly
 * all anonymous memory), and measured here each spawn from it cost 25 ms of CPU in the worker (its event
 * loop stopped meanwhile) and 26-30 ms in the child, against 2-3 ms each from a bare Node
 * (`workers/bench/fork-cost.ts`). A video starts two processes (ffprobe, then ffmpeg).
 *
 * So a worker can start them through a spawn host: one small Node process (`spawn-host-process.ts`),
 * forked once, which spawns what it is asked over its IPC channel and relays the output back. Nothing is
 * written by hand that a library does: Node's IPC carries the messages, with its advanced serialization
 * so output travels as bytes. No library offers spawning from a helper process, hence this file.
 *
 * `startProcess` gives the same `RunningProcess` whether the process is started directly or through the
 * host, so the ffmpeg module has one code path for both.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';

/** Parent → host. */
export type HostRequest =
  | { t: 'spawn'; id: number; file: string; args: string[] }
  | { t: 'kill'; id: number; signal: NodeJS.Signals };

/** Host → parent: output, the exit, or a process that could not start (ENOENT and the like). */
export type HostReply =
  | { id: number; t: 'pid'; pid: number }
  | { id: number; t: 'out'; d: Uint8Array }
  | { id: number; t: 'err'; d: Uint8Array }
  | { id: number; t: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { id: number; t: 'fail'; code: string; message: string };

/** How a process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Receives a stream's output, chunk by chunk, in order. */
export type OutputListener = (chunk: Buffer) => void;

/** A started process: its output, its end, and a way to stop it. */
export interface RunningProcess {
  /** Set the listeners at once, before returning to the event loop: output is not kept for later. */
  onStdout(listener: OutputListener): void;
  onStderr(listener: OutputListener): void;
  /**
   * Settles once the process has exited and every chunk of its output has reached the listeners.
   * Rejects with an Error whose `code` says why the process never ran (`ENOENT`, `EACCES`, ...) or
   * `SPAWN_HOST_EXITED` when the host died under it.
   */
  readonly exited: Promise<ProcessExit>;
  kill(signal?: NodeJS.Signals): void;
}

/** The error `exited` rejects with. */
export function processError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

interface Live {
  file: string;
  /** Its pid once the host said it (killed when the host dies, so no run outlives its watch). */
  pid?: number;
  stdout: OutputListener;
  stderr: OutputListener;
  resolve: (exit: ProcessExit) => void;
  reject: (error: Error) => void;
}

function hostScript(): URL {
  // Sources run as .ts (type stripping); a build would ship .js beside this file.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./spawn-host-process.${ext}`, import.meta.url);
}

/**
 * One spawn host process, started on first use and again after it died. It never keeps its parent
 * alive by itself: its handles are referenced only while a process it started is running.
 */
export class SpawnHost {
  #host: ChildProcess | undefined;
  #nextId = 1;
  readonly #live = new Map<number, Live>();

  /** The host's pid, when it runs (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.#host?.pid;
  }

  spawn(file: string, args: readonly string[]): RunningProcess {
    const host = this.#ensure();
    const id = this.#nextId++;
    const live: Live = {
      file,
      stdout: () => {},
      stderr: () => {},
      resolve: () => {},
      reject: () => {},
    };
    const exited = new Promise<ProcessExit>((resolve, reject) => {
      live.resolve = resolve;
      live.reject = reject;
    });
    this.#live.set(id, live);
    this.#setRef(host);
    host.send({ t: 'spawn', id, file, args: [...args] } satisfies HostRequest);
    return {
      onStdout: (listener) => {
        live.stdout = listener;
      },
      onStderr: (listener) => {
        live.stderr = listener;
      },
      exited,
      kill: (signal: NodeJS.Signals = 'SIGTERM') => {
        if (this.#live.has(id) && this.#host === host && host.connected)
          host.send({ t: 'kill', id, signal } satisfies HostRequest);
      },
    };
  }

  /** Stops the host (its running processes are killed with it). */
  close(): void {
    const host = this.#host;
    if (!host) return;
    this.#lost(host, 'the spawn host was closed');
    host.kill('SIGKILL');
  }

  #ensure(): ChildProcess {
    if (this.#host?.connected) return this.#host;
    const host = fork(hostScript(), [], {
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    host.on('message', (message: HostReply) => this.#onReply(message));
    host.on('exit', (code, signal) =>
      this.#lost(host, `the spawn host exited (${signal ?? `code ${code}`})`),
    );
    host.on('error', (error) => this.#lost(host, `the spawn host failed: ${error.message}`));
    this.#host = host;
    return host;
  }

  #onReply(message: HostReply): void {
    const live = this.#live.get(message.id);
    if (!live) return;
    if (message.t === 'pid') {
      live.pid = message.pid;
      return;
    }
    if (message.t === 'out' || message.t === 'err') {
      const bytes = Buffer.from(message.d.buffer, message.d.byteOffset, message.d.byteLength);
      (message.t === 'out' ? live.stdout : live.stderr)(bytes);
      return;
    }
    this.#live.delete(message.id);
    if (message.t === 'exit') live.resolve({ code: message.code, signal: message.signal });
    else live.reject(processError(message.code, message.message));
    if (this.#host) this.#setRef(this.#host);
  }

  /**
   * The host is gone: every process it ran fails, and is killed (its timeout and abort went through the
   * host, so nothing else would stop one that prints nothing).
   */
  #lost(host: ChildProcess, why: string): void {
    if (this.#host !== host) return;
    this.#host = undefined;
    for (const [id, live] of this.#live) {
      this.#live.delete(id);
      if (live.pid !== undefined) {
        try {
          process.kill(live.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      live.reject(processError('SPAWN_HOST_EXITED', `${why} while ${live.file} ran`));
    }
  }

  #setRef(host: ChildProcess): void {
    const channel = host.channel as { ref(): void; unref(): void } | undefined;
    if (this.#live.size > 0) {
      host.ref();
      channel?.ref();
    } else {
      host.unref();
      channel?.unref();
    }
  }
}

/** The process-wide host that `startProcess` uses. */
const shared = new SpawnHost();

/** Starts `file` with `args` (no shell), through the process-wide spawn host or directly. */
export function startProcess(
  file: string,
  args: readonly string[],
  options: { viaHost: boolean },
): RunningProcess {
  if (options.viaHost) return shared.spawn(file, args);
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<ProcessExit>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      // An error after the start (a kill that failed) is not the end of the process.
      if (child.pid === undefined) reject(processError(error.code ?? 'ESPAWN', error.message));
    });
    // 'close': exited and both pipes read to the end.
    child.once('close', (code, signal) => {
      if (child.pid !== undefined) resolve({ code, signal });
    });
  });
  return {
    onStdout: (listener) => child.stdout.on('data', listener),
    onStderr: (listener) => child.stderr.on('data', listener),
    exited,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
