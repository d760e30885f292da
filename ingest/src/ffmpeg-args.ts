/**
 * Pure builders of ffprobe and ffmpeg command lines. Nothing here runs a process: the adapter
 * (`adapters/ffmpeg.ts`) does. Every command reads the file through the `file:` protocol with an absolute
 * path (a name starting with "-" or containing ":" is never taken for an option or a URL) and only the
 * `file` protocol is allowed for anything a demuxer opens on its own (playlists, references).
 *
 * Frame commands share one output contract: a filter graph whose labelled `showinfo@<label>` filters log
 * each emitted frame's timestamp, ending in raw RGB (rgb24, H×W×3 bytes per frame) on stdout, with
 * `-copyts -start_at_zero` so that every timestamp is seconds from the container's start.
 */
import path from 'node:path';
import { DECODE_FORMAT_WHITELIST, PROBE_FORMAT_WHITELIST } from './containers.ts';

/** One `-i` input with the options that precede it. */
export interface FfmpegInput {
  options: string[];
  /** What follows `-i`: `file:<absolute path>`. */
  source: string;
}

/** An ffmpeg invocation as the adapter needs it (for fluent-ffmpeg) and as {@link toArgv} flattens it. */
export interface FfmpegCommandSpec {
  inputs: FfmpegInput[];
  /** The `-filter_complex` graph. */
  filterComplex: string;
  /** Output options, global ones included (ffmpeg takes global options anywhere); the output is stdout. */
  output: string[];
  /** A second output: each frame again at the video's own aspect, as numbered PNGs (see {@link PreviewOutput}). */
  preview?: { output: string[]; target: string };
}

/**
 * Each sampled frame also written as an image at the video's display aspect (what a person sees, not the
 * model's square crop): longest side `maxSide` (never enlarged), square pixels. Files are `pattern` with
 * `%06d` replaced by the frame's position in ffmpeg's output, from 0.
 */
export interface PreviewOutput {
  maxSide: number;
  /** Absolute path with one `%06d`, in a folder the caller owns. */
  pattern: string;
  /**
   * `png` (default): lossless rgb24, for a caller that makes its own images from it. `webp`: lossy WebP
   * by ffmpeg's libwebp (the caller checked ffmpeg has it), already the thumbnail: see {@link PREVIEW_WEBP}.
   */
  format?: 'png' | 'webp';
}

/**
 * The WebP previews' encoder settings, those of reel's thumbnails (ingest's `adapters/thumbnails.ts`):
 * quality 75, method 2. Straight from the decoder's YUV: no rgb24 round trip, no PNG written and read.
 */
export const PREVIEW_WEBP = { quality: 75, method: 2 } as const;

/** Geometry and clean-up every sampled frame gets inside ffmpeg. */
/**
 * How a frame becomes the model's square input, from the model's own preprocessing config:
 * `shortest` scales the shortest edge to `shortestEdge` (default: the output side) and centre-crops;
 * `squash` resizes to exactly size × size, aspect ignored (SigLIP, DFN5B's `resize_mode: squash`).
 */
export interface FrameGeometry {
  resize: 'shortest' | 'squash';
  shortestEdge?: number;
  interpolation?: 'bicubic' | 'bilinear' | 'nearest';
}

/** swscale's flag for each interpolation the preprocessing configs name. */
const SCALE_FLAGS: Record<NonNullable<FrameGeometry['interpolation']>, string> = {
  bicubic: 'bicubic',
  bilinear: 'bilinear',
  nearest: 'neighbor',
};

export interface FrameFilterOptions {
  /** Output side in pixels; by default shortest edge resized to it (bicubic), then centre-cropped. */
  size: number;
  /** The model's resize: default CLIP's (shortest edge, centre crop, bicubic). */
  geometry?: FrameGeometry;
  /** Keep one field of each interlaced frame (no combing; vertical resolution is halved, then rescaled). */
  deinterlace: boolean;
  /** Also write each frame at the video's aspect for thumbnails. */
  preview?: PreviewOutput;
}

/** How far into the file the probe reads packets to learn keyframe spacing and frame pacing. */
export const PROBE_SCAN_SECONDS = 30;

/** The `file:` URL ffmpeg reads; never a shell word. */
export function fileSource(file: string): string {
  return `file:${path.resolve(file)}`;
}

/** Before every ffprobe input: the file protocol only, and the probe's closed list of demuxers. */
const PROBE_SAFETY = ['-protocol_whitelist', 'file', '-format_whitelist', PROBE_FORMAT_WHITELIST];
/** Before every ffmpeg input: the file protocol only, and video demuxers only. */
export const INPUT_SAFETY = ['-protocol_whitelist', 'file', '-format_whitelist', DECODE_FORMAT_WHITELIST];

/**
 * ffprobe: container and streams, plus the packets (timestamps, key flags) of the first
 * {@link PROBE_SCAN_SECONDS} seconds, as compact JSON on stdout.
 */
export function probeArgs(file: string, scanSeconds = PROBE_SCAN_SECONDS): string[] {
  return [
    '-hide_banner',
    // Warnings too: "detected only with low score" is how a non-video named .mp4 shows itself.
    '-v',
    'warning',
    ...PROBE_SAFETY,
    '-print_format',
    'json=compact=1',
    '-show_format',
    '-show_streams',
    '-show_entries',
    'packet=stream_index,pts_time,flags',
    '-read_intervals',
    `%+${scanSeconds}`,
    fileSource(file),
  ];
}

/** ffprobe: every packet of one stream (demuxing only, no decoding): counts frames, finds the readable end. */
export function packetScanArgs(file: string, streamIndex: number): string[] {
  return [
    '-hide_banner',
    '-v',
    'error',
    ...INPUT_SAFETY,
    '-print_format',
    'json=compact=1',
    '-select_streams',
    String(streamIndex),
    '-show_entries',
    'packet=stream_index,pts_time,flags',
    fileSource(file),
  ];
}

/**
 * ffprobe: for each time (absolute seconds), seek there and print the first packet of the stream: the
 * keyframe at or before it. Demuxing only; tells what each `-ss` will have to decode.
 */
export function keyframeSeekArgs(file: string, streamIndex: number, times: number[]): string[] {
  return [
    '-hide_banner',
    '-v',
    'error',
    ...INPUT_SAFETY,
    '-print_format',
    'json=compact=1',
    '-select_streams',
    String(streamIndex),
    '-show_entries',
    'packet=stream_index,pts_time,flags',
    '-read_intervals',
    times.map((t) => `${seconds(t)}%+#1`).join(','),
    fileSource(file),
  ];
}

/** Seconds as ffmpeg reads them, without exponent notation. */
export function seconds(value: number): string {
  return Math.max(0, value).toFixed(6);
}

/** One field per interlaced frame: a field has half the lines, so its pixels are twice as tall. */
function fieldFilters(deinterlace: boolean): string[] {
  return deinterlace ? ['field=type=top', "setsar=r='sar/2':max=1000"] : [];
}

/** Shortest edge to `size` (pixel aspect taken into account), centre crop, square pixels, rgb24. */
function modelFilters(size: number, geometry: FrameGeometry = { resize: 'shortest' }): string[] {
  const s = String(size);
  const flags = SCALE_FLAGS[geometry.interpolation ?? 'bicubic'];
  if (geometry.resize === 'squash') return [`scale=${s}:${s}:flags=${flags}`, 'setsar=1', 'format=rgb24'];
  const e = String(Math.max(size, geometry.shortestEdge ?? size));
  const landscape = 'gte(iw*sar,ih)';
  return [
    `scale=w='if(${landscape},trunc(${e}*iw*sar/ih),${e})':h='if(${landscape},${e},trunc(${e}*ih/(iw*sar)))':flags=${flags}`,
    `crop=${s}:${s}`,
    'setsar=1',
    'format=rgb24',
  ];
}

/**
 * Filters after selection: one field per interlaced frame, shortest edge to `size` (pixel aspect taken into
 * account, rotation already applied by ffmpeg's autorotate), centre crop, square pixels, rgb24.
 * Resize follows CLIP: the short side becomes `size`, the long side `trunc(size × long / short)`.
 */
export function frameFilters({ size, deinterlace, geometry }: FrameFilterOptions): string[] {
  return [...fieldFilters(deinterlace), ...modelFilters(size, geometry)];
}

/**
 * The preview's geometry: the display aspect (`iw*sar` by `ih`) kept, the longest side at most `maxSide`
 * and never enlarged, even sides, square pixels; rgb24 for PNG (its own pixels, converted once by ffmpeg),
 * yuv420p for WebP (what libwebp encodes: 4:2:0 at 8 bits whatever the video is).
 */
export function previewFilters(maxSide: number, format: PreviewOutput['format'] = 'png'): string[] {
  const m = String(maxSide);
  const landscape = 'gte(iw*sar,ih)';
  const long = `if(${landscape},min(${m},iw*sar),min(${m},ih))`;
  const w = `if(${landscape},${long},${long}*iw*sar/ih)`;
  const h = `if(${landscape},${long}*ih/(iw*sar),${long})`;
  // WebP's YUV is BT.601 at limited range, whatever the video's is: HD video is BT.709, some phones'
  // full range, and left as it is its greens would come out some 30 levels too bright.
  const webp = format === 'webp' ? ':out_color_matrix=bt601:out_range=tv' : '';
  return [
    `scale=w='max(2,trunc(${w}/2)*2)':h='max(2,trunc(${h}/2)*2)':flags=bicubic${webp}`,
    'setsar=1',
    format === 'webp' ? 'format=yuv420p' : 'format=rgb24',
  ];
}

/**
 * The part of a graph from `input` (a stream label) through `before` (selection) to the labelled model
 * output `out`, logged by `log` (a showinfo or nothing); with a preview, a `split` after the field filter
 * also feeds `previewOut`. `tag` keeps the split's own labels unique when a graph has several chains.
 */
function geometryChain(
  input: string,
  before: string[],
  frame: FrameFilterOptions,
  log: string[],
  labels: { out: string; previewOut: string; tag: string },
): string {
  const field = fieldFilters(frame.deinterlace);
  const model = [...modelFilters(frame.size, frame.geometry), ...log];
  if (!frame.preview) return `${input}${[...before, ...field, ...model].join(',')}[${labels.out}]`;
  const m = `m${labels.tag}`;
  const p = `p${labels.tag}`;
  return (
    `${input}${[...before, ...field, 'split=2'].join(',')}[${m}][${p}];` +
    `[${m}]${model.join(',')}[${labels.out}];[${p}]${previewFilters(frame.preview.maxSide, frame.preview.format).join(',')}[${labels.previewOut}]`
  );
}

/** The second output of a command with a preview: numbered images, as many as the frames (`limit`, when known). */
function previewSpec(frame: FrameFilterOptions, limit?: number): FfmpegCommandSpec['preview'] {
  if (!frame.preview) return undefined;
  const codec =
    frame.preview.format === 'webp'
      ? [
          '-c:v',
          'libwebp',
          '-lossless',
          '0',
          '-quality',
          String(PREVIEW_WEBP.quality),
          '-compression_level',
          String(PREVIEW_WEBP.method),
        ]
      : ['-c:v', 'png', '-compression_level', '1'];
  return {
    output: [
      '-map',
      '[preview]',
      '-fps_mode',
      'passthrough',
      ...(limit === undefined ? [] : ['-frames:v', String(limit)]),
      ...codec,
      '-start_number',
      '0',
      '-f',
      'image2',
    ],
    target: fileSource(frame.preview.pattern),
  };
}

/** `spec` with its preview output when it has one (never an `undefined` field). */
function withPreview(spec: FfmpegCommandSpec, preview: FfmpegCommandSpec['preview']): FfmpegCommandSpec {
  return preview ? { ...spec, preview } : spec;
}

/**
 * `terms` added up as ffmpeg's expression parser can take them: it refuses a flat sum of more than about
 * 100 terms (its recursion limit; `reel frames --fps 25 --max 200` failed on it), so the sum is nested
 * in groups of at most 10, as deep as needed.
 */
export function sumOf(terms: string[]): string {
  let level = terms;
  while (level.length > 10) {
    const groups: string[] = [];
    for (let i = 0; i < level.length; i += 10) groups.push(`(${level.slice(i, i + 10).join('+')})`);
    level = groups;
  }
  return level.join('+');
}

/**
 * A `select` expression passing, for each target in turn, the first frame whose timestamp `t` is at or
 * after it: the k-th selected frame is the first with t >= targets[k]. `targets` must be ascending.
 */
export function selectAtOrAfter(targets: number[]): string {
  const n = targets.length;
  if (n === 0) return '0';
  const next = sumOf(targets.map((t, k) => `${seconds(t)}*eq(selected_n\\,${k})`));
  return `lt(selected_n\\,${n})*gte(t\\,${next})`;
}

/** Labels of a graph with one chain: the model's frames to `[out]`, the preview's to `[preview]`. */
const LABELS = { out: 'out', previewOut: 'preview', tag: '' };

const OUTPUT_RAW_RGB = [
  '-map',
  '[out]',
  '-fps_mode',
  'passthrough',
  '-f',
  'rawvideo',
  '-pix_fmt',
  'rgb24',
  // Global options: ffmpeg accepts them anywhere on the command line.
  '-hide_banner',
  '-nostdin',
  '-nostats',
  '-loglevel',
  'level+info',
  '-copyts',
  '-start_at_zero',
];

/**
 * Several fast seeks in one process: one input per target, each opened with `-ss <target>` (accurate seek:
 * decode from the keyframe before it, drop frames before it) and cut to its first frame. Frame k is logged
 * by `showinfo@s<k>` and written k-th, in target order.
 */
export function seekCommand(
  file: string,
  streamIndex: number,
  targets: number[],
  frame: FrameFilterOptions,
  decode: readonly string[] = [],
): FfmpegCommandSpec {
  const source = fileSource(file);
  const single = targets.length === 1;
  const chains = targets.map((_, k) =>
    geometryChain(`[${k}:${streamIndex}]`, ['trim=end_frame=1'], frame, [`showinfo@s${k}`], {
      out: single ? 'out' : `v${k}`,
      previewOut: single ? 'preview' : `w${k}`,
      tag: String(k),
    }),
  );
  // concat writes segment k's streams (model frame, and preview) as the k-th frame of each output.
  const streams = targets.map((_, k) => (frame.preview ? `[v${k}][w${k}]` : `[v${k}]`)).join('');
  const joined = single
    ? chains[0]!
    : `${chains.join(';')};${streams}concat=n=${targets.length}:v=${frame.preview ? 2 : 1}:a=0[out]${frame.preview ? '[preview]' : ''}`;
  return withPreview(
    {
      inputs: targets.map((t) => ({ options: [...INPUT_SAFETY, ...decode, '-ss', seconds(t)], source })),
      filterComplex: joined,
      output: OUTPUT_RAW_RGB,
    },
    previewSpec(frame),
  );
}

/**
 * One decoding pass keeping the first frame at or after each target (`select`, before any scaling, so
 * skipped frames cost only their decoding). `-frames:v` stops ffmpeg as soon as the last one is out
 * instead of decoding to the end. Frames are logged by `showinfo@p`.
 *
 * `decode` (here and in the other frame commands): decoder options placed before `-i`, such as
 * `-threads 1` and the skipping a sampling precision allows (see `sampling-precision.ts`).
 */
export function singlePassCommand(
  file: string,
  streamIndex: number,
  targets: number[],
  frame: FrameFilterOptions,
  decode: readonly string[] = [],
): FfmpegCommandSpec {
  const select = `select='${selectAtOrAfter(targets)}'`;
  return withPreview(
    {
      inputs: [{ options: [...INPUT_SAFETY, ...decode], source: fileSource(file) }],
      filterComplex: geometryChain(`[0:${streamIndex}]`, [select], frame, ['showinfo@p'], LABELS),
      output: ['-frames:v', String(targets.length), ...OUTPUT_RAW_RGB],
    },
    // Both outputs stop at the last target, or ffmpeg would decode the rest of the file for the preview.
    previewSpec(frame, targets.length),
  );
}

/** A `select` expression passing frames within `window` seconds of any target. */
export function selectNear(targets: number[], window: number): string {
  if (targets.length === 0) return '0';
  const near = sumOf(targets.map((t) => `lte(abs(t-${seconds(t)})\\,${seconds(window)})`));
  return `gt(${near}\\,0)`;
}

/**
 * Keyframes only: the demuxer drops every other packet and the decoder skips non-key frames, so the cost
 * is a few dozen intra frames whatever the length. Keyframes within `window` seconds of a target pass
 * (all of them when `window` is undefined: keyframes are then known to be few); the caller keeps the
 * nearest per target. Frames are logged by `showinfo@k`.
 */
export function keyframesCommand(
  file: string,
  streamIndex: number,
  targets: number[],
  window: number | undefined,
  frame: FrameFilterOptions,
  decode: readonly string[] = [],
): FfmpegCommandSpec {
  const select = window === undefined ? [] : [`select='${selectNear(targets, window)}'`];
  return withPreview(
    {
      inputs: [
        {
          options: [...INPUT_SAFETY, ...decode, '-discard', 'nokey', '-skip_frame', 'nokey'],
          source: fileSource(file),
        },
      ],
      filterComplex: geometryChain(`[0:${streamIndex}]`, select, frame, ['showinfo@k'], LABELS),
      output: OUTPUT_RAW_RGB,
    },
    previewSpec(frame),
  );
}

/** Options of the scene-change strategy as ffmpeg sees them. */
export interface SceneSelectOptions {
  /** ffmpeg's scene score (0..1) above which a frame starts a new shot. */
  threshold: number;
  /** Seconds: no two kept frames closer than this. */
  minGap: number;
  keyframesOnly: boolean;
}

/**
 * One frame per shot: the first frame, then every frame whose scene-change score exceeds the threshold
 * and lies at least `minGap` after the previous one. `metadata@m` logs each kept frame's timestamp and
 * score (`lavfi.scene_score`), so the caller can keep the strongest cuts when there are too many.
 */
export function scenesCommand(
  file: string,
  streamIndex: number,
  scene: SceneSelectOptions,
  frame: FrameFilterOptions,
  decode: readonly string[] = [],
): FfmpegCommandSpec {
  const cut = `gt(scene\\,${scene.threshold})*gte(t-prev_selected_t\\,${seconds(scene.minGap)})`;
  const options = scene.keyframesOnly
    ? [...INPUT_SAFETY, ...decode, '-discard', 'nokey', '-skip_frame', 'nokey']
    : [...INPUT_SAFETY, ...decode];
  const select = [`select='gt(eq(n\\,0)+${cut}\\,0)'`, 'metadata@m=mode=print:key=lavfi.scene_score'];
  return withPreview(
    {
      inputs: [{ options, source: fileSource(file) }],
      filterComplex: geometryChain(`[0:${streamIndex}]`, select, frame, [], LABELS),
      output: OUTPUT_RAW_RGB,
    },
    previewSpec(frame),
  );
}

/**
 * The full command line ffmpeg receives, in fluent-ffmpeg's order: each input's options and `-i`, the
 * filter graph, the output options. Used by tests, by the benchmark and by a future direct `spawn`.
 */
export function toArgv(spec: FfmpegCommandSpec): string[] {
  return [
    ...spec.inputs.flatMap((input) => [...input.options, '-i', input.source]),
    '-filter_complex',
    spec.filterComplex,
    ...spec.output,
    'pipe:1',
    ...(spec.preview ? [...spec.preview.output, spec.preview.target] : []),
  ];
}

/** One stretch of a generated video: a solid colour, two colours side by side or one above the other, and an optional box in the middle. */
export interface ColourSegment {
  /** ffmpeg colour name or 0xRRGGBB: the whole frame, or its left (with `right`) or top (with `bottom`) half. */
  colour: string;
  /** When set, the right half has this colour (and the left half `colour`). */
  right?: string;
  /** When set, the bottom half has this colour (and the top half `colour`); not together with `right`. */
  bottom?: string;
  /** When set, a box of half the width and half the height in the middle of the frame has this colour. */
  centre?: string;
  seconds: number;
}

const SAFE_COLOUR = /^(0x[0-9a-fA-F]{6}|[a-zA-Z]+)$/;

/** Even pixel counts, so every piece stays whole in yuv420p. */
function even(value: number): number {
  return Math.max(2, 2 * Math.floor(value / 2));
}

/**
 * Arguments that render coloured segments into an H.264 file (for the demo and tests: videos made on
 * the spot, never downloaded). Colours are checked so nothing but a colour reaches the filter graph.
 */
export function colourVideoArgs(
  file: string,
  segments: readonly ColourSegment[],
  options: { width?: number; height?: number; fps?: number } = {},
): string[] {
  const { width = 320, height = 180, fps = 12 } = options;
  const inputs: string[] = [];
  const graph: string[] = [];
  let n = 0;
  segments.forEach((segment, i) => {
    for (const colour of [segment.colour, segment.right, segment.bottom, segment.centre]) {
      if (colour !== undefined && !SAFE_COLOUR.test(colour))
        throw new Error(`not a colour: ${JSON.stringify(colour)}`);
    }
    if (segment.right !== undefined && segment.bottom !== undefined)
      throw new Error('a segment splits left/right (right) or top/bottom (bottom), not both');
    if (!(Number.isFinite(segment.seconds) && segment.seconds > 0))
      throw new Error(`segment seconds: expected a positive number, got ${segment.seconds}`);
    const source = (colour: string, w: number, h: number) => {
      inputs.push('-f', 'lavfi', '-i', `color=c=${colour}:s=${w}x${h}:d=${segment.seconds}:r=${fps}`);
      return `[${n++}:v]`;
    };
    const base = segment.centre === undefined ? `[s${i}]` : `[b${i}]`;
    if (segment.right !== undefined) {
      const half = even(width / 2);
      graph.push(
        `${source(segment.colour, half, height)}${source(segment.right, width - half, height)}hstack${base}`,
      );
    } else if (segment.bottom !== undefined) {
      const half = even(height / 2);
      graph.push(
        `${source(segment.colour, width, half)}${source(segment.bottom, width, height - half)}vstack${base}`,
      );
    } else graph.push(`${source(segment.colour, width, height)}null${base}`);
    if (segment.centre !== undefined) {
      const w = even(width / 2);
      const h = even(height / 2);
      graph.push(
        `${base}${source(segment.centre, w, h)}overlay=x=${even((width - w) / 2)}:y=${even((height - h) / 2)}[s${i}]`,
      );
    }
  });
  graph.push(
    `${segments.map((_, i) => `[s${i}]`).join('')}concat=n=${segments.length}:v=1:a=0,format=yuv420p[out]`,
  );
  return [
    '-hide_banner',
    '-v',
    'error',
    '-y',
    '-nostdin',
    ...inputs,
    '-filter_complex',
    graph.join(';'),
    '-map',
    '[out]',
    // WebM holds VP8/VP9, not H.264: pick the encoder the container takes.
    ...(file.toLowerCase().endsWith('.webm')
      ? ['-c:v', 'libvpx', '-b:v', '400k']
      : ['-c:v', 'libx264', '-preset', 'veryfast']),
    `file:${file}`,
  ];
}
