/**
 * The one module that runs ffmpeg and ffprobe. fluent-ffmpeg is archived upstream, so every call to it
 * (and every direct spawn) stays here, where it can be swapped for plain `spawn` in one place. Arguments
 * are always passed as an array: no path ever reaches a shell.
 */
import { execFile } from 'node:child_process';

/** Binaries to run: names looked up on PATH, or absolute paths (from config). */
export interface FfmpegBinaries {
  ffmpegPath: string;
  ffprobePath: string;
}

/** What `<binary> -version` said. */
export type BinaryVersion =
  | { ok: true; binary: string; version: string; major: number | undefined }
  | { ok: false; binary: string; problem: string };

/**
 * Runs `<binary> -version` with a timeout and reads the version from its first line, e.g.
 * "ffmpeg version 5.1.6-0+deb12u1 Copyright ..." → "5.1.6-0+deb12u1", major 5.
 */
export function binaryVersion(binary: string, timeoutMs = 10_000): Promise<BinaryVersion> {
  return new Promise((resolve) => {
    execFile(
      binary,
      ['-hide_banner', '-version'],
      { timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const problem =
            code === 'ENOENT'
              ? `${binary} not found${binary.includes('/') ? '' : ' on PATH'}`
              : error.killed
                ? `${binary} -version did not answer within ${timeoutMs} ms`
                : `${binary} -version failed: ${error.message.split('\n')[0]}`;
          resolve({ ok: false, binary, problem });
          return;
        }
        const match = /version\s+(\S+)/.exec(stdout.split('\n')[0] ?? '');
        if (!match?.[1]) {
          resolve({ ok: false, binary, problem: `${binary} -version printed no version: is it ffmpeg?` });
          return;
        }
        const major = /^n?(\d+)\./.exec(match[1]);
        resolve({ ok: true, binary, version: match[1], major: major?.[1] ? Number(major[1]) : undefined });
      },
    );
  });
}
