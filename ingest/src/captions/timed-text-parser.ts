/**
 * SubRip and WebVTT cues from a file's lines. Written here rather than taken from npm: of the parsers
 * checked (`subtitle`, `@plussub/srt-vtt-parser`, `subsrt-ts`, `webvtt-parser`), the first stops at the
 * first irregularity with a row count that is not the file's line (and fails on WebVTT STYLE blocks), the
 * next two report no error at all (a broken time line silently loses its cue), and the last is a strict
 * WebVTT validator that reads no SubRip. None both tolerates real files and says which line is wrong.
 *
 * One block grammar serves both formats; what is tolerated and what is not:
 * - tolerated: no blank line between cues (a time line starts the next cue; a cue number just before it
 *   is not text), missing or wrong cue numbers, any cue identifier, text before the first cue, a stray
 *   number at the end, CRLF or CR line ends (split by the caller), WebVTT's header, NOTE, STYLE and REGION
 *   blocks and cue settings; in SubRip, a text block with no timing after a cue continues that cue (a blank
 *   line inside its text); in WebVTT such a block is ignored, as the spec says.
 * - malformed: a line with '-->' that is not a time line (the message names the line), a cue number
 *   followed by text instead of its time line, a file with no cue at all.
 */
import { type FailAt, hasArrow, parseTimeLine, quote, type RawCue } from './caption-syntax.ts';

const CUE_NUMBER = /^\s*\d+\s*$/;
const WEBVTT_SIGNATURE = /^WEBVTT(?:[ \t].*)?$/;
const WEBVTT_BLOCK = /^(?:NOTE|STYLE|REGION)(?:[ \t].*)?$/;

/** What the parser read: the cues, and the first line that was not part of one (for "no cue" messages). */
export interface TimedTextResult {
  cues: RawCue[];
  firstStray: { line: number; text: string } | undefined;
}

/** The example a message shows for what a time line looks like. */
export function timeLineExample(format: 'srt' | 'webvtt'): string {
  return format === 'srt' ? '00:00:01,000 --> 00:00:02,000' : '00:00:01.000 --> 00:00:02.000';
}

/**
 * Reads the cues of a SubRip (`srt`) or WebVTT (`webvtt`) file. `lines` are the file's lines without
 * their line ends (line n is `lines[n - 1]`); `fail` throws the caller's coded error for a line.
 */
export function parseTimedText(lines: string[], format: 'srt' | 'webvtt', fail: FailAt): TimedTextResult {
  const example = timeLineExample(format);
  const cues: RawCue[] = [];
  let firstStray: TimedTextResult['firstStray'];
  let current: RawCue | undefined;
  let i = 0;

  const blank = (k: number) => (lines[k] ?? '').trim() === '';
  /** Reads the time line at k into a new cue, or fails on a broken one; undefined when it has no arrow. */
  const timing = (k: number): RawCue | undefined => {
    const parsed = parseTimeLine(lines[k]!);
    if (parsed === undefined) return undefined;
    if (!parsed.ok)
      fail(k + 1, `expected a time line like ${example}, found ${quote(lines[k]!)} (${parsed.problem})`);
    // End before start (a resync tool's slip): the words still belong at the start, so the end is clamped.
    return { startMs: parsed.startMs, endMs: Math.max(parsed.startMs, parsed.endMs), lines: [], line: k + 1 };
  };

  if (format === 'webvtt') {
    while (i < lines.length && blank(i)) i++;
    if (i < lines.length && WEBVTT_SIGNATURE.test(lines[i]!.trim())) {
      // The header runs to the first blank line, unless a time line shows the blank line is missing.
      i++;
      while (i < lines.length && !blank(i) && !hasArrow(lines[i]!)) i++;
    }
  }

  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      // A blank line ends the cue's text; in SubRip the next untimed block may still continue it.
      if (current) current = undefined;
      i++;
      continue;
    }
    const cue = timing(i);
    if (cue) {
      // A cue number written on the line before, with no blank line after the previous cue, is not text.
      if (current && current.lines.length > 0 && CUE_NUMBER.test(current.lines[current.lines.length - 1]!))
        current.lines.pop();
      cues.push(cue);
      current = cue;
      i++;
      continue;
    }
    if (current) {
      current.lines.push(line);
      i++;
      continue;
    }
    // Between cues: a block that starts with something other than a time line.
    if (format === 'webvtt' && WEBVTT_BLOCK.test(line.trim())) {
      while (i < lines.length && !blank(i)) i++;
      continue;
    }
    const next = lines[i + 1];
    if (next !== undefined && hasArrow(next)) {
      // A cue number or identifier; the time line after it is read next (and checked there).
      i++;
      continue;
    }
    if (CUE_NUMBER.test(line)) {
      if (next === undefined || next.trim() === '') {
        // A stray number (trailing garbage, or a cue with nothing but its number): nothing to read.
        i++;
        continue;
      }
      fail(
        i + 2,
        `expected a time line like ${example} after cue number ${line.trim()}, found ${quote(next)}`,
      );
    }
    const previous = cues[cues.length - 1];
    if (format === 'srt' && previous) {
      // SubRip: text after a blank line inside a cue's text; it continues that cue.
      current = previous;
      continue;
    }
    // Text before the first cue (SubRip) or a block that is no cue (WebVTT): skipped, line by line so
    // that a time line inside it still starts a cue.
    firstStray ??= { line: i + 1, text: line };
    i++;
  }
  return { cues, firstStray };
}
