/**
 * `readSubtitleTracks`: the cues of every text subtitle stream inside a probed video. Each text stream is
 * written as caption text by its own ffmpeg run (`-map 0:<index>`: nothing else is decoded; see
 * `subtitle-args.ts` for copy versus conversion) and parsed by the same parser as sidecar files, so a broken track fails alone: its {@link ReadTrack} carries the coded
 * error and the other tracks are still read. Bitmap streams (PGS, DVB, DVD, XSUB, teletext) are listed
 * with `read: false` and no error; no ffmpeg runs for them.
 *
 * One process per track costs one demuxing pass of the file each (subtitle packets are interleaved with the
 * video's); runs are sequential so that a file with many tracks never holds more than one ffmpeg.
 *
 * What fails a track and with which code: ffmpeg cannot read it (no decoder, corrupt packets, a non-zero
 * exit): SUBTITLE_TRACK_UNREADABLE; its text passes 5 MiB or the cue limit: CAPTIONS_TOO_LARGE; ffmpeg
 * overran the timeout: FFMPEG_TIMEOUT (a system fault: the caller may retry the video later). A missing
 * ffmpeg and the caller's abort stop the whole call (they throw): no track could be read.
 */
import { isReelError } from '@reel/infra';
import { type FfmpegBinaries, runSubtitleExtract } from '../adapters/ffmpeg.ts';
import { IngestErrorCode, ingestError, oneLine } from '../errors.ts';
import type { VideoInfo } from '../video-info.ts';
import { CAPTION_MAX_BYTES, DEFAULT_MAX_CUES, parseCaptionBytes } from './caption-file.ts';
import type { ReadTrack, SubtitleStream } from './caption-types.ts';
import { extractPlan, subtitleExtractArgs } from './subtitle-args.ts';

/** Options of {@link readSubtitleTracks}: the binaries and limits of every ffmpeg call (see `ProbeOptions`). */
export interface ReadSubtitleOptions {
  binaries: FfmpegBinaries;
  /** Per ffmpeg process, in milliseconds (config: ffmpegTimeoutSeconds × 1000). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Most cues per track (default 20 000). */
  maxCues?: number;
  /** Most bytes of caption text per track (default and ceiling 5 MiB). */
  maxBytes?: number;
}

/** The last stderr lines worth quoting: ffmpeg's own reason, without its banner or progress. */
function ffmpegReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(?:Input|Output|Stream mapping|Press \[q\])/.test(l));
  const reason = lines.slice(-3).join('; ');
  return oneLine(reason || 'ffmpeg exited with an error').slice(0, 300);
}

/** How a track is named in messages: "subtitle stream 3 (subrip, fra)". */
function describe(stream: SubtitleStream): string {
  return `subtitle stream ${stream.index} (${[stream.codec, stream.language].filter(Boolean).join(', ')})`;
}

async function readOne(
  file: string,
  stream: SubtitleStream,
  options: ReadSubtitleOptions,
): Promise<ReadTrack> {
  const track: ReadTrack = {
    id: `embedded-${stream.index}`,
    source: 'embedded',
    codec: stream.codec,
    language: stream.language,
    label: stream.title,
    read: false,
    cues: [],
    error: null,
  };
  if (!stream.isText) return track;
  const what = `${file}: ${describe(stream)}`;
  const maxBytes = Math.min(options.maxBytes ?? CAPTION_MAX_BYTES, CAPTION_MAX_BYTES);
  try {
    const plan = extractPlan(stream.codec);
    const result = await runSubtitleExtract(subtitleExtractArgs(file, stream.index, plan), {
      binaries: options.binaries,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      file,
      maxOutputBytes: maxBytes,
    });
    if (!result.ok) {
      const error =
        result.reason === 'too-large'
          ? ingestError(IngestErrorCode.CAPTIONS_TOO_LARGE, what, `its text is over ${maxBytes} bytes`)
          : ingestError(
              IngestErrorCode.SUBTITLE_TRACK_UNREADABLE,
              what,
              `ffmpeg cannot read it: ${ffmpegReason(result.stderr)}`,
            );
      return { ...track, error: { code: error.code, message: error.message } };
    }
    const parsed = parseCaptionBytes(result.output, what, {
      format: plan.format,
      allowEmpty: true,
      maxCues: options.maxCues ?? DEFAULT_MAX_CUES,
    });
    return { ...track, read: true, cues: parsed.cues };
  } catch (error) {
    if (!isReelError(error)) throw error;
    if (error.code === IngestErrorCode.FFMPEG_NOT_FOUND || error.code === IngestErrorCode.INGEST_ABORTED)
      throw error;
    // The adapter's and the parser's messages start with the file: name the track instead.
    const cause = error.message.startsWith(`${what}: `)
      ? error.message.slice(what.length + 2)
      : error.message.startsWith(`${file}: `)
        ? error.message.slice(file.length + 2)
        : error.message;
    if (error.code === IngestErrorCode.CAPTIONS_MALFORMED) {
      // Text ffmpeg wrote that does not parse: a track that cannot really be read.
      const unreadable = ingestError(
        IngestErrorCode.SUBTITLE_TRACK_UNREADABLE,
        what,
        `its text, as ffmpeg writes it, does not parse: ${cause}`,
      );
      return { ...track, error: { code: unreadable.code, message: unreadable.message } };
    }
    return { ...track, error: { code: error.code, message: `${what}: ${cause}` } };
  }
}

/**
 * Reads every subtitle stream of a probed video, in stream order: text streams through ffmpeg into cues,
 * bitmap streams listed unread. Never throws for one track's failure (see the file's header).
 *
 * @param file the video (the path given to `probeVideo`)
 * @param info its probe, or just its `subtitles`
 * @throws ReelError FFMPEG_NOT_FOUND, INGEST_ABORTED
 */
export async function readSubtitleTracks(
  file: string,
  info: Pick<VideoInfo, 'subtitles'>,
  options: ReadSubtitleOptions,
): Promise<ReadTrack[]> {
  const tracks: ReadTrack[] = [];
  for (const stream of info.subtitles) tracks.push(await readOne(file, stream, options));
  return tracks;
}
