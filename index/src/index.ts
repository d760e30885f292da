export {
  type AnnIndexConfig,
  DEFAULT_ANN_INDEX,
  DEFAULT_ANN_THRESHOLD,
  embeddingsTableName,
  LanceIndexStore,
  type LanceIndexStoreOptions,
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
  checkRetrievalInput,
  metricsFromRanks,
  type RetrievalEvaluation,
  type RetrievalMetrics,
  retrievalMetrics,
  textToVideoRanks,
  videoToTextRanks,
} from './eval/retrieval-metrics.ts';
export {
  checkEvalEmbeddings,
  type EvalEmbeddings,
  POOLING_METHODS,
  type PoolingMethod,
  type SimilarityMatrixOptions,
  similarityMatrix,
} from './eval/similarity-matrix.ts';
export {
  type CompactFrames,
  decodeFrames,
  encodeFrames,
  FrameCodec,
  float32ToHalf,
  halfToFloat32,
  toInt8Frames,
} from './frame-codec.ts';
export type { IndexStore, TableUpkeep, VideoPage, VideoSummary } from './index-store.ts';
export { meanPool, scoreMean } from './pooling/mean-pooling.ts';
export {
  FLOAT_DTYPES,
  parseSafetensors,
  readSafetensorsFile,
  type SafetensorsFile,
  type SafetensorsTensor,
  tensorToFloat32,
} from './pooling/safetensors.ts';
export {
  DEFAULT_ATTENTION_TEMPERATURE,
  DEFAULT_TOP_K,
  scoreAttention,
  scoreAttentionNaive,
  scoreMax,
  scoreTopK,
} from './pooling/text-conditioned-pooling.ts';
export { cosine, dot, gramMatrix, l2NormalizeRows } from './pooling/vector-math.ts';
export {
  buildXPoolCache,
  deserializeXPoolCache,
  prepareXPoolQuery,
  scoreXPoolCached,
  serializeXPoolCache,
  type XPoolCache,
  type XPoolQuery,
  xpoolCacheByteLength,
} from './pooling/xpool-cache.ts';
export {
  type XPoolDirectFrames,
  xpoolDirectFrames,
  xpoolDirectPooled,
  xpoolDirectQuery,
  xpoolDirectScore,
} from './pooling/xpool-direct.ts';
export {
  checkXPoolHeadDim,
  type LayerNormParams,
  type LinearParams,
  loadXPoolHead,
  parseXPoolHead,
  XPOOL_LAYER_NORM_EPS,
  type XPoolHead,
  xpoolHeadFromSafetensors,
  xpoolHeadTensorShapes,
} from './pooling/xpool-head.ts';
export {
  type CursorKind,
  type CursorState,
  decodeCursor,
  encodeCursor,
  hashFingerprint,
  hashQuery,
} from './search/cursor.ts';
export {
  filtersToSql,
  type ListFilters,
  normalizeFilters,
  sqlString,
  type VideoFilters,
} from './search/filter-sql.ts';
export { findMoment, frameSpan, MOMENT_WEIGHT_RATIO, type MomentSpan } from './search/moments.ts';
export {
  DEFAULT_QUERY_CACHE_SIZE,
  LruCache,
  QueryEmbeddingCache,
  type TextEmbedder,
} from './search/query-cache.ts';
export {
  POOLINGS,
  Pooling,
  type PreparedQuery,
  RescoreCache,
  type RescoreCacheOptions,
  type RescoreEntry,
} from './search/rescore-cache.ts';
export {
  DEFAULT_CANDIDATES,
  DEFAULT_MAX_CANDIDATES,
  DEFAULT_MAX_K,
  DEFAULT_RESCORE_CAPACITY,
  type SearchMoment,
  type SearchOptions,
  type SearchResponse,
  type SearchResult,
  SearchService,
  type SearchServiceOptions,
} from './search/search-service.ts';
export type {
  CandidateRequest,
  ResultDetails,
  SearchStore,
  StageOneCandidate,
} from './search/search-store.ts';
export {
  buildXPoolCompactCache,
  prepareXPoolCompactQuery,
  scoreXPoolCompact,
  type XPoolCompactCache,
  type XPoolCompactQuery,
  xpoolCompactLength,
} from './search/xpool-compact.ts';
export { buildVideoEmbeddings, type VideoEmbeddingsInput } from './video-embeddings.ts';
export {
  parseVideoKey,
  VIDEO_STATUSES,
  type VideoEmbeddings,
  type VideoError,
  type VideoRecord,
  VideoStatus,
  videoKey,
} from './video-record.ts';
