/**
 * `parseCaptionFile`: the bytes of a caption file (a sidecar uploaded beside a video, or ffmpeg's text of a
 * subtitle track) to timed, cleaned cues. Steps: size limit, text encoding (`text-encoding.ts`), binary
 * check, format by content (a WEBVTT signature, an ASS `[Script Info]`/`[Events]` section, a SubRip time
 * line; the extension decides only between SubRip and WebVTT for a file that is neither by its first line,
 * or names the format of a text file with no cue at all), cues (`timed-text-parser.ts`, `ass-parser.ts`),
 * texts cleaned (`cue-text.ts`), cues with no text left dropped, time order, exact duplicates dropped (ASS
 * draws one line several times for outlines and shadows).
 *
 * Times: an end before its start is clamped to the start (a zero-length cue: the words still belong at
 * that moment); every other problem with a time line is CAPTIONS_MALFORMED, naming the line.
 */
import type { ReelError } from '@reel/infra';
import { IngestErrorCode, ingestError } from '../errors.ts';
import { parseAss } from './ass-parser.ts';
import { type FailAt, parseTimeLine, quote, type RawCue } from './caption-syntax.ts';
import type { CaptionFormat, Cue } from './caption-types.ts';
import { cleanCueText } from './cue-text.ts';
import { decodeCaptionBytes } from './text-encoding.ts';
import { parseTimedText, timeLineExample } from './timed-text-parser.ts';

/** Largest caption file (and subtitle track text) reel reads: 5 MiB. */
export const CAPTION_MAX_BYTES = 5 * 1024 * 1024;
/** Most cues one file or track may hold, by default. */
export const DEFAULT_MAX_CUES = 20_000;

/** What {@link parseCaptionFile} found. */
export interface ParsedCaptions {
  format: CaptionFormat;
  /** WHATWG name of the text encoding the bytes were decoded with ('utf-8', 'windows-1252', 'shift_jis'…). */
  encoding: string;
  cues: Cue[];
}

/** Options of {@link parseCaptionFile}. */
export interface CaptionParseOptions {
  /** More cues than this is CAPTIONS_TOO_LARGE (default {@link DEFAULT_MAX_CUES}). */
  maxCues?: number;
}

/** Options for reading ffmpeg's text of an embedded track (not part of the public API). */
export interface CaptionBytesOptions extends CaptionParseOptions {
  /** A track with no cue is an empty track, not a malformed file. */
  allowEmpty?: boolean;
  /** Parse as this format whatever the content says. */
  format?: CaptionFormat;
}

const EXTENSION_FORMATS: Readonly<Record<string, CaptionFormat>> = {
  srt: 'srt',
  vtt: 'webvtt',
  webvtt: 'webvtt',
  ass: 'ass',
  ssa: 'ass',
};
const SNIFF_CHARS = 64 * 1024;

function extensionOf(name: string): CaptionFormat | undefined {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? undefined : EXTENSION_FORMATS[name.slice(dot + 1).toLowerCase()];
}

/** A control character that never appears in text (tab, line ends and form feed excepted), C1 included. */
function isControl(code: number): boolean {
  return (
    (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d) ||
    (code >= 0x7f && code <= 0x9f)
  );
}

/** True when decoded "text" is binary data: any NUL, or more than 1 % control characters. */
function looksBinary(text: string): boolean {
  const n = Math.min(text.length, SNIFF_CHARS);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) return true;
    if (isControl(code)) controls++;
  }
  return controls > Math.max(2, n / 100);
}

/** The format by content, then by extension; undefined when neither says. */
function formatOf(lines: string[], name: string): CaptionFormat | undefined {
  const byName = extensionOf(name);
  const first = lines.find((l) => l.trim() !== '')?.trim() ?? '';
  if (/^WEBVTT(?:[ \t].*)?$/.test(first)) return 'webvtt';
  if (/^\[Script Info\]$/i.test(first)) return 'ass';
  for (const line of lines) {
    if (/^\s*\[(?:V4\+? Styles|Events)\]\s*$/i.test(line)) return 'ass';
    const timing = parseTimeLine(line);
    if (timing?.ok) return byName === 'webvtt' ? 'webvtt' : 'srt';
  }
  // No timing anywhere: a text file named as captions is a broken one of that format.
  return byName;
}

function dedupeInOrder(cues: Cue[]): Cue[] {
  const sorted = cues
    .map((cue, i) => ({ cue, i }))
    .sort((a, b) => a.cue.start - b.cue.start || a.cue.end - b.cue.end || a.i - b.i);
  const seen = new Set<string>();
  const out: Cue[] = [];
  for (const { cue } of sorted) {
    const key = `${cue.start}|${cue.end}|${cue.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(cue);
  }
  return out;
}

function tooLarge(name: string, cause: string): ReelError {
  return ingestError(IngestErrorCode.CAPTIONS_TOO_LARGE, name, cause);
}

/**
 * {@link parseCaptionFile} with the options the embedded-track reader needs too (`allowEmpty`, a forced
 * `format`). Throws CAPTIONS_MALFORMED, CAPTIONS_UNSUPPORTED or CAPTIONS_TOO_LARGE.
 */
export function parseCaptionBytes(
  bytes: Uint8Array,
  name: string,
  options: CaptionBytesOptions = {},
): ParsedCaptions {
  const maxCues = options.maxCues ?? DEFAULT_MAX_CUES;
  if (bytes.length > CAPTION_MAX_BYTES)
    throw tooLarge(
      name,
      `${bytes.length} bytes, more than the ${CAPTION_MAX_BYTES} (5 MiB) a caption file may have`,
    );
  const { text, encoding } = decodeCaptionBytes(bytes);
  if (looksBinary(text))
    throw ingestError(
      IngestErrorCode.CAPTIONS_UNSUPPORTED,
      name,
      'binary data, not a caption file (reel reads SubRip .srt, WebVTT .vtt and ASS/SSA .ass/.ssa)',
    );
  const lines = text.split(/\r\n|\r|\n/);
  const format = options.format ?? formatOf(lines, name);
  if (format === undefined)
    throw ingestError(
      IngestErrorCode.CAPTIONS_UNSUPPORTED,
      name,
      'not a caption file reel reads: no WEBVTT signature, ASS [Events] section or SubRip time line (00:00:01,000 --> 00:00:02,000)',
    );
  const fail: FailAt = (line, what) => {
    throw ingestError(IngestErrorCode.CAPTIONS_MALFORMED, name, `line ${line}: ${what}`, { line, format });
  };

  let raw: RawCue[];
  if (format === 'ass') raw = parseAss(lines, fail, options.allowEmpty);
  else {
    const read = parseTimedText(lines, format, fail);
    raw = read.cues;
    if (raw.length === 0 && !options.allowEmpty) {
      if (read.firstStray)
        fail(
          read.firstStray.line,
          `expected a time line like ${timeLineExample(format)}, found ${quote(read.firstStray.text)}`,
        );
      fail(
        Math.max(1, lines.length),
        text.trim() === '' ? 'the file is empty: no cue' : 'no cue in the file',
      );
    }
  }

  const cues: Cue[] = [];
  for (const cue of raw) {
    const cleaned = cleanCueText(cue.lines.join('\n'));
    if (cleaned === '') continue;
    cues.push({ start: cue.startMs / 1000, end: cue.endMs / 1000, text: cleaned });
  }
  if (cues.length === 0 && raw.length > 0 && !options.allowEmpty)
    fail(raw[0]!.line, `none of its ${raw.length} cues has any text`);
  const ordered = dedupeInOrder(cues);
  if (ordered.length > maxCues)
    throw tooLarge(name, `${ordered.length} cues, more than the ${maxCues} allowed`);
  return { format, encoding, cues: ordered };
}

/**
 * Parses a caption file: SubRip, WebVTT or ASS/SSA (decided by content first, extension second), in any
 * text encoding (BOM, UTF-8, else detected; see `text-encoding.ts`). Cues come in time order, texts cleaned
 * by `cleanCueText`, never empty.
 *
 * @param bytes the file's content (at most 5 MiB)
 * @param name the file's name, for the format (by its extension) and for messages ("clip.srt: line 7: …")
 * @throws ReelError CAPTIONS_MALFORMED (the message and `details.line` name the line), CAPTIONS_UNSUPPORTED
 *   (binary data or another format), CAPTIONS_TOO_LARGE (over 5 MiB or over `maxCues` cues)
 */
export function parseCaptionFile(
  bytes: Uint8Array,
  name: string,
  options: CaptionParseOptions = {},
): { format: CaptionFormat; encoding: string; cues: Cue[] } {
  return parseCaptionBytes(bytes, name, options.maxCues === undefined ? {} : { maxCues: options.maxCues });
}
