/**
 * Probe: which ffmpeg decoder options are safe for a "fast" uniform sampling mode (12 frames, 224x224 rgb24)?
 *
 * For each codec the installed ffmpeg can encode, generates a short test video (a panning noise texture with
 * testsrc2 moving over it, see sourceArgs) into a temp folder, then decodes it once per option set with
 *   ffmpeg -hide_banner -nostdin -threads 1 <options> -i file -vf "select='<first frame at or after each
 *   target>',showinfo,scale=224:224:flags=bicubic,format=rgb24" -fps_mode passthrough -frames:v 12
 *   -copyts -start_at_zero -f rawvideo pipe:1
 * and compares every output frame with the exact decode (no options) at the same pts and at the target.
 * Targets are X-Pool's uniform frame indices / fps, moved ½ frame earlier (as sample-frames.ts does).
 * PSNR and SSIM (Gaussian 11x11, σ=1.5) are computed here on BT.601 luma of the 224x224 rgb24 frames.
 * Also ffmpeg-style SSIM ("All" of its ssim filter on yuv444p: 8x8 windows, stride 4) for comparison.
 * CPU is user+sys of the ffmpeg process (/usr/bin/time), minimum of RUNS (5) runs. ffmpeg runs one at a time.
 *
 * Run: cd ingest && ../node_modules/.bin/node scripts/decode-flags-probe.ts
 * Env: ONLY=name,name (subset of videos), KEEP=1 (keep the temp folder), RUNS=n (timed runs, default 5),
 *      DIR=folder (use and keep this folder; videos already in it are reused instead of re-encoded).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { selectAtOrAfter } from '../src/ffmpeg-args.ts';
import { xpoolFrameIndices } from '../src/sampling-plan.ts';

const FFMPEG = '/usr/bin/ffmpeg';
const TIME = '/usr/bin/time';
const SIDE = 224;
const FRAME_BYTES = SIDE * SIDE * 3;
const COUNT = 12;
const FPS = 30;
const DURATION = 12.5; // 375 frames: X-Pool indices fall on every phase of a B-frame group
/** Timed runs per option set; the minimum CPU counts (the machine is shared, so one run is noisy). */
const RUNS = Number(process.env.RUNS ?? 5);

interface VideoSpec {
  name: string;
  encoder: string;
  size: string;
  ext: string;
  args: string[];
  /** Force this decoder (`-c:v` before `-i`) instead of ffmpeg's default one. */
  decoder?: string;
  /** Reuse another spec's file (decoder comparison). */
  sameFileAs?: string;
  /** Two-pass encode (libvpx-vp9 makes alt-ref frames only in two-pass mode). */
  twoPass?: boolean;
  /** Count hidden and non-reference frames from the frame headers (VP9, AV1). */
  traceHeaders?: boolean;
  note: string;
}

const VIDEOS: VideoSpec[] = [
  {
    name: 'h264-bf0',
    encoder: 'libx264',
    size: '1280x720',
    ext: 'mp4',
    args: ['-c:v', 'libx264', '-preset', 'medium', '-crf', '23', '-bf', '0', '-g', '150'],
    note: 'x264 medium High, no B-frames',
  },
  {
    name: 'h264-b3-pyr',
    encoder: 'libx264',
    size: '1280x720',
    ext: 'mp4',
    args: ['-c:v', 'libx264', '-preset', 'medium', '-crf', '23', '-bf', '3', '-g', '150'],
    note: 'x264 medium High, 3 B, b-pyramid=normal (default)',
  },
  {
    name: 'h264-b3-nopyr',
    encoder: 'libx264',
    size: '1280x720',
    ext: 'mp4',
    args: [
      '-c:v',
      'libx264',
      '-preset',
      'medium',
      '-crf',
      '23',
      '-bf',
      '3',
      '-g',
      '150',
      '-x264-params',
      'b-pyramid=none',
    ],
    note: 'x264 medium High, 3 B, b-pyramid=none',
  },
  {
    name: 'hevc-x265',
    encoder: 'libx265',
    size: '960x540',
    ext: 'mp4',
    args: [
      '-c:v',
      'libx265',
      '-preset',
      'fast',
      '-crf',
      '28',
      '-g',
      '150',
      '-tag:v',
      'hvc1',
      '-x265-params',
      'bframes=4:b-pyramid=1:log-level=error',
    ],
    note: 'x265 fast, 4 B, b-pyramid',
  },
  {
    name: 'vp9',
    encoder: 'libvpx-vp9',
    size: '960x540',
    ext: 'webm',
    args: [
      '-c:v',
      'libvpx-vp9',
      '-b:v',
      '2M',
      '-deadline',
      'good',
      '-cpu-used',
      '4',
      '-row-mt',
      '1',
      '-auto-alt-ref',
      '1',
      '-lag-in-frames',
      '25',
      '-g',
      '150',
    ],
    twoPass: true,
    traceHeaders: true,
    note: 'libvpx-vp9 2-pass good cpu-used 4, alt-ref, lag 25',
  },
  {
    name: 'mpeg2',
    encoder: 'mpeg2video',
    size: '1280x720',
    ext: 'ts',
    args: ['-c:v', 'mpeg2video', '-q:v', '4', '-bf', '2', '-g', '150'],
    note: 'mpeg2video q4, 2 B, MPEG-TS',
  },
  {
    name: 'mpeg4',
    encoder: 'mpeg4',
    size: '1280x720',
    ext: 'mp4',
    args: ['-c:v', 'mpeg4', '-q:v', '4', '-bf', '2', '-g', '150'],
    note: 'mpeg4 (Part 2) q4, 2 B',
  },
  {
    name: 'av1-svt',
    encoder: 'libsvtav1',
    size: '960x540',
    ext: 'mp4',
    args: ['-c:v', 'libsvtav1', '-preset', '10', '-crf', '35', '-g', '150'],
    traceHeaders: true,
    note: 'SVT-AV1 preset 10 (hierarchical mini-GOP)',
  },
  {
    name: 'av1-svt@libaom',
    encoder: 'libsvtav1',
    size: '960x540',
    ext: 'mp4',
    args: [],
    decoder: 'libaom-av1',
    sameFileAs: 'av1-svt',
    note: 'same file, decoded with -c:v libaom-av1',
  },
  {
    name: 'av1-aom',
    encoder: 'libaom-av1',
    size: '640x360',
    ext: 'mp4',
    args: [
      '-c:v',
      'libaom-av1',
      '-cpu-used',
      '8',
      '-crf',
      '35',
      '-b:v',
      '0',
      '-g',
      '150',
      '-lag-in-frames',
      '25',
    ],
    traceHeaders: true,
    note: 'libaom good cpu-used 8, lag 25 (alt-ref)',
  },
];

const OPTION_SETS: { name: string; options: string[] }[] = [
  { name: 'exact', options: [] },
  { name: 'noref', options: ['-skip_frame', 'noref'] },
  { name: 'nolf', options: ['-skip_loop_filter', 'all'] },
  { name: 'noref+nolf', options: ['-skip_frame', 'noref', '-skip_loop_filter', 'all'] },
  { name: 'bidir', options: ['-skip_frame', 'bidir'] },
];

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  cpu?: number;
}

/** Runs a command (optionally under /usr/bin/time), collecting stdout as bytes and stderr as text. */
function run(cmd: string, args: string[], timed = false, dir = os.tmpdir()): Promise<RunResult> {
  const timeFile = path.join(dir, `time-${process.pid}.txt`);
  const [bin, argv] = timed ? [TIME, ['-f', '%U %S', '-o', timeFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      let cpu: number | undefined;
      if (timed) {
        const [u, s] = fs.readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
        cpu = (u ?? NaN) + (s ?? NaN);
      }
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), cpu });
    });
  });
}

interface Frame {
  pts: number;
  ptsTime: number;
  rgb: Buffer;
}

const SHOWINFO = /\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(\S+)/;

function parseFrames(r: RunResult): Frame[] {
  const infos = r.stderr.split('\n').flatMap((line) => {
    const m = line.includes('Parsed_showinfo') ? SHOWINFO.exec(line) : null;
    return m ? [{ pts: Number(m[2]), ptsTime: Number(m[3]) }] : [];
  });
  const n = Math.floor(r.stdout.length / FRAME_BYTES);
  if (n !== infos.length) throw new Error(`showinfo logged ${infos.length} frames, stdout has ${n}`);
  return infos.map((info, i) => ({
    ...info,
    rgb: r.stdout.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES),
  }));
}

/** "h264 (native)" from "Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))". */
function decoderUsed(stderr: string): string {
  const m = /Stream #0:0 -> #0:0 \((.+?) -> /.exec(stderr);
  return m?.[1] ?? '?';
}

function decodeArgs(file: string, options: string[], spec: VideoSpec, select?: string): string[] {
  const vf = [
    ...(select === undefined ? [] : [`select='${select}'`]),
    'showinfo',
    `scale=${SIDE}:${SIDE}:flags=bicubic`,
    'format=rgb24',
  ].join(',');
  return [
    '-hide_banner',
    '-nostdin',
    '-threads',
    '1',
    ...options,
    ...(spec.decoder ? ['-c:v', spec.decoder] : []),
    '-i',
    `file:${file}`,
    '-an',
    '-vf',
    vf,
    '-fps_mode',
    'passthrough',
    ...(select === undefined ? [] : ['-frames:v', String(COUNT)]),
    '-copyts',
    '-start_at_zero',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}

// ---- metrics on BT.601 luma of rgb24 frames ----

function luma(rgb: Buffer): Float64Array {
  const y = new Float64Array(SIDE * SIDE);
  for (let i = 0, j = 0; i < y.length; i++, j += 3)
    y[i] = 0.299 * rgb[j]! + 0.587 * rgb[j + 1]! + 0.114 * rgb[j + 2]!;
  return y;
}

function psnr(a: Float64Array, b: Float64Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

const KERNEL = (() => {
  const k = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const s = k.reduce((p, q) => p + q, 0);
  return k.map((v) => v / s);
})();

/** Valid-region separable Gaussian blur: (SIDE-10)² outputs. */
function blur(src: Float64Array): Float64Array {
  const w = SIDE;
  const o = w - 10;
  const tmp = new Float64Array(w * o);
  for (let y = 0; y < w; y++)
    for (let x = 0; x < o; x++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += KERNEL[k]! * src[y * w + x + k]!;
      tmp[y * o + x] = s;
    }
  const out = new Float64Array(o * o);
  for (let y = 0; y < o; y++)
    for (let x = 0; x < o; x++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += KERNEL[k]! * tmp[(y + k) * o + x]!;
      out[y * o + x] = s;
    }
  return out;
}

function ssim(a: Float64Array, b: Float64Array): number {
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const sq = (v: Float64Array, w: Float64Array) => v.map((x, i) => x * w[i]!);
  const [ma, mb, aa, bb, ab] = [blur(a), blur(b), blur(sq(a, a)), blur(sq(b, b)), blur(sq(a, b))];
  let sum = 0;
  for (let i = 0; i < ma.length; i++) {
    const mx = ma[i]!;
    const my = mb[i]!;
    const vx = aa[i]! - mx * mx;
    const vy = bb[i]! - my * my;
    const cxy = ab[i]! - mx * my;
    sum += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  return sum / ma.length;
}

/** rgb24 to yuv444p planes, BT.601 limited range (swscale's default for this conversion), rounded. */
function yuv444(rgb: Buffer): [Float64Array, Float64Array, Float64Array] {
  const n = SIDE * SIDE;
  const [y, u, v] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const [r, g, b] = [rgb[j]!, rgb[j + 1]!, rgb[j + 2]!];
    y[i] = Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
    u[i] = Math.round(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
    v[i] = Math.round(128 + (112 * r - 93.786 * g - 18.214 * b) / 255);
  }
  return [y, u, v];
}

/** One plane as ffmpeg's ssim filter computes it: 8x8 windows (2x2 blocks of 4x4) at a stride of 4. */
function ssimFfmpegPlane(a: Float64Array, b: Float64Array): number {
  const blocks = SIDE >> 2;
  const sums = Array.from(
    { length: blocks * blocks },
    () => [0, 0, 0, 0] as [number, number, number, number],
  );
  for (let by = 0; by < blocks; by++)
    for (let bx = 0; bx < blocks; bx++) {
      const acc = sums[by * blocks + bx]!;
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++) {
          const i = (by * 4 + y) * SIDE + bx * 4 + x;
          const [p, q] = [a[i]!, b[i]!];
          acc[0] += p;
          acc[1] += q;
          acc[2] += p * p + q * q;
          acc[3] += p * q;
        }
    }
  const c1 = 0.01 * 0.01 * 255 * 255 * 64;
  const c2 = 0.03 * 0.03 * 255 * 255 * 64 * 63;
  let total = 0;
  for (let by = 0; by < blocks - 1; by++)
    for (let bx = 0; bx < blocks - 1; bx++) {
      const f: [number, number, number, number] = [0, 0, 0, 0];
      for (const [dy, dx] of [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ] as const) {
        const acc = sums[(by + dy) * blocks + bx + dx]!;
        for (let k = 0; k < 4; k++) f[k]! += acc[k]!;
      }
      const [s1, s2, ss, s12] = f;
      const vars = ss * 64 - s1 * s1 - s2 * s2;
      const covar = s12 * 64 - s1 * s2;
      total += ((2 * s1 * s2 + c1) * (2 * covar + c2)) / ((s1 * s1 + s2 * s2 + c1) * (vars + c2));
    }
  return total / ((blocks - 1) * (blocks - 1));
}

/** ffmpeg's ssim "All" on yuv444p: the mean of the three planes (equal sizes). */
function ssimFfmpeg(a: Buffer, b: Buffer): number {
  const [pa, pb] = [yuv444(a), yuv444(b)];
  return (ssimFfmpegPlane(pa[0], pb[0]) + ssimFfmpegPlane(pa[1], pb[1]) + ssimFfmpegPlane(pa[2], pb[2])) / 3;
}

// ---- probe ----

interface Row {
  video: string;
  decoder: string;
  set: string;
  out: number;
  onTarget: number;
  maxAfter: number;
  unmatched: number;
  bitexact: number;
  minPsnr: number;
  minSsim: number;
  minSsimFf: number;
  minSsimTarget: number;
  cpu: number;
  cpuSpread: number;
  cpuExact: number;
}

/**
 * The test picture: a detailed texture (upscaled noise, one still) panning smoothly behind testsrc2 at half
 * size moving on a Lissajous path (testsrc2 animates inside too). Rigid motion, so encoders can use
 * B-frames and motion compensation the way they do on real footage; per-frame noise would not let them.
 */
function sourceArgs(size: string, texture: string): string[] {
  const [w, h] = size.split('x').map(Number) as [number, number];
  const fg = `${Math.round(w / 2 / 2) * 2}x${Math.round(h / 2 / 2) * 2}`;
  const graph = [
    `[0]format=yuv420p,crop=${w}:${h}:x='${0.2 * w}+${0.2 * w}*sin(t*0.5)':y='${0.2 * h}+${0.2 * h}*cos(t*0.37)'[bg]`,
    `testsrc2=size=${fg}:rate=${FPS}:duration=${DURATION},format=yuv420p[fg]`,
    `[bg][fg]overlay=x='${w / 4}+${w / 5}*sin(t*0.9)':y='${h / 4}+${h / 5}*cos(t*1.3)':shortest=1,format=yuv420p`,
  ].join(';');
  return [
    '-loop',
    '1',
    '-framerate',
    String(FPS),
    '-t',
    String(DURATION),
    '-i',
    texture,
    '-filter_complex',
    graph,
  ];
}

/** The background still for a video of `size`: 1.4 times as large, so that it can pan. */
async function makeTexture(dir: string, size: string): Promise<string> {
  const [w, h] = size.split('x').map(Number) as [number, number];
  const file = path.join(dir, `texture-${size}.png`);
  if (fs.existsSync(file)) return file;
  const [tw, th] = [Math.round(w * 1.4), Math.round(h * 1.4)];
  const r = await run(FFMPEG, [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${tw >> 1}x${th >> 1}:rate=1,format=yuv420p,noise=alls=60:allf=u,scale=${tw}:${th}:flags=bicubic`,
    '-frames:v',
    '1',
    file,
  ]);
  if (r.code !== 0) throw new Error(`texture failed: ${r.stderr}`);
  return file;
}

async function encode(spec: VideoSpec, file: string, texture: string): Promise<number> {
  const t0 = Date.now();
  const common = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    ...sourceArgs(spec.size, texture),
    ...spec.args,
  ];
  const tail = ['-pix_fmt', 'yuv420p', '-r', String(FPS)];
  const log = ['-passlogfile', `${file}.pass`];
  const passes = spec.twoPass
    ? [
        [...common, ...tail, '-pass', '1', ...log, '-f', 'null', '-'],
        [...common, ...tail, '-pass', '2', ...log, file],
      ]
    : [[...common, ...tail, file]];
  for (const args of passes) {
    const r = await run(FFMPEG, args);
    if (r.code !== 0) throw new Error(`encode ${spec.name} failed: ${r.stderr.slice(-2000)}`);
  }
  return (Date.now() - t0) / 1000;
}

/** VP9/AV1 frame headers (trace_headers): coded frames, hidden ones (show_frame=0), non-reference ones. */
async function headerSummary(file: string, dir: string): Promise<string> {
  const r = await run(
    FFMPEG,
    [
      '-hide_banner',
      '-nostdin',
      '-i',
      `file:${file}`,
      '-c',
      'copy',
      '-bsf:v',
      'trace_headers',
      '-f',
      'null',
      '-',
    ],
    false,
    dir,
  );
  const counts = { shown: 0, hidden: 0, nonref: 0, existing: 0 };
  for (const m of r.stderr.matchAll(
    /\s(show_frame|show_existing_frame|refresh_frame_flags)\s+\S+\s+=\s+(\d+)/g,
  )) {
    const value = Number(m[2]);
    if (m[1] === 'show_frame') counts[value ? 'shown' : 'hidden']++;
    else if (m[1] === 'show_existing_frame') counts.existing += value;
    else if (value === 0) counts.nonref++;
  }
  return (
    `; headers: ${counts.shown + counts.hidden} coded frames, ${counts.hidden} hidden (show_frame=0), ` +
    `${counts.existing} show_existing_frame, ${counts.nonref} with refresh_frame_flags=0 (non-reference)`
  );
}

/** Picture types in decode order and the count of B-frames / non-shown frames (ffprobe, for the notes). */
function gopSummary(file: string): string {
  const r = spawnSync(
    '/usr/bin/ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pict_type', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  const types = r.stdout
    .split('\n')
    .map((s) => s.trim().replace(/,$/, ''))
    .filter(Boolean);
  const count = (t: string) => types.filter((x) => x === t).length;
  return (
    `${types.length} frames I=${count('I')} P=${count('P')} B=${count('B')} ` +
    `first: ${types.slice(0, 20).join('')}`
  );
}

function fmt(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'inf';
}

async function main(): Promise<void> {
  const only = process.env.ONLY?.split(',');
  const encoders = spawnSync(FFMPEG, ['-hide_banner', '-encoders'], { encoding: 'utf8' }).stdout;
  const decoders = spawnSync(FFMPEG, ['-hide_banner', '-decoders'], { encoding: 'utf8' }).stdout;
  const has = (list: string, name: string) =>
    new RegExp(`^ \\S{6} ${name.replace(/[-+]/g, '\\$&')}\\s`, 'm').test(list);
  const version = spawnSync(FFMPEG, ['-version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  console.log(version);
  const dpkg =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    spawnSync('dpkg-query', ['-W', '-f', '${Package} ${Version}\\n'], { encoding: 'utf8' }).stdout ?? '';
  console.log(
    dpkg
      .split('\n')
      .filter((l) => /^(libavcodec\d|libx264-|libx265-|libvpx\d|libaom\d|libsvtav1enc|libdav1d\d)/.test(l))
      .join('; '),
  );

  const keepDir = process.env.DIR;
  if (keepDir) fs.mkdirSync(keepDir, { recursive: true });
  const dir = keepDir ? path.resolve(keepDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'decode-flags-probe-'));
  console.log(`temp folder: ${dir}`);
  const rows: Row[] = [];
  const files = new Map<string, string>();
  try {
    for (const spec of VIDEOS) {
      if (only && !only.includes(spec.name)) continue;
      if (!has(encoders, spec.encoder)) {
        console.log(`SKIP ${spec.name}: encoder ${spec.encoder} not in ffmpeg -encoders`);
        continue;
      }
      if (spec.decoder && !has(decoders, spec.decoder)) {
        console.log(`SKIP ${spec.name}: decoder ${spec.decoder} not in ffmpeg -decoders`);
        continue;
      }
      let file = spec.sameFileAs ? files.get(spec.sameFileAs) : undefined;
      const own = path.join(dir, `${spec.name}.${spec.ext}`);
      if (!file && !spec.sameFileAs && keepDir && fs.existsSync(own)) {
        file = own;
        const headers = spec.traceHeaders ? await headerSummary(file, dir) : '';
        console.log(`\n${spec.name}: reusing ${file}; ${gopSummary(file)}${headers}`);
        files.set(spec.name, file);
      } else if (!file) {
        file = path.join(dir, `${spec.sameFileAs ?? spec.name}.${spec.ext}`);
        let secs: number;
        try {
          secs = await encode(spec, file, await makeTexture(dir, spec.size));
        } catch (error) {
          console.log(`SKIP ${spec.name}: ${(error as Error).message}`);
          continue;
        }
        console.log(
          `\n${spec.name}: encoded ${spec.note} ${spec.size} in ${secs.toFixed(1)} s, ` +
            `${(fs.statSync(file).size / 1e6).toFixed(1)} MB; ${gopSummary(file)}` +
            (spec.traceHeaders ? await headerSummary(file, dir) : ''),
        );
        files.set(spec.sameFileAs ?? spec.name, file);
      } else {
        console.log(`\n${spec.name}: ${spec.note}`);
      }

      // Every frame, exact: the reference for "same pts" and "at the target".
      const full = await run(FFMPEG, decodeArgs(file, [], spec), false, dir);
      if (full.code !== 0) throw new Error(`full decode failed: ${full.stderr.slice(-2000)}`);
      const all = parseFrames(full);
      const decoder = decoderUsed(full.stderr);
      const byPts = new Map(all.map((f, i) => [f.pts, i]));
      const lumaCache = new Map<number, Float64Array>();
      const exactLuma = (i: number) => {
        const cached = lumaCache.get(i);
        if (cached) return cached;
        const y = luma(all[i]!.rgb);
        lumaCache.set(i, y);
        return y;
      };
      const step = all.length > 1 ? all[1]!.ptsTime - all[0]!.ptsTime : 1 / FPS;
      const indices = xpoolFrameIndices(all.length, COUNT);
      const targets = indices.map((i) => Math.max(0, i / FPS - 0.5 / FPS));
      const targetIdx = targets.map((t) => all.findIndex((f) => f.ptsTime >= t));
      console.log(
        `  decoder ${decoder}; ${all.length} frames, first pts_time ${all[0]?.ptsTime}, step ${step.toFixed(4)}; ` +
          `target frames ${targetIdx.join(',')}${targetIdx.some((t, k) => t !== indices[k]) ? ` (X-Pool indices ${indices.join(',')})` : ''}`,
      );
      const select = selectAtOrAfter(targets);

      let cpuExact = Number.NaN;
      for (const set of OPTION_SETS) {
        const args = decodeArgs(file, set.options, spec, select);
        let cpu = Number.POSITIVE_INFINITY;
        let cpuMax = 0;
        let frames: Frame[] = [];
        for (let r = 0; r < RUNS; r++) {
          const res = await run(FFMPEG, args, true, dir);
          if (res.code !== 0) throw new Error(`${spec.name}/${set.name} failed: ${res.stderr.slice(-2000)}`);
          cpu = Math.min(cpu, res.cpu!);
          cpuMax = Math.max(cpuMax, res.cpu!);
          if (r === 0) frames = parseFrames(res);
        }
        if (set.name === 'exact') cpuExact = cpu;
        const row: Row = {
          video: spec.name,
          decoder,
          set: set.name,
          out: frames.length,
          onTarget: 0,
          maxAfter: 0,
          unmatched: 0,
          bitexact: 0,
          minPsnr: Number.POSITIVE_INFINITY,
          minSsim: 1,
          minSsimFf: 1,
          minSsimTarget: 1,
          cpu,
          cpuSpread: (cpuMax - cpu) / cpu,
          cpuExact,
        };
        frames.forEach((f, k) => {
          const y = luma(f.rgb);
          const same = byPts.get(f.pts);
          const target = targetIdx[k]!;
          if (same === undefined) {
            row.unmatched++;
          } else {
            const after = same - target;
            if (after === 0) row.onTarget++;
            row.maxAfter = Math.max(row.maxAfter, after);
            if (f.rgb.equals(all[same]!.rgb)) row.bitexact++;
            row.minPsnr = Math.min(row.minPsnr, psnr(y, exactLuma(same)));
            row.minSsim = Math.min(row.minSsim, ssim(y, exactLuma(same)));
            row.minSsimFf = Math.min(row.minSsimFf, ssimFfmpeg(f.rgb, all[same]!.rgb));
          }
          if (target >= 0) row.minSsimTarget = Math.min(row.minSsimTarget, ssim(y, exactLuma(target)));
        });
        rows.push(row);
        console.log(
          `  ${set.name.padEnd(11)} out ${row.out} on-target ${row.onTarget} max+${row.maxAfter} ` +
            `bitexact ${row.bitexact} minPSNR ${fmt(row.minPsnr, 1)} minSSIM ${fmt(row.minSsim, 4)} ` +
            `ffSSIM ${fmt(row.minSsimFf, 4)} vsTarget ${fmt(row.minSsimTarget, 4)} ` +
            `cpu ${cpu.toFixed(2)}..${cpuMax.toFixed(2)} s`,
        );
      }
    }
  } finally {
    if (process.env.KEEP || keepDir) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    '\n| video | decoder | options | out/12 | on target | max frames after | bit-exact | min PSNR Y dB ' +
      '| min SSIM Y (gauss) | min SSIM yuv444p (ffmpeg-style) | min SSIM Y vs target frame | CPU s (min) ' +
      '| spread | vs exact | frames |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const saving = r.set === 'exact' ? '' : `${(((r.cpu - r.cpuExact) / r.cpuExact) * 100).toFixed(0)}%`;
    const identical = r.bitexact === COUNT && r.onTarget === COUNT;
    const effect = r.set === 'exact' ? '' : identical ? 'identical to exact' : 'changed';
    console.log(
      `| ${r.video} | ${r.decoder} | ${r.set} | ${r.out}${r.unmatched ? ` (${r.unmatched} pts unknown)` : ''} | ` +
        `${r.onTarget} | ${r.maxAfter} | ${r.bitexact} | ${fmt(r.minPsnr, 1)} | ${fmt(r.minSsim, 4)} | ` +
        `${fmt(r.minSsimFf, 4)} | ${fmt(r.minSsimTarget, 4)} | ${r.cpu.toFixed(2)} | ` +
        `${(r.cpuSpread * 100).toFixed(0)}% | ${saving} | ${effect} |`,
    );
  }
}

await main();
