/**
 * Which frames to take and how to decode them, as pure functions of a probed video: target timestamps
 * per strategy (X-Pool's uniform sampling, fixed interval), the choice between fast seeks and one decoding
 * pass by estimated cost, and the mapping from decoded frames back to targets.
 */
import { keyframeInterval, type VideoInfo } from './video-info.ts';

/** How frames are picked. */
export type SamplingStrategy =
  /** X-Pool: split the video into `count` equal intervals and take the middle frame of each. */
  | { kind: 'uniform'; count: number }
  /** One frame every `every` seconds from the start; at most `max` (the interval widens to fit). */
  | { kind: 'fps'; every: number; max: number }
  /** One frame per shot from ffmpeg's scene-change score: the first frame, then each cut (0..1 score above
   * `threshold`, default 0.3) at least `minGap` seconds (default 1) after the last; at most `max`, the
   * strongest cuts kept. */
  | { kind: 'scenes'; threshold?: number; minGap?: number; max: number };

/**
 * How ffmpeg decodes: `seek` opens the file once per target with `-ss` (cost: the frames from the keyframe
 * before each target); `single-pass` decodes everything up to the last target; `keyframes` decodes only
 * keyframes (approximate timestamps, fastest).
 */
export type DecodePlan = 'seek' | 'single-pass' | 'keyframes';

/** The probe facts the plan depends on. */
export type PlanInput = Pick<
  VideoInfo,
  | 'duration'
  | 'frameRate'
  | 'frameCount'
  | 'variableFrameRate'
  | 'keyframes'
  | 'scannedUntil'
  | 'seekable'
  | 'width'
  | 'height'
>;

/** Frame rate assumed when a stream states none (raw streams default to 25 in ffmpeg too). */
export const FALLBACK_FRAME_RATE = 25;

/**
 * X-Pool's test-time frame indices (reference `load_frames_from_video`, sample='uniform'):
 * `intervals = linspace(0, vlen, min(count, vlen) + 1).astype(int)`, index = (start + next_start - 1) // 2,
 * then the last index repeated until there are `count`.
 */
export function xpoolFrameIndices(frameCount: number, count: number): number[] {
  const samples = Math.min(count, frameCount);
  const step = frameCount / samples; // numpy computes (stop - start) / (num - 1) for num = samples + 1
  const bounds = Array.from({ length: samples + 1 }, (_, k) =>
    k === samples ? frameCount : Math.trunc(k * step),
  );
  const indices = bounds.slice(0, -1).map((start, k) => Math.floor((start + bounds[k + 1]! - 1) / 2));
  while (indices.length < count) indices.push(indices[indices.length - 1]!);
  return indices;
}

/** Seconds per frame, from the stream's rate or the fallback. */
export function frameDuration(info: Pick<VideoInfo, 'frameRate'>): number {
  return 1 / (info.frameRate ?? FALLBACK_FRAME_RATE);
}

/**
 * Target timestamps (seconds from the start) of uniform sampling. Constant-rate streams with a known frame
 * count use X-Pool's frame indices exactly (index / fps); variable-rate streams use the middle of each of
 * `count` equal time intervals. Always `count` targets (repeats when the video has fewer frames).
 */
export function uniformTargets(info: PlanInput, count: number): number[] {
  if (info.frameCount !== undefined && info.frameRate !== undefined && !info.variableFrameRate) {
    return xpoolFrameIndices(info.frameCount, count).map((i) => i / info.frameRate!);
  }
  const duration = info.duration ?? 0;
  return Array.from({ length: count }, (_, i) => ((i + 0.5) * duration) / count);
}

/**
 * Targets of fixed-interval sampling: 0, every, 2·every... before the end; when that makes more than
 * `max`, the interval widens to duration / max.
 */
export function intervalTargets(duration: number, every: number, max: number): number[] {
  const step = Math.max(every, duration / max);
  const count = Math.max(1, Math.min(max, Math.ceil(duration / step - 1e-9)));
  return Array.from({ length: count }, (_, i) => i * step);
}

/** Cost figures behind a plan, in milliseconds of one core (estimates, for logs and tests). */
export interface PlanEstimate {
  plan: DecodePlan;
  seekMs: number;
  singlePassMs: number;
}

/**
 * CPU cost of decoding, recalibrated with one decoder thread (the pipeline's rule) on Debian's ffmpeg 5.1:
 * 8.6 ms of CPU per 1080p frame of a phone-like High-profile stream with B-frames, i.e. ~4.2 ms per
 * megapixel (the first model assumed 3, from a cheaper Baseline stream).
 */
const DECODE_MS_PER_MEGAPIXEL = 4.2;
/**
 * Share of that cost left under `fast` (`-skip_frame noref -skip_loop_filter all`): 0.54-0.6 of exact's CPU
 * on x264 medium and phone-like streams here. Codecs `fast` cannot skip on decode at the full cost.
 */
export const FAST_DECODE_SHARE = 0.6;
/**
 * Opening one more `-ss` input: demuxer header and index (which grows with the number of frames), decoder
 * set-up. Measured 0.01-0.2 CPU s per extra input, the most on a 10-minute file.
 */
const INPUT_OPEN_MS = 15;
const INDEX_MS_PER_FRAME = 0.013;
/** Starting one more ffmpeg or ffprobe: 0.13-0.15 CPU s here (Debian's build links 215 shared libraries). */
export const PROCESS_START_MS = 140;
/** Memory one seek input may take (decoder with frame threads, reference frames), per pixel of the frame. */
const SEEK_INPUT_BYTES_PER_PIXEL = 20;
/** Memory budget of one multi-seek ffmpeg process. */
const SEEK_PROCESS_BYTES = 320 * 1024 ** 2;

/**
 * How many `-ss` inputs one ffmpeg process may open: each holds a decoder with its frame threads and
 * reference frames (12 inputs of 1080p H.264 peaked at 560 MB here), so a 4K video gets fewer per process
 * than a 720p one.
 */
export function seekInputsPerProcess(info: Pick<VideoInfo, 'width' | 'height'>, cap = 16): number {
  const perInput = info.width * info.height * SEEK_INPUT_BYTES_PER_PIXEL;
  return Math.max(1, Math.min(cap, Math.floor(SEEK_PROCESS_BYTES / perInput)));
}

/** Splits targets into as few processes as the memory budget allows, as evenly as possible. */
export function seekChunks(targets: number[], perProcess: number): number[][] {
  const processes = Math.ceil(targets.length / perProcess);
  const size = Math.ceil(targets.length / processes);
  const chunks: number[][] = [];
  for (let i = 0; i < targets.length; i += size) chunks.push(targets.slice(i, i + size));
  return chunks;
}

/**
 * Frame threads for a single decoding pass: ffmpeg's default is cores + 1; cores + 2 kept both cores of
 * the 2-core machines here busier (1080p H.264: 1.10 s → 1.03 s median over 8 runs), capped for memory.
 */
export function singlePassThreads(cores: number): number {
  return Math.min(16, cores + 2);
}

/**
 * The keyframe at or before `t`: probed for this target, or known from the scanned beginning, else assumed
 * every `gop` seconds.
 */
function keyframeBefore(info: PlanInput, t: number, gop: number, probed?: Map<number, number>): number {
  const known = probed?.get(t);
  if (known !== undefined) return known;
  if (t <= info.scannedUntil && info.keyframes.length > 0) {
    let best = 0;
    for (const k of info.keyframes) if (k <= t + 1e-9) best = k;
    return best;
  }
  return Math.floor(t / gop) * gop;
}

/** Extra knowledge for {@link choosePlan}. */
export interface PlanHints {
  keyframesOnly?: boolean;
  /** Share of exact's per-frame decode cost the decoder pays (`fast` skips frames): default 1. */
  decodeShare?: number;
  /** Target → the keyframe at or before it (seconds), probed by seeking (see `keyframesBefore`). */
  keyframesBefore?: Map<number, number>;
}

/**
 * True when the keyframe spacing is unknown where the targets are: at most one keyframe in the scanned
 * beginning of a longer video. Then the keyframes before the targets are worth probing before seeking.
 */
export function keyframeSpacingUnknown(info: PlanInput, targets: number[]): boolean {
  const fps = info.frameRate ?? FALLBACK_FRAME_RATE;
  return info.seekable && info.keyframes.length < 2 && targets.some((t) => t > info.scannedUntil + 1 / fps);
}

/**
 * Picks the cheaper of `seek` and `single-pass` for these targets, or `keyframes` when asked. Raw streams
 * (no index) and videos of unknown length always take one pass.
 */
export function choosePlan(info: PlanInput, targets: number[], hints: PlanHints = {}): PlanEstimate {
  if (hints.keyframesOnly) return { plan: 'keyframes', seekMs: Number.NaN, singlePassMs: Number.NaN };
  const fps = info.frameRate ?? FALLBACK_FRAME_RATE;
  const frameMs = ((info.width * info.height) / 1e6) * DECODE_MS_PER_MEGAPIXEL * (hints.decodeShare ?? 1);
  const last = targets.length > 0 ? Math.max(...targets) : 0;
  const singlePassMs = PROCESS_START_MS + (last * fps + 1) * frameMs;
  if (!info.seekable || info.duration === undefined || targets.length === 0) {
    return { plan: 'single-pass', seekMs: Number.POSITIVE_INFINITY, singlePassMs };
  }
  const duration = info.duration;
  const measured = keyframeInterval(info);
  // One keyframe seen: the next is beyond the scan (or there is none, when the whole video was scanned).
  const gop =
    measured ?? (info.scannedUntil >= duration - 1 / fps ? duration : Math.max(2 * info.scannedUntil, 1));
  const unique = [...new Set(targets)];
  const decoded = unique.reduce(
    (sum, t) => sum + (t - keyframeBefore(info, t, gop, hints.keyframesBefore)) * fps + 1,
    0,
  );
  const inputMs = INPUT_OPEN_MS + (info.frameCount ?? duration * fps) * INDEX_MS_PER_FRAME;
  const processes = Math.ceil(unique.length / seekInputsPerProcess(info));
  const seekMs = processes * PROCESS_START_MS + unique.length * inputMs + decoded * frameMs;
  return { plan: seekMs < singlePassMs ? 'seek' : 'single-pass', seekMs, singlePassMs };
}

/** A decoded frame's timestamp, as the mapping functions need it. */
export interface Timed {
  pts: number;
}

/**
 * For each target, the index of the first frame at or after `target - tolerance` (frames ascending by pts),
 * or the last frame when the video ends before the target. -1 only when there are no frames.
 */
export function framesAtOrAfter(targets: number[], frames: Timed[], tolerance: number): number[] {
  return targets.map((target) => {
    const index = frames.findIndex((f) => f.pts >= target - tolerance);
    return index >= 0 ? index : frames.length - 1;
  });
}

/** For each target, the index of the frame nearest to it (ties to the earlier). -1 when there are none. */
export function nearestFrames(targets: number[], frames: Timed[]): number[] {
  return targets.map((target) => {
    let best = -1;
    for (let i = 0; i < frames.length; i++) {
      if (best < 0 || Math.abs(frames[i]!.pts - target) < Math.abs(frames[best]!.pts - target)) best = i;
    }
    return best;
  });
}
