/**
 * Text → videos, in two stages:
 *
 * 1. Encode the text once (recent queries come from an LRU), then ask the store for the K' nearest
 *    mean-pooled vectors of the active model that pass the tenant and filters (a prefiltered vector
 *    search: exact below the ANN threshold, then IVF_FLAT, IVF_HNSW_SQ from 250k rows).
 * 2. Rescore every candidate exactly with the chosen pooling from the in-memory rescore cache (int8
 *    frames, Gram, X-Pool terms; fetched once on a miss), sort, cut at `minScore`, take the page, and
 *    locate each result's moment from the pooling's frame weights.
 *
 * Scores are cosines in [−1, 1] for every pooling (see rescore-kernels.ts and xpool-compact.ts), so a
 * `minScore` keeps its meaning when the pooling changes. Pages are addressed by opaque cursors bound to
 * the query, the tenant, the model and the table snapshot of the first page.
 */
import { createHash } from 'node:crypto';
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import { l2NormalizeRows } from '../pooling/vector-math.ts';
import { videoKey } from '../video-record.ts';
import { highlightRanges } from '../words/highlight.ts';
import type { WordsField, WordsHit } from '../words/words-store.ts';
import type { XPoolHead } from '../xpool/xpool-head.ts';
import { prepareXPoolCompactQuery, type XPoolCompactQuery } from '../xpool/xpool-score.ts';
import { buildXPoolCompactCache } from '../xpool/xpool-terms.ts';
import {
  CONFIDENCE_REFERENCE_TEXTS,
  confidenceOf,
  DEFAULT_MATCH_CONFIDENCE,
  referenceStats,
} from './confidence.ts';
import { decodeCursor, encodeCursor, hashFingerprint, hashQuery } from './cursor.ts';
import { normalizeFilters, type VideoFilters } from './filter-sql.ts';
import { contenders, fuseHybrid } from './fusion.ts';
import { findMoment, findMoments, frameSpan, type ScoredMoment } from './moments.ts';
import { QueryEmbeddingCache, type TextEmbedder } from './query-cache.ts';
import {
  POOLINGS,
  type Pooling,
  type PreparedQuery,
  RescoreCache,
  type RescoreEntry,
} from './rescore-cache.ts';
import type { SearchStore, StageOneCandidate } from './search-store.ts';

/**
 * K', first-stage candidates rescored per query. At 1M videos (IVF_HNSW_SQ, search width 5·K′) 500
 * kept top-10 agreement with the exhaustive ranking at 0.995 (X-Pool) and 1.000 (attention) with p95
 * 29 / 29 ms (34 / 33 in an earlier run), where 1000 needed 41-50 ms for the same agreement; at 100k
 * (IVF_FLAT) 500 gave 1.000. See DESIGN.md.
 */
export const DEFAULT_CANDIDATES = 500;
/** Largest first-stage request a deep page may make. */
export const DEFAULT_MAX_CANDIDATES = 5000;
/** Largest page. */
export const DEFAULT_MAX_K = 100;
/** Videos whose confidence statistics are kept (≈ 100 bytes each); the map starts over beyond it. */
const REFERENCE_STATS_LIMIT = 200_000;
/** Videos whose rescoring data stay in memory by default (≈ 8.6 KB each at F = 12, D = 512). */
export const DEFAULT_RESCORE_CAPACITY = 50_000;
/** Word rows (cues, titles, file names, tags) a words search reads, best BM25 first. */
export const WORD_ROWS = 500;
/** Videos the words ranking keeps (after grouping its rows by video). */
export const WORD_VIDEOS = 100;
/** Word matches listed per result. */
const WORD_MATCHES_SHOWN = 3;
/** Videos found by the words whose cues become moments of their own in moment grouping. */
const MOMENT_WORD_VIDEOS = 20;

/**
 * What a search reads: `visual` the frames (the two-stage vector search), `words` the words (BM25 over
 * subtitle cues, titles, file names and tags), `hybrid` both, fused by reciprocal rank (fusion.ts).
 */
export const SEARCH_MODES = ['visual', 'words', 'hybrid'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

export interface SearchServiceOptions {
  store: SearchStore & {
    scanRescoreEntries?(fingerprint: string, onEntries: (entries: RescoreEntry[]) => void): Promise<number>;
    refreshTenantStatistics?(fingerprint: string): Promise<Map<string, number>>;
    /** The words index (see words/words-store.ts); without it every search is visual. */
    matchingCues?(
      tenant: string,
      videos: readonly { videoId: string; trackIds: readonly string[] }[],
      query: string,
      options?: { limit?: number },
    ): Promise<Map<string, WordsHit[]>>;
    searchWords?(
      tenant: string,
      query: string,
      options?: { limit?: number; snapshot?: number },
    ): Promise<WordsHit[]>;
    hasWords?(tenant: string): Promise<boolean>;
    /** The words table's version, so that the pages of a search read the same words. */
    wordsVersion?(): Promise<number>;
  };
  embedder: TextEmbedder;
  /** The learned X-Pool head; without it `pooling: 'xpool'` fails with POOLING_UNAVAILABLE. */
  xpoolHead?: XPoolHead;
  /** Why the head may not fit the embedder (trained with another CLIP, or unrecorded), shown to clients. */
  xpoolWarning?: string;
  /** K' (default {@link DEFAULT_CANDIDATES}). */
  candidates?: number;
  maxCandidates?: number;
  maxK?: number;
  /** Pooling when a request names none: xpool with a head, attention without. */
  defaultPooling?: Pooling;
  /** Attention temperature τ (default 0.01, X-Pool's baseline). */
  attentionTemperature?: number;
  /** Top-k's k (default 3). */
  topK?: number;
  /** A shared query-embedding cache, or its size (default 1000). */
  queryCache?: QueryEmbeddingCache | number;
  /** Videos kept in the rescore cache (default {@link DEFAULT_RESCORE_CAPACITY}, at least maxCandidates + 1). */
  rescoreCapacity?: number;
  /** Most frames a stored video may have (default 16). */
  rescoreMaxFrames?: number;
  /** A rescore cache to use (shared between services of the same model); built on demand otherwise. */
  rescoreCache?: RescoreCache;
  /**
   * Candidates per query whose X-Pool terms may be computed on the fly (stored with another head or
   * none; ≈ 8 ms each, blocking). Beyond it the query fails with POOLING_UNAVAILABLE (retryable: the
   * terms built so far stay cached). Default 100.
   */
  maxXPoolBuildsPerQuery?: number;
  /** Texts that match no video, for confidence (default {@link CONFIDENCE_REFERENCE_TEXTS}). */
  confidenceReferences?: readonly string[];
  /**
   * Pictures of nothing (encoded images: flat fields, gradients, noise), embedded by the embedder's
   * `encodeImages`, for the confidence of searches by example. None: such searches have none (null).
   */
  confidenceReferenceImages?: readonly Uint8Array[];
  /** Confidence a result needs to count as a match (default {@link DEFAULT_MATCH_CONFIDENCE}). */
  matchConfidence?: number;
}

/**
 * What to search by: a text, an example (a video, "more like this": its mean-pooled embedding, or with
 * `at` the frame nearest that time; or an image), or both (the normalised embeddings added, the example weighing
 * `exampleWeight`, default 0.5). A plain string is a text.
 */
export interface SearchQuery {
  text?: string;
  like?: { videoId: string; at?: number };
  /** An encoded image (JPEG, PNG or WebP bytes, checked by the caller), embedded by the image encoder. */
  image?: Uint8Array;
  /** Share of the example in a text + example query, in [0, 1]. */
  exampleWeight?: number;
}

export interface SearchOptions {
  /** Mandatory: results never leave this tenant. */
  tenant: string;
  /** Results per page, 1 to maxK (default 10). */
  k?: number;
  pooling?: Pooling;
  filters?: VideoFilters;
  /** Results scoring below this cosine are dropped (in [−1, 1]), words matches too; not with mode=words. */
  minScore?: number;
  /** Results with a lower confidence are dropped (see confidence.ts); not with mode=words. */
  minConfidence?: number;
  /**
   * `video` (default): one result per video, with its best moments in `moments`; `moment`: every
   * matching moment is a result of its own, ranked across videos by its best frame's cosine.
   */
  group?: 'video' | 'moment';
  /** Moments listed per video in video grouping (default 3, at most 10). */
  momentLimit?: number;
  /** `nextCursor` of the previous page of the same request. */
  cursor?: string;
  /**
   * What to read (see {@link SEARCH_MODES}): default `hybrid` for a text when the tenant has words
   * indexed, `visual` otherwise. `words` and `hybrid` need a text; an example is only seen.
   */
  mode?: SearchMode;
}

/** Why a result matched: its frames, a subtitle cue, its title, its file name or a tag. */
export type MatchReason = 'frames' | 'cue' | 'title' | 'file' | 'tag';

/** A row of the words index that matched, with where the query's words are in it. */
export interface WordMatch {
  field: WordsField;
  /** The cue's text (markup removed), the title, the file name or the tag, as stored. */
  text: string;
  /** [start, end) UTF-16 offsets in `text` of the query's words, sorted, not overlapping. */
  highlights: [number, number][];
  /** A cue's times in seconds; null for the other fields. */
  start: number | null;
  end: number | null;
  /** A cue's caption track; null for the other fields. */
  trackId: string | null;
}

/** The segment of a result that matched, and its picture. */
export interface SearchMoment {
  /** Seconds from the start. */
  start: number;
  end: number;
  /** The top frame (highest weight; the best cosine for mean pooling). */
  frameIndex: number;
  /** That frame's thumbnail reference, when one was stored. */
  thumbnail: string | null;
  /** Present when a subtitle cue found the moment: the span is the cue's, the frame the nearest one. */
  cue?: { trackId: string; text: string; highlights: [number, number][] };
}

export interface SearchResult {
  /** 1-based place in the whole ranking, counted across pages (page 2 of 10 starts at 11). */
  rank: number;
  videoId: string;
  title: string;
  /** Cosine between the text and the pooled video embedding, in [−1, 1]. */
  score: number;
  /**
   * How far the score stands above the same video's scores for queries that match nothing (texts; for an
   * example, pictures of nothing; for both, their mixes), in their standard deviations (see
   * confidence.ts): about 0 for nonsense, 3 and more for a match. Null for a query with an example when
   * the service has no reference pictures.
   */
  confidence: number | null;
  moment: SearchMoment;
  /**
   * The video's matching moments, best first (see moments.ts `findMoments`), each scored by its best
   * frame's cosine; in moment grouping, the one moment this result is.
   */
  moments: (SearchMoment & { score: number })[];
  tags: string[];
  /** Seconds, null when unknown. */
  duration: number | null;
  createdAt: Date;
  /** Why it is a result: 'frames' when it stands out visually (or no words matched), then each field whose words matched. */
  matchedBy: MatchReason[];
  /** Its best word matches (at most 3), best first; empty for a visual match only. */
  words: WordMatch[];
}

export interface SearchResponse {
  results: SearchResult[];
  /**
   * True when no result among the best ranked reaches the match confidence: the query matched nothing
   * the model can tell from nonsense (the results are still listed).
   */
  noGoodMatch: boolean;
  /** The confidence a result needs to count as a match. */
  matchConfidence: number;
  /** What the user should know about the query, e.g. that it was cut to the model's context. */
  warnings: string[];
  /** Pass it back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** The model whose vectors were searched. */
  fingerprint: string;
  pooling: Pooling;
  /** What was read: the frames, the words or both. */
  mode: SearchMode;
  /** Milliseconds: text encoding, stage 1 (vector search), stage 2 (fetch + rescoring + moments), page details. */
  timings: { encodeMs: number; stage1Ms: number; stage2Ms: number; detailsMs: number; totalMs: number };
  stats: {
    /** First-stage candidates rescored. */
    candidates: number;
    /** Candidates whose rescoring data had to be read from the store. */
    fetched: number;
    /** X-Pool terms computed on the fly (stored with another head or none). */
    xpoolBuilt: number;
    /** Whether the query embedding came from the cache. */
    queryCached: boolean;
    /** Videos the words search found (before filters), 0 for a visual search. */
    wordVideos: number;
  };
}

/** A video's rows of the words index, best first. */
interface VideoWordHits {
  key: string;
  best: number;
  hits: WordsHit[];
}

/** Word rows grouped by video, videos ranked by their best row's BM25 (ties: the key). */
function groupWordHits(tenant: string, hits: readonly WordsHit[]): VideoWordHits[] {
  const byKey = new Map<string, VideoWordHits>();
  for (const hit of hits) {
    const key = videoKey(tenant, hit.videoId);
    let group = byKey.get(key);
    if (group === undefined) {
      group = { key, best: hit.score, hits: [] };
      byKey.set(key, group);
    }
    group.hits.push(hit);
    if (hit.score > group.best) group.best = hit.score;
  }
  const groups = [...byKey.values()];
  for (const g of groups) g.hits.sort((a, b) => b.score - a.score || (a.start ?? 0) - (b.start ?? 0));
  groups.sort((a, b) => b.best - a.best || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return groups;
}

/** A words hit naming a track whose cues hold the words, not yet the cues (see WordsStore.searchWords). */
function isTrackHit(hit: WordsHit): boolean {
  return hit.field === 'cue' && hit.start === null;
}

/** The frame (of the first `count`) nearest a time: an example's frame, a cue moment's picture. */
function nearestFrame(timestamps: ArrayLike<number>, seconds: number, count = timestamps.length): number {
  let nearest = 0;
  for (let f = 1; f < count; f++)
    if (Math.abs(timestamps[f]! - seconds) < Math.abs(timestamps[nearest]! - seconds)) nearest = f;
  return nearest;
}

/** Unit length, or the vector itself when it is zero. */
function unitVector(v: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
  if (norm === 0) return v;
  const inv = 1 / Math.sqrt(norm);
  return Float32Array.from(v, (x) => x * inv);
}

/** The search vector: the text's, the example's, or their normalised sum weighted by `exampleWeight`. */
function combineQuery(
  text: Float32Array | undefined,
  example: Float32Array | undefined,
  exampleWeight: number,
): Float32Array {
  if (example === undefined) return text!;
  if (text === undefined) return unitVector(example);
  const t = unitVector(text);
  const e = unitVector(example);
  return unitVector(Float32Array.from(t, (x, i) => (1 - exampleWeight) * x + exampleWeight * e[i]!));
}

/**
 * References for a text and an example together: each reference text mixed with a reference picture
 * (in turn) as the query is, so they stand where a query of both that matches nothing would.
 */
function mixReferences(
  texts: readonly Float32Array[],
  images: readonly Float32Array[],
  exampleWeight: number,
): Float32Array[] {
  return texts.map((t, i) => combineQuery(t, images[i % images.length], exampleWeight));
}

function invalid(message: string): never {
  throw new ReelError(IndexErrorCode.SEARCH_INPUT_INVALID, message);
}

/** Orchestrates the two-stage search (see the file header). */
export class SearchService {
  readonly store: SearchServiceOptions['store'];
  readonly embedder: TextEmbedder;
  readonly xpoolHead: XPoolHead | undefined;
  readonly xpoolWarning: string | undefined;
  readonly candidates: number;
  readonly maxCandidates: number;
  readonly maxK: number;
  readonly defaultPooling: Pooling;
  readonly attentionTemperature: number;
  readonly topK: number;
  readonly queryCache: QueryEmbeddingCache;
  readonly #rescoreCapacity: number;
  readonly #rescoreMaxFrames: number;
  readonly #maxXPoolBuilds: number;
  readonly matchConfidence: number;
  readonly #referenceTexts: readonly string[];
  readonly #referenceImages: readonly Uint8Array[];
  readonly #references = new Map<string, Promise<Float32Array[]>>();
  readonly #referenceStats = new Map<string, { mean: number; sd: number }>();
  #rescore: { fingerprint: string; cache: RescoreCache } | null = null;
  readonly #xpoolQueries = new WeakMap<Float32Array, XPoolCompactQuery>();

  constructor(options: SearchServiceOptions) {
    this.store = options.store;
    this.embedder = options.embedder;
    this.xpoolHead = options.xpoolHead;
    this.xpoolWarning = options.xpoolHead ? options.xpoolWarning : undefined;
    this.candidates = options.candidates ?? DEFAULT_CANDIDATES;
    this.maxCandidates = Math.max(this.candidates, options.maxCandidates ?? DEFAULT_MAX_CANDIDATES);
    this.maxK = options.maxK ?? DEFAULT_MAX_K;
    this.defaultPooling = options.defaultPooling ?? (options.xpoolHead ? 'xpool' : 'attention');
    this.attentionTemperature = options.attentionTemperature ?? 0.01;
    this.topK = options.topK ?? 3;
    this.queryCache =
      options.queryCache instanceof QueryEmbeddingCache
        ? options.queryCache
        : new QueryEmbeddingCache(options.queryCache ?? undefined);
    this.#rescoreCapacity = Math.max(
      this.maxCandidates + 1,
      options.rescoreCapacity ?? DEFAULT_RESCORE_CAPACITY,
    );
    this.#rescoreMaxFrames = options.rescoreMaxFrames ?? 16;
    this.#maxXPoolBuilds = options.maxXPoolBuildsPerQuery ?? 100;
    this.matchConfidence = options.matchConfidence ?? DEFAULT_MATCH_CONFIDENCE;
    this.#referenceTexts = options.confidenceReferences ?? CONFIDENCE_REFERENCE_TEXTS;
    this.#referenceImages = options.confidenceReferenceImages ?? [];
    if (options.rescoreCache !== undefined)
      this.#rescore = { fingerprint: this.embedder.fingerprint, cache: options.rescoreCache };
    if (!Number.isInteger(this.candidates) || this.candidates < 1)
      invalid(`candidates (K'): expected an integer ≥ 1, got ${this.candidates}`);
    if (!(this.attentionTemperature > 0))
      invalid(`attention temperature: expected a number > 0, got ${this.attentionTemperature}`);
    if (!Number.isInteger(this.topK) || this.topK < 1)
      invalid(`top-k: expected an integer ≥ 1, got ${this.topK}`);
  }

  /** The rescore cache of the active model (created on first use). */
  rescoreCache(dim: number): RescoreCache {
    const fingerprint = this.embedder.fingerprint;
    if (
      this.#rescore === null ||
      this.#rescore.fingerprint !== fingerprint ||
      this.#rescore.cache.dim !== dim
    )
      this.#rescore = {
        fingerprint,
        cache: new RescoreCache({
          dim,
          capacity: this.#rescoreCapacity,
          maxFrames: this.#rescoreMaxFrames,
          withXPool: this.xpoolHead !== undefined,
        }),
      };
    return this.#rescore.cache;
  }

  /**
   * Loads the active model's stored rescoring data into memory (up to the cache's capacity), so the
   * first searches do not pay for fetching, and the store's tenant statistics. Returns the rows read.
   */
  async warm(): Promise<number> {
    const fingerprint = this.embedder.fingerprint;
    const model = await this.store.modelTable(fingerprint);
    if (model === null || this.store.scanRescoreEntries === undefined) return 0;
    const cache = this.rescoreCache(model.dim);
    await this.store.refreshTenantStatistics?.(fingerprint);
    return this.store.scanRescoreEntries(fingerprint, (entries) => {
      cache.beginBatch();
      for (const entry of entries) if (cache.size < cache.capacity) cache.insert(entry);
    });
  }

  /** Forgets a video's cached rescoring data (after deleting it). */
  forget(key: string): void {
    this.#rescore?.cache.delete(key);
  }

  /** Checks a pooling name is known and available. */
  resolvePooling(pooling: Pooling | undefined): Pooling {
    const chosen = pooling ?? this.defaultPooling;
    if (!POOLINGS.includes(chosen))
      invalid(`pooling: expected one of ${POOLINGS.join(', ')}, got ${JSON.stringify(chosen)}`);
    if (chosen === 'xpool' && this.xpoolHead === undefined)
      throw new ReelError(
        IndexErrorCode.POOLING_UNAVAILABLE,
        'pooling xpool: expected an X-Pool head to be configured, found none (use mean, attention, topk or max)',
      );
    return chosen;
  }

  /** Prepares a query vector for a pooling (X-Pool's per-query products are memoised per vector). */
  prepare(pooling: Pooling, vector: Float32Array): PreparedQuery {
    let norm2 = 0;
    for (let d = 0; d < vector.length; d++) norm2 += vector[d]! * vector[d]!;
    const textNorm = Math.sqrt(norm2);
    if (pooling === 'xpool') {
      let xpool = this.#xpoolQueries.get(vector);
      if (xpool === undefined) {
        xpool = prepareXPoolCompactQuery(this.xpoolHead!, vector);
        this.#xpoolQueries.set(vector, xpool);
      }
      return { pooling, text: vector, textNorm, xpool };
    }
    return { pooling, text: vector, textNorm, tau: this.attentionTemperature, k: this.topK };
  }

  /**
   * Searches the tenant's videos of the active model.
   *
   * @throws ReelError SEARCH_INPUT_INVALID (empty text or tenant, k, minScore or filters out of range),
   *   POOLING_UNAVAILABLE (xpool without a head), CURSOR_INVALID (a cursor of another request or
   *   model), EMBEDDING_DIM_MISMATCH (the encoder's D differs from the index's).
   */
  async search(query: string | SearchQuery, options: SearchOptions): Promise<SearchResponse> {
    const started = performance.now();
    const q: SearchQuery = typeof query === 'string' ? { text: query } : query;
    const text = q.text;
    if (text !== undefined && (typeof text !== 'string' || text.trim().length === 0))
      invalid(`text: expected a non-empty query, got ${JSON.stringify(text)}`);
    if (q.like !== undefined && q.image !== undefined)
      invalid('query: expected one example, a video (like) or an image, not both');
    if (text === undefined && q.like === undefined && q.image === undefined)
      invalid('query: expected a text, an example (a video or an image), or both');
    if (q.image !== undefined && this.embedder.encodeImages === undefined)
      invalid('image: this search has no image encoder');
    const like = q.like;
    const image = q.image;
    if (like !== undefined) {
      if (typeof like.videoId !== 'string' || like.videoId.length === 0)
        invalid(`like.videoId: expected a video id, got ${JSON.stringify(like.videoId)}`);
      if (like.at !== undefined && !(Number.isFinite(like.at) && like.at >= 0))
        invalid(`like.at: expected seconds ≥ 0, got ${like.at}`);
    }
    const exampleWeight = q.exampleWeight ?? 0.5;
    if (!(exampleWeight >= 0 && exampleWeight <= 1))
      invalid(`exampleWeight: expected a number in [0, 1], got ${q.exampleWeight}`);
    const { tenant } = options;
    if (typeof tenant !== 'string' || tenant.length === 0)
      invalid(`tenant: expected a non-empty string, got ${JSON.stringify(tenant)}`);
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > this.maxK)
      invalid(`k: expected an integer in [1, ${this.maxK}], got ${k}`);
    const minScore = options.minScore;
    if (minScore !== undefined && (typeof minScore !== 'number' || !(minScore >= -1 && minScore <= 1)))
      invalid(`minScore: expected a cosine in [-1, 1], got ${minScore}`);
    const minConfidence = options.minConfidence;
    if (minConfidence !== undefined && !Number.isFinite(minConfidence))
      invalid(`minConfidence: expected a number, got ${minConfidence}`);
    const byExample = like !== undefined || image !== undefined;
    const examplesMeasured = this.#referenceImages.length > 0 && this.embedder.encodeImages !== undefined;
    if (minConfidence !== undefined && byExample && !examplesMeasured)
      invalid(
        'minConfidence: this search has no reference pictures, so a search by example has no confidence',
      );
    const group = options.group ?? 'video';
    if (group !== 'video' && group !== 'moment')
      invalid(`group: expected video or moment, got ${JSON.stringify(group)}`);
    const momentLimit = options.momentLimit ?? 3;
    if (!Number.isInteger(momentLimit) || momentLimit < 1 || momentLimit > 10)
      invalid(`momentLimit: expected an integer in [1, 10], got ${momentLimit}`);
    const pooling = this.resolvePooling(options.pooling);
    const filters = normalizeFilters(options.filters);
    const fingerprint = this.embedder.fingerprint;
    if (options.mode !== undefined && !SEARCH_MODES.includes(options.mode))
      invalid(`mode: expected one of ${SEARCH_MODES.join(', ')}, got ${JSON.stringify(options.mode)}`);
    if (options.mode !== undefined && options.mode !== 'visual' && text === undefined)
      invalid(`mode ${options.mode}: expected a text (words are searched by text; an example is only seen)`);
    const wordsStore = this.store.searchWords === undefined ? undefined : this.store;
    if (options.mode !== undefined && options.mode !== 'visual' && wordsStore === undefined)
      invalid(`mode ${options.mode}: this search has no words index`);
    const mode: SearchMode =
      options.mode ??
      (text !== undefined && wordsStore !== undefined && ((await wordsStore.hasWords?.(tenant)) ?? true)
        ? 'hybrid'
        : 'visual');
    const queryHash = hashQuery({
      tenant,
      text: text ?? null,
      ...(like !== undefined ? { like, exampleWeight } : {}),
      ...(image !== undefined
        ? { image: createHash('sha256').update(image).digest('hex'), exampleWeight }
        : {}),
      pooling,
      filters,
      minScore: minScore ?? null,
      ...(minConfidence !== undefined ? { minConfidence } : {}),
      ...(group === 'moment' ? { group } : {}),
      ...(mode !== 'visual' ? { mode } : {}),
    });
    const fingerprintHash = hashFingerprint(fingerprint);
    const cursor =
      options.cursor === undefined
        ? undefined
        : decodeCursor(options.cursor, { kind: 'search', queryHash, fingerprintHash });
    const offset = cursor?.offset ?? 0;

    const fit = text === undefined ? undefined : this.embedder.textFit?.(text);
    const warnings =
      fit && fit.tokens > fit.contextLength
        ? [
            `query: ${fit.tokens} tokens, but the model reads at most ${fit.contextLength}: only the start of it was searched (cut at a token boundary)`,
          ]
        : [];
    const embedded = text === undefined ? undefined : await this.queryCache.embed(this.embedder, text);
    const cached = embedded?.cached ?? false;
    // The example's own video never comes back as a result of "more like this".
    const exclude = like === undefined ? undefined : videoKey(tenant, like.videoId);
    const example =
      like !== undefined
        ? await this.#exampleVector(fingerprint, tenant, like)
        : image !== undefined
          ? (await this.embedder.encodeImages!([image]))[0]
          : undefined;
    const vector = combineQuery(embedded?.vector, example, exampleWeight);
    // Confidence is measured against queries that match nothing of the same kind: texts for a text,
    // pictures of nothing for an example, and for both their mixes with the request's weight.
    const measured = !byExample || examplesMeasured;
    const referenceKind = !byExample ? 'text' : text === undefined ? 'image' : `mix ${exampleWeight}`;
    const references = !measured
      ? []
      : !byExample
        ? await this.#referenceVectors(fingerprint, 'text')
        : text === undefined
          ? await this.#referenceVectors(fingerprint, 'image')
          : mixReferences(
              await this.#referenceVectors(fingerprint, 'text'),
              await this.#referenceVectors(fingerprint, 'image'),
              exampleWeight,
            );
    const encoded = performance.now();
    const empty = (stage1Ms = 0): SearchResponse => ({
      results: [],
      noGoodMatch: true,
      matchConfidence: this.matchConfidence,
      warnings,
      nextCursor: null,
      fingerprint,
      pooling,
      mode,
      timings: {
        encodeMs: encoded - started,
        stage1Ms,
        stage2Ms: 0,
        detailsMs: 0,
        totalMs: performance.now() - started,
      },
      stats: { candidates: 0, fetched: 0, xpoolBuilt: 0, queryCached: cached, wordVideos: 0 },
    });
    const model = await this.store.modelTable(fingerprint);
    if (model === null) return empty();
    if (vector.length !== model.dim)
      throw new ReelError(
        IndexErrorCode.EMBEDDING_DIM_MISMATCH,
        `query: the text encoder gave ${vector.length} values, the index of model ${fingerprint} holds D = ${model.dim}`,
      );
    if (offset >= this.maxCandidates) return empty();
    const limit = Math.min(this.maxCandidates, Math.max(this.candidates, offset + k)) + (exclude ? 1 : 0);

    // ---- stage 1 (and the words search beside it) ----
    // the store filters by tenant; this check makes crossing tenants impossible even for a faulty store
    const prefix = videoKey(tenant, '').slice(0, -2); // '["<tenant>","' starts every key of the tenant
    // The words: their hits, grouped by video, and those videos' stage-one rows through the same
    // filters (a words match that fails a filter, or is not indexed with this model, is left out),
    // read while the vector search runs. Pages read the words as the first page did.
    const words = async () => {
      const wordsSnapshot = cursor?.wordsSnapshot ?? (await wordsStore!.wordsVersion?.());
      const hits = await wordsStore!.searchWords!(tenant, text!, {
        limit: WORD_ROWS,
        ...(wordsSnapshot !== undefined ? { snapshot: wordsSnapshot } : {}),
      });
      const groups = groupWordHits(tenant, hits).filter((g) => g.key.startsWith(prefix));
      const keys = groups.slice(0, WORD_VIDEOS).map((g) => g.key);
      const rows =
        keys.length > 0 && this.store.candidatesByKeys !== undefined
          ? await this.store.candidatesByKeys(fingerprint, vector, keys, {
              tenant,
              filters,
              snapshot: cursor?.snapshot ?? model.version,
            })
          : [];
      return { wordsSnapshot, groups, rows };
    };
    const [stage1, found] = await Promise.all([
      mode === 'words'
        ? Promise.resolve({ snapshot: cursor?.snapshot ?? model.version, candidates: [] })
        : this.store.candidates(fingerprint, vector, {
            tenant,
            filters,
            limit,
            ...(cursor !== undefined ? { snapshot: cursor.snapshot } : {}),
          }),
      mode === 'visual'
        ? Promise.resolve({ wordsSnapshot: undefined, groups: [] as VideoWordHits[], rows: [] })
        : words(),
    ]);
    const snapshot = stage1.snapshot;
    const { wordsSnapshot } = found;
    const candidates = stage1.candidates.filter((c) => c.key.startsWith(prefix) && c.key !== exclude);
    // How many videos the words point at (see fusion.ts), counted before the words ranking is cut.
    const pointedAt = contenders(found.groups.map((g) => g.best));
    const wordVideos = found.groups.slice(0, WORD_VIDEOS);
    const wordsOf = new Map(wordVideos.map((g, i) => [g.key, { ...g, rank: i }]));
    const have = new Set(candidates.map((c) => c.key));
    for (const c of found.rows)
      if (c.key.startsWith(prefix) && c.key !== exclude && !have.has(c.key)) candidates.push(c);
    const stage1Done = performance.now();

    // ---- stage 2 ----
    const cache = this.rescoreCache(model.dim);
    const prepared = this.prepare(pooling, vector);
    const { slots, fetched, xpoolBuilt } = await this.#resolveAndScore(
      cache,
      fingerprint,
      candidates,
      prepared,
    );
    // slot numbers are valid until the next await
    // Frame cosines for ties and moments: the 'max' pooling's, whatever the pooling (X-Pool's frame
    // logits are not cosines); its score is the best frame's cosine.
    const framePrepared = this.prepare('max', vector);
    // Exact ties (same score) go to the video whose best frame scores higher, then to the lower key.
    const momentScores = new Map<number, number>();
    const momentScore = (slot: number) => {
      let best = momentScores.get(slot);
      if (best === undefined) {
        best = cache.score(slot, framePrepared);
        momentScores.set(slot, best);
      }
      return best;
    };
    slots.sort(
      (a, b) =>
        b.score - a.score ||
        momentScore(b.slot) - momentScore(a.slot) ||
        (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    );
    let preparedReferences: PreparedQuery[] | undefined;
    const confidences = new Map<number, number>();
    const confidence = (slot: number, score: number): number => {
      if (!measured) return Number.NaN;
      let value = confidences.get(slot);
      if (value === undefined) {
        // A video's reference statistics depend on the video, the pooling and the model, not on the
        // query: kept across queries, so a video costs its 24 reference scorings once.
        const statsKey = `${fingerprint}\u0000${pooling}\u0000${referenceKind}\u0000${cache.key(slot)}\u0000${cache.revision(slot)}`;
        let stats = this.#referenceStats.get(statsKey);
        if (stats === undefined) {
          preparedReferences ??= references.map((reference) => this.prepare(pooling, reference));
          stats = referenceStats(preparedReferences.map((reference) => cache.score(slot, reference)));
          if (this.#referenceStats.size >= REFERENCE_STATS_LIMIT) this.#referenceStats.clear();
          this.#referenceStats.set(statsKey, stats);
        }
        value = confidenceOf(score, stats);
        confidences.set(slot, value);
      }
      return value;
    };
    // Confidence costs one scoring per reference text (≈ 24 × 10 µs a video): with minConfidence it is
    // computed in rank order only until the page and one more result are known.
    // minScore and minConfidence cut what the frames score, whatever else matched (a words search
    // has no such cut). Past the page (and one more), only videos the words found are still wanted.
    const ranked: typeof slots = [];
    let full = false;
    for (const s of slots) {
      const worded = wordsOf.has(s.key);
      if (mode === 'words') {
        if (worded) ranked.push(s);
        continue;
      }
      if (full && !worded) continue;
      if (minScore !== undefined && s.score < minScore) continue;
      if (minConfidence !== undefined) {
        if (confidence(s.slot, s.score) < minConfidence) continue;
        if (ranked.length > offset + k && !worded) {
          full = true;
          continue;
        }
      }
      ranked.push(s);
    }
    if (mode === 'words') ranked.sort((a, b) => wordsOf.get(a.key)!.rank - wordsOf.get(b.key)!.rank);
    else if (wordsOf.size > 0) {
      // The visual order (ranked as it is) and the words order, fused (see fusion.ts, fuseHybrid).
      const visualOrder = ranked.map((s) => s.key);
      const kept = new Set(visualOrder);
      const words = wordVideos.filter((g) => kept.has(g.key)).map((g) => ({ key: g.key, score: g.best }));
      // The frames' clear matches lead, in their order (see fuseHybrid): among their first ten, those
      // reaching the match confidence and standing half of it above the ten's median. The median
      // matters at scale: among 100k videos a query that matches nothing still finds some whose
      // confidence passes 3 by chance (the 100k bench: 22 of 30 made-up names), all near each other.
      const top = measured
        ? ranked.slice(0, 10).map((s) => ({ key: s.key, c: confidence(s.slot, s.score) }))
        : [];
      const median = [...top.map((t) => t.c)].sort((a, b) => a - b)[Math.floor(top.length / 2)] ?? 0;
      const clear = new Set(
        top
          .filter((t) => t.c >= this.matchConfidence && t.c >= median + this.matchConfidence / 2)
          .map((t) => t.key),
      );
      const place = new Map(fuseHybrid(visualOrder, words, pointedAt, clear).map((key, i) => [key, i]));
      ranked.sort((a, b) => place.get(a.key)! - place.get(b.key)!);
    }
    const anyWords = ranked.some((s) => wordsOf.has(s.key));
    // Nothing stands out when none of the best ten reaches the match confidence and no words matched.
    const noGoodMatch =
      mode === 'words'
        ? ranked.length === 0
        : !anyWords &&
          measured &&
          !ranked
            .slice(0, Math.max(10, offset + k))
            .some((s) => confidence(s.slot, s.score) >= this.matchConfidence);
    // Spans are clamped to the duration with the page details (the duration is not known here).
    const frameCosines = (slot: number) => {
      const cosines = new Float32Array(cache.frameCount(slot));
      cache.score(slot, framePrepared, undefined, cosines);
      return cosines;
    };
    const momentsOf = (slot: number, limit: number): PageMoment[] =>
      findMoments(frameCosines(slot), cache.timestamps(slot), null, limit);
    type PageMoment = ScoredMoment & { cue?: SearchMoment['cue']; wordScore?: number };
    type PageEntry = (typeof ranked)[number] & {
      weights: Float32Array;
      cosines: Float32Array;
      timestamps: Float32Array;
      /** Each frame's cosine with the query (the 'max' pooling's), for cue moments' pictures. */
      frameCos: Float32Array;
      confidence: number | null;
      moments: PageMoment[];
      /** In moment grouping: the moment this entry is. */
      only?: PageMoment;
    };
    // Everything an entry needs of the rescore cache is copied out here, while its slots are valid
    // (until the next await): the cues of the videos the words found are read after.
    const entry = (s: (typeof ranked)[number]): PageEntry => {
      const F = cache.frameCount(s.slot);
      const weights = new Float32Array(F);
      const cosines = new Float32Array(F);
      cache.score(s.slot, prepared, weights, cosines);
      return {
        ...s,
        weights,
        cosines,
        timestamps: cache.timestamps(s.slot),
        frameCos: frameCosines(s.slot),
        confidence: measured ? confidence(s.slot, s.score) : null,
        // In moment grouping the entry is one moment (`only`): the video's list is not shown.
        moments: group === 'moment' || mode === 'words' ? [] : momentsOf(s.slot, momentLimit),
      };
    };
    // A cue that matched is a moment: the cue's span, pictured by the frame nearest its middle.
    const cueMomentsOf = (p: PageEntry, limit: number): PageMoment[] =>
      (wordsOf.get(p.key)?.hits ?? [])
        .filter((h) => h.field === 'cue' && h.start !== null)
        .slice(0, limit)
        .map((h) => {
          const frame = nearestFrame(p.timestamps, (h.start! + (h.end ?? h.start!)) / 2);
          return {
            start: h.start!,
            end: Math.max(h.start!, h.end ?? h.start!),
            frameIndex: frame,
            firstFrame: frame,
            lastFrame: frame,
            score: p.frameCos[frame] ?? 0,
            cue: { trackId: h.trackId ?? '', text: h.text, highlights: highlightRanges(h.text, text!) },
            wordScore: h.score,
          };
        });
    // The words index finds tracks; which of their cues hold the words is read for the videos shown.
    const locateCues = async (keys: readonly string[]) => {
      if (this.store.matchingCues === undefined) return;
      const videos = keys.flatMap((key) => {
        const tracks = wordsOf.get(key)?.hits.filter(isTrackHit) ?? [];
        if (tracks.length === 0) return [];
        return [
          {
            key,
            videoId: tracks[0]!.videoId,
            trackIds: [...new Set(tracks.map((h) => h.trackId!))],
            best: Math.max(...tracks.map((h) => h.score)),
          },
        ];
      });
      if (videos.length === 0) return;
      const cuesOf = await this.store.matchingCues(tenant, videos, text!, { limit: 10 });
      for (const v of videos) {
        const found = wordsOf.get(v.key)!;
        const cues = cuesOf.get(v.videoId) ?? [];
        // a cue weighs its track's BM25, shared by how well it holds the words against the best cue
        const top = cues[0]?.score ?? 1;
        found.hits = [
          ...found.hits.filter((h) => !isTrackHit(h)),
          ...cues.map((c) => ({ ...c, score: (v.best * c.score) / top })),
        ].sort((a, b) => b.score - a.score || (a.start ?? 0) - (b.start ?? 0));
      }
    };
    let page: PageEntry[];
    let total: number;
    if (group === 'moment') {
      // Every moment of every ranked video, ranked across videos (ties: the video's score, key, time);
      // cue moments by their words' score; with both, the two orders fused (fusion.ts).
      type Item = { key: string; moment: PageMoment; score: number };
      const frameItems: Item[] =
        mode === 'words'
          ? []
          : ranked.flatMap((s) =>
              momentsOf(s.slot, 10).map((moment) => ({ key: s.key, moment, score: s.score })),
            );
      frameItems.sort(
        (a, b) =>
          b.moment.score - a.moment.score ||
          b.score - a.score ||
          (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
          a.moment.start - b.moment.start,
      );
      // the entries a page may take: the first offset + k frame moments' videos and the words' videos
      const worded = ranked.filter((s) => wordsOf.has(s.key)).slice(0, MOMENT_WORD_VIDEOS);
      const wanted = new Set([
        ...frameItems.slice(0, offset + k).map((i) => i.key),
        ...worded.map((s) => s.key),
      ]);
      const entries = new Map(ranked.filter((s) => wanted.has(s.key)).map((s) => [s.key, entry(s)]));
      await locateCues(worded.map((s) => s.key));
      const cueItems: Item[] = worded.flatMap((s) =>
        cueMomentsOf(entries.get(s.key)!, 10).map((moment) => ({ key: s.key, moment, score: s.score })),
      );
      cueItems.sort(
        (a, b) =>
          b.moment.wordScore! - a.moment.wordScore! ||
          (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
          a.moment.start - b.moment.start,
      );
      let all = [...frameItems, ...cueItems];
      if (frameItems.length > 0 && cueItems.length > 0) {
        const order = fuseHybrid(
          frameItems.map((_, i) => `f${i}`),
          cueItems.map((item, i) => ({ key: `c${i}`, score: item.moment.wordScore! })),
          pointedAt,
        );
        all = order.map((id) => (id[0] === 'f' ? frameItems : cueItems)[Number(id.slice(1))]!);
      }
      total = all.length;
      page = all.slice(offset, offset + k).map(({ key, moment }) => ({ ...entries.get(key)!, only: moment }));
    } else {
      total = ranked.length;
      page = ranked.slice(offset, offset + k).map(entry);
      await locateCues(page.map((p) => p.key));
      // A video's cue moments come first, then (but for a words search) its frames' moments.
      for (const p of page)
        if (wordsOf.has(p.key))
          p.moments = [...cueMomentsOf(p, momentLimit), ...p.moments].slice(0, momentLimit);
    }
    const stage2Done = performance.now();

    // ---- page details ----
    const details = await this.store.resultDetails(
      fingerprint,
      page.map((p) => p.candidate),
    );
    const results: SearchResult[] = [];
    for (const [i, p] of page.entries()) {
      const d = details.get(p.key);
      if (d === undefined) continue; // deleted since the snapshot
      // Spans are clamped to the duration only now that it is known.
      const clamp = (m: PageMoment) => {
        const end = d.durationSeconds === null ? m.end : Math.min(d.durationSeconds, m.end);
        return {
          start: Math.min(m.start, end),
          end,
          frameIndex: m.frameIndex,
          thumbnail: d.thumbnails[m.frameIndex] ?? null,
          score: m.score,
          ...(m.cue !== undefined ? { cue: m.cue } : {}),
        };
      };
      const moments = (p.only ? [p.only] : p.moments).map(clamp);
      const found = wordsOf.get(p.key);
      // The moment: the one this entry is (moment grouping), else the best cue that matched, else the
      // pooling's own.
      const first = moments[0];
      const moment =
        first !== undefined && (p.only !== undefined || first.cue !== undefined)
          ? (({ score: _score, ...m }) => m)(first)
          : {
              ...momentOf(pooling, p.weights, p.cosines, p.timestamps, d.durationSeconds),
              thumbnail: null as string | null,
            };
      const matchedBy: MatchReason[] = [];
      if (
        mode !== 'words' &&
        (found === undefined || (p.confidence !== null && p.confidence >= this.matchConfidence))
      )
        matchedBy.push('frames');
      for (const h of found?.hits ?? []) if (!matchedBy.includes(h.field)) matchedBy.push(h.field);
      results.push({
        rank: offset + i + 1,
        videoId: d.videoId,
        title: d.title,
        score: p.only ? p.only.score : p.score,
        confidence: p.confidence,
        moment: { ...moment, thumbnail: d.thumbnails[moment.frameIndex] ?? null },
        moments,
        tags: d.tags,
        duration: d.durationSeconds,
        createdAt: d.createdAt,
        matchedBy,
        words: (found?.hits ?? [])
          .filter((h) => !isTrackHit(h)) // a track whose cues were not read
          .slice(0, WORD_MATCHES_SHOWN)
          .map((h) => ({
            field: h.field,
            text: h.text,
            highlights: highlightRanges(h.text, text!),
            start: h.start,
            end: h.end,
            trackId: h.trackId,
          })),
      });
    }
    const truncated = stage1.candidates.length >= limit && limit < this.maxCandidates;
    const more = total > offset + k || (truncated && page.length === k);
    const nextCursor = more
      ? encodeCursor({
          kind: 'search',
          offset: offset + k,
          queryHash,
          fingerprintHash,
          snapshot,
          ...(wordsSnapshot !== undefined ? { wordsSnapshot } : {}),
        })
      : null;
    const done = performance.now();
    return {
      results,
      noGoodMatch,
      matchConfidence: this.matchConfidence,
      warnings,
      nextCursor,
      fingerprint,
      pooling,
      mode,
      timings: {
        encodeMs: encoded - started,
        stage1Ms: stage1Done - encoded,
        stage2Ms: stage2Done - stage1Done,
        detailsMs: done - stage2Done,
        totalMs: done - started,
      },
      stats: {
        candidates: candidates.length,
        fetched,
        xpoolBuilt,
        queryCached: cached,
        wordVideos: wordVideos.length,
      },
    };
  }

  /**
   * The query vector of an example video: its frames' mean (as stage 1 stores it), or the frame nearest
   * `at` seconds.
   * @throws ReelError VIDEO_NOT_FOUND when the tenant has no such video indexed with this model.
   */
  async #exampleVector(
    fingerprint: string,
    tenant: string,
    like: { videoId: string; at?: number },
  ): Promise<Float32Array> {
    const entry = await this.store.rescoreEntryByKey?.(fingerprint, videoKey(tenant, like.videoId));
    if (!entry)
      throw new ReelError(
        IndexErrorCode.VIDEO_NOT_FOUND,
        `like: no video ${JSON.stringify(like.videoId)} indexed with the model searches read (${fingerprint})`,
        { details: { videoId: like.videoId } },
      );
    const { frameCount: F, dim: D, frames, scales, timestamps } = entry;
    const unit = l2NormalizeRows(
      Float32Array.from(frames, (q, i) => q * scales[Math.floor(i / D)]!),
      F,
      D,
    );
    if (like.at !== undefined) {
      const nearest = nearestFrame(timestamps, like.at, F);
      return unit.slice(nearest * D, (nearest + 1) * D);
    }
    const mean = new Float32Array(D);
    for (let f = 0; f < F; f++) for (let d = 0; d < D; d++) mean[d] = mean[d]! + unit[f * D + d]! / F;
    return mean;
  }

  /** The reference texts' embeddings for a model, embedded once (see confidence.ts). */
  /** The reference texts' or pictures' embeddings under the model, embedded once. */
  #referenceVectors(fingerprint: string, kind: 'text' | 'image'): Promise<Float32Array[]> {
    const key = `${fingerprint}\u0000${kind}`;
    let vectors = this.#references.get(key);
    if (vectors === undefined) {
      vectors =
        kind === 'text'
          ? this.embedder.encodeTexts(this.#referenceTexts)
          : this.embedder.encodeImages!(this.#referenceImages);
      this.#references.set(key, vectors);
      vectors.catch(() => this.#references.delete(key));
    }
    return vectors;
  }

  /**
   * Makes every candidate's rescoring data resident and scores it. Fetches happen first (awaits); the
   * lookups, insertions and scoring then run in one synchronous block, so no concurrent search can evict
   * a slot in between. A slot evicted by another search during a fetch is fetched again (up to 3 rounds);
   * a row that no longer exists is dropped.
   */
  async #resolveAndScore(
    cache: RescoreCache,
    fingerprint: string,
    candidates: readonly StageOneCandidate[],
    prepared: PreparedQuery,
  ): Promise<{
    slots: { candidate: StageOneCandidate; key: string; slot: number; score: number }[];
    fetched: number;
    xpoolBuilt: number;
  }> {
    const expected = new Map(candidates.map((c) => [c.key, c.revision]));
    let pending: RescoreEntry[] = [];
    let fetched = 0;
    let toFetch = candidates.filter((c) => cache.lookup(c.key, c.revision) < 0);
    const gone = new Set<string>();
    for (let round = 0; ; round++) {
      if (toFetch.length > 0) {
        const entries = await this.store.rescoreEntries(fingerprint, toFetch);
        fetched += entries.length;
        const got = new Set(entries.map((e) => e.key));
        for (const c of toFetch) if (!got.has(c.key)) gone.add(c.key);
        for (const e of entries) expected.set(e.key, e.revision);
        pending = pending.filter((e) => !got.has(e.key)).concat(entries);
      }
      // ---- synchronous from here to the return ----
      cache.beginBatch();
      // mark resident candidates first, so inserting the fetched ones never evicts them
      for (const c of candidates) cache.lookup(c.key, expected.get(c.key));
      for (const e of pending) cache.insert(e);
      const slots: { candidate: StageOneCandidate; key: string; slot: number; score: number }[] = [];
      const lost: StageOneCandidate[] = [];
      for (const c of candidates) {
        if (gone.has(c.key)) continue;
        const slot = cache.lookup(c.key, expected.get(c.key));
        if (slot < 0) lost.push(c);
        else slots.push({ candidate: c, key: c.key, slot, score: 0 });
      }
      if (lost.length > 0 && round < 2) {
        toFetch = lost;
        continue;
      }
      let xpoolBuilt = 0;
      if (prepared.pooling === 'xpool') {
        const head = this.xpoolHead!;
        const missing = slots.filter((s) => !cache.hasXPool(s.slot, head.checksum));
        for (const s of missing.slice(0, this.#maxXPoolBuilds)) {
          const raw = cache.rawFrames(s.slot);
          cache.setXPool(s.slot, buildXPoolCompactCache(head, raw.frames, cache.frameCount(s.slot)));
          xpoolBuilt++;
        }
        if (missing.length > xpoolBuilt)
          throw new ReelError(
            IndexErrorCode.POOLING_UNAVAILABLE,
            `pooling xpool: expected stored X-Pool terms of head ${head.checksum.toString(16)} for every candidate, found ${missing.length} of ${slots.length} without them (computed ${xpoolBuilt} now; retry, reindex with this head, or use another pooling)`,
            { retryable: true },
          );
      }
      for (const s of slots) s.score = cache.score(s.slot, prepared);
      return { slots, fetched, xpoolBuilt };
    }
  }
}

/** The moment rule per pooling (see moments.ts): mean pooling has no weights, so its best frame alone. */
function momentOf(
  pooling: Pooling,
  weights: Float32Array,
  cosines: Float32Array,
  timestamps: Float32Array,
  durationSeconds: number | null,
): { start: number; end: number; frameIndex: number } {
  const F = timestamps.length;
  const argmax = (values: Float32Array, allowed?: (f: number) => boolean) => {
    let best = -1;
    for (let f = 0; f < F; f++)
      if ((allowed === undefined || allowed(f)) && (best < 0 || values[f]! > values[best]!)) best = f;
    return Math.max(0, best);
  };
  if (pooling === 'mean') {
    const top = argmax(cosines);
    return { ...frameSpan(timestamps, F, top, top, durationSeconds), frameIndex: top };
  }
  // top-k's chosen frames weigh the same: grow the run from the best of them
  const top = pooling === 'topk' ? argmax(cosines, (f) => weights[f]! > 0) : argmax(weights);
  const moment = findMoment(weights, timestamps, durationSeconds, top);
  return { start: moment.start, end: moment.end, frameIndex: moment.frameIndex };
}
