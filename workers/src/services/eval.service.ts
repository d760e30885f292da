/**
 * Evaluation of a pooling method, the work behind `reel eval`: features from disk (text.npy, frames.npy,
 * gt.json) or computed end to end from captioned videos (frame sampling with ffmpeg, the active CLIP
 * model), then the Nt×Nv similarity matrix and the retrieval metrics. Front doors only parse options
 * and print; every error here is a coded ReelError (input faults: the caller's files).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type Caption,
  checkXPoolHeadDim,
  type EvalEmbeddings,
  type NpyArray,
  parseCaptionsCsv,
  readNpyFile,
  retrievalMetrics,
  type SimilarityMatrixOptions,
  similarityMatrix,
  writeNpyFile,
  type XPoolHead,
} from '@reel/index';
import { type Logger, type ReelConfig, ReelError } from '@reel/infra';
import { DEFAULT_FRAME_SIZE, IngestErrorCode, sampleVideo } from '@reel/ingest';
import { ClipModel, createInferencePool, resolveActiveModel, videoFrameGeometry } from '@reel/models';

/** A phase's progress: `done` of `total` (texts, videos, then pool videos, score texts). */
export type EvalProgress = (phase: string, done: number, total: number) => void;

export interface EncodeVideosOptions {
  /** MSR-VTT-style CSV of video_id,sentence. */
  captions: string;
  /** Folder holding <video_id>.<ext> for every caption. */
  videos: string;
  /** Frames sampled per video (default: framesPerVideo). */
  frames?: number;
  /** Checked against the model's size when given. */
  head?: XPoolHead;
  onProgress?: EvalProgress;
}

function invalid(message: string): ReelError {
  return new ReelError('EVAL_INPUT_INVALID', message);
}

function requireFile(file: string, what: string): void {
  if (!existsSync(file)) throw new ReelError('FILE_NOT_FOUND', `${what} not found: ${file}`);
  if (!statSync(file).isFile()) throw new ReelError('FILE_NOT_FOUND', `${what} is not a file: ${file}`);
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

/** Features on disk: text.npy (Nt×D), frames.npy (Nv×F×D, or Nv×D for one frame), gt.json. */
export async function loadFeatures(dir: string): Promise<{ embeddings: EvalEmbeddings; gt: number[] }> {
  const files = {
    text: path.join(dir, 'text.npy'),
    frames: path.join(dir, 'frames.npy'),
    gt: path.join(dir, 'gt.json'),
  };
  requireFile(files.text, 'text embeddings (text.npy)');
  requireFile(files.frames, 'frame embeddings (frames.npy)');
  requireFile(files.gt, 'ground truth (gt.json)');
  const [text, frames] = await Promise.all([readNpyFile(files.text), readNpyFile(files.frames)]);
  const shape = (a: NpyArray) => `(${a.shape.join(', ')})`;
  if (text.shape.length !== 2) throw invalid(`text.npy: expected shape (Nt, D), got ${shape(text)}`);
  if (frames.shape.length !== 3 && frames.shape.length !== 2)
    throw invalid(
      `frames.npy: expected shape (Nv, F, D) (or (Nv, D) for one frame a video), got ${shape(frames)}`,
    );
  const [textCount, dim] = text.shape as [number, number];
  const videoCount = frames.shape[0]!;
  const frameCount = frames.shape.length === 3 ? frames.shape[1]! : 1;
  const frameDim = frames.shape[frames.shape.length - 1]!;
  if (frameDim !== dim)
    throw invalid(
      `text.npy and frames.npy disagree: text embeddings have D = ${dim} ${shape(text)}, frames have D = ${frameDim} ${shape(frames)}`,
    );
  if (textCount < 1 || videoCount < 1 || frameCount < 1 || dim < 1)
    throw invalid(`empty features: text.npy ${shape(text)}, frames.npy ${shape(frames)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(files.gt, 'utf8'));
  } catch (error) {
    throw invalid(`gt.json: not valid JSON (${(error as Error).message})`);
  }
  const gt = (parsed as { text_to_video?: unknown } | null)?.text_to_video;
  if (!Array.isArray(gt)) throw invalid('gt.json: expected {"text_to_video": [video index of each text]}');
  if (gt.length !== textCount)
    throw invalid(`gt.json: expected ${textCount} entries (one per row of text.npy), got ${gt.length}`);
  gt.forEach((v, t) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= videoCount)
      throw invalid(
        `gt.json: text_to_video[${t}] must be a video index in [0, ${videoCount}) (rows of frames.npy), got ${JSON.stringify(v)}`,
      );
  });
  return {
    embeddings: { texts: text.data, frames: frames.data, textCount, videoCount, frameCount, dim },
    gt: gt as number[],
  };
}

/** Files of a videos folder by name without extension (preferred extensions first). */
export async function videoFiles(dir: string): Promise<Map<string, string>> {
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

export interface ExcludedVideo {
  videoId: string;
  code: string;
  message: string;
  /** Captions left out with it. */
  captions: number;
}

export interface VideoRun {
  embeddings: EvalEmbeddings;
  gt: number[];
  excluded: ExcludedVideo[];
  warnings: string[];
  model: { name: string; dir: string; fingerprint: string; dim: number };
  videoIds: string[];
}

/** Runs `work` over `items` with at most `limit` in flight, results in input order. */
export async function mapLimit<T, R>(
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
export async function encodeVideos(
  options: EncodeVideosOptions,
  context: { config: ReelConfig; logger: Logger },
): Promise<VideoRun> {
  const { config } = context;
  const { head } = options;
  const progress = options.onProgress ?? (() => {});
  const captions: Caption[] = parseCaptionsCsv(
    await readFile(options.captions, 'utf8'),
    path.basename(options.captions),
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
      if (head !== undefined) checkXPoolHeadDim(head, model.dim, `model ${active.name}`);
      const D = model.dim;
      // Frames cut the model's way (its resize and interpolation), as the pipeline cuts them.
      const cut = videoFrameGeometry(model.preprocessor.config);
      const size =
        cut?.size ??
        (model.preprocessor.width === model.preprocessor.height
          ? model.preprocessor.width
          : DEFAULT_FRAME_SIZE);
      const geometry = cut
        ? { resize: cut.resize, shortestEdge: cut.shortestEdge, interpolation: cut.interpolation }
        : undefined;
      const sentences = captions.map((c) => c.sentence);
      const textEmbeddings: Float32Array[] = [];
      const textBatch = 256;
      for (let i = 0; i < sentences.length; i += textBatch) {
        textEmbeddings.push(...(await model.encodeTexts(sentences.slice(i, i + textBatch))));
        progress('texts', textEmbeddings.length, sentences.length);
      }

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
              ...(geometry ? { geometry } : {}),
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
            progress('videos', ++done, videoIds.length);
          }
        },
      );

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

export async function saveFeatures(dir: string, run: VideoRun): Promise<void> {
  const { embeddings: e } = run;
  await mkdir(dir, { recursive: true });
  await writeNpyFile(path.join(dir, 'text.npy'), e.texts, [e.textCount, e.dim]);
  await writeNpyFile(path.join(dir, 'frames.npy'), e.frames, [e.videoCount, e.frameCount, e.dim]);
  await writeFile(
    path.join(dir, 'gt.json'),
    `${JSON.stringify({ text_to_video: run.gt, video_ids: run.videoIds, model: run.model.fingerprint })}\n`,
  );
}

/** The similarity matrix of `embeddings` pooled with `options`, and the retrieval metrics against `gt`. */
export async function scoreRetrieval(
  embeddings: EvalEmbeddings,
  gt: number[],
  options: SimilarityMatrixOptions,
): Promise<{ sims: Float32Array; result: ReturnType<typeof retrievalMetrics> }> {
  const sims = await similarityMatrix(embeddings, options);
  return { sims, result: retrievalMetrics(sims, embeddings.textCount, embeddings.videoCount, gt) };
}
