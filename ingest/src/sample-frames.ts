/**
 * `sampleVideo`: a file in, a small set of timestamped RGB frames out, already at the image encoder's
 * input geometry. Probes (unless given a probe), plans targets, picks seek / single pass / keyframes by
 * cost, runs ffmpeg, maps decoded frames back to targets, and copes with files whose frames end early
 * (truncated, or a header that overstates the video) by sampling what decodes, with a warning.
 */
import { availableParallelism } from 'node:os';
import { runFrameCommand } from './adapters/ffmpeg.ts';
import { isVideoDemuxer, refusedDemuxer, unsupportedContainerCause } from './containers.ts';
import { IngestErrorCode, ingestError } from './errors.ts';
import {
  type FfmpegCommandSpec,
  type FrameFilterOptions,
  keyframesCommand,
  scenesCommand,
  seekCommand,
  singlePassCommand,
} from './ffmpeg-args.ts';
import { type FfmpegLogLine, isProblemLine, parseFfmpegLogLine } from './ffmpeg-log.ts';
import { keyframesBefore, type ProbeOptions, probeVideo, readableEnd } from './probe-video.ts';
import {
  choosePlan,
  type DecodePlan,
  FALLBACK_FRAME_RATE,
  frameDuration,
  framesAtOrAfter,
  intervalTargets,
  keyframeSpacingUnknown,
  nearestFrames,
  type PlanHints,
  type SamplingStrategy,
  seekChunks,
  seekInputsPerProcess,
  singlePassThreads,
  uniformTargets,
} from './sampling-plan.ts';
import { keyframeInterval, type VideoInfo } from './video-info.ts';

/**
 * One sampled frame: exactly the raw frame @reel/models' image preprocessor takes (`{ data, width,
 * height }`), so the encoder never re-encodes.
 */
export interface SampledFrame {
  /** Position in the returned list, from 0. */
  index: number;
  /** Seconds from the start of the video: the decoded frame's real presentation timestamp. */
  timestamp: number;
  width: number;
  height: number;
  /** rgb24, row-major H×W×3 (HWC), 0-255. Repeated frames share one array: copy before mutating. */
  data: Uint8Array;
}

/** Options of {@link sampleVideo}. */
export interface SampleVideoOptions extends ProbeOptions {
  strategy: SamplingStrategy;
  /** Output side in pixels: shortest edge resized to it (bicubic), centre crop to size × size. Default 224. */
  size?: number;
  /** Decode keyframes only: the nearest keyframe per target ("close to uniform is enough"), fastest. */
  keyframesOnly?: boolean;
  /** A probe already made for this file (skips probing again). */
  info?: VideoInfo;
  /**
   * Decoder threads of a single-pass decode; default {@link singlePassThreads} of the machine's cores
   * (fastest for one video alone). A pipeline decoding several videos beside an encoder passes its share.
   */
  decoderThreads?: number;
  /** Force a decoding plan (benchmarks, tests); default: `keyframes` when keyframesOnly, else the cheaper. */
  plan?: DecodePlan;
}

export interface SampleVideoResult {
  info: VideoInfo;
  frames: SampledFrame[];
  /** How ffmpeg decoded. */
  plan: DecodePlan;
  /** Seconds aimed at, one per frame (empty for scenes). */
  targets: number[];
  /** Things a person may want to know that did not stop sampling (truncation, decoding errors). */
  warnings: string[];
}

export const DEFAULT_FRAME_SIZE = 224;
const DEFAULT_SCENE_THRESHOLD = 0.3;
const DEFAULT_SCENE_MIN_GAP = 1;

interface Decoded {
  pts: number;
  data: Uint8Array;
  score: number;
}

interface RunOutcome {
  frames: Decoded[];
  ok: boolean;
  /** The last warning and error lines of ffmpeg's stderr. */
  stderrTail: string[];
  errorLines: number;
}

function invalid(file: string, message: string): never {
  throw ingestError(IngestErrorCode.INGEST_OPTIONS_INVALID, file, message);
}

function checkOptions(file: string, options: SampleVideoOptions): void {
  const size = options.size ?? DEFAULT_FRAME_SIZE;
  if (!Number.isInteger(size) || size < 8 || size > 4096)
    invalid(file, `size must be 8..4096 pixels, got ${size}`);
  const threads = options.decoderThreads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 64))
    invalid(file, `decoderThreads must be an integer from 1 to 64, got ${threads}`);
  const s = options.strategy;
  if (s.kind === 'uniform' && (!Number.isInteger(s.count) || s.count < 1 || s.count > 10_000)) {
    invalid(file, `count must be an integer from 1 to 10000, got ${s.count}`);
  }
  if (s.kind === 'fps' && !(s.every > 0 && Number.isFinite(s.every))) {
    invalid(file, `every must be a positive number of seconds, got ${s.every}`);
  }
  if (
    (s.kind === 'fps' || s.kind === 'scenes') &&
    (!Number.isInteger(s.max) || s.max < 1 || s.max > 10_000)
  ) {
    invalid(file, `max must be an integer from 1 to 10000, got ${s.max}`);
  }
  if (s.kind === 'scenes' && s.threshold !== undefined && !(s.threshold > 0 && s.threshold < 1)) {
    invalid(file, `threshold must be between 0 and 1, got ${s.threshold}`);
  }
  if (s.kind === 'scenes' && s.minGap !== undefined && !(s.minGap >= 0 && Number.isFinite(s.minGap))) {
    invalid(file, `minGap must be 0 or more seconds, got ${s.minGap}`);
  }
}

/**
 * Runs one frame command and pairs each raw frame with its logged timestamp (and scene score). Frames of
 * one-label commands are paired in order as they arrive, and `keep` decides on each at once, so memory is
 * bounded by what `keep` holds; `seek` commands (one label per input) are paired at the end.
 */
async function run(
  spec: FfmpegCommandSpec,
  size: number,
  info: VideoInfo,
  options: SampleVideoOptions,
  keep: (frame: Decoded) => void,
): Promise<Omit<RunOutcome, 'frames'>> {
  const seekLabels: { k: number; pts: number }[] = [];
  const seekData: Uint8Array[] = [];
  const metas: { pts: number; score: number | undefined }[] = [];
  const datas: Uint8Array[] = [];
  const tail: string[] = [];
  let errorLines = 0;
  let scored = false;
  // One input per target: frames are matched to `showinfo@s<k>` labels once all are in.
  const isSeek = spec.filterComplex.includes('showinfo@s0');

  const drain = (final: boolean) => {
    while (metas.length > 0 && datas.length > 0) {
      const meta = metas[0]!;
      // A scene frame's score arrives on the line after its timestamp.
      if (scored && meta.score === undefined && metas.length === 1 && !final) return;
      metas.shift();
      keep({ pts: meta.pts, data: datas.shift()!, score: meta.score ?? 0 });
    }
  };
  const onLine = (line: FfmpegLogLine) => {
    if (line.kind === 'frame' && /^s\d+$/.test(line.label)) {
      seekLabels.push({ k: Number(line.label.slice(1)), pts: line.pts });
    } else if (line.kind === 'frame' || line.kind === 'metadata-frame') {
      scored ||= line.kind === 'metadata-frame';
      metas.push({ pts: line.pts, score: undefined });
      drain(false);
    } else if (line.kind === 'metadata' && line.key === 'lavfi.scene_score') {
      const last = metas[metas.length - 1];
      if (last) last.score = Number(line.value);
      drain(false);
    } else if (isProblemLine(line)) {
      if (line.kind === 'message' && line.level !== 'warning') errorLines++;
      tail.push(line.kind === 'message' ? line.text : '');
      if (tail.length > 12) tail.shift();
    }
  };
  const result = await runFrameCommand(spec, {
    binaries: options.binaries,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    file: info.file,
    frameBytes: size * size * 3,
    onFrame: (data) => {
      if (isSeek) seekData.push(data);
      else {
        datas.push(data);
        drain(false);
      }
    },
    onStderrLine: (text) => onLine(parseFfmpegLogLine(text)),
  });
  drain(true);
  if (seekData.length > 0) {
    // concat writes segments in input order; a segment that found no frame is simply absent.
    seekLabels.sort((a, b) => a.k - b.k);
    seekData.forEach((data, i) => {
      const label = seekLabels[i];
      if (label) keep({ pts: label.pts, data, score: 0 });
    });
  }
  if (!result.ok && result.problem) tail.push(result.problem);
  return { ok: result.ok, stderrTail: tail, errorLines };
}

function frameOptions(info: VideoInfo, size: number): FrameFilterOptions {
  return { size, deinterlace: info.interlaced };
}

/** Decodes the frames for `targets` (ascending, unique, already shifted by the tolerance). */
async function decodeTargets(
  plan: DecodePlan,
  info: VideoInfo,
  targets: number[],
  size: number,
  options: SampleVideoOptions,
): Promise<RunOutcome> {
  const frames: Decoded[] = [];
  let keep = (f: Decoded) => {
    frames.push(f);
  };
  const filters = frameOptions(info, size);
  const outcomes: Omit<RunOutcome, 'frames'>[] = [];
  if (plan === 'seek') {
    for (const chunk of seekChunks(targets, seekInputsPerProcess(info))) {
      outcomes.push(
        await run(seekCommand(info.file, info.streamIndex, chunk, filters), size, info, options, keep),
      );
    }
  } else if (plan === 'keyframes') {
    // Hold only the keyframe nearest each target so far: memory stays at most one frame per target.
    const best: (Decoded | undefined)[] = targets.map(() => undefined);
    keep = (f: Decoded) => {
      targets.forEach((t, i) => {
        const current = best[i];
        if (!current || Math.abs(f.pts - t) < Math.abs(current.pts - t)) best[i] = f;
      });
    };
    const spec = keyframesCommand(info.file, info.streamIndex, targets, keyframeInterval(info), filters);
    outcomes.push(await run(spec, size, info, options, keep));
    for (const f of new Set(best)) if (f) frames.push(f);
  } else {
    const threads = options.decoderThreads ?? singlePassThreads(availableParallelism());
    const spec = singlePassCommand(info.file, info.streamIndex, targets, filters, threads);
    outcomes.push(await run(spec, size, info, options, keep));
  }
  frames.sort((a, b) => a.pts - b.pts);
  return {
    frames: frames.filter((f, i) => i === 0 || f.pts !== frames[i - 1]!.pts),
    ok: outcomes.every((o) => o.ok),
    stderrTail: outcomes.flatMap((o) => o.stderrTail).slice(-12),
    errorLines: outcomes.reduce((sum, o) => sum + o.errorLines, 0),
  };
}

/** Lines saying the input itself is damaged (as opposed to ffmpeg failing for its own reasons). */
const DAMAGED_INPUT =
  /partial file|Invalid data|Invalid NAL|corrupt|error while decoding|no frame!|missing picture|concealing|Could not find codec parameters/i;

/** No frame came out: a damaged file (UNREADABLE), or ffmpeg failing on its own (DECODE_FAILED). */
function nothingDecoded(info: VideoInfo, outcome: RunOutcome): Error {
  const last = outcome.stderrTail[outcome.stderrTail.length - 1];
  const details = { stderr: outcome.stderrTail };
  const refused = refusedDemuxer(outcome.stderrTail.join('\n'));
  if (refused !== undefined)
    // The file changed since it was probed, or was never probed: the frame command's whitelist held.
    return ingestError(
      IngestErrorCode.UNSUPPORTED_CONTAINER,
      info.file,
      unsupportedContainerCause(refused),
      details,
    );
  if (outcome.ok || outcome.stderrTail.some((line) => DAMAGED_INPUT.test(line))) {
    const damage = outcome.stderrTail.find((line) => DAMAGED_INPUT.test(line)) ?? last;
    return ingestError(
      IngestErrorCode.UNREADABLE,
      info.file,
      `no frame of its ${info.codec} stream decodes${damage ? ` (${damage})` : ''}`,
      details,
    );
  }
  return ingestError(
    IngestErrorCode.DECODE_FAILED,
    info.file,
    `ffmpeg failed decoding ${info.codec}${last ? `: ${last}` : ''}`,
    details,
  );
}

/** ffmpeg stopped with an error before reaching the targets: the frames so far would be misleading. */
function failedMidway(info: VideoInfo, outcome: RunOutcome, reached: number, wanted: number): Error {
  const last = outcome.stderrTail[outcome.stderrTail.length - 1] ?? 'unknown error';
  return ingestError(
    IngestErrorCode.DECODE_FAILED,
    info.file,
    `ffmpeg failed at ${reached.toFixed(2)} s of the ${wanted.toFixed(2)} s needed: ${last}`,
    { stderr: outcome.stderrTail },
  );
}

function problemsWarning(outcome: RunOutcome): string[] {
  if (outcome.errorLines === 0 && outcome.ok) return [];
  const last = outcome.stderrTail[outcome.stderrTail.length - 1] ?? 'unknown error';
  return [
    `ffmpeg reported ${outcome.errorLines} decoding error(s)${outcome.ok ? '' : ' and failed'}; frames that decoded were kept (last: ${last})`,
  ];
}

function toSampled(chosen: Decoded[], size: number): SampledFrame[] {
  return chosen.map((f, index) => ({
    index,
    timestamp: Math.max(0, f.pts),
    width: size,
    height: size,
    data: f.data,
  }));
}

async function sampleScenes(
  info: VideoInfo,
  strategy: Extract<SamplingStrategy, { kind: 'scenes' }>,
  size: number,
  options: SampleVideoOptions,
): Promise<SampleVideoResult> {
  const kept: Decoded[] = [];
  const keep = (frame: Decoded) => {
    kept.push(frame);
    if (kept.length <= strategy.max) return;
    // Too many cuts: drop the weakest. Frames arrive in time order and the first one opens the first
    // shot (it has no score, nothing precedes it): it always stays.
    let weakest = 1;
    for (let i = 2; i < kept.length; i++) if (kept[i]!.score < kept[weakest]!.score) weakest = i;
    kept.splice(weakest, 1);
  };
  const keyframesOnly = options.keyframesOnly === true || options.plan === 'keyframes';
  const plan: DecodePlan = keyframesOnly ? 'keyframes' : 'single-pass';
  const spec = scenesCommand(
    info.file,
    info.streamIndex,
    {
      threshold: strategy.threshold ?? DEFAULT_SCENE_THRESHOLD,
      minGap: strategy.minGap ?? DEFAULT_SCENE_MIN_GAP,
      keyframesOnly,
    },
    frameOptions(info, size),
  );
  const outcome = { ...(await run(spec, size, info, options, keep)), frames: kept };
  if (kept.length === 0) throw nothingDecoded(info, outcome);
  kept.sort((a, b) => a.pts - b.pts);
  return { info, frames: toSampled(kept, size), plan, targets: [], warnings: problemsWarning(outcome) };
}

/** Targets of a non-scene strategy over `info` (seconds from the start). */
function strategyTargets(info: VideoInfo, strategy: SamplingStrategy): number[] {
  if (strategy.kind === 'uniform')
    return uniformTargets(info, strategy.count).map((t) => t + info.videoStart);
  if (strategy.kind === 'fps') {
    return intervalTargets(info.duration ?? 0, strategy.every, strategy.max).map((t) => t + info.videoStart);
  }
  return [];
}

/**
 * Samples frames from `file` with `options.strategy`. Throws a ReelError with an {@link IngestErrorCode}
 * for bad input (see `probeVideo`; plus UNREADABLE when no frame decodes and DECODE_FAILED when ffmpeg
 * fails before any frame), FFMPEG_TIMEOUT, FFMPEG_NOT_FOUND, INGEST_ABORTED, INGEST_OPTIONS_INVALID.
 *
 * Uniform sampling returns exactly `count` frames (the last repeated when the video has fewer frames, as
 * X-Pool does); fixed-interval and scene sampling return up to `max`, in time order.
 */
export async function sampleVideo(file: string, options: SampleVideoOptions): Promise<SampleVideoResult> {
  checkOptions(file, options);
  const size = options.size ?? DEFAULT_FRAME_SIZE;
  let info = options.info ?? (await probeVideo(file, options));
  if (!isVideoDemuxer(info.container))
    throw ingestError(
      IngestErrorCode.UNSUPPORTED_CONTAINER,
      file,
      unsupportedContainerCause(info.container.split(',')[0] ?? info.container),
    );
  if (options.strategy.kind === 'scenes') return sampleScenes(info, options.strategy, size, options);

  const warnings: string[] = [];
  const tolerance = frameDuration(info) / 2;
  let targets = strategyTargets(info, options.strategy);
  const hints: PlanHints = { keyframesOnly: options.keyframesOnly === true };
  if (!options.plan && !hints.keyframesOnly && keyframeSpacingUnknown(info, targets)) {
    hints.keyframesBefore = await keyframesBefore(info, [...new Set(targets)], options);
  }
  let plan = options.plan ?? choosePlan(info, targets, hints).plan;
  let outcome = await decodeTargets(plan, info, unique(targets, tolerance), size, options);

  const lastTarget = Math.max(...targets);
  const lastDecoded = outcome.frames[outcome.frames.length - 1]?.pts ?? Number.NEGATIVE_INFINITY;
  // Keyframes-only may legitimately stop up to one keyframe interval before the last target.
  const slack = plan === 'keyframes' ? (keyframeInterval(info) ?? Number.POSITIVE_INFINITY) : tolerance;
  if (lastDecoded < lastTarget - slack) {
    // Frames end before the targets: a truncated file, or a header longer than the video really is.
    const end = await readableEnd(info, options);
    const fps = info.frameRate ?? FALLBACK_FRAME_RATE;
    if (end !== undefined && info.duration !== undefined && end + 1 / fps < info.duration) {
      const readable = end + 1 / fps;
      warnings.push(
        `video frames end at ${readable.toFixed(2)} s although the file says ${info.duration.toFixed(2)} s (truncated?): sampled the part that decodes`,
      );
      info = {
        ...info,
        duration: readable - info.videoStart,
        frameCount: Math.max(1, Math.round((readable - info.videoStart) * fps)),
        frameCountExact: false,
      };
      targets = strategyTargets(info, options.strategy);
      if (plan === 'seek') plan = 'single-pass';
      outcome = await decodeTargets(plan, info, unique(targets, tolerance), size, options);
    }
  }
  if (outcome.frames.length === 0) throw nothingDecoded(info, outcome);
  const reached = outcome.frames[outcome.frames.length - 1]!.pts;
  const wanted = Math.max(...targets);
  if (!outcome.ok && plan !== 'keyframes' && reached < wanted - tolerance) {
    throw failedMidway(info, outcome, reached, wanted);
  }
  warnings.push(...problemsWarning(outcome));

  const picks =
    plan === 'keyframes'
      ? nearestFrames(targets, outcome.frames)
      : framesAtOrAfter(targets, outcome.frames, tolerance);
  const chosen = picks.map((i) => outcome.frames[i]!);
  const distinct = new Set(picks).size;
  if (distinct < targets.length) {
    warnings.push(
      plan === 'keyframes'
        ? `only ${distinct} distinct keyframes for ${targets.length} targets: some frames repeat`
        : `${targets.length} frames asked for, but the video has only ${distinct} distinct frames at those times: ${targets.length - distinct} are repeats (ask for ${distinct} or fewer)`,
    );
  }
  return { info, frames: toSampled(chosen, size), plan, targets, warnings };
}

/** Ascending unique targets, each moved `tolerance` earlier: "the first frame at or after target − ½ frame". */
function unique(targets: number[], tolerance: number): number[] {
  return [...new Set(targets)].sort((a, b) => a - b).map((t) => Math.max(0, t - tolerance));
}
