/**
 * openRegularFile and hashFile on the real file system: only a regular file is ever opened for reading,
 * and a FIFO, a device, a socket, a folder or a symlink is refused at once (a FIFO opened the old way
 * blocked its reader forever).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRegularFile } from '../src/adapters/regular-file.ts';
import { hashFile } from '../src/video-identity.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'reel-regular-'));
const at = (name: string) => path.join(dir, name);

describe('openRegularFile', () => {
  it('opens a regular file and reports its size', async () => {
    writeFileSync(at('a.mp4'), 'hello');
    const { handle, stats } = await openRegularFile(at('a.mp4'), 'a.mp4');
    expect(stats.size).toBe(5);
    expect((await handle.readFile()).toString()).toBe('hello');
    await handle.close();
  });

  it('refuses a FIFO, a device, a socket, a folder and a symlink without blocking', async () => {
    execFileSync('mkfifo', [at('pipe.mp4')]);
    mkdirSync(at('folder.mp4'));
    symlinkSync(at('a.mp4'), at('link.mp4'));
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(at('socket.mp4'), resolve));
    try {
      for (const [file, kind] of [
        [at('pipe.mp4'), 'a FIFO (named pipe)'],
        ['/dev/null', 'a character device'],
        [at('socket.mp4'), 'a socket'],
        [at('folder.mp4'), 'a folder'],
        [at('link.mp4'), 'a symbolic link'],
      ] as const) {
        await expect(openRegularFile(file, 'x.mp4'), file).rejects.toMatchObject({
          code: 'NOT_A_REGULAR_FILE',
          message: `x.mp4: ${kind}, not a regular file; only regular files are read`,
        });
      }
      await expect(openRegularFile(at('missing.mp4'), 'missing.mp4')).rejects.toMatchObject({
        code: 'FILE_NOT_FOUND',
      });
    } finally {
      server.close();
    }
  });

  it('hashFile follows a symlink the caller named to a regular file, and refuses one to a FIFO', async () => {
    symlinkSync(at('pipe.mp4'), at('to-pipe.mp4'));
    expect((await hashFile(at('link.mp4'))).sizeBytes).toBe(5);
    const started = Date.now();
    await expect(hashFile(at('to-pipe.mp4'), { name: 'clip.mp4' })).rejects.toMatchObject({
      code: 'NOT_A_REGULAR_FILE',
      message: 'clip.mp4: a FIFO (named pipe), not a regular file; only regular files are read',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
