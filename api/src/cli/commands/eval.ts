/**
 * `reel eval`: text↔video retrieval metrics (R@1/5/10, MdR, MnR, both directions) of a pooling method,
 * either on pre-computed features (`--features DIR`: text.npy, frames.npy, gt.json) or end to end on
 * videos (`--captions FILE --videos DIR`: frame sampling and the active CLIP model, then the same path).
 * The answer is JSON on stdout; a progress bar goes to stderr when it is a terminal. Exit 2 for bad
 * input (missing files, shapes that disagree, options that do not fit), 1 for failures. The work is
 * @reel/workers' eval service: this command parses, shows progress and prints.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  type EvalEmbeddings,
  loadXPoolHead,
  POOLING_METHODS,
  type PoolingMethod,
  type SimilarityMatrixOptions,
  writeNpyFile,
} from '@reel/index';
import { isInputFault, ReelError } from '@reel/infra';
import {
  encodeVideos,
  loadFeatures,
  saveFeatures,
  scoreRetrieval,
  type EvalVideoRun as VideoRun,
} from '@reel/workers';
import { SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type CliContext, UsageError } from '../context.ts';
import { printJson } from '../output.ts';

interface EvalOptions {
  features?: string;
  captions?: string;
  videos?: string;
  pooling: PoolingMethod;
  head?: string;
  tau?: number;
  topk?: number;
  frames?: number;
  dumpSims?: string;
  saveFeatures?: string;
  ranks?: boolean;
  json?: boolean;
}

/** Runs `work`, turning reel's input errors into usage errors (exit 2) that keep their code. */
async function asUsage<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof ReelError) || !isInputFault(error.code)) throw error;
    // The eval service's own checks of the files read as the command's usage errors always did.
    if (error.code === 'EVAL_INPUT_INVALID' || error.code === 'FILE_NOT_FOUND')
      throw new UsageError(error.message);
    throw new UsageError(`${error.code}: ${error.message}`);
  }
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer ≥ 1');
  return n;
}

function requireFile(file: string, what: string): void {
  if (!existsSync(file)) throw new UsageError(`${what} not found: ${file}`);
  if (!statSync(file).isFile()) throw new UsageError(`${what} is not a file: ${file}`);
}

function requireDir(dir: string, what: string): void {
  if (!existsSync(dir)) throw new UsageError(`${what} not found: ${dir}`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${what} is not a folder: ${dir}`);
}

/** Checks the options fit together before any work starts. */
function checkOptions(options: EvalOptions): void {
  const videoMode = options.captions !== undefined || options.videos !== undefined;
  if (options.features !== undefined && videoMode)
    throw new UsageError('give --features DIR, or --captions FILE with --videos DIR, not both');
  if (options.features === undefined && !videoMode)
    throw new UsageError('nothing to evaluate: give --features DIR, or --captions FILE with --videos DIR');
  if (videoMode && (options.captions === undefined || options.videos === undefined))
    throw new UsageError('--captions FILE and --videos DIR go together');
  if (options.head !== undefined && options.pooling !== 'xpool')
    throw new UsageError(
      `--head is the X-Pool head: it needs --pooling xpool (got --pooling ${options.pooling})`,
    );
  if (options.pooling === 'xpool' && options.head === undefined)
    throw new UsageError('--pooling xpool needs --head FILE (the pool_frames.* weights as .safetensors)');
  if (options.tau !== undefined && options.pooling !== 'attention')
    throw new UsageError(`--tau applies to --pooling attention only (got --pooling ${options.pooling})`);
  if (options.topk !== undefined && options.pooling !== 'topk')
    throw new UsageError(`--topk applies to --pooling topk only (got --pooling ${options.pooling})`);
  if (options.saveFeatures !== undefined && !videoMode)
    throw new UsageError('--save-features writes what --captions/--videos computed: it needs that mode');
  if (options.frames !== undefined && !videoMode)
    throw new UsageError('--frames sets the frames sampled per video: it needs --captions/--videos');
  if (options.features !== undefined) requireDir(options.features, 'features folder');
  if (options.captions !== undefined) requireFile(options.captions, 'captions file');
  if (options.videos !== undefined) requireDir(options.videos, 'videos folder');
  if (options.head !== undefined) requireFile(options.head, 'X-Pool head');
  if (options.dumpSims !== undefined)
    requireDir(path.dirname(path.resolve(options.dumpSims)), '--dump-sims folder');
}

/** A progress bar on stderr (drawn only when stderr is a terminal), restarted per phase. */
function progressBar() {
  const bar = new SingleBar({
    format: '{phase} |{bar}| {value}/{total} · eta {eta_formatted}',
    hideCursor: true,
    stream: process.stderr,
  });
  let phase: string | undefined;
  return {
    update(name: string, done: number, total: number) {
      if (phase !== name) {
        if (phase !== undefined) bar.stop();
        bar.start(total, done, { phase: name });
        phase = name;
      } else bar.update(done);
    },
    stop() {
      if (phase !== undefined) bar.stop();
      phase = undefined;
    },
  };
}

async function runEval(options: EvalOptions, context: () => CliContext): Promise<void> {
  checkOptions(options);
  const started = performance.now();
  const head = options.head === undefined ? undefined : await asUsage(() => loadXPoolHead(options.head!));
  const progress = progressBar();
  try {
    let embeddings: EvalEmbeddings;
    let gt: number[];
    let videoRun: VideoRun | undefined;
    if (options.features !== undefined) {
      ({ embeddings, gt } = await asUsage(() => loadFeatures(options.features!)));
    } else {
      videoRun = await asUsage(() =>
        encodeVideos(
          {
            captions: options.captions!,
            videos: options.videos!,
            ...(options.frames !== undefined ? { frames: options.frames } : {}),
            ...(head !== undefined ? { head } : {}),
            onProgress: (phase, done, total) => progress.update(phase, done, total),
          },
          context(),
        ),
      );
      progress.stop();
      ({ embeddings, gt } = videoRun);
      if (options.saveFeatures !== undefined) await saveFeatures(options.saveFeatures, videoRun);
    }
    const encodedAt = performance.now();
    const simsOptions: SimilarityMatrixOptions = {
      pooling: options.pooling,
      onProgress: (phase, done, total) =>
        progress.update(phase === 'videos' ? 'pool videos' : 'score texts', done, total),
    };
    if (options.tau !== undefined) simsOptions.tau = options.tau;
    if (options.topk !== undefined) simsOptions.topK = options.topk;
    if (head !== undefined) simsOptions.head = head;
    const { sims, result } = await asUsage(() => scoreRetrieval(embeddings, gt, simsOptions));
    progress.stop();
    const scoredAt = performance.now();
    if (options.dumpSims !== undefined)
      await writeNpyFile(options.dumpSims, sims, [embeddings.textCount, embeddings.videoCount]);
    const round = (ms: number) => Math.round(ms) / 1000;
    printJson({
      mode: options.features !== undefined ? 'features' : 'videos',
      pooling: options.pooling,
      ...(options.pooling === 'attention' ? { tau: options.tau ?? 0.01 } : {}),
      ...(options.pooling === 'topk' ? { topK: options.topk ?? 3 } : {}),
      ...(head !== undefined
        ? {
            head: {
              file: options.head,
              dim: head.dim,
              checksum: head.checksum.toString(16).padStart(8, '0'),
            },
          }
        : {}),
      ...(videoRun !== undefined ? { model: videoRun.model } : {}),
      texts: embeddings.textCount,
      videos: embeddings.videoCount,
      framesPerVideo: embeddings.frameCount,
      dim: embeddings.dim,
      textToVideo: result.textToVideo,
      videoToText: result.videoToText,
      ...(videoRun !== undefined ? { excluded: videoRun.excluded } : {}),
      warnings: videoRun?.warnings ?? [],
      ...(options.dumpSims !== undefined ? { sims: path.resolve(options.dumpSims) } : {}),
      ...(options.saveFeatures !== undefined ? { features: path.resolve(options.saveFeatures) } : {}),
      ...(options.ranks
        ? {
            ranks: {
              textToVideo: [...result.textToVideoRanks],
              videoToText: { videos: [...result.videoToTextVideos], ranks: [...result.videoToTextRanks] },
            },
          }
        : {}),
      seconds: {
        ...(videoRun !== undefined
          ? { encode: round(encodedAt - started) }
          : { load: round(encodedAt - started) }),
        score: round(scoredAt - encodedAt),
      },
    });
  } finally {
    progress.stop();
  }
}

export function registerEval(program: Command, context: () => CliContext): void {
  program
    .command('eval')
    .description(
      'text↔video retrieval metrics (R@1/5/10, MdR, MnR) of a pooling method, on features or on videos',
    )
    .option(
      '--features <dir>',
      'folder with text.npy (Nt×D), frames.npy (Nv×F×D) and gt.json {"text_to_video": [...]}',
    )
    .option(
      '--captions <file>',
      'MSR-VTT-style CSV of video_id,sentence (a header naming those columns is optional)',
    )
    .option('--videos <dir>', 'folder holding <video_id>.<ext> for every caption (with --captions)')
    .addOption(
      new Option('--pooling <method>', 'how frames are pooled against a text')
        .choices(POOLING_METHODS)
        .default('mean'),
    )
    .option('--head <file>', 'X-Pool head weights (pool_frames.* as .safetensors), for --pooling xpool')
    .option('--tau <t>', 'attention temperature for --pooling attention (default 0.01)', positiveNumber)
    .option('--topk <k>', 'frames summed by --pooling topk (default 3)', positiveInteger)
    .option(
      '--frames <n>',
      'frames sampled per video with --videos (default: framesPerVideo, 12)',
      positiveInteger,
    )
    .option('--dump-sims <file>', 'write the Nt×Nv similarity matrix as float32 .npy')
    .option(
      '--save-features <dir>',
      'with --videos: write text.npy, frames.npy, gt.json for later --features runs',
    )
    .option('--ranks', 'include every query’s 1-based rank in the output')
    .option('--json', 'print JSON (the default and only format)')
    .addHelpText(
      'after',
      '\nRanks are 1-based positions after sorting by descending score (equal scores keep index order);\n' +
        'video→text takes the best rank among a video’s captions. R@K in percent.\n' +
        'The published MSR-VTT 1k-A numbers of CLIP4Clip and X-Pool come from CLIP weights fine-tuned with\n' +
        'their pooling; a stock CLIP gives the zero-shot row (about 31 R@1 with mean pooling).\n\n' +
        'Examples:\n' +
        '  $ npx reel eval --features feats/ --pooling attention --dump-sims sims.npy\n' +
        '  $ npx reel eval --captions MSRVTT_JSFUSION_test.csv --videos MSRVTT/videos/all --save-features feats/',
    )
    .action(async (options: EvalOptions) => {
      await runEval(options, context);
    });
}
