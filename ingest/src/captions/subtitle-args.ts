/**
 * The ffmpeg command line that writes one subtitle stream as caption text on stdout. Pure, like
 * `ffmpeg-args.ts`, with the same safety for hostile files: the `file:` protocol only (and an absolute
 * `file:` URL, so no name is taken for an option or another protocol), video demuxers only
 * (`DECODE_FORMAT_WHITELIST`), no stdin. `-copyts -start_at_zero` gives cue times in seconds from the
 * container's start, as frame timestamps are. Every other stream is left undecoded (`-map 0:<index>`).
 *
 * SubRip, WebVTT and ASS/SSA streams are copied as they are into their own format: ffmpeg's conversion
 * goes through ASS and loses text on the way (WebVTT's "Now &lt;3" comes out as "Now "), and a copy keeps
 * the bytes as muxed, so a track in a legacy encoding is detected like a sidecar file. Every other text
 * codec (mov_text, raw text, EIA-608, MicroDVD…) is converted to WebVTT by ffmpeg's decoders.
 */
import { fileSource, INPUT_SAFETY } from '../ffmpeg-args.ts';
import type { CaptionFormat } from './caption-types.ts';

/** How one stream is written: copied into its own format, or converted to WebVTT. */
export interface ExtractPlan {
  copy: boolean;
  /** The format of the text on stdout (what to parse it as). */
  format: CaptionFormat;
}

const COPIED: Readonly<Record<string, CaptionFormat>> = {
  subrip: 'srt',
  srt: 'srt',
  webvtt: 'webvtt',
  ass: 'ass',
  ssa: 'ass',
};
/** ffmpeg's muxer for each format. */
const MUXER: Readonly<Record<CaptionFormat, string>> = { srt: 'srt', webvtt: 'webvtt', ass: 'ass' };

/** The plan for a stream of codec `codec` (ffprobe's codec_name). */
export function extractPlan(codec: string): ExtractPlan {
  const format = COPIED[codec];
  return format ? { copy: true, format } : { copy: false, format: 'webvtt' };
}

/** ffmpeg arguments: subtitle stream `streamIndex` of `file` as caption text on stdout, by `plan`. */
export function subtitleExtractArgs(file: string, streamIndex: number, plan: ExtractPlan): string[] {
  if (!Number.isInteger(streamIndex) || streamIndex < 0)
    throw new RangeError(`stream index: expected an integer >= 0, got ${streamIndex}`);
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'error',
    ...INPUT_SAFETY,
    '-i',
    fileSource(file),
    '-map',
    `0:${streamIndex}`,
    '-copyts',
    '-start_at_zero',
    '-c:s',
    plan.copy ? 'copy' : 'webvtt',
    '-f',
    MUXER[plan.format],
    'pipe:1',
  ];
}
