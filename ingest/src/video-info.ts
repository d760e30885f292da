/**
 * `VideoInfo`, reel's typed view of a video file, and the pure conversion from ffprobe's JSON
 * (`-print_format json -show_format -show_streams` plus the packets of the first seconds) into it. This is
 * where a probe is judged: still images, text and cover-art-only files are refused here with a coded error.
 */
import type { SubtitleStream } from './captions/caption-types.ts';
import { isVideoDemuxer, refusedDemuxer, unsupportedContainerCause } from './containers.ts';
import { IngestErrorCode, ingestError } from './errors.ts';

/** The part of ffprobe's JSON we read. Numbers come as strings for most fields. */
export interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  codec_tag_string?: string;
  profile?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  pix_fmt?: string;
  bits_per_raw_sample?: string;
  field_order?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  start_time?: string;
  duration?: string;
  nb_frames?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

export interface FfprobePacket {
  stream_index: number;
  pts_time?: string;
  dts_time?: string;
  flags?: string;
}

export interface FfprobeOutput {
  format?: {
    format_name?: string;
    format_long_name?: string;
    start_time?: string;
    duration?: string;
    probe_score?: number;
  };
  streams?: FfprobeStream[];
  packets?: FfprobePacket[];
}

/** One video stream of the file, cover art included. */
export interface VideoStreamSummary {
  index: number;
  codec: string;
  width: number;
  height: number;
  isDefault: boolean;
  /** An attached picture (album art, a poster), not moving video. */
  isCoverArt: boolean;
}

/** What reel knows about a video after probing it. Times are in seconds, sizes in pixels. */
export interface VideoInfo {
  file: string;
  sizeBytes: number;
  /** ffprobe's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "mpegts", "gif". */
  container: string;
  /** Index (in the file) of the video stream reel decodes: the default one, never cover art. */
  streamIndex: number;
  /** Decoder name, e.g. "h264", "hevc", "vp9", "av1", "mpeg2video", "mpeg4", "gif". */
  codec: string;
  profile: string | undefined;
  /** Stored frame size (before rotation and pixel aspect are applied). */
  width: number;
  height: number;
  /** Width of a pixel over its height (1 = square pixels; anamorphic DV is 8:9 or 32:27). */
  sampleAspectRatio: number;
  /** Degrees clockwise the stored frame is turned for display (from the display matrix). */
  rotation: 0 | 90 | 180 | 270;
  /** Upright, square-pixel size: what a player shows. */
  displayWidth: number;
  displayHeight: number;
  /** displayWidth / displayHeight. */
  displayAspectRatio: number;
  /** e.g. "yuv420p", "yuv420p10le". */
  pixelFormat: string;
  /** Bits per sample: 8, 10, 12. */
  bitDepth: number;
  /** True when the stream is coded as fields (tt/bb/tb/bt): frames get deinterlaced. */
  interlaced: boolean;
  /** Average frames per second, when known. */
  frameRate: number | undefined;
  /** True when frame durations vary (screen recordings, phone videos, cut-and-joined files). */
  variableFrameRate: boolean;
  /** Seconds of video; undefined only until a raw stream has been scanned. */
  duration: number | undefined;
  /** Where `duration` came from: the stream's header, the container's header, or counting packets. */
  durationSource: 'stream' | 'container' | 'packets' | 'unknown';
  /** Container start time in seconds; frame timestamps reel reports are relative to it. */
  startTime: number;
  /** Seconds after `startTime` at which the video stream starts (0 unless audio leads). */
  videoStart: number;
  /** Frames in the stream: exact from the header or a packet count, else duration × frame rate. */
  frameCount: number | undefined;
  frameCountExact: boolean;
  /** Keyframe times (relative seconds) seen in the scanned beginning of the stream. */
  keyframes: number[];
  /** How far (relative seconds) the packet scan behind `keyframes` reached. */
  scannedUntil: number;
  /** False for raw elementary streams (.h264, .hevc, .m2v...): no index, no timestamps, no fast seek. */
  seekable: boolean;
  /** Every video stream, cover art included. */
  videoStreams: VideoStreamSummary[];
  audioStreams: number;
  /** Every subtitle stream, text and bitmap, in stream order (read by `readSubtitleTracks`). */
  subtitles: SubtitleStream[];
}

/**
 * Subtitle codecs that are pictures, not text: listed, never read (reading them would need OCR).
 * Teletext is here too: ffmpeg decodes it only through libzvbi, as pages rather than cues.
 */
export const BITMAP_SUBTITLE_CODECS: ReadonlySet<string> = new Set([
  'hdmv_pgs_subtitle',
  'dvb_subtitle',
  'dvd_subtitle',
  'xsub',
  'dvb_teletext',
]);
/** Names muxers put in `handler_name` on their own: not a title a person gave the track. */
const GENERIC_HANDLER =
  /^(?:subtitle ?handler|text ?handler|sbtl ?handler|closed ?caption ?handler|core media\b.*|gpac\b.*|l-smash\b.*|mp4box\b.*|isomedia\b.*)$/i;

function tagOf(tags: Record<string, string> | undefined, key: string): string | undefined {
  if (!tags) return undefined;
  const found = Object.keys(tags).find((k) => k.toLowerCase() === key);
  const value = found === undefined ? undefined : tags[found]?.trim();
  return value === '' ? undefined : value;
}

/**
 * The subtitle streams of ffprobe's JSON: codec, language (ISO 639-2 as tagged, 'und' as null), title,
 * text or bitmap, default and forced flags. A stream whose codec ffprobe cannot name is listed as text
 * with codec 'unknown' (reading it then fails on its own, with ffmpeg's reason).
 */
export function subtitleStreams(streams: readonly FfprobeStream[]): SubtitleStream[] {
  return streams
    .filter((s) => s.codec_type === 'subtitle')
    .map((s) => {
      const codec = s.codec_name ?? 'unknown';
      const language = tagOf(s.tags, 'language')?.toLowerCase();
      const handler = tagOf(s.tags, 'handler_name');
      const title =
        tagOf(s.tags, 'title') ?? (handler && !GENERIC_HANDLER.test(handler) ? handler : undefined);
      return {
        index: s.index,
        codec,
        language: language && language !== 'und' ? language : null,
        title: title ?? null,
        isText: !BITMAP_SUBTITLE_CODECS.has(codec),
        isDefault: s.disposition?.default === 1,
        isForced: s.disposition?.forced === 1,
      };
    });
}

/** Demuxers of still images and text: a successful probe by one of them still means "not a video". */
const IMAGE_OR_TEXT_FORMAT = /^(image2|[a-z0-9]+_pipe|tty|webp|ico|sup)$/;
/** Raw elementary streams: no container index and no timestamps, so no fast seeking. */
/**
 * Containers without an index, where ffmpeg's `-ss` (with reel's `-copyts`) lands one GOP or more after
 * the target: MPEG transport and program streams (measured: H.264 in .ts and MPEG-2 in .mpg gave frames
 * 1-2 s late for targets 0.3-7 s into an 8 s file). They decode in one pass.
 */
const INACCURATE_SEEK_FORMATS = new Set(['mpegts', 'mpeg']);

const RAW_STREAM_FORMATS = new Set([
  'h264',
  'hevc',
  'vvc',
  'm4v',
  'mpegvideo',
  'cavsvideo',
  'vc1',
  'dirac',
  'obu',
  'rawvideo',
  'yuv4mpegpipe',
  'mjpeg',
]);
/** A weaker container detection than this, with no video stream, is garbage that happened to parse. */
const WEAK_PROBE_SCORE = 25;

function num(value: string | number | undefined): number | undefined {
  if (value === undefined || value === '' || value === 'N/A') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** "30000/1001" → 29.97; "0/0" or missing → undefined. */
export function parseRational(value: string | undefined, separator = '/'): number | undefined {
  if (!value) return undefined;
  const [a, b] = value.split(separator);
  const n = num(a);
  const d = num(b);
  if (n === undefined || d === undefined || n <= 0 || d <= 0) return undefined;
  return n / d;
}

/** Matroska's per-stream "DURATION" tag, "00:01:02.500000000" → 62.5. */
function parseClock(value: string | undefined): number | undefined {
  const match = value ? /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim()) : null;
  if (!match) return undefined;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
}

/** Clockwise display rotation from the display matrix (ffprobe reports it counter-clockwise). */
function rotationOf(stream: FfprobeStream): VideoInfo['rotation'] {
  const matrix = stream.side_data_list?.find((s) => s.side_data_type === 'Display Matrix');
  const ccw = matrix?.rotation ?? (stream.tags?.rotate ? -Number(stream.tags.rotate) : 0);
  const clockwise = (((Math.round(-ccw / 90) * 90) % 360) + 360) % 360;
  return clockwise as VideoInfo['rotation'];
}

function bitDepthOf(stream: FfprobeStream): number {
  const raw = num(stream.bits_per_raw_sample);
  if (raw && raw > 0) return raw;
  const match = /(\d{1,2})(le|be)$/.exec(stream.pix_fmt ?? '');
  if (match && !/^(rgb|bgr|gray)/.test(stream.pix_fmt ?? '')) return Number(match[1]);
  const gray = /^gray(\d{1,2})/.exec(stream.pix_fmt ?? '');
  return gray ? Number(gray[1]) : 8;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Turns ffprobe's JSON into a {@link VideoInfo}, or throws the {@link IngestErrorCode} that says why the
 * file is not a usable video (NOT_A_VIDEO, NO_VIDEO_STREAM, UNSUPPORTED_CONTAINER, UNREADABLE). Limits are checked by the caller.
 *
 * @param probe ffprobe output; `packets` may hold the packets of the first seconds of every stream
 * @param file the path, for messages
 * @param sizeBytes the file's size
 */
export function toVideoInfo(probe: FfprobeOutput, file: string, sizeBytes: number): VideoInfo {
  const format = probe.format ?? {};
  const container = format.format_name ?? 'unknown';
  const streams = probe.streams ?? [];
  if (IMAGE_OR_TEXT_FORMAT.test(container)) {
    throw ingestError(
      IngestErrorCode.NOT_A_VIDEO,
      file,
      `this is a still image or text (${format.format_long_name ?? container}), not a video`,
    );
  }
  const video = streams.filter((s) => s.codec_type === 'video');
  const audioStreams = streams.filter((s) => s.codec_type === 'audio').length;
  const summaries: VideoStreamSummary[] = video.map((s) => ({
    index: s.index,
    codec: s.codec_name ?? s.codec_tag_string ?? 'unknown',
    width: s.width ?? 0,
    height: s.height ?? 0,
    isDefault: s.disposition?.default === 1,
    isCoverArt: s.disposition?.attached_pic === 1 || s.disposition?.still_image === 1,
  }));
  const moving = video.filter((_, i) => !summaries[i]!.isCoverArt);
  if (moving.length === 0) {
    if (audioStreams === 0 && video.length === 0) {
      throw ingestError(IngestErrorCode.NOT_A_VIDEO, file, `no audio or video inside (${container})`);
    }
    if (video.length === 0 && (format.probe_score ?? 100) <= WEAK_PROBE_SCORE) {
      throw ingestError(IngestErrorCode.NOT_A_VIDEO, file, 'not a media file (unrecognised data)');
    }
    throw ingestError(
      IngestErrorCode.NO_VIDEO_STREAM,
      file,
      video.length > 0 ? 'the only picture is cover art: no video stream' : 'audio only: no video stream',
    );
  }
  if (!isVideoDemuxer(container)) {
    // The probe admits a few single-file kinds (audio, images) to explain them; no other is decoded.
    throw ingestError(
      IngestErrorCode.UNSUPPORTED_CONTAINER,
      file,
      unsupportedContainerCause(container.split(',')[0] ?? container),
    );
  }
  const stream = moving.find((s) => s.disposition?.default === 1) ?? moving[0]!;
  if (!stream.codec_name) {
    throw ingestError(
      IngestErrorCode.UNREADABLE,
      file,
      `no decoder for its video codec (tag ${stream.codec_tag_string ?? 'unknown'})`,
    );
  }
  const width = stream.width ?? 0;
  const height = stream.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw ingestError(
      IngestErrorCode.UNREADABLE,
      file,
      `its ${stream.codec_name} stream has no frame size (corrupt or truncated header)`,
    );
  }

  const startTime = num(format.start_time) ?? num(stream.start_time) ?? 0;
  const streamDuration = num(stream.duration) ?? parseClock(stream.tags?.DURATION);
  const containerDuration = num(format.duration);
  const duration = streamDuration ?? containerDuration;
  const durationSource = streamDuration ? 'stream' : containerDuration ? 'container' : 'unknown';

  const avg = parseRational(stream.avg_frame_rate);
  const real = parseRational(stream.r_frame_rate);
  const frameRate = avg ?? real;

  const packets = (probe.packets ?? [])
    .filter((p) => p.stream_index === stream.index)
    .map((p) => ({ t: num(p.pts_time), key: p.flags?.includes('K') ?? false }));
  const timed = packets
    .filter((p): p is { t: number; key: boolean } => p.t !== undefined)
    .map((p) => ({ t: p.t - startTime, key: p.key }))
    .sort((a, b) => a.t - b.t);
  const keyframes = timed.filter((p) => p.key).map((p) => p.t);
  const scannedUntil = timed.length > 0 ? timed[timed.length - 1]!.t : 0;

  const gaps: number[] = [];
  for (let i = 1; i < timed.length; i++) {
    const gap = timed[i]!.t - timed[i - 1]!.t;
    if (gap > 1e-6) gaps.push(gap);
  }
  let variableFrameRate: boolean;
  if (gaps.length >= 4) {
    // Matroska rounds to the millisecond (40/41 ms at 25 fps): only a real change in pace counts.
    variableFrameRate = Math.max(...gaps) / Math.min(...gaps) > 1.5;
  } else {
    variableFrameRate = avg !== undefined && real !== undefined && Math.abs(real / avg - 1) > 0.02;
  }

  const headerFrames = num(stream.nb_frames);
  const frameCount =
    headerFrames && headerFrames > 0
      ? headerFrames
      : duration !== undefined && frameRate !== undefined
        ? Math.max(1, Math.round(duration * frameRate))
        : undefined;

  const sampleAspectRatio = parseRational(stream.sample_aspect_ratio, ':') ?? 1;
  const rotation = rotationOf(stream);
  const squareWidth = Math.max(1, Math.round(width * sampleAspectRatio));
  const [displayWidth, displayHeight] =
    rotation === 90 || rotation === 270 ? [height, squareWidth] : [squareWidth, height];
  const fieldOrder = stream.field_order ?? '';

  return {
    file,
    sizeBytes,
    container,
    streamIndex: stream.index,
    codec: stream.codec_name,
    profile: stream.profile,
    width,
    height,
    sampleAspectRatio,
    rotation,
    displayWidth,
    displayHeight,
    displayAspectRatio: displayWidth / displayHeight,
    pixelFormat: stream.pix_fmt ?? 'unknown',
    bitDepth: bitDepthOf(stream),
    interlaced: ['tt', 'bb', 'tb', 'bt'].includes(fieldOrder),
    frameRate,
    variableFrameRate,
    duration,
    durationSource,
    startTime,
    videoStart: Math.max(0, (num(stream.start_time) ?? startTime) - startTime),
    frameCount,
    frameCountExact: Boolean(headerFrames && headerFrames > 0),
    keyframes,
    scannedUntil,
    seekable:
      !RAW_STREAM_FORMATS.has(container) &&
      !INACCURATE_SEEK_FORMATS.has(container) &&
      (packets.length === 0 || timed.length > 0),
    videoStreams: summaries,
    audioStreams,
    subtitles: subtitleStreams(streams),
  };
}

/** Median seconds between the keyframes seen, when at least two were. */
export function keyframeInterval(info: Pick<VideoInfo, 'keyframes'>): number | undefined {
  const gaps: number[] = [];
  for (let i = 1; i < info.keyframes.length; i++) gaps.push(info.keyframes[i]! - info.keyframes[i - 1]!);
  return median(gaps);
}

/**
 * Why ffprobe refused a file, from its stderr: a demuxer that recognised the file and then failed
 * ("moov atom not found") means a damaged video (UNREADABLE); no demuxer at all means not a video.
 */
export function classifyProbeFailure(stderr: string): { code: IngestErrorCode; cause: string } {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.some((l) => /Permission denied/i.test(l))) {
    return { code: IngestErrorCode.UNREADABLE, cause: 'permission denied' };
  }
  if (lines.some((l) => /No such file or directory/i.test(l))) {
    return { code: IngestErrorCode.FILE_NOT_FOUND, cause: 'file not found' };
  }
  const refused = refusedDemuxer(stderr);
  if (refused !== undefined) {
    // Recognised as a format outside the closed list (a playlist, a concat list...): never opened.
    return { code: IngestErrorCode.UNSUPPORTED_CONTAINER, cause: unsupportedContainerCause(refused) };
  }
  const guess = lines.find((l) => /detected only with low score/.test(l));
  if (guess) {
    // The demuxer was picked by the file name's extension alone: the content is not that format.
    return { code: IngestErrorCode.NOT_A_VIDEO, cause: 'not a video (unrecognised data)' };
  }
  const demuxer = lines
    .map((l) => /^\[([\w,]+) @ 0x[0-9a-f]+\] (.+)$/.exec(l))
    .find((m) => m && m[1] !== 'NULL' && m[1] !== 'AVIOContext');
  if (demuxer) {
    return {
      code: IngestErrorCode.UNREADABLE,
      cause: `corrupt or truncated ${demuxer[1]} file: ${demuxer[2]}`,
    };
  }
  const last = (lines[lines.length - 1] ?? 'unrecognised data').replace(/^file:.*?: /, '');
  return { code: IngestErrorCode.NOT_A_VIDEO, cause: `not a video (${last})` };
}
