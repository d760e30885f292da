import { describe, expect, it } from 'vitest';
import {
  choosePlan,
  framesAtOrAfter,
  intervalTargets,
  keyframeSpacingUnknown,
  nearestFrames,
  type PlanInput,
  seekChunks,
  seekInputsPerProcess,
  singlePassThreads,
  uniformTargets,
  xpoolFrameIndices,
} from '../src/sampling-plan.ts';
import { keyframeReach, keyframesCoverage, precisionDecoderOptions } from '../src/sampling-precision.ts';

function hd(duration: number, overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    duration,
    frameRate: 25,
    frameCount: duration * 25,
    variableFrameRate: false,
    keyframes: [0, 10, 20].filter((k) => k < duration),
    scannedUntil: Math.min(duration, 30) - 0.04,
    seekable: true,
    width: 1920,
    height: 1080,
    ...overrides,
  };
}

describe('xpoolFrameIndices (X-Pool reference, sample="uniform")', () => {
  it('takes the middle frame of 12 equal intervals (numpy linspace + astype(int))', () => {
    // np.linspace(0, 100, 13).astype(int) = [0 8 16 25 33 41 50 58 66 75 83 91 100]
    expect(xpoolFrameIndices(100, 12)).toEqual([3, 11, 20, 28, 36, 45, 53, 61, 70, 78, 86, 95]);
    expect(xpoolFrameIndices(250, 12)).toEqual([9, 30, 51, 72, 93, 114, 134, 155, 176, 197, 218, 239]);
    expect(xpoolFrameIndices(15000, 12)[0]).toBe(624);
  });

  it('takes every frame and repeats the last when the video has fewer frames than asked', () => {
    expect(xpoolFrameIndices(5, 12)).toEqual([0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4]);
    expect(xpoolFrameIndices(1, 3)).toEqual([0, 0, 0]);
  });
});

describe('uniformTargets', () => {
  it('uses frame indices / fps for constant-rate video', () => {
    const targets = uniformTargets(hd(4), 12);
    expect(targets[0]).toBeCloseTo(3 / 25, 9);
    expect(targets[11]).toBeCloseTo(95 / 25, 9);
  });

  it('uses interval midpoints for variable-rate video', () => {
    expect(uniformTargets(hd(4, { variableFrameRate: true }), 4)).toEqual([0.5, 1.5, 2.5, 3.5]);
  });
});

describe('intervalTargets', () => {
  it('takes one frame every k seconds from 0', () => {
    expect(intervalTargets(10, 3, 100)).toEqual([0, 3, 6, 9]);
    expect(intervalTargets(3, 1, 100)).toEqual([0, 1, 2]);
  });

  it('widens the interval to respect the cap', () => {
    expect(intervalTargets(10, 1, 4)).toEqual([0, 2.5, 5, 7.5]);
    expect(intervalTargets(0.05, 1, 4)).toEqual([0]);
  });
});

describe('choosePlan', () => {
  it('decodes short videos in one pass and seeks in long ones (keyframe every 10 s)', () => {
    const short = hd(10, { keyframes: [0], scannedUntil: 9.96 });
    expect(choosePlan(short, uniformTargets(short, 12)).plan).toBe('single-pass');
    expect(choosePlan(hd(60), uniformTargets(hd(60), 12)).plan).toBe('single-pass');
    const long = hd(600);
    const estimate = choosePlan(long, uniformTargets(long, 12));
    expect(estimate.plan).toBe('seek');
    expect(estimate.singlePassMs / estimate.seekMs).toBeGreaterThan(5);
  });

  it('does not seek when the only keyframe is the first one', () => {
    const scanned = hd(20, { keyframes: [0], scannedUntil: 19.96 });
    expect(choosePlan(scanned, uniformTargets(scanned, 12)).plan).toBe('single-pass');
    expect(keyframeSpacingUnknown(scanned, uniformTargets(scanned, 12))).toBe(false);
    // A long video with one keyframe in its first 30 s: spacing unknown until probed at the targets.
    const long = hd(600, { keyframes: [0], scannedUntil: 29.96 });
    const targets = uniformTargets(long, 12);
    expect(keyframeSpacingUnknown(long, targets)).toBe(true);
    const none = new Map(targets.map((t) => [t, 0]));
    expect(choosePlan(long, targets, { keyframesBefore: none }).plan).toBe('single-pass');
    const every10s = new Map(targets.map((t) => [t, Math.floor(t / 10) * 10]));
    expect(choosePlan(long, targets, { keyframesBefore: every10s }).plan).toBe('seek');
  });

  it('never seeks in raw streams and honours keyframes-only', () => {
    expect(choosePlan(hd(600, { seekable: false }), [1, 2]).plan).toBe('single-pass');
    expect(choosePlan(hd(600), [1, 2], { keyframesOnly: true }).plan).toBe('keyframes');
  });

  it('caps inputs per process by frame size', () => {
    expect(seekInputsPerProcess({ width: 1920, height: 1080 })).toBe(8);
    expect(seekInputsPerProcess({ width: 3840, height: 2160 })).toBe(2);
    expect(seekInputsPerProcess({ width: 7680, height: 4320 })).toBe(1);
    expect(seekInputsPerProcess({ width: 64, height: 64 })).toBe(16);
    expect(seekChunks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 8)).toEqual([
      [1, 2, 3, 4, 5, 6],
      [7, 8, 9, 10, 11, 12],
    ]);
    expect(seekChunks([1, 2, 3], 8)).toEqual([[1, 2, 3]]);
    expect(seekChunks([1, 2, 3], 1)).toEqual([[1], [2], [3]]);
    expect(singlePassThreads(2)).toBe(4);
    expect(singlePassThreads(64)).toBe(16);
  });
});

describe('mapping decoded frames to targets', () => {
  const frames = [0, 0.1, 0.2, 1.5, 1.6].map((pts) => ({ pts }));

  it('takes the first frame at or after target − tolerance, else the last frame', () => {
    expect(framesAtOrAfter([0.1, 0.16, 1, 5], frames, 0.05)).toEqual([1, 2, 3, 4]);
    expect(framesAtOrAfter([1], [], 0.05)).toEqual([-1]);
  });

  it('takes the nearest frame for keyframes', () => {
    expect(nearestFrames([0.04, 0.9, 1.54, 9], frames)).toEqual([0, 3, 3, 4]);
  });
});

describe('precision decoder options', () => {
  it('skips per codec only what the probe found safe, never bidir, and nothing for exact or keyframes', () => {
    expect(precisionDecoderOptions('fast', 'h264')).toEqual([
      '-skip_frame',
      'noref',
      '-skip_loop_filter',
      'all',
    ]);
    expect(precisionDecoderOptions('fast', 'hevc')).toEqual(['-skip_frame', 'noref']);
    expect(precisionDecoderOptions('fast', 'vp9')).toEqual([]);
    expect(precisionDecoderOptions('fast', 'av1')).toEqual([]);
    for (const codec of ['h264', 'hevc', 'mpeg2video', 'mpeg1video', 'mpeg4', 'vp9', 'av1']) {
      expect(precisionDecoderOptions('fast', codec)).not.toContain('bidir');
      expect(precisionDecoderOptions('exact', codec)).toEqual([]);
      expect(precisionDecoderOptions('keyframes', codec)).toEqual([]);
    }
  });

  it('lets each target keep a keyframe of its own within half the target spacing', () => {
    expect(keyframeReach([1, 3, 5], 6)).toBe(1);
    expect(keyframesCoverage([1, 3, 5], [0.5, 3, 5.8], 1)).toMatchObject({ covered: true, served: 3 });
    // Two targets on one keyframe, or one too far: not covered.
    expect(keyframesCoverage([1, 3, 5], [2, 2, 5], 1)).toMatchObject({ covered: false, served: 2 });
    expect(keyframesCoverage([1, 3, 5], [1, 3, 7], 1)).toMatchObject({ covered: false, worst: 2 });
  });
});
