/**
 * `sampleVideo`: a file in, a small set of timestamped RGB frames out, already at the image encoder's
 * input geometry. Probes (unless given a probe), plans targets, picks seek / single pass / keyframes by
 * cost, runs ffmpeg, maps decoded frames back to targets, and copes with files whose frames end early
 * (truncated, or a header that overstates the video) by sampling what decodes, with a warning.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { hasEncoder, runFrameCommand } from './adapters/ffmpeg.ts';
import { isVideoDemuxer, refusedDemuxer, unsupportedContainerCause } from './containers.ts';
import { IngestErrorCode, ingestError } from './errors.ts';
import {
  type FfmpegCommandSpec,
  type FrameFilterOptions,
  type FrameGeometry,
  keyframesCommand,
  type PreviewOutput,
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
  FAST_DECODE_SHARE,
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
  type Timed,
  uniformTargets,
} from './sampling-plan.ts';
import {
  fastSkipsFrames,
  keyframeReach,
  keyframesCoverage,
  precisionDecoderOptions,
  promisedOffset,
  type SamplingPrecision,
} from './sampling-precision.ts';
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
  /**
   * Seconds aimed at (uniform and fixed-interval sampling; absent for scenes): `timestamp - target` is how
   * far the frame landed from it, within what the result's `precision` promises.
   */
  target?: number;
  width: number;
  height: number;
  /** rgb24, row-major H×W×3 (HWC), 0-255. Repeated frames share one array: copy before mutating. */
  data: Uint8Array;
  /**
   * With {@link SampleVideoOptions.preview}: the same frame as an image at the video's display aspect
   * (what a person sees, where `data` is the model's square crop), for thumbnails: a PNG, or a WebP when
   * one was asked for and ffmpeg has libwebp (`previewFormat` says which). Absent if ffmpeg wrote none.
   */
  preview?: Uint8Array;
  previewFormat?: 'png' | 'webp';
}

/** Asks {@link sampleVideo} for each frame's {@link SampledFrame.preview} too. */
export interface PreviewOptions {
  /** Longest side in pixels (never enlarged). */
  maxSide: number;
  /** Folder for ffmpeg's images while sampling (a private folder inside it, removed before returning). */
  tmpDir: string;
  /**
   * `png` (default): lossless, for callers that make their own images. `webp`: ffmpeg writes the
   * thumbnail itself (quality 75, method 2: `PREVIEW_WEBP`), sparing the PNG and its decoding; PNG
   * after all when this ffmpeg has no libwebp encoder.
   */
  format?: 'png' | 'webp';
}

/** Options of {@link sampleVideo}. */
export interface SampleVideoOptions extends ProbeOptions {
  strategy: SamplingStrategy;
  /** Output side in pixels: shortest edge resized to it (bicubic), centre crop to size × size. Default 224. */
  size?: number;
  /** The model's own resize (squash, another shortest edge, bilinear); default CLIP's as above. */
  geometry?: FrameGeometry;
  /**
   * How precisely frames land on their targets (see `sampling-precision.ts`): `exact` (default), `fast`
   * (the decoder skips unreferenced frames and deblocking: at most one frame later), `keyframes` (the
   * nearest keyframe per target, when keyframes cover every target's interval; else `fast`, with a warning).
   */
  precision?: SamplingPrecision;
  /** The same as `precision: 'keyframes'` (kept for callers written before precisions). */
  keyframesOnly?: boolean;
  /** A probe already made for this file (skips probing again). */
  info?: VideoInfo;
  /**
   * Decoder threads of every ffmpeg run. Default: one for seeks and keyframes (each decodes a few frames,
   * where frame threads cost CPU for nothing), {@link singlePassThreads} of the machine's cores for one pass
   * (fastest for one video alone). A pipeline decoding several videos beside an encoder passes its share.
   */
  decoderThreads?: number;
  /** Force a decoding plan (benchmarks, tests); default: `keyframes` when keyframesOnly, else the cheaper. */
  plan?: DecodePlan;
  /** Each frame at the video's display aspect as well, in the same ffmpeg run (see {@link SampledFrame.preview}). */
  preview?: PreviewOptions;
}

export interface SampleVideoResult {
  info: VideoInfo;
  frames: SampledFrame[];
  /** How ffmpeg decoded. */
  plan: DecodePlan;
  /** The precision the frames have: the one asked for, or `fast` when keyframes did not cover the targets. */
  precision: SamplingPrecision;
  /** Targets `fast` had moved more than a frame, decoded again exactly (0 otherwise). */
  redecoded: number;
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
  /** The image ffmpeg wrote for this frame at the display aspect, when a preview was asked for. */
  previewFile?: string;
}

/**
 * Where one sampling's previews go: each ffmpeg run gets its own file pattern in a private folder, and
 * the i-th frame a run writes on stdout is its i-th image.
 */
class PreviewFiles {
  readonly #dir: string;
  readonly #maxSide: number;
  readonly format: 'png' | 'webp';
  #runs = 0;

  private constructor(dir: string, maxSide: number, format: 'png' | 'webp') {
    this.#dir = dir;
    this.#maxSide = maxSide;
    this.format = format;
  }

  static async create(options: PreviewOptions, ffmpegPath: string, timeoutMs: number): Promise<PreviewFiles> {
    const format =
      options.format === 'webp' && (await hasEncoder(ffmpegPath, 'libwebp', Math.min(timeoutMs, 10_000)))
        ? 'webp'
        : 'png';
    await mkdir(options.tmpDir, { recursive: true });
    return new PreviewFiles(
      await mkdtemp(path.join(options.tmpDir, 'reel-preview-')),
      options.maxSide,
      format,
    );
  }

  /** A new run's preview output, and the file of its i-th frame. */
  nextRun(): { output: PreviewOutput; fileOf: (i: number) => string } {
    const prefix = path.join(this.#dir, `run${this.#runs++}-`);
    return {
      output: { maxSide: this.#maxSide, pattern: `${prefix}%06d.${this.format}`, format: this.format },
      fileOf: (i) => `${prefix}${String(i).padStart(6, '0')}.${this.format}`,
    };
  }

  /** The chosen frames' images, read once each (a missing one, from a run that failed midway, is left out). */
  async read(frames: Decoded[]): Promise<Map<string, Uint8Array>> {
    const read = new Map<string, Uint8Array>();
    for (const file of new Set(frames.map((f) => f.previewFile))) {
      if (file === undefined) continue;
      try {
        read.set(file, await readFile(file));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return read;
  }

  remove(): Promise<void> {
    return rm(this.#dir, { recursive: true, force: true });
  }
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
  const side = options.preview?.maxSide;
  if (side !== undefined && (!Number.isInteger(side) || side < 16 || side > 4096))
    invalid(file, `preview.maxSide must be 16..4096 pixels, got ${side}`);
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
  previewOf?: (i: number) => string,
): Promise<Omit<RunOutcome, 'frames'>> {
  const seekLabels: { k: number; pts: number }[] = [];
  const seekData: Uint8Array[] = [];
  const metas: { pts: number; score: number | undefined }[] = [];
  // Each frame with its position on stdout: the i-th frame's preview is the run's i-th image.
  const datas: { data: Uint8Array; n: number }[] = [];
  let written = 0;
  const preview = (n: number) => (previewOf ? { previewFile: previewOf(n) } : {});
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
      const { data, n } = datas.shift()!;
      keep({ pts: meta.pts, data, score: meta.score ?? 0, ...preview(n) });
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
        datas.push({ data, n: written });
        drain(false);
      }
      written++;
    },
    onStderrLine: (text) => onLine(parseFfmpegLogLine(text)),
  });
  drain(true);
  if (seekData.length > 0) {
    // concat writes segments in input order; a segment that found no frame is simply absent.
    seekLabels.sort((a, b) => a.k - b.k);
    seekData.forEach((data, i) => {
      const label = seekLabels[i];
      if (label) keep({ pts: label.pts, data, score: 0, ...preview(i) });
    });
  }
  if (!result.ok && result.problem) tail.push(result.problem);
  return { ok: result.ok, stderrTail: tail, errorLines };
}

function frameOptions(
  info: VideoInfo,
  size: number,
  geometry: FrameGeometry | undefined,
  preview?: PreviewOutput,
): FrameFilterOptions {
  return {
    size,
    deinterlace: info.interlaced,
    ...(geometry ? { geometry } : {}),
    ...(preview ? { preview } : {}),
  };
}

/** Runs one command built by `build` (given its frame options), with the next preview run when asked for. */
function runWithPreview(
  build: (filters: FrameFilterOptions) => FfmpegCommandSpec,
  info: VideoInfo,
  size: number,
  options: SampleVideoOptions,
  keep: (frame: Decoded) => void,
  previews: PreviewFiles | undefined,
): Promise<Omit<RunOutcome, 'frames'>> {
  const preview = previews?.nextRun();
  return run(
    build(frameOptions(info, size, options.geometry, preview?.output)),
    size,
    info,
    options,
    keep,
    preview?.fileOf,
  );
}

/** Decodes the frames for `targets` (ascending, unique, already shifted by the tolerance). */
async function decodeTargets(
  plan: DecodePlan,
  precision: SamplingPrecision,
  info: VideoInfo,
  targets: number[],
  size: number,
  options: SampleVideoOptions,
  previews: PreviewFiles | undefined,
): Promise<RunOutcome> {
  const threads = (fallback: number) => ['-threads', String(options.decoderThreads ?? fallback)];
  const skipping = precisionDecoderOptions(precision, info.codec);
  const frames: Decoded[] = [];
  let keep = (f: Decoded) => {
    frames.push(f);
  };
  const outcomes: Omit<RunOutcome, 'frames'>[] = [];
  const runSpec = (build: (filters: FrameFilterOptions) => FfmpegCommandSpec) =>
    runWithPreview(build, info, size, options, keep, previews);
  if (plan === 'seek') {
    for (const chunk of seekChunks(targets, seekInputsPerProcess(info))) {
      outcomes.push(
        await runSpec((filters) =>
          seekCommand(info.file, info.streamIndex, chunk, filters, [...threads(1), ...skipping]),
        ),
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
    outcomes.push(
      await runSpec((filters) =>
        keyframesCommand(info.file, info.streamIndex, targets, keyframeInterval(info), filters, threads(1)),
      ),
    );
    for (const f of new Set(best)) if (f) frames.push(f);
  } else {
    const decode = [...threads(singlePassThreads(availableParallelism())), ...skipping];
    outcomes.push(
      await runSpec((filters) => singlePassCommand(info.file, info.streamIndex, targets, filters, decode)),
    );
  }
  return {
    frames: byTime(frames),
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

async function toSampled(
  chosen: Decoded[],
  size: number,
  previews: PreviewFiles | undefined,
): Promise<SampledFrame[]> {
  const images = previews ? await previews.read(chosen) : new Map<string, Uint8Array>();
  return chosen.map((f, index) => {
    const preview = f.previewFile === undefined ? undefined : images.get(f.previewFile);
    return {
      index,
      timestamp: Math.max(0, f.pts),
      width: size,
      height: size,
      data: f.data,
      ...(preview && previews ? { preview, previewFormat: previews.format } : {}),
    };
  });
}

async function sampleScenes(
  info: VideoInfo,
  strategy: Extract<SamplingStrategy, { kind: 'scenes' }>,
  size: number,
  options: SampleVideoOptions,
  previews: PreviewFiles | undefined,
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
  const keyframesOnly = requestedPrecision(options) === 'keyframes' || options.plan === 'keyframes';
  const plan: DecodePlan = keyframesOnly ? 'keyframes' : 'single-pass';
  const scene = {
    threshold: strategy.threshold ?? DEFAULT_SCENE_THRESHOLD,
    minGap: strategy.minGap ?? DEFAULT_SCENE_MIN_GAP,
    keyframesOnly,
  };
  const threads = options.decoderThreads === undefined ? [] : ['-threads', String(options.decoderThreads)];
  const ran = await runWithPreview(
    (filters) => scenesCommand(info.file, info.streamIndex, scene, filters, threads),
    info,
    size,
    options,
    keep,
    previews,
  );
  const outcome = { ...ran, frames: kept };
  if (kept.length === 0) throw nothingDecoded(info, outcome);
  kept.sort((a, b) => a.pts - b.pts);
  const frames = await toSampled(kept, size, previews);
  // Scenes are scored on every frame: `fast` would skip some of them, so they decode exactly.
  const precision: SamplingPrecision = keyframesOnly ? 'keyframes' : 'exact';
  return { info, frames, plan, precision, redecoded: 0, targets: [], warnings: problemsWarning(outcome) };
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
  const previews = options.preview
    ? await PreviewFiles.create(options.preview, options.binaries.ffmpegPath, options.timeoutMs)
    : undefined;
  try {
    return await sampleWith(file, options, previews);
  } finally {
    await previews?.remove();
  }
}

/** The precision asked for: `precision`, else `keyframes` for `keyframesOnly`, else `exact`. */
function requestedPrecision(options: SampleVideoOptions): SamplingPrecision {
  return options.precision ?? (options.keyframesOnly === true ? 'keyframes' : 'exact');
}

/** The frames decoded for targets: the plan, the precision and what the run gave. */
interface Decoding {
  plan: DecodePlan;
  precision: SamplingPrecision;
  outcome: RunOutcome;
}

/** For each target, the index of its frame in `frames`: the nearest keyframe, else the first at or after. */
function pick(plan: DecodePlan, targets: number[], frames: Decoded[], tolerance: number): number[] {
  return plan === 'keyframes' ? nearestFrames(targets, frames) : framesAtOrAfter(targets, frames, tolerance);
}

async function sampleWith(
  file: string,
  options: SampleVideoOptions,
  previews: PreviewFiles | undefined,
): Promise<SampleVideoResult> {
  const size = options.size ?? DEFAULT_FRAME_SIZE;
  let info = options.info ?? (await probeVideo(file, options));
  if (!isVideoDemuxer(info.container))
    throw ingestError(
      IngestErrorCode.UNSUPPORTED_CONTAINER,
      file,
      unsupportedContainerCause(info.container.split(',')[0] ?? info.container),
    );
  if (options.strategy.kind === 'scenes')
    return sampleScenes(info, options.strategy, size, options, previews);

  const warnings: string[] = [];
  const tolerance = frameDuration(info) / 2;
  let targets = strategyTargets(info, options.strategy);
  const asked = requestedPrecision(options);

  /** Decodes `targets` at `precision` with the cheapest plan (or the one forced), falling back from sparse keyframes. */
  const decode = async (precision: SamplingPrecision): Promise<Decoding> => {
    if (precision === 'keyframes' && options.plan === undefined) {
      const reach = keyframeReach(targets, info.duration ?? 0);
      const gop = keyframeInterval(info);
      // Keyframes known from the probe's scan (all of them, when it reached the last target), or their
      // spacing, show too few for the targets: decoding them would only show it again.
      const scanned = info.keyframes.length > 0 && info.scannedUntil >= Math.max(...targets);
      if (scanned) {
        const uncovered = uncoveredWarning(
          targets,
          info.keyframes.map((pts) => ({ pts })),
          reach,
        );
        if (uncovered) {
          warnings.push(uncovered);
          return decode('fast');
        }
      } else if (gop !== undefined && gop > 2 * reach + 1e-6) {
        warnings.push(
          `keyframes every ${gop.toFixed(1)} s cannot give each of ${new Set(targets).size} targets ${(2 * reach).toFixed(1)} s apart a keyframe of its own: sampled at fast precision instead`,
        );
        return decode('fast');
      }
    }
    const hints: PlanHints = {
      keyframesOnly: precision === 'keyframes',
      decodeShare: precision === 'fast' && fastSkipsFrames(info.codec) ? FAST_DECODE_SHARE : 1,
    };
    if (!options.plan && !hints.keyframesOnly && keyframeSpacingUnknown(info, targets)) {
      hints.keyframesBefore = await keyframesBefore(info, [...new Set(targets)], options);
    }
    const plan = options.plan ?? choosePlan(info, targets, hints).plan;
    const outcome = await decodeTargets(
      plan,
      precision,
      info,
      unique(targets, tolerance),
      size,
      options,
      previews,
    );
    if (precision === 'keyframes' && options.plan === undefined && outcome.frames.length > 0) {
      const uncovered = uncoveredWarning(targets, outcome.frames, keyframeReach(targets, info.duration ?? 0));
      if (uncovered) {
        warnings.push(uncovered);
        return decode('fast');
      }
    }
    return { plan, precision, outcome };
  };

  let { plan, precision, outcome } = await decode(asked);
  const lastTarget = Math.max(...targets);
  const lastDecoded = outcome.frames[outcome.frames.length - 1]?.pts ?? Number.NEGATIVE_INFINITY;
  // Keyframes-only may legitimately stop up to one keyframe interval before the last target.
  const slack =
    plan === 'keyframes'
      ? (keyframeInterval(info) ?? Number.POSITIVE_INFINITY)
      : precision === 'fast'
        ? promisedOffset('fast', info)
        : tolerance;
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
      outcome = await decodeTargets(
        plan,
        precision,
        info,
        unique(targets, tolerance),
        size,
        options,
        previews,
      );
    }
  }
  if (outcome.frames.length === 0) throw nothingDecoded(info, outcome);
  const reached = outcome.frames[outcome.frames.length - 1]!.pts;
  const wanted = Math.max(...targets);
  if (!outcome.ok && plan !== 'keyframes' && reached < wanted - slack) {
    throw failedMidway(info, outcome, reached, wanted);
  }
  warnings.push(...problemsWarning(outcome));

  let picks = pick(plan, targets, outcome.frames, tolerance);
  let redecoded = 0;
  if (precision === 'fast' && plan !== 'keyframes') {
    // A run of unreferenced frames longer than one (B-frames without a pyramid) moves a target further
    // than `fast` promises: those targets are decoded again, exactly, and their frames join the others.
    const limit = promisedOffset('fast', info);
    // So are targets that skipping left sharing a frame with a neighbour (a short video, whose
    // targets lie closer than the frames fast skipped): exact gives them frames of their own.
    const late = targets.filter(
      (t, i) =>
        outcome.frames[picks[i]!]!.pts - t > limit + 1e-6 ||
        (i > 0 && picks[i] === picks[i - 1] && t !== targets[i - 1]) ||
        (i + 1 < targets.length && picks[i] === picks[i + 1] && t !== targets[i + 1]),
    );
    if (late.length > 0) {
      const again = await decodeTargets(
        info.seekable ? 'seek' : 'single-pass',
        'exact',
        info,
        unique(late, tolerance),
        size,
        options,
        previews,
      );
      outcome = { ...outcome, frames: byTime([...outcome.frames, ...again.frames]) };
      picks = pick(plan, targets, outcome.frames, tolerance);
      redecoded = new Set(late).size;
    }
  }
  const chosen = picks.map((i) => outcome.frames[i]!);
  const distinct = new Set(picks).size;
  if (distinct < targets.length) {
    warnings.push(
      plan === 'keyframes'
        ? `only ${distinct} distinct keyframes for ${targets.length} targets: some frames repeat`
        : `${targets.length} frames asked for, but the video has only ${distinct} distinct frames at those times: ${targets.length - distinct} are repeats (ask for ${distinct} or fewer)`,
    );
  }
  const frames = (await toSampled(chosen, size, previews)).map((frame, i) => ({
    ...frame,
    target: targets[i]!,
  }));
  return { info, frames, plan, precision, redecoded, targets, warnings };
}

/**
 * Why keyframes at `keyframes` (ascending) do not cover `targets` (see {@link keyframesCoverage}), as the
 * warning of the fallback to `fast`; undefined when they do.
 */
function uncoveredWarning(targets: number[], keyframes: Timed[], reach: number): string | undefined {
  const chosen = nearestFrames(targets, keyframes).map((i) => keyframes[i]!.pts);
  const coverage = keyframesCoverage(targets, chosen, reach);
  if (coverage.covered) return undefined;
  return `only ${coverage.served} of ${coverage.targets} targets have a keyframe of their own within ${reach.toFixed(1)} s (the farthest is ${coverage.worst.toFixed(1)} s away): sampled at fast precision instead`;
}

/** Frames in time order, one per timestamp. */
function byTime(frames: Decoded[]): Decoded[] {
  const sorted = [...frames].sort((a, b) => a.pts - b.pts);
  return sorted.filter((f, i) => i === 0 || f.pts !== sorted[i - 1]!.pts);
}

/** Ascending unique targets, each moved `tolerance` earlier: "the first frame at or after target − ½ frame". */
function unique(targets: number[], tolerance: number): number[] {
  return [...new Set(targets)].sort((a, b) => a - b).map((t) => Math.max(0, t - tolerance));
}
