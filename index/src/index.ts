/**
 * @reel/index's public API: the index store (and its LanceDB adapter), search, and what evaluation
 * reads and scores. Kernels, caches, codecs and the float64 references stay inside the package (its
 * tests import them from their files).
 */
export {
  type AnnIndexConfig,
  LanceIndexStore,
  type LanceIndexStoreOptions,
  type VideoCues,
} from './adapters/lancedb-store.ts';
export { IndexErrorCode } from './errors.ts';
export { type Caption, parseCaptionsCsv } from './eval/captions-csv.ts';
export {
  encodeNpy,
  NPY_FLOAT_DTYPES,
  type NpyArray,
  type NpyFloatDtype,
  parseNpy,
  readNpyFile,
  writeNpyFile,
} from './eval/npy.ts';
export {
  type RetrievalEvaluation,
  type RetrievalMetrics,
  retrievalMetrics,
  textToVideoRanks,
  videoToTextRanks,
} from './eval/retrieval-metrics.ts';
export {
  type EvalEmbeddings,
  POOLING_METHODS,
  type PoolingMethod,
  type SimilarityMatrixOptions,
  similarityMatrix,
} from './eval/similarity-matrix.ts';
export type { CompactFrames, FrameCodec } from './frame-codec.ts';
export type {
  CatalogStore,
  EmbeddingStore,
  IndexStore,
  TableUpkeep,
  UpkeepStore,
  VideoPage,
  VideoSort,
  VideoSummary,
} from './index-store.ts';
export { cosine, dot } from './pooling/vector-math.ts';
export type { ListFilters, VideoFilters } from './search/filter-sql.ts';
export type { TextEmbedder } from './search/query-cache.ts';
export { POOLINGS, Pooling, type RescoreEntry } from './search/rescore-cache.ts';
export {
  type MatchReason,
  SEARCH_MODES,
  type SearchMode,
  type SearchMoment,
  type SearchOptions,
  type SearchResponse,
  type SearchResult,
  SearchService,
  type SearchServiceOptions,
  type WordMatch,
} from './search/search-service.ts';
export type {
  CandidateRequest,
  ResultDetails,
  SearchStore,
  StageOneCandidate,
} from './search/search-store.ts';
export { buildVideoEmbeddings, type VideoEmbeddingsInput } from './video-embeddings.ts';
export {
  type CaptionTrackInfo,
  VIDEO_STATUSES,
  type VideoEmbeddings,
  type VideoError,
  type VideoRecord,
  VideoStatus,
  videoKey,
} from './video-record.ts';
export { highlightRanges } from './words/highlight.ts';
export { wordTerms } from './words/word-terms.ts';
export {
  type CaptionTrackCues,
  type StoredCue,
  WORDS_FIELDS,
  type WordsField,
  type WordsHit,
  type WordsStore,
} from './words/words-store.ts';
export {
  checkXPoolHeadDim,
  loadXPoolHead,
  XPOOL_MODEL_FINGERPRINT_KEY,
  XPOOL_MODEL_NAME_KEY,
  type XPoolHead,
  xpoolHeadPairingWarning,
  xpoolHeadTensorShapes,
} from './xpool/xpool-head.ts';
