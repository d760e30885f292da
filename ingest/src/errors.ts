/**
 * Error codes thrown by @reel/ingest as `ReelError(code, message)`. Every message is one line naming the
 * file and the cause; ffmpeg's own words, when there are any, go in `details.stderr`, never in a stack
 * trace shown to a person.
 */
import { isInputFault, ReelError } from '@reel/infra';

export const IngestErrorCode = {
  /** The file does not exist (or a folder on its path does not). */
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  /** The file has 0 bytes. */
  EMPTY_FILE: 'EMPTY_FILE',
  /** Not a video at all: text, random bytes, a still image, a folder, a device or pipe. */
  NOT_A_VIDEO: 'NOT_A_VIDEO',
  /**
   * A container reel does not read: playlists (HLS, DASH), concat lists, image sequences and any other
   * format that opens further files, or a format outside the closed list in `containers.ts`.
   */
  UNSUPPORTED_CONTAINER: 'UNSUPPORTED_CONTAINER',
  /** A media file with no usable video stream: audio only, or audio plus cover art. */
  NO_VIDEO_STREAM: 'NO_VIDEO_STREAM',
  /** Looks like a video but cannot be read: corrupt or truncated beyond use, no frame decodes, no decoder, no permission. */
  UNREADABLE: 'UNREADABLE',
  /** Longer than the configured limit (`maxVideoSeconds`). */
  TOO_LONG: 'TOO_LONG',
  /** Bigger than a configured limit: pixels per frame (`maxVideoPixels`) or file size (`maxVideoBytes`). */
  TOO_LARGE: 'TOO_LARGE',
  /** ffmpeg failed part-way through decoding; `details.stderr` holds its last stderr lines. */
  DECODE_FAILED: 'DECODE_FAILED',
  /** An ffmpeg or ffprobe call ran past its timeout and was killed (retryable: the machine may be busy). */
  FFMPEG_TIMEOUT: 'FFMPEG_TIMEOUT',
  /** The ffmpeg or ffprobe executable could not be started (not installed, wrong path in config). */
  FFMPEG_NOT_FOUND: 'FFMPEG_NOT_FOUND',
  /** The caller's AbortSignal fired; the ffmpeg process was killed. */
  INGEST_ABORTED: 'INGEST_ABORTED',
  /** Sampling options out of range (count, interval, size, threshold...). */
  INGEST_OPTIONS_INVALID: 'INGEST_OPTIONS_INVALID',
  /**
   * A caption file (or ffmpeg's text of a subtitle track) that is captions but broken: no cue at all, a
   * time line that does not parse, a cue number with no time line. The message names the line.
   */
  CAPTIONS_MALFORMED: 'CAPTIONS_MALFORMED',
  /** A sidecar file that is none of SubRip, WebVTT or ASS/SSA by its content (binary data, another format). */
  CAPTIONS_UNSUPPORTED: 'CAPTIONS_UNSUPPORTED',
  /** A caption file or subtitle track over 5 MiB, or with more cues than allowed (20 000 by default). */
  CAPTIONS_TOO_LARGE: 'CAPTIONS_TOO_LARGE',
  /** ffmpeg could not turn one text subtitle track into WebVTT (no decoder, corrupt packets): that track alone fails. */
  SUBTITLE_TRACK_UNREADABLE: 'SUBTITLE_TRACK_UNREADABLE',
} as const;

export type IngestErrorCode = (typeof IngestErrorCode)[keyof typeof IngestErrorCode];

/**
 * Codes that mean "this input is bad": never retried, and the CLI exits with status 2 on them (the
 * error catalogue's `input` codes among ingest's).
 */
export const INPUT_ERROR_CODES: ReadonlySet<string> = new Set<string>(
  Object.values(IngestErrorCode).filter((code) => isInputFault(code)),
);

/**
 * A {@link ReelError} about `file`: message `<file>: <cause>`, retryable as the error catalogue says
 * (FFMPEG_TIMEOUT, FFMPEG_NOT_FOUND and INGEST_ABORTED: the machine, not the input, is at fault).
 */
export function ingestError(
  code: IngestErrorCode,
  file: string,
  cause: string,
  details?: Record<string, unknown>,
): ReelError {
  return new ReelError(code, `${file}: ${oneLine(cause)}`, details === undefined ? {} : { details });
}

/** Collapses whitespace and newlines so a message stays on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
