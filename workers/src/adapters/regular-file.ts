/**
 * Opening a file a stranger named (a server-side path, a path in a record) so that only a regular file
 * is ever read: a FIFO would block the reader forever (a read on it waits for a writer, and ties up one
 * of libuv's few threads while it does), a device may act on open (a tape rewinds) or never end
 * (/dev/zero), a socket or folder cannot be read as a video at all.
 *
 * The check is made on the file actually opened: `lstat` refuses anything but a regular file without
 * opening it, then the file is opened with O_NONBLOCK (a FIFO swapped in meanwhile opens at once instead
 * of waiting) and O_NOFOLLOW (a symlink swapped in is refused), and `fstat` of the open descriptor must
 * show the same regular file (device and inode) that `lstat` saw.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { ReelError } from '@reel/infra';

/** What a path is, in the words of an error message. */
export function kindOf(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Error code for a path that exists but is not a regular file. */
export const NOT_A_REGULAR_FILE = 'NOT_A_REGULAR_FILE';

export interface OpenedFile {
  handle: FileHandle;
  /** fstat of the open descriptor: a regular file. */
  stats: Stats;
}

function refused(name: string, stats: Stats): ReelError {
  return new ReelError(
    NOT_A_REGULAR_FILE,
    `${name}: ${kindOf(stats)}, not a regular file; only regular files are read`,
  );
}

function openError(error: NodeJS.ErrnoException, name: string): ReelError {
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR')
    return new ReelError('FILE_NOT_FOUND', `${name}: no such file`);
  if (error.code === 'ELOOP')
    return new ReelError(NOT_A_REGULAR_FILE, `${name}: a symbolic link, not a regular file`);
  if (error.code === 'EACCES' || error.code === 'EPERM')
    return new ReelError('UNREADABLE', `${name}: permission denied`);
  return new ReelError('UNREADABLE', `${name}: cannot be opened (${error.code ?? error.message})`, {
    cause: error,
  });
}

/**
 * Opens `file` for reading if, and only if, it is a regular file, without following a symlink at its
 * last component (the folders above it are the caller's to check, e.g. with realpath). Throws ReelError
 * NOT_A_REGULAR_FILE, FILE_NOT_FOUND or UNREADABLE; `name` is how messages call the file.
 */
export async function openRegularFile(file: string, name = file): Promise<OpenedFile> {
  let before: Stats;
  try {
    before = await lstat(file);
  } catch (error) {
    throw openError(error as NodeJS.ErrnoException, name);
  }
  if (!before.isFile()) throw refused(name, before);
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    throw openError(error as NodeJS.ErrnoException, name);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw refused(name, stats);
    if (stats.dev !== before.dev || stats.ino !== before.ino)
      throw new ReelError(NOT_A_REGULAR_FILE, `${name}: replaced while it was being opened`);
    return { handle, stats };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
