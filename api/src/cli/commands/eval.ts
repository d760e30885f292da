/**
 * `reel eval`: text↔video retrieval metrics (R@1/5/10, MdR, MnR, both directions) of a pooling method,
 * either on pre-computed features (`--features DIR`: text.npy, frames.npy, gt.json) or end to end on
 * videos (`--captions FILE --videos DIR`: frame sampling and the active CLIP model, then the same path).
 * The answer is JSON on stdout; a progress bar goes to stderr when it is a terminal. Exit 2 for bad
 * input (missing files, shapes that disagree, options that do not fit), 1 for failures.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type Caption,
  checkXPoolHeadDim,
  type EvalEmbeddings,
  loadXPoolHead,
  type NpyArray,
  POOLING_METHODS,
  type PoolingMethod,
  parseCaptionsCsv,
  readNpyFile,
  retrievalMetrics,
  type SimilarityMatrixOptions,
  similarityMatrix,
  writeNpyFile,
  type XPoolHead,
} from '@reel/index';
import { isInputFault, ReelError } from '@reel/infra';
import { DEFAULT_FRAME_SIZE, IngestErrorCode, sampleVideo } from '@reel/ingest';
import { ClipModel, createInferencePool, resolveActiveModel } from '@reel/models';
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

/** Extensions tried for `<videos DIR>/<video_id>.<ext>`, in order of preference. */
const VIDEO_EXTENSIONS = [
  'mp4',
  'webm',
  'mkv',
  'mov',
  'm4v',
  'avi',
  'mpg',
  'mpeg',
  'ts',
  'ogv',
  'flv',
  'wmv',
  '3gp',
];

/** Runs `work`, turning reel's input errors into usage errors (exit 2) that keep their code. */
async function asUsage<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ReelError && isInputFault(error.code))
      throw new UsageError(`${error.code}: ${error.message}`);
    throw error;
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

type Progress = ReturnType<typeof progressBar>;

/** Features on disk: text.npy (Nt×D), frames.npy (Nv×F×D, or Nv×D for one frame), gt.json. */
async function loadFeatures(dir: string): Promise<{ embeddings: EvalEmbeddings; gt: number[] }> {
  const files = {
    text: path.join(dir, 'text.npy'),
    frames: path.join(dir, 'frames.npy'),
    gt: path.join(dir, 'gt.json'),
  };
  requireFile(files.text, 'text embeddings (text.npy)');
  requireFile(files.frames, 'frame embeddings (frames.npy)');
  requireFile(files.gt, 'ground truth (gt.json)');
  const [text, frames] = await asUsage(() =>
    Promise.all([readNpyFile(files.text), readNpyFile(files.frames)]),
  );
  const shape = (a: NpyArray) => `(${a.shape.join(', ')})`;
  if (text.shape.length !== 2) throw new UsageError(`text.npy: expected shape (Nt, D), got ${shape(text)}`);
  if (frames.shape.length !== 3 && frames.shape.length !== 2)
    throw new UsageError(
      `frames.npy: expected shape (Nv, F, D) (or (Nv, D) for one frame a video), got ${shape(frames)}`,
    );
  const [textCount, dim] = text.shape as [number, number];
  const videoCount = frames.shape[0]!;
  const frameCount = frames.shape.length === 3 ? frames.shape[1]! : 1;
  const frameDim = frames.shape[frames.shape.length - 1]!;
  if (frameDim !== dim)
    throw new UsageError(
      `text.npy and frames.npy disagree: text embeddings have D = ${dim} ${shape(text)}, frames have D = ${frameDim} ${shape(frames)}`,
    );
  if (textCount < 1 || videoCount < 1 || frameCount < 1 || dim < 1)
    throw new UsageError(`empty features: text.npy ${shape(text)}, frames.npy ${shape(frames)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(files.gt, 'utf8'));
  } catch (error) {
    throw new UsageError(`gt.json: not valid JSON (${(error as Error).message})`);
  }
  const gt = (parsed as { text_to_video?: unknown } | null)?.text_to_video;
  if (!Array.isArray(gt))
    throw new UsageError('gt.json: expected {"text_to_video": [video index of each text]}');
  if (gt.length !== textCount)
    throw new UsageError(
      `gt.json: expected ${textCount} entries (one per row of text.npy), got ${gt.length}`,
    );
  gt.forEach((v, t) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= videoCount)
      throw new UsageError(
        `gt.json: text_to_video[${t}] must be a video index in [0, ${videoCount}) (rows of frames.npy), got ${JSON.stringify(v)}`,
      );
  });
  return {
    embeddings: { texts: text.data, frames: frames.data, textCount, videoCount, frameCount, dim },
    gt: gt as number[],
  };
}

/** Files of a videos folder by name without extension (preferred extensions first). */
async function videoFiles(dir: string): Promise<Map<string, string>> {
  const byStem = new Map<string, { file: string; preference: number }>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const ext = path.extname(entry.name).slice(1).toLowerCase();
    const preference = VIDEO_EXTENSIONS.indexOf(ext);
    if (preference < 0) continue;
    const stem = entry.name.slice(0, -(ext.length + 1));
    const current = byStem.get(stem);
    if (current === undefined || preference < current.preference)
      byStem.set(stem, { file: path.join(dir, entry.name), preference });
  }
  return new Map([...byStem].map(([stem, { file }]) => [stem, file]));
}

interface ExcludedVideo {
  videoId: string;
  code: string;
  message: string;
  /** Captions left out with it. */
  captions: number;
}

interface VideoRun {
  embeddings: EvalEmbeddings;
  gt: number[];
  excluded: ExcludedVideo[];
  warnings: string[];
  model: { name: string; dir: string; fingerprint: string; dim: number };
  videoIds: string[];
}

/** Runs `work` over `items` with at most `limit` in flight, results in input order. */
async function mapLimit<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(runners);
  return results;
}

/** Samples and encodes every captioned video with the active model; failed videos are left out. */
async function encodeVideos(
  options: EvalOptions & { captions: string; videos: string },
  context: CliContext,
  head: XPoolHead | undefined,
  progress: Progress,
): Promise<VideoRun> {
  const { config } = context;
  const captions: Caption[] = await asUsage(async () =>
    parseCaptionsCsv(await readFile(options.captions, 'utf8'), path.basename(options.captions)),
  );
  const videoIds = [...new Set(captions.map((c) => c.videoId))];
  const files = await videoFiles(options.videos);
  const frameCount = options.frames ?? config.framesPerVideo;
  const active = resolveActiveModel(config.model, config.paths.models, {
    image: config.imagePrecision,
    text: config.textPrecision,
  });
  const pool = createInferencePool();
  try {
    const model = await ClipModel.load(active.dir, { pool, warn: (m) => context.logger.warn(m) });
    try {
      if (head !== undefined) await asUsage(() => checkXPoolHeadDim(head, model.dim, `model ${active.name}`));
      const D = model.dim;
      const size =
        model.preprocessor.width === model.preprocessor.height
          ? model.preprocessor.width
          : DEFAULT_FRAME_SIZE;
      const sentences = captions.map((c) => c.sentence);
      const textEmbeddings: Float32Array[] = [];
      const textBatch = 256;
      for (let i = 0; i < sentences.length; i += textBatch) {
        textEmbeddings.push(...(await model.encodeTexts(sentences.slice(i, i + textBatch))));
        progress.update('texts', textEmbeddings.length, sentences.length);
      }
      progress.stop();

      const warnings: string[] = [];
      const failures = new Map<string, { code: string; message: string }>();
      let done = 0;
      const encoded = await mapLimit(
        videoIds,
        Math.max(1, Math.min(4, config.ingestConcurrency)),
        async (videoId) => {
          try {
            const file = files.get(videoId) ?? path.join(options.videos, videoId);
            if (!files.has(videoId) && !existsSync(file))
              throw new ReelError(
                IngestErrorCode.FILE_NOT_FOUND,
                `no video for ${videoId} in ${options.videos} (looked for ${videoId}.{${VIDEO_EXTENSIONS.join(',')}})`,
              );
            const sampled = await sampleVideo(file, {
              strategy: { kind: 'uniform', count: frameCount },
              size,
              limits: config,
              binaries: config,
              timeoutMs: config.ffmpegTimeoutSeconds * 1000,
            });
            for (const w of sampled.warnings) warnings.push(`${videoId}: ${w}`);
            const frames = await model.encodeImages(sampled.frames);
            const out = new Float32Array(frameCount * D);
            frames.forEach((f, i) => {
              out.set(f, i * D);
            });
            return out;
          } catch (error) {
            // the machine, not this video, is at fault: stop rather than exclude every video
            if (
              error instanceof ReelError &&
              (error.code === IngestErrorCode.FFMPEG_NOT_FOUND ||
                error.code === IngestErrorCode.INGEST_ABORTED)
            )
              throw error;
            const code = error instanceof ReelError ? error.code : 'ERROR';
            failures.set(videoId, { code, message: error instanceof Error ? error.message : String(error) });
            return undefined;
          } finally {
            progress.update('videos', ++done, videoIds.length);
          }
        },
      );
      progress.stop();

      const included = videoIds.filter((_, i) => encoded[i] !== undefined);
      const excluded = videoIds
        .filter((id) => failures.has(id))
        .map((videoId) => ({
          videoId,
          ...failures.get(videoId)!,
          captions: captions.filter((c) => c.videoId === videoId).length,
        }));
      if (included.length === 0)
        throw new Error(
          `none of the ${videoIds.length} videos could be sampled and encoded; first: ${excluded[0]?.videoId}: ${excluded[0]?.code} ${excluded[0]?.message}`,
        );
      if (excluded.length > 0)
        warnings.unshift(
          `${excluded.length} of ${videoIds.length} videos could not be used and were left out with their ${excluded.reduce((s, e) => s + e.captions, 0)} captions (see "excluded"): the metrics are over ${included.length} videos`,
        );
      const galleryIndex = new Map(included.map((id, i) => [id, i]));
      const kept = captions.map((c, i) => ({ c, i })).filter(({ c }) => galleryIndex.has(c.videoId));
      const texts = new Float32Array(kept.length * D);
      kept.forEach(({ i }, row) => {
        texts.set(textEmbeddings[i]!, row * D);
      });
      const frames = new Float32Array(included.length * frameCount * D);
      let v = 0;
      for (const e of encoded) if (e !== undefined) frames.set(e, v++ * frameCount * D);
      return {
        embeddings: {
          texts,
          frames,
          textCount: kept.length,
          videoCount: included.length,
          frameCount,
          dim: D,
        },
        gt: kept.map(({ c }) => galleryIndex.get(c.videoId)!),
        excluded,
        warnings,
        model: { name: active.name, dir: active.dir, fingerprint: model.fingerprint, dim: D },
        videoIds: included,
      };
    } finally {
      await model.close();
    }
  } finally {
    await pool.close();
  }
}

async function saveFeatures(dir: string, run: VideoRun): Promise<void> {
  const { embeddings: e } = run;
  await mkdir(dir, { recursive: true });
  await writeNpyFile(path.join(dir, 'text.npy'), e.texts, [e.textCount, e.dim]);
  await writeNpyFile(path.join(dir, 'frames.npy'), e.frames, [e.videoCount, e.frameCount, e.dim]);
  await writeFile(
    path.join(dir, 'gt.json'),
    `${JSON.stringify({ text_to_video: run.gt, video_ids: run.videoIds, model: run.model.fingerprint })}\n`,
  );
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
      ({ embeddings, gt } = await loadFeatures(options.features));
    } else {
      videoRun = await encodeVideos(
        options as EvalOptions & { captions: string; videos: string },
        context(),
        head,
        progress,
      );
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
    const sims = await asUsage(() => similarityMatrix(embeddings, simsOptions));
    progress.stop();
    const scoredAt = performance.now();
    const result = await asUsage(() =>
      retrievalMetrics(sims, embeddings.textCount, embeddings.videoCount, gt),
    );
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
