/**
 * `probeVideo`: from a path to a validated {@link VideoInfo}, or a coded error saying what is wrong with
 * the file. Cheap checks first (the file system, the size), then one ffprobe that also reads the packets
 * of the first seconds, then a full packet count only for raw streams that state no duration.
 */
import { type FfmpegBinaries, runFfprobe } from './adapters/ffmpeg.ts';
import { pathFacts } from './adapters/file-system.ts';
import { IngestErrorCode, ingestError } from './errors.ts';
import { keyframeSeekArgs, packetScanArgs, probeArgs } from './ffmpeg-args.ts';
import {
  classifyProbeFailure,
  type FfprobeOutput,
  type FfprobePacket,
  toVideoInfo,
  type VideoInfo,
} from './video-info.ts';

/** What reel accepts (from config: maxVideoSeconds, maxVideoPixels, maxVideoBytes). */
export interface VideoLimits {
  /** Longest video, in seconds. */
  maxVideoSeconds: number;
  /** Most pixels per frame (width × height). */
  maxVideoPixels: number;
  /** Largest file, in bytes. */
  maxVideoBytes: number;
}

/** Options of every call that runs ffprobe or ffmpeg. */
export interface ProbeOptions {
  limits: VideoLimits;
  binaries: FfmpegBinaries;
  /** Per ffprobe/ffmpeg process, in milliseconds (config: ffmpegTimeoutSeconds × 1000). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

async function checkFile(file: string, limits: VideoLimits): Promise<number> {
  const facts = await pathFacts(file);
  if (facts.kind === 'missing') throw ingestError(IngestErrorCode.FILE_NOT_FOUND, file, 'file not found');
  if (!facts.readable) throw ingestError(IngestErrorCode.UNREADABLE, file, 'permission denied');
  if (facts.kind === 'directory') {
    throw ingestError(IngestErrorCode.NOT_A_VIDEO, file, 'this is a folder, not a file');
  }
  if (facts.kind === 'other') {
    throw ingestError(IngestErrorCode.NOT_A_VIDEO, file, 'not a regular file (a device, pipe or socket)');
  }
  if (facts.size === 0) throw ingestError(IngestErrorCode.EMPTY_FILE, file, 'the file is empty (0 bytes)');
  if (facts.size > limits.maxVideoBytes) {
    throw ingestError(
      IngestErrorCode.TOO_LARGE,
      file,
      `${facts.size} bytes, more than the ${limits.maxVideoBytes} allowed (maxVideoBytes)`,
    );
  }
  return facts.size;
}

/** The latest packet timestamp (absolute seconds), if packets carry any. */
function latest(packets: FfprobePacket[]): number | undefined {
  let last: number | undefined;
  for (const p of packets) {
    const t = p.pts_time === undefined ? Number.NaN : Number(p.pts_time);
    if (Number.isFinite(t) && (last === undefined || t > last)) last = t;
  }
  return last;
}

/**
 * Counts the packets of a stream with no stated duration (raw .h264/.hevc/.m2v): demuxing only, no
 * decoding. Duration becomes frames ÷ frame rate, or the last timestamp when packets carry any.
 */
async function measureByPackets(info: VideoInfo, options: ProbeOptions): Promise<VideoInfo> {
  const scan = await runFfprobe(packetScanArgs(info.file, info.streamIndex), { ...options, file: info.file });
  if (!scan.ok) {
    throw ingestError(IngestErrorCode.UNREADABLE, info.file, classifyProbeFailure(scan.stderr).cause);
  }
  const packets = (scan.json as FfprobeOutput).packets ?? [];
  if (packets.length === 0) {
    throw ingestError(IngestErrorCode.UNREADABLE, info.file, `no ${info.codec} packets can be read`);
  }
  const fps = info.frameRate ?? 25;
  const last = latest(packets);
  const fromTimes = last === undefined ? undefined : last - info.startTime + 1 / fps;
  return {
    ...info,
    frameCount: packets.length,
    frameCountExact: true,
    duration: fromTimes ?? packets.length / fps,
    durationSource: 'packets',
  };
}

/**
 * Probes `file` and checks it against `limits`. Throws a ReelError with an {@link IngestErrorCode}:
 * FILE_NOT_FOUND, EMPTY_FILE, NOT_A_VIDEO, NO_VIDEO_STREAM, UNREADABLE, TOO_LONG, TOO_LARGE (bad input), or
 * FFMPEG_TIMEOUT, FFMPEG_NOT_FOUND, INGEST_ABORTED.
 */
export async function probeVideo(file: string, options: ProbeOptions): Promise<VideoInfo> {
  const size = await checkFile(file, options.limits);
  const probe = await runFfprobe(probeArgs(file), { ...options, file });
  if (!probe.ok) {
    const { code, cause } = classifyProbeFailure(probe.stderr);
    throw ingestError(code, file, cause, { stderr: probe.stderr.trim().split('\n').slice(-10) });
  }
  let info = toVideoInfo(probe.json as FfprobeOutput, file, size);
  const { maxVideoPixels, maxVideoSeconds } = options.limits;
  if (info.width * info.height > maxVideoPixels) {
    throw ingestError(
      IngestErrorCode.TOO_LARGE,
      file,
      `${info.width}×${info.height} frames (${info.width * info.height} pixels), more than the ${maxVideoPixels} allowed (maxVideoPixels)`,
    );
  }
  if (info.duration === undefined) info = await measureByPackets(info, options);
  if (info.duration !== undefined && info.duration > maxVideoSeconds) {
    throw ingestError(
      IngestErrorCode.TOO_LONG,
      file,
      `${info.duration.toFixed(1)} s long, more than the ${maxVideoSeconds} s allowed (maxVideoSeconds)`,
    );
  }
  return info;
}

/**
 * The timestamp (relative seconds) of the last packet of the video stream that can be read: where a
 * truncated file really ends. Demuxing only.
 */
export async function readableEnd(info: VideoInfo, options: ProbeOptions): Promise<number | undefined> {
  const scan = await runFfprobe(packetScanArgs(info.file, info.streamIndex), { ...options, file: info.file });
  if (!scan.ok) return undefined;
  const last = latest((scan.json as FfprobeOutput).packets ?? []);
  return last === undefined ? undefined : last - info.startTime;
}

/**
 * The keyframe at or before each target (relative seconds → relative seconds), found by letting ffprobe
 * seek to each one and read a single packet. Targets it cannot answer for are left out.
 */
export async function keyframesBefore(
  info: VideoInfo,
  targets: number[],
  options: ProbeOptions,
): Promise<Map<number, number>> {
  const args = keyframeSeekArgs(
    info.file,
    info.streamIndex,
    targets.map((t) => t + info.startTime),
  );
  const scan = await runFfprobe(args, { ...options, file: info.file });
  const found = new Map<number, number>();
  if (!scan.ok) return found;
  const packets = ((scan.json as FfprobeOutput).packets ?? []).filter(
    (p) => p.stream_index === info.streamIndex,
  );
  if (packets.length !== targets.length) return found;
  packets.forEach((p, i) => {
    const t = Number(p.pts_time);
    if (Number.isFinite(t) && p.flags?.includes('K')) found.set(targets[i]!, t - info.startTime);
  });
  return found;
}
