/**
 * The one module that runs ffmpeg and ffprobe. Arguments are always passed as an array: no path ever
 * reaches a shell.
 *
 * - Per-video runs (ffprobe, the frame command, subtitle tracks) start through `startProcess`
 *   (`spawn-host.ts`): directly, or, with `FfmpegBinaries.viaSpawnHost`, through a small helper process,
 *   because a fork from a worker that holds a model costs about 45 ms of CPU per spawn. Timeouts and
 *   AbortSignals kill them with SIGKILL; output past a cap kills them too.
 * - fluent-ffmpeg builds the frame command's argument list (`FfmpegCommand`: inputs, `-filter_complex`,
 *   output options, outputs) and no longer runs it: its runner spawns by itself, which a spawn host cannot
 *   replace, and ran `ffmpeg -formats` and `-encoders` once per process. fluent-ffmpeg is archived
 *   upstream, so the private `_getArguments` it is read through is fixed; a test pins the list.
 * - ffprobe prints JSON (fluent-ffmpeg's `ffprobe()` parses its default text, which drops nested side
 *   data such as the display matrix).
 * - One-time checks (`-version`, `-encoders`) run through `execFile`, once per binary and process.
 */
import { execFile } from 'node:child_process';
import { ReelError } from '@reel/infra';
import ffmpeg from 'fluent-ffmpeg';
import { IngestErrorCode, ingestError, oneLine } from '../errors.ts';
import type { FfmpegCommandSpec } from '../ffmpeg-args.ts';
import { type ProcessExit, type RunningProcess, startProcess } from './spawn-host.ts';

/** Binaries to run: names looked up on PATH, or absolute paths (from config). */
export interface FfmpegBinaries {
  ffmpegPath: string;
  ffprobePath: string;
  /** Start the per-video runs through the process-wide spawn host (see `spawn-host.ts`). */
  viaSpawnHost?: boolean;
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

/** The error for a process that did not run to its end: it could not start, or its spawn host died. */
function startError(error: NodeJS.ErrnoException, options: ProcessOptions, binary: string): ReelError {
  const code = error.code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENOEXEC')
    return notFoundError(options.file, binary);
  // The machine failed, not the video: retried.
  return new ReelError('INTERNAL', `${options.file}: cannot run ${binary}: ${error.message}`, {
    retryable: true,
  });
}

/** Why a run was killed before it ended by itself. */
type StopReason = 'timeout' | 'abort' | 'overflow';

/**
 * Kills `run` with SIGKILL on the timeout, on an abort and on `stop(…)`; `done()` clears the watch.
 * The first reason wins.
 */
function watchRun(
  run: { kill(signal?: NodeJS.Signals): void },
  options: ProcessOptions,
): { reason(): StopReason | undefined; stop(why: StopReason): void; done(): void } {
  let reason: StopReason | undefined;
  const stop = (why: StopReason) => {
    reason ??= why;
    run.kill('SIGKILL');
  };
  const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
  const onAbort = () => stop('abort');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    reason: () => reason,
    stop,
    done: () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** Starts a per-video run (directly or through the spawn host, as the binaries say) under its watch. */
function startWatched(
  binary: string,
  args: readonly string[],
  options: ProcessOptions,
): { run: RunningProcess; watch: ReturnType<typeof watchRun> } {
  if (options.signal?.aborted) throw abortedError(options.file);
  const run = startProcess(binary, args, { viaHost: options.binaries.viaSpawnHost === true });
  return { run, watch: watchRun(run, options) };
}

/**
 * The exit of a watched run; throws when it could not start, timed out or was aborted (an overflow is
 * the caller's to report).
 */
async function endOf(
  run: RunningProcess,
  watch: ReturnType<typeof watchRun>,
  options: ProcessOptions,
  binary: string,
): Promise<ProcessExit> {
  let exit: ProcessExit;
  try {
    exit = await run.exited;
  } catch (error) {
    throw startError(error as NodeJS.ErrnoException, options, binary);
  } finally {
    watch.done();
  }
  const reason = watch.reason();
  if (reason === 'abort') throw abortedError(options.file);
  if (reason === 'timeout') throw timeoutError(options.file, binary, options.timeoutMs);
  return exit;
}

/** A run whose whole output is wanted at once (ffprobe's JSON, a subtitle track's text). */
interface CollectedRun {
  exit: ProcessExit;
  stdout: Buffer;
  stderr: string;
  /** stdout or stderr passed the cap, and the process was killed. */
  overflow: boolean;
}

/**
 * Runs `binary` to its end and keeps its output, up to `maxBytes` of each stream (past it the process is
 * killed and `overflow` set). A binary that cannot start, a timeout and an abort throw.
 */
async function runCollected(
  binary: string,
  args: readonly string[],
  options: ProcessOptions,
  maxBytes: number,
): Promise<CollectedRun> {
  const { run, watch } = startWatched(binary, args, options);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outBytes = 0;
  let errBytes = 0;
  run.onStdout((chunk) => {
    outBytes += chunk.length;
    if (outBytes > maxBytes) watch.stop('overflow');
    else out.push(chunk);
  });
  run.onStderr((chunk) => {
    errBytes += chunk.length;
    if (errBytes > maxBytes) watch.stop('overflow');
    else err.push(chunk);
  });
  const exit = await endOf(run, watch, options, binary);
  const reason = watch.reason();
  return {
    exit,
    stdout: Buffer.concat(out),
    stderr: Buffer.concat(err).toString('utf8'),
    overflow: reason === 'overflow',
  };
}

/** "ffmpeg exited with code 1", "ffprobe was killed with signal SIGSEGV" (fluent-ffmpeg's words). */
function exitProblem(binary: string, exit: ProcessExit): string {
  const name = binary.split('/').at(-1) ?? binary;
  return exit.signal
    ? `${name} was killed with signal ${exit.signal}`
    : `${name} exited with code ${exit.code}`;
}

/**
 * Runs ffprobe with `args` (built by `ffmpeg-args.ts`) and parses its JSON. A non-zero exit is returned
 * with ffprobe's stderr for the caller to classify; a missing binary, a timeout or an abort throw.
 */
export async function runFfprobe(args: string[], options: ProcessOptions): Promise<FfprobeResult> {
  const binary = options.binaries.ffprobePath;
  const run = await runCollected(binary, args, options, FFPROBE_MAX_BYTES);
  if (run.overflow)
    return { ok: false, stderr: `${binary} printed more than ${FFPROBE_MAX_BYTES >> 20} MiB` };
  if (run.exit.code !== 0) return { ok: false, stderr: run.stderr || exitProblem(binary, run.exit) };
  const stdout = run.stdout.toString('utf8');
  try {
    return { ok: true, json: JSON.parse(stdout) };
  } catch {
    return { ok: false, stderr: `${binary} printed invalid JSON: ${stdout.slice(0, 200)}` };
  }
}

/** ffprobe's JSON (and stderr) past this kills it: a file that makes it print without end. */
const FFPROBE_MAX_BYTES = 256 * 1024 * 1024;

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

/** fluent-ffmpeg's command builder, read through the list it would run (see the module's comment). */
interface ArgumentBuilder {
  _getArguments(): string[];
}

/**
 * The frame command's argument list (see `ffmpeg-args.ts`), as fluent-ffmpeg assembles it: each input's
 * options then `-i <source>`, `-y` when an output is a file, the filter graph, then each output's options
 * then its target (stdout is `pipe:1`).
 */
export function frameCommandArgs(spec: FfmpegCommandSpec): string[] {
  const command = ffmpeg();
  for (const input of spec.inputs) {
    command.input(input.source);
    // Several arguments at once: fluent-ffmpeg then never splits an option on a space.
    if (input.options.length > 0) command.inputOptions(...(input.options as [string, ...string[]]));
  }
  command.complexFilter(spec.filterComplex);
  command.output('pipe:1');
  command.outputOptions(...(spec.output as [string, ...string[]]));
  // The preview images: a second output, with its own options after it (fluent-ffmpeg applies
  // outputOptions to the output named last).
  if (spec.preview) {
    command.output(spec.preview.target);
    command.outputOptions(...(spec.preview.output as [string, ...string[]]));
  }
  return (command as unknown as ArgumentBuilder)._getArguments();
}

/** Splits a stream of text into lines (`\n`, `\r\n` or a lone `\r`, as ffmpeg's progress uses). */
function lineSplitter(onLine: (line: string) => void): { write(chunk: Buffer): void; end(): void } {
  let rest = '';
  return {
    write(chunk) {
      const lines = (rest + chunk.toString('utf8')).split(/\r\n|\r|\n/);
      rest = lines.pop() ?? '';
      for (const line of lines) if (line !== '') onLine(line);
    },
    end() {
      if (rest !== '') onLine(rest);
      rest = '';
    },
  };
}

/**
 * Runs one frame command (see `ffmpeg-args.ts`) and cuts its stdout into frames of `frameBytes` as they
 * arrive: memory holds one partial frame plus whatever the caller keeps.
 */
export async function runFrameCommand(
  spec: FfmpegCommandSpec,
  options: FrameRunOptions,
): Promise<FrameRunResult> {
  const binary = options.binaries.ffmpegPath;
  const { run, watch } = startWatched(binary, frameCommandArgs(spec), options);
  let pending = new Uint8Array(options.frameBytes);
  let filled = 0;
  run.onStdout((chunk) => {
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
  });
  const lines = lineSplitter(options.onStderrLine);
  run.onStderr((chunk) => lines.write(chunk));
  const exit = await endOf(run, watch, options, binary);
  lines.end();
  const ok = exit.code === 0;
  return { ok, problem: ok ? undefined : exitProblem(binary, exit), trailingBytes: filled };
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
 * `captions/subtitle-args.ts`), collected like ffprobe's: the whole output is small and wanted at
 * once. Output past `maxOutputBytes` kills ffmpeg (SIGKILL) and is reported as `too-large`; so is a
 * stderr past that size (a file that makes ffmpeg complain without end). A non-zero exit is returned with
 * ffmpeg's stderr; a missing binary, a timeout or an abort throw, as for ffprobe.
 */
export async function runSubtitleExtract(
  args: string[],
  options: ProcessOptions & { maxOutputBytes: number },
): Promise<SubtitleExtractResult> {
  const binary = options.binaries.ffmpegPath;
  const run = await runCollected(binary, args, options, options.maxOutputBytes);
  if (run.overflow) return { ok: false, reason: 'too-large', stderr: run.stderr.slice(0, 4000) };
  if (run.exit.code !== 0)
    return { ok: false, reason: 'failed', stderr: run.stderr || exitProblem(binary, run.exit) };
  const output = run.stdout;
  return {
    ok: true,
    output: new Uint8Array(output.buffer, output.byteOffset, output.length),
    stderr: run.stderr,
  };
}
