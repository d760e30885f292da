/**
 * The spawn host's own process (see `spawn-host.ts`): a bare Node with no modules of reel loaded, which
 * starts the processes its parent asks for over the IPC channel and relays their output back. It holds
 * some 50 MB, so each fork it makes copies little; the worker that asks holds a model and would copy
 * a gigabyte of page tables per fork.
 *
 * Messages are the types in `spawn-host.ts` (advanced serialization, so output travels as bytes). When
 * the parent goes away (its channel closes), every child is killed and this process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { HostReply, HostRequest } from './spawn-host.ts';

const children = new Map<number, ChildProcess>();

function reply(message: HostReply): void {
  // A parent that is gone cannot be told; the 'disconnect' handler below cleans up.
  if (process.connected) process.send?.(message);
}

function start(id: number, file: string, args: string[]): void {
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    reply({ id, t: 'fail', code: e.code ?? 'ESPAWN', message: e.message });
    return;
  }
  children.set(id, child);
  if (child.pid !== undefined) reply({ id, t: 'pid', pid: child.pid });
  let failed = false;
  child.on('error', (error: NodeJS.ErrnoException) => {
    // ENOENT and the like: the process never ran. A kill that fails is not worth a reply.
    if (child.pid !== undefined) return;
    failed = true;
    children.delete(id);
    reply({ id, t: 'fail', code: error.code ?? 'ESPAWN', message: error.message });
  });
  child.stdout?.on('data', (data: Buffer) => reply({ id, t: 'out', d: data }));
  child.stderr?.on('data', (data: Buffer) => reply({ id, t: 'err', d: data }));
  // 'close': the process exited and its pipes were read to the end, so no output follows the exit.
  child.on('close', (code, signal) => {
    children.delete(id);
    if (!failed) reply({ id, t: 'exit', code, signal });
  });
}

process.on('message', (message: HostRequest) => {
  if (message.t === 'spawn') start(message.id, message.file, message.args);
  else if (message.t === 'kill') children.get(message.id)?.kill(message.signal);
});

process.on('disconnect', () => {
  for (const child of children.values()) child.kill('SIGKILL');
  process.exit(0);
});
