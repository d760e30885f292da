/**
 * Reads ffmpeg's stderr as printed with `-loglevel level+info`: each line starts with its level in
 * brackets. Frame commands (see `ffmpeg-args.ts`) log every emitted frame through a labelled `showinfo`
 * or `metadata` filter; everything else is kept only as context for error messages.
 */

/** What one stderr line says. */
export type FfmpegLogLine =
  /** `showinfo@<label>` saw a frame with this timestamp (seconds; NaN when the frame had none). */
  | { kind: 'frame'; label: string; pts: number }
  /** `metadata@<label>` saw a frame (its keys follow on the next lines). */
  | { kind: 'metadata-frame'; label: string; pts: number }
  /** `metadata@<label>` printed a key of the last frame. */
  | { kind: 'metadata'; label: string; key: string; value: string }
  | { kind: 'message'; level: string; text: string };

/** `[<filter or codec> @ 0x…] [<level>] text`, the context being absent on ffmpeg's own lines. */
const LINE =
  /^(?:\[([^\]]+?) @ 0x[0-9a-f]+\] )?\[(trace|debug|verbose|info|warning|error|fatal|panic)\] ?(.*)$/;
const SHOWINFO = /^n:\s*\d+ pts:\s*\S+ pts_time:(\S+)/;
const METADATA_FRAME = /^frame:\d+\s+pts:\s*\S+\s+pts_time:(\S+)/;
const METADATA_KEY = /^([\w.]+)=(.*)$/;

function time(text: string): number {
  const value = Number(text);
  return Number.isFinite(value) ? value : Number.NaN;
}

/** Classifies one line of ffmpeg's stderr. */
export function parseFfmpegLogLine(line: string): FfmpegLogLine {
  const parsed = LINE.exec(line);
  const context = parsed?.[1];
  const level = parsed?.[2] ?? 'info';
  const text = parsed?.[3] ?? line;
  const filter = context ? /^(showinfo|metadata)@(\w+)$/.exec(context) : null;
  if (filter?.[1] === 'showinfo') {
    const frame = SHOWINFO.exec(text);
    if (frame) return { kind: 'frame', label: filter[2]!, pts: time(frame[1]!) };
  } else if (filter?.[1] === 'metadata') {
    const frame = METADATA_FRAME.exec(text);
    if (frame) return { kind: 'metadata-frame', label: filter[2]!, pts: time(frame[1]!) };
    const meta = METADATA_KEY.exec(text);
    if (meta) return { kind: 'metadata', label: filter[2]!, key: meta[1]!, value: meta[2]! };
  }
  return { kind: 'message', level, text: context ? `[${context}] ${text}` : text };
}

/** True for the lines worth showing a person when ffmpeg fails: warnings and errors, not chatter. */
export function isProblemLine(line: FfmpegLogLine): boolean {
  return line.kind === 'message' && ['warning', 'error', 'fatal', 'panic'].includes(line.level);
}
