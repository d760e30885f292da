/**
 * The one module that runs ffmpeg and ffprobe. fluent-ffmpeg is archived upstream, so every call to it
 * (and every direct spawn) stays here, where it can be swapped for plain `spawn` in one place. Arguments
 * are always passed as an array: no path ever reaches a shell.
 *
 * Which runner does what, and why:
 * - ffmpeg frame commands go through fluent-ffmpeg (`FfmpegCommand`: inputs, `-filter_complex`, output
 *   options, stdout streamed into a sink). It exposes the child, so a timeout or an AbortSignal kills it
 *   with SIGKILL. Its binary path is a process-wide setting (one ffmpeg per process, as configured), and
 *   its first run in a process also runs `ffmpeg -formats` and `-encoders` once to check capabilities.
 * - ffprobe goes through `execFile`. fluent-ffmpeg's `ffprobe()` spawns a child it never exposes (it could
 *   not be killed on a timeout) and parses ffprobe's default text output (it drops nested side data such
 *   as the display matrix); here ffprobe prints JSON and is killed when it overruns.
 */
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import type { ReelError } from '@reel/infra';
import ffmpeg from 'fluent-ffmpeg';
import { IngestErrorCode, ingestError, oneLine } from '../errors.ts';
import type { FfmpegCommandSpec } from '../ffmpeg-args.ts';

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

/** What each ffmpeg binary said of its encoders, per path (asked once per process). */
const encoderLists = new Map<string, Promise<Set<string>>>();

/**
 * Whether `binary` (ffmpeg) can encode with `encoder` (e.g. `libwebp`), from `ffmpeg -encoders`, asked
 * once per binary and process. A binary that cannot say (does not run, times out) has none: the caller
 * takes its fallback, and the real run reports a binary that cannot start.
 */
export function hasEncoder(binary: string, encoder: string, timeoutMs = 10_000): Promise<boolean> {
  let list = encoderLists.get(binary);
  if (!list) {
    list = new Promise((resolve) => {
      execFile(
        binary,
        ['-hide_banner', '-encoders'],
        { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20 },
        (error, stdout) => {
          if (error) encoderLists.delete(binary);
          // Lines such as " V....D libwebp              libwebp WebP image (codec webp)".
          const names = error
            ? []
            : stdout.split('\n').flatMap((line) => /^\s*[VAS][.A-Z]{5}\s+(\S+)/.exec(line)?.[1] ?? []);
          resolve(new Set(names));
        },
      );
    });
    encoderLists.set(binary, list);
  }
  return list.then((names) => names.has(encoder));
}

/** Limits and cancellation shared by every call. */
export interface ProcessOptions {
  binaries: FfmpegBinaries;
  /** Kill the process (SIGKILL) after this many milliseconds. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** The video, for error messages. */
  file: string;
}

/** ffprobe's answer: its JSON on success, its stderr otherwise. */
export type FfprobeResult = { ok: true; json: unknown } | { ok: false; stderr: string };

function abortedError(file: string): ReelError {
  return ingestError(IngestErrorCode.INGEST_ABORTED, file, 'stopped: the caller cancelled');
}

function timeoutError(file: string, binary: string, timeoutMs: number): ReelError {
  return ingestError(
    IngestErrorCode.FFMPEG_TIMEOUT,
    file,
    `${binary} did not finish within ${timeoutMs / 1000} s and was killed`,
  );
}

function notFoundError(file: string, binary: string): ReelError {
  return ingestError(
    IngestErrorCode.FFMPEG_NOT_FOUND,
    file,
    `cannot run ${binary}: not found${binary.includes('/') ? '' : ' on PATH'} or not executable (set REEL_FFMPEG_PATH / REEL_FFPROBE_PATH)`,
  );
}

/** What stops an `execFile` run of ffprobe or ffmpeg whatever it was for: a binary that cannot run, an abort. */
function runStopped(error: Error, options: ProcessOptions, binary: string): ReelError | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENOEXEC')
    return notFoundError(options.file, binary);
  if (code === 'ABORT_ERR' || options.signal?.aborted) return abortedError(options.file);
  return undefined;
}

/**
 * Runs ffprobe with `args` (built by `ffmpeg-args.ts`) and parses its JSON. A non-zero exit is returned
 * with ffprobe's stderr for the caller to classify; a missing binary, a timeout or an abort throw.
 */
export function runFfprobe(args: string[], options: ProcessOptions): Promise<FfprobeResult> {
  const binary = options.binaries.ffprobePath;
  if (options.signal?.aborted) return Promise.reject(abortedError(options.file));
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      {
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 256 * 1024 * 1024,
        signal: options.signal,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error) {
          const stopped = runStopped(error, options, binary);
          if (stopped) return reject(stopped);
          if (error.killed || error.signal === 'SIGKILL') {
            return reject(timeoutError(options.file, binary, options.timeoutMs));
          }
          return resolve({ ok: false, stderr: stderr || error.message });
        }
        try {
          resolve({ ok: true, json: JSON.parse(stdout) });
        } catch {
          resolve({ ok: false, stderr: `${binary} printed invalid JSON: ${stdout.slice(0, 200)}` });
        }
      },
    );
  });
}

/** Callbacks and sizes of one frame-producing ffmpeg run. */
export interface FrameRunOptions extends ProcessOptions {
  /** Bytes of one raw frame on stdout (width × height × 3 for rgb24). */
  frameBytes: number;
  /** Each complete frame, in output order. The array is the caller's to keep. */
  onFrame: (data: Uint8Array) => void;
  /** Each stderr line, as printed. */
  onStderrLine: (line: string) => void;
}

/** How a frame run ended (a missing binary, a timeout or an abort throw instead). */
export interface FrameRunResult {
  /** False when ffmpeg exited with an error status. */
  ok: boolean;
  /** ffmpeg's exit problem when not ok (e.g. "ffmpeg exited with code 1"). */
  problem: string | undefined;
  /** Bytes left over that did not make a whole frame (0 unless ffmpeg died mid-frame). */
  trailingBytes: number;
}

/** Binaries already known to start, per path (checked once per process). */
const startable = new Map<string, Promise<boolean>>();

/**
 * fluent-ffmpeg crashes the process (a TypeError in its exit handler) when the ffmpeg it spawns does not
 * exist, so a binary is checked once with `-version` before fluent-ffmpeg may run it.
 */
function canStart(binary: string, timeoutMs: number): Promise<boolean> {
  let known = startable.get(binary);
  if (!known) {
    // Only failures to start count: a binary that runs but answers oddly is left to the real call.
    known = binaryVersion(binary, timeoutMs).then(
      (v) => v.ok || !/not found|ENOENT|EACCES|EPERM|ENOEXEC/.test(v.problem),
    );
    startable.set(binary, known);
  }
  return known;
}

/**
 * Runs one frame command (see `ffmpeg-args.ts`) through fluent-ffmpeg and cuts its stdout into frames of
 * `frameBytes` as they arrive: memory holds one partial frame plus whatever the caller keeps.
 */
export async function runFrameCommand(
  spec: FfmpegCommandSpec,
  options: FrameRunOptions,
): Promise<FrameRunResult> {
  const binary = options.binaries.ffmpegPath;
  if (!(await canStart(binary, options.timeoutMs))) {
    startable.delete(binary);
    throw notFoundError(options.file, binary);
  }
  if (options.signal?.aborted) throw abortedError(options.file);
  return new Promise((resolve, reject) => {
    let pending = new Uint8Array(options.frameBytes);
    let filled = 0;
    const sink = new Writable({
      emitClose: false,
      write(chunk: Buffer, _encoding, callback) {
        let offset = 0;
        while (offset < chunk.length) {
          const take = Math.min(chunk.length - offset, options.frameBytes - filled);
          pending.set(chunk.subarray(offset, offset + take), filled);
          filled += take;
          offset += take;
          if (filled === options.frameBytes) {
            options.onFrame(pending);
            pending = new Uint8Array(options.frameBytes);
            filled = 0;
          }
        }
        callback();
      },
    });

    let stopReason: 'timeout' | 'abort' | undefined;
    let exit: { error: Error | undefined } | undefined;
    let sinkDone = false;
    let started = false;
    let settled = false;

    const command = ffmpeg({ stdoutLines: 50 });
    // Before 'start' there is no process yet: the 'start' handler kills it as soon as it exists.
    const kill = () => {
      if (started && !exit) command.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      stopReason ??= 'timeout';
      kill();
    }, options.timeoutMs);
    const onAbort = () => {
      stopReason ??= 'abort';
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = () => {
      // Wait for the last bytes of stdout too, unless ffmpeg never started (then stdout never ends).
      if (settled || !exit || !(sinkDone || !started)) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (stopReason === 'abort') return reject(abortedError(options.file));
      if (stopReason === 'timeout') return reject(timeoutError(options.file, binary, options.timeoutMs));
      const error = exit.error;
      if ((error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
        return reject(notFoundError(options.file, binary));
      }
      resolve({
        ok: error === undefined,
        problem: error?.message.split('\n')[0]?.split(': ')[0],
        trailingBytes: filled,
      });
    };

    sink.on('finish', () => {
      sinkDone = true;
      finish();
    });
    command.setFfmpegPath(binary);
    for (const input of spec.inputs) {
      command.input(input.source);
      // Several arguments at once: fluent-ffmpeg then never splits an option on a space.
      if (input.options.length > 0) command.inputOptions(...(input.options as [string, ...string[]]));
    }
    command.complexFilter(spec.filterComplex);
    command.outputOptions(...(spec.output as [string, ...string[]]));
    command.on('start', () => {
      started = true;
      if (stopReason) kill();
    });
    command.on('stderr', (line: string) => options.onStderrLine(line));
    command.on('error', (error: Error) => {
      exit = { error };
      finish();
    });
    command.on('end', () => {
      exit = { error: undefined };
      finish();
    });
    command.output(sink, { end: true });
    // The preview's numbered PNGs: a second output, with its own options after it (fluent-ffmpeg applies
    // outputOptions to the output named last).
    if (spec.preview) {
      command.output(spec.preview.target);
      command.outputOptions(...(spec.preview.output as [string, ...string[]]));
    }
    command.run();
  });
}

/** Renders a generated video (arguments from `colourVideoArgs`); throws DECODE_FAILED with ffmpeg's stderr. */
export function renderVideo(args: string[], options: ProcessOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      options.binaries.ffmpegPath,
      args,
      { timeout: options.timeoutMs, killSignal: 'SIGKILL', signal: options.signal },
      (error, _stdout, stderr) => {
        if (!error) resolve();
        else if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          reject(notFoundError(options.file, options.binaries.ffmpegPath));
        else
          reject(
            ingestError(
              IngestErrorCode.DECODE_FAILED,
              options.file,
              `ffmpeg could not render it: ${oneLine(String(stderr)).slice(0, 300)}`,
            ),
          );
      },
    );
  });
}

/** How a subtitle extraction ended (a missing binary, a timeout or an abort throw instead). */
export type SubtitleExtractResult =
  /** ffmpeg exited 0: its stdout (the track as text) and whatever it warned about. */
  | { ok: true; output: Uint8Array; stderr: string }
  /** ffmpeg failed: its stderr, for the caller to quote. */
  | { ok: false; reason: 'failed'; stderr: string }
  /** The track's text passed `maxOutputBytes` and ffmpeg was killed. */
  | { ok: false; reason: 'too-large'; stderr: string };

/**
 * Runs one ffmpeg that writes a subtitle track as text on stdout (arguments from
 * `captions/subtitle-args.ts`), through `execFile` like ffprobe: the whole output is small and wanted at
 * once. Output past `maxOutputBytes` kills ffmpeg (SIGKILL) and is reported as `too-large`; so is a
 * stderr past that size (a file that makes ffmpeg complain without end). A non-zero exit is returned with
 * ffmpeg's stderr; a missing binary, a timeout or an abort throw, as for ffprobe.
 */
export function runSubtitleExtract(
  args: string[],
  options: ProcessOptions & { maxOutputBytes: number },
): Promise<SubtitleExtractResult> {
  const binary = options.binaries.ffmpegPath;
  if (options.signal?.aborted) return Promise.reject(abortedError(options.file));
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      {
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        // One byte over the cap is enough to know the track is too large.
        maxBuffer: options.maxOutputBytes + 1,
        signal: options.signal,
        encoding: 'buffer',
      },
      (error, stdout, stderrBytes) => {
        const stderr = stderrBytes.toString('utf8');
        if (error) {
          const stopped = runStopped(error, options, binary);
          if (stopped) return reject(stopped);
          if ((error as NodeJS.ErrnoException).code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
            return resolve({ ok: false, reason: 'too-large', stderr: stderr.slice(0, 4000) });
          }
          if (error.killed || error.signal === 'SIGKILL') {
            return reject(timeoutError(options.file, binary, options.timeoutMs));
          }
          return resolve({ ok: false, reason: 'failed', stderr: stderr || error.message });
        }
        resolve({
          ok: true,
          output: new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.length),
          stderr,
        });
      },
    );
  });
}
