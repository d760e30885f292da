import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isInputFault, isReelError } from '@reel/infra';
import {
  SAMPLING_PRECISIONS,
  type SamplingPrecision,
  type SamplingStrategy,
  sampleVideo,
  THUMBNAIL_MAX_SIDE,
  writeFramePngs,
  writeThumbnails,
} from '@reel/ingest';
import { type Command, Option } from 'commander';
import { type CliContext, ExitCode, UsageError } from '../context.ts';
import { printJson } from '../output.ts';

interface FramesOptions {
  count?: string;
  fps?: string;
  scenes?: boolean;
  max: string;
  size: string;
  keyframes?: boolean;
  precision?: SamplingPrecision;
  out: string;
  json?: boolean;
}

function positive(name: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} expects a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  }
  return n;
}

/** The sampling strategy the flags ask for: uniform by default, at most one of --count, --fps, --scenes. */
export function strategyFromFlags(options: FramesOptions, defaultCount: number): SamplingStrategy {
  const chosen = [options.count !== undefined, options.fps !== undefined, options.scenes === true];
  if (chosen.filter(Boolean).length > 1) {
    throw new UsageError('choose one of --count, --fps and --scenes');
  }
  const max = positive('--max', options.max, true);
  if (options.fps !== undefined)
    return { kind: 'fps', every: 1 / positive('--fps', options.fps, false), max };
  if (options.scenes) return { kind: 'scenes', max };
  const count = options.count === undefined ? defaultCount : positive('--count', options.count, true);
  return { kind: 'uniform', count };
}

export function registerFrames(program: Command, context: () => CliContext): void {
  program
    .command('frames')
    .description(
      'sample frames from a video the way the image encoder sees them: PNGs, WebP thumbnails and frames.json',
    )
    .argument('<file>', 'video file')
    .option('--count <n>', 'n frames, uniform as in X-Pool (default: REEL_FRAMES_PER_VIDEO, 12)')
    .option('--fps <rate>', 'frames per second to take, e.g. 0.5 for one every 2 s (capped by --max)')
    .option('--scenes', 'one frame per shot, from ffmpeg scene changes (capped by --max)')
    .option('--max <n>', 'most frames for --fps and --scenes', '100')
    .option('--size <pixels>', 'side of the square frames: shortest edge resized, centre crop', '224')
    .option('--keyframes', 'the same as --precision keyframes')
    .addOption(
      new Option(
        '--precision <precision>',
        'exact (default: the first frame at or after each target), fast (unreferenced frames and deblocking skipped: at most one frame later), keyframes (nearest keyframe per target; falls back to fast when too sparse)',
      ).choices([...SAMPLING_PRECISIONS]),
    )
    .requiredOption('--out <dir>', 'folder for frame-NNNN.png, thumbs/ and frames.json (created if missing)')
    .option('--json', 'print frames.json (with the folder and the time taken) instead of the summary line')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ npx reel frames clip.mp4 --out frames/\n' +
        '  $ npx reel frames "holiday 2024.mov" --fps 0.5 --size 336 --out /tmp/holiday\n' +
        '  $ npx reel frames talk.mkv --scenes --max 20 --keyframes --out talk-shots --json\n' +
        '\nOn a file that is not a usable video it prints "error CODE: message" and exits with status 2.',
    )
    .action(async (file: string, options: FramesOptions) => {
      const { config } = context();
      const strategy = strategyFromFlags(options, config.framesPerVideo);
      const size = positive('--size', options.size, true);
      const out = path.resolve(options.out);
      const started = performance.now();
      try {
        const result = await sampleVideo(file, {
          strategy,
          size,
          precision: options.precision ?? (options.keyframes === true ? 'keyframes' : 'exact'),
          limits: config,
          binaries: config,
          timeoutMs: config.ffmpegTimeoutSeconds * 1000,
          preview: { maxSide: THUMBNAIL_MAX_SIDE, tmpDir: tmpdir(), format: 'webp' },
        });
        const images = await writeFramePngs(result.frames, out);
        const thumbs = await writeThumbnails(result.frames, path.join(out, 'thumbs'));
        const manifest = {
          file: path.resolve(file),
          strategy,
          size,
          plan: result.plan,
          precision: result.precision,
          duration: result.info.duration,
          warnings: result.warnings,
          frames: result.frames.map((frame, i) => ({
            index: frame.index,
            timestamp: frame.timestamp,
            ...(frame.target === undefined ? {} : { target: frame.target }),
            image: path.relative(out, images[i]!),
            thumbnail: path.relative(out, thumbs[i]!),
          })),
        };
        await writeFile(path.join(out, 'frames.json'), `${JSON.stringify(manifest, null, 2)}\n`);
        for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
        const seconds = ((performance.now() - started) / 1000).toFixed(2);
        if (options.json) printJson({ ...manifest, out, seconds: Number(seconds) });
        else
          process.stdout.write(
            `${result.frames.length} frames (${strategy.kind}, ${result.plan}) from ${file} in ${seconds} s → ${out}\n`,
          );
        process.exitCode = ExitCode.ok;
      } catch (error) {
        if (!isReelError(error)) throw error;
        process.stderr.write(`error ${error.code}: ${error.message}\n`);
        process.exitCode = isInputFault(error.code) ? ExitCode.usage : ExitCode.failure;
      }
    });
}
