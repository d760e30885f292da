/**
 * How precisely frames land on their targets, and what each precision lets the decoder skip. Pure: the
 * decoder options per codec, the distance each precision promises, and the keyframes coverage rule.
 *
 * - `exact`: the first frame at or after each target (within half a frame): every frame decoded.
 * - `fast`: the decoder skips frames no other frame references (`-skip_frame noref`) and, where the codec
 *   has one, its in-loop deblocking (`-skip_loop_filter all`). A frame that is decoded is bit-exact (noref)
 *   or nearly so (no deblocking: SSIM ≥ 0.99 at 224 px), and lands at most one frame after the frame
 *   `exact` takes; a target the skipping moved further is decoded again exactly.
 * - `keyframes`: keyframes only, the nearest per target (archives, long videos): as long as every
 *   target's interval has a keyframe of its own, else the video falls back to `fast` and says so.
 */
import { FALLBACK_FRAME_RATE } from './sampling-plan.ts';
import type { VideoInfo } from './video-info.ts';

export const SAMPLING_PRECISIONS = ['exact', 'fast', 'keyframes'] as const;
export type SamplingPrecision = (typeof SAMPLING_PRECISIONS)[number];

/** True for a precision reel knows (a value from a form, a job payload or a config file). */
export function isSamplingPrecision(value: unknown): value is SamplingPrecision {
  return (SAMPLING_PRECISIONS as readonly unknown[]).includes(value);
}

/**
 * Decoder options `fast` may pass per codec (ffprobe's codec name), from `scripts/decode-flags-probe.ts`
 * on Debian's ffmpeg 5.1 (12 targets, each frame compared with the exact decode of the same timestamp):
 * - H.264: `-skip_frame noref` is bit-exact (lands at most 1 frame late with x264's B-pyramid, 2 without,
 *   which the re-decode in sample-frames.ts catches) and `-skip_loop_filter all` stays at ≥ 41.8 dB and
 *   SSIM ≥ 0.9926 at 224 px after 150 frames of drift: together 41-53 % less CPU on B-frame streams.
 * - HEVC, MPEG-2, MPEG-4 Part 2: `noref` only, bit-exact, 36-51 % less. HEVC's `skip_loop_filter` fell to
 *   SSIM 0.989 (and drifts to the next keyframe): not passed. MPEG-2/4 have no in-loop filter.
 * - VP9, AV1 (dav1d, libaom): every option ignored (identical frames, no saving): nothing passed.
 * Never `-skip_frame bidir`: it drops reference B-frames of x264 and x265 pyramids (13-16 dB).
 * A codec not listed decodes as `exact` does.
 */
const FAST_DECODER_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  h264: ['-skip_frame', 'noref', '-skip_loop_filter', 'all'],
  hevc: ['-skip_frame', 'noref'],
  mpeg2video: ['-skip_frame', 'noref'],
  mpeg1video: ['-skip_frame', 'noref'],
  mpeg4: ['-skip_frame', 'noref'],
};

/** The decoder options of `precision` for `codec` (empty when it has nothing safe to skip). */
export function precisionDecoderOptions(precision: SamplingPrecision, codec: string): string[] {
  return precision === 'fast' ? [...(FAST_DECODER_OPTIONS[codec] ?? [])] : [];
}

/** True when `fast` decodes `codec` any cheaper than `exact` does. */
export function fastSkipsFrames(codec: string): boolean {
  return (FAST_DECODER_OPTIONS[codec]?.length ?? 0) > 0;
}

/**
 * How far (seconds) after its target a frame of `precision` may land: half a frame for `exact` (the
 * first frame at or after target − ½ frame), one frame more for `fast`. `keyframes` promises only that
 * the frame lies within its target's own interval (see {@link keyframesCoverage}).
 */
export function promisedOffset(precision: 'exact' | 'fast', info: Pick<VideoInfo, 'frameRate'>): number {
  const frame = 1 / (info.frameRate ?? FALLBACK_FRAME_RATE);
  return precision === 'exact' ? frame / 2 : frame * 1.5;
}

/**
 * Half the spacing of `targets` (ascending): how far a keyframe may lie from its target and still be in
 * the target's own interval (X-Pool's uniform sampling takes one frame per interval).
 */
export function keyframeReach(targets: number[], duration: number): number {
  const unique = [...new Set(targets)].sort((a, b) => a - b);
  if (unique.length < 2) return Math.max(duration, 0) / 2;
  let spacing = Number.POSITIVE_INFINITY;
  for (let i = 1; i < unique.length; i++) spacing = Math.min(spacing, unique[i]! - unique[i - 1]!);
  return spacing / 2;
}

/** Whether keyframes cover the targets: each target's nearest keyframe within its reach, none shared. */
export interface KeyframesCoverage {
  covered: boolean;
  /** Targets with a keyframe of their own within reach. */
  served: number;
  targets: number;
  /** Farthest any target's keyframe lies from it, seconds. */
  worst: number;
}

/**
 * The keyframes coverage rule, on the keyframe chosen for each target (`chosen[i]` for `targets[i]`,
 * timestamps in seconds): every distinct target needs a distinct keyframe within {@link keyframeReach}.
 */
export function keyframesCoverage(targets: number[], chosen: number[], reach: number): KeyframesCoverage {
  const seen = new Set<number>();
  const distinctTargets = new Set<number>();
  let served = 0;
  let worst = 0;
  targets.forEach((target, i) => {
    if (distinctTargets.has(target)) return;
    distinctTargets.add(target);
    const frame = chosen[i];
    if (frame === undefined) return;
    const distance = Math.abs(frame - target);
    worst = Math.max(worst, distance);
    if (distance <= reach + 1e-6 && !seen.has(frame)) served++;
    seen.add(frame);
  });
  return { covered: served === distinctTargets.size, served, targets: distinctTargets.size, worst };
}
