/**
 * Line-level syntax of SubRip, WebVTT and ASS/SSA: cue timing lines and time stamps, parsed tolerantly
 * but never guessed. What is tolerated (real files have all of it): '.' or ',' before the milliseconds, 1-3
 * fraction digits (read as a decimal fraction: ",5" is half a second), no fraction, no hours, more than two
 * dashes in the arrow, anything after the end time (WebVTT cue settings, SubRip's X1:… coordinates). What is
 * not: an arrow with times that do not parse, or minutes or seconds of 60 and more.
 */

/** A time stamp: [hours:]minutes:seconds[.,fraction]. */
const TIME = String.raw`(?:(\d{1,6}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?`;
const TIME_LINE = new RegExp(String.raw`^\s*${TIME}\s*-{2,}>\s*${TIME}(?:\s.*)?$`);
/** ASS/SSA's H:MM:SS.cc (centiseconds), tolerating one to three fraction digits. */
const ASS_TIME = /^\s*(\d{1,6}):(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?\s*$/;

/** A parsed time line, or why a line with an arrow is not one. */
export type TimeLine = { ok: true; startMs: number; endMs: number } | { ok: false; problem: string };

/** Milliseconds of h:m:s.fraction, or a problem when minutes or seconds are out of range. */
function toMs(
  h: string | undefined,
  m: string,
  s: string,
  fraction: string | undefined,
  written: string,
): number | string {
  const minutes = Number(m);
  const secs = Number(s);
  if (minutes >= 60) return `minutes must be below 60 in ${written}`;
  if (secs >= 60) return `seconds must be below 60 in ${written}`;
  const ms = fraction === undefined ? 0 : Number(fraction.padEnd(3, '0'));
  return ((Number(h ?? 0) * 60 + minutes) * 60 + secs) * 1000 + ms;
}

/** Two full time stamps with a short separator between them: a time line with a wrong arrow ("->", "=>"). */
const TWO_TIMES =
  /^\s*(?:\d{1,6}:)?\d{1,2}:\d{1,2}[.,]\d{1,3}\s*[^\d\s]{1,4}\s*(?:\d{1,6}:)?\d{1,2}:\d{1,2}[.,]\d{1,3}(?:\s.*)?$/;

/**
 * True for a line that means to be a cue's timing: it holds the arrow '-->', or two full time stamps
 * around a wrong arrow ("00:00:01,000 -> 00:00:02,000"), which would otherwise pass for text.
 */
export function hasArrow(line: string): boolean {
  return line.includes('-->') || TWO_TIMES.test(line);
}

/**
 * Reads a SubRip/WebVTT timing line ("00:00:01,000 --> 00:00:02,500 align:start"). Undefined when the
 * line has no arrow (it is text); `ok: false` when it has one but is not a timing line.
 */
export function parseTimeLine(line: string): TimeLine | undefined {
  if (!hasArrow(line)) return undefined;
  const m = TIME_LINE.exec(line);
  if (!m) return { ok: false, problem: 'not a time line' };
  const [start, end] = line.split(/-{2,}>/).map((part) => `'${part.trim().split(/\s/)[0]}'`);
  const startMs = toMs(m[1], m[2]!, m[3]!, m[4], start!);
  if (typeof startMs === 'string') return { ok: false, problem: startMs };
  const endMs = toMs(m[5], m[6]!, m[7]!, m[8], end!);
  if (typeof endMs === 'string') return { ok: false, problem: endMs };
  return { ok: true, startMs, endMs };
}

/** Reads an ASS/SSA time ("0:00:01.50"): milliseconds, or a problem. */
export function parseAssTime(value: string): number | string {
  const m = ASS_TIME.exec(value);
  if (!m) return `expected a time like 0:00:01.00, found '${value.trim()}'`;
  return toMs(m[1], m[2]!, m[3]!, m[4], `'${value.trim()}'`);
}

/** A cue as read from the file, before its text is cleaned. */
export interface RawCue {
  startMs: number;
  endMs: number;
  /** The cue's text lines as written (markup included). */
  lines: string[];
  /** 1-based line of its timing. */
  line: number;
}

/** Throws the coded "malformed" error for `line` (1-based); built by the caller, who knows the file. */
export type FailAt = (line: number, what: string) => never;

/** A line quoted for a message: trimmed, at most 60 characters. */
export function quote(line: string): string {
  const t = line.trim();
  return `'${t.length > 60 ? `${t.slice(0, 57)}...` : t}'`;
}
