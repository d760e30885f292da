/**
 * Error codes thrown by @reel/index as `ReelError(code, message)`. One entry per code; each helper adds
 * its own lines.
 */
export const IndexErrorCode = {
  /** Pooling inputs disagree in size (text length ≠ D, frames ≠ F×D, Gram ≠ F×F) or a parameter is out of range (τ ≤ 0, k < 1). */
  POOLING_INPUT_INVALID: 'POOLING_INPUT_INVALID',
  /** A `.safetensors` file is malformed: truncated, bad header length or JSON, offsets outside the data or not matching dtype × shape. */
  SAFETENSORS_INVALID: 'SAFETENSORS_INVALID',
  /** A `.safetensors` file is not an X-Pool head: tensors missing, unexpected, mis-shaped or of an unsupported dtype (all listed). */
  XPOOL_HEAD_INVALID: 'XPOOL_HEAD_INVALID',
  /** The X-Pool head's embedding size differs from the CLIP model's. */
  XPOOL_DIM_MISMATCH: 'XPOOL_DIM_MISMATCH',
  /** Serialised X-Pool cache bytes are malformed (magic, version, length), or a cache was built with another head or size than the query. */
  XPOOL_CACHE_INVALID: 'XPOOL_CACHE_INVALID',
  /** A `.npy` file is malformed or unsupported: magic, version, header, dtype (float16/32/64 little-endian only), Fortran order, data length. */
  NPY_INVALID: 'NPY_INVALID',
  /** A captions CSV (MSR-VTT style `video_id,sentence`) is malformed: unterminated quote, wrong field count, empty video id (with its line). */
  CAPTIONS_INVALID: 'CAPTIONS_INVALID',
  /** Evaluation inputs disagree: similarity matrix ≠ Nt×Nv, ground truth length or video index out of range, text and frame sizes differ. */
  EVAL_INPUT_INVALID: 'EVAL_INPUT_INVALID',
  /** Embeddings to store are malformed: frame/timestamp/thumbnail counts, sizes or non-finite values. */
  EMBEDDINGS_INVALID: 'EMBEDDINGS_INVALID',
  /** A vector's size differs from the index's D for that model (query embedding or stored frames). */
  EMBEDDING_DIM_MISMATCH: 'EMBEDDING_DIM_MISMATCH',
  /** A video record is malformed: empty tenant or id, unknown status, invalid date or duration. */
  VIDEO_INVALID: 'VIDEO_INVALID',
  /** Embeddings were written for a video that has no record (upsert the video first). */
  VIDEO_NOT_FOUND: 'VIDEO_NOT_FOUND',
  /** Search or listing input is invalid: empty text or tenant, k out of range, bad filter or minScore. */
  SEARCH_INPUT_INVALID: 'SEARCH_INPUT_INVALID',
  /** A page cursor is malformed, or was made for another query, tenant, listing or model. */
  CURSOR_INVALID: 'CURSOR_INVALID',
  /** The requested pooling cannot run: X-Pool without a configured head. */
  POOLING_UNAVAILABLE: 'POOLING_UNAVAILABLE',
  /** An index table on disk does not match what this code writes (schema, model fingerprint or D). */
  INDEX_SCHEMA_MISMATCH: 'INDEX_SCHEMA_MISMATCH',
  /** A LanceDB operation failed (I/O, commit conflict after retries); retryable. */
  INDEX_STORE_FAILED: 'INDEX_STORE_FAILED',
  /** The text encoder returned no vector, or one of the wrong size, for a query. */
  QUERY_ENCODING_FAILED: 'QUERY_ENCODING_FAILED',
} as const;

export type IndexErrorCode = (typeof IndexErrorCode)[keyof typeof IndexErrorCode];
