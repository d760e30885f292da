/**
 * The Nt×Nv text-video similarity matrix of an evaluation, scored with the search's own kernels on float
 * frames: `../pooling/pooling-kernels.ts` for mean, attention, top-k and max, `../xpool/xpool-score.ts`
 * for X-Pool. Each video's text-independent work is done once (normalised frames and their Gram
 * matrix, or the X-Pool terms and frame statistics) and each text's once (the X-Pool query), so the
 * matrix costs Nv video preparations + Nt query preparations + Nt·Nv cheap pair scores, exactly as
 * search does. Only the frames differ: the search reads them as int8, eval as the floats given.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import { frameStatistics } from '../frame-codec.ts';
import { failPoolingInput } from '../pooling/check-input.ts';
import { meanFromCosines } from '../pooling/pooling-kernels.ts';
import {
  DEFAULT_ATTENTION_TEMPERATURE,
  DEFAULT_TOP_K,
  frameCosines,
  scoreAttention,
  scoreMax,
  scoreTopK,
} from '../pooling/text-conditioned-pooling.ts';
import { gramMatrix, l2NormalizeRows } from '../pooling/vector-math.ts';
import { checkXPoolHeadDim, type XPoolHead } from '../xpool/xpool-head.ts';
import { prepareXPoolCompactQuery, scoreXPoolCompact, type XPoolCompactQuery } from '../xpool/xpool-score.ts';
import { buildXPoolCompactCache, type XPoolCompactCache } from '../xpool/xpool-terms.ts';

/** How a video's frames are pooled against a text. */
export const POOLING_METHODS = ['mean', 'attention', 'topk', 'max', 'xpool'] as const;
export type PoolingMethod = (typeof POOLING_METHODS)[number];

export interface SimilarityMatrixOptions {
  pooling: PoolingMethod;
  /** Attention temperature τ > 0 (`attention` only; default 0.01 as X-Pool's reference). */
  tau?: number;
  /** Frames summed by `topk` (integer ≥ 1; default 3 as X-Pool's reference). */
  topK?: number;
  /** The learned head, required by `xpool` (and only used there). */
  head?: XPoolHead;
  /**
   * Told about progress: `phase` 'videos' while each video is prepared (`done` of Nv), then 'texts' as
   * each row is scored (`done` of Nt). Called synchronously; keep it cheap.
   */
  onProgress?: (phase: 'videos' | 'texts', done: number, total: number) => void;
}

/** Embeddings to evaluate: Nt texts and Nv videos of F frames each, all of size D. */
export interface EvalEmbeddings {
  /** Nt×D row-major text embeddings (any norm: every method normalises as its reference does). */
  texts: Float32Array;
  /** Nv×F×D row-major raw frame embeddings, as the image encoder outputs them. */
  frames: Float32Array;
  textCount: number;
  videoCount: number;
  frameCount: number;
  dim: number;
}

function fail(message: string): never {
  throw new ReelError(IndexErrorCode.EVAL_INPUT_INVALID, message);
}

/**
 * Checks the sizes of {@link EvalEmbeddings}.
 *
 * @throws ReelError EVAL_INPUT_INVALID naming the array whose length is wrong.
 */
export function checkEvalEmbeddings(e: EvalEmbeddings): void {
  for (const [name, value] of [
    ['text count', e.textCount],
    ['video count', e.videoCount],
    ['frame count', e.frameCount],
    ['embedding size', e.dim],
  ] as const)
    if (!Number.isInteger(value) || value < 1) fail(`${name}: expected an integer ≥ 1, got ${value}`);
  if (e.texts.length !== e.textCount * e.dim)
    fail(`texts: expected ${e.textCount}×${e.dim} = ${e.textCount * e.dim} values, got ${e.texts.length}`);
  const frameValues = e.videoCount * e.frameCount * e.dim;
  if (e.frames.length !== frameValues)
    fail(
      `frames: expected ${e.videoCount}×${e.frameCount}×${e.dim} = ${frameValues} values, got ${e.frames.length}`,
    );
}

/** Scores one text against video v; built once per (method, videos), called Nt·Nv times. */
type PairScorer = (text: Float32Array, textIndex: number, video: number) => number;

function videoScorer(e: EvalEmbeddings, options: SimilarityMatrixOptions): PairScorer {
  const { videoCount: Nv, frameCount: F, dim: D } = e;
  // parameters checked before any video is prepared, not at the first pair
  if (options.pooling === 'attention' && options.tau !== undefined && !(options.tau > 0))
    failPoolingInput(`attention temperature: expected a number > 0, got ${options.tau}`);
  if (
    options.pooling === 'topk' &&
    options.topK !== undefined &&
    !(Number.isInteger(options.topK) && options.topK >= 1)
  )
    failPoolingInput(`top-k: expected an integer k ≥ 1, got ${options.topK}`);
  const report = (v: number) => options.onProgress?.('videos', v + 1, Nv);
  const framesOf = (v: number) => e.frames.subarray(v * F * D, (v + 1) * F * D);
  switch (options.pooling) {
    case 'mean':
    case 'attention':
    case 'topk': {
      const normalised: Float32Array[] = [];
      const grams: Float32Array[] = [];
      for (let v = 0; v < Nv; v++) {
        const x = l2NormalizeRows(framesOf(v), F, D);
        normalised.push(x);
        grams.push(gramMatrix(x, F, D));
        report(v);
      }
      if (options.pooling === 'mean') {
        const cos = new Float64Array(2 * F);
        return (text, _t, v) => {
          frameCosines(text, normalised[v]!, F, D, cos);
          return meanFromCosines(cos, F, grams[v]!, 0);
        };
      }
      if (options.pooling === 'attention') {
        const tau = options.tau ?? DEFAULT_ATTENTION_TEMPERATURE;
        return (text, _t, v) => scoreAttention(text, normalised[v]!, grams[v]!, F, D, tau);
      }
      const k = options.topK ?? DEFAULT_TOP_K;
      return (text, _t, v) => scoreTopK(text, normalised[v]!, grams[v]!, F, D, k);
    }
    case 'max': {
      const normalised: Float32Array[] = [];
      for (let v = 0; v < Nv; v++) {
        normalised.push(l2NormalizeRows(framesOf(v), F, D));
        report(v);
      }
      return (text, _t, v) => scoreMax(text, normalised[v]!, F, D);
    }
    case 'xpool': {
      const head = options.head;
      if (head === undefined) fail('xpool pooling: expected an X-Pool head, got none');
      checkXPoolHeadDim(head, D, 'the evaluated embeddings');
      const videos: {
        frames: Float32Array;
        means: Float32Array;
        variances: Float32Array;
        terms: XPoolCompactCache;
      }[] = [];
      for (let v = 0; v < Nv; v++) {
        const frames = framesOf(v);
        const { means, variances } = frameStatistics(frames, F, D);
        videos.push({ frames, means, variances, terms: buildXPoolCompactCache(head, frames, F) });
        report(v);
      }
      // prepared once per text: the row loop asks for text t Nv times in a row
      let preparedFor = -1;
      let query: XPoolCompactQuery | undefined;
      return (text, t, v) => {
        if (query === undefined || preparedFor !== t) {
          query = prepareXPoolCompactQuery(head, text);
          preparedFor = t;
        }
        const video = videos[v]!;
        return scoreXPoolCompact(query, video.frames, video.means, video.variances, video.terms);
      };
    }
    default:
      return fail(`pooling: expected one of ${POOLING_METHODS.join(', ')}, got ${String(options.pooling)}`);
  }
}

/**
 * The Nt×Nv similarity matrix: entry (t, v) is text t's score against video v under the chosen pooling,
 * identical to calling that method's scoring function on the pair (`meanFromCosines` on the cosines
 * with the normalised frames, `scoreAttention` / `scoreTopK` / `scoreMax` on L2-normalised frames and
 * their Gram matrix, `scoreXPoolCompact` on the video's X-Pool terms and the prepared query).
 *
 * @returns Nt×Nv row-major float32 scores (row = text).
 * @throws ReelError EVAL_INPUT_INVALID (sizes, missing head), POOLING_INPUT_INVALID (τ, k out of range),
 *   XPOOL_DIM_MISMATCH (head for another D).
 */
export function similarityMatrix(e: EvalEmbeddings, options: SimilarityMatrixOptions): Float32Array {
  checkEvalEmbeddings(e);
  const { textCount: Nt, videoCount: Nv, dim: D } = e;
  const score = videoScorer(e, options);
  const out = new Float32Array(Nt * Nv);
  for (let t = 0; t < Nt; t++) {
    const text = e.texts.subarray(t * D, (t + 1) * D);
    for (let v = 0; v < Nv; v++) out[t * Nv + v] = score(text, t, v);
    options.onProgress?.('texts', t + 1, Nt);
  }
  return out;
}
