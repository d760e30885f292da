/**
 * Error codes thrown by @reel/models as `ReelError(code, message)`. One entry per code; each helper adds
 * its own lines.
 */
export const ModelErrorCode = {
  /** A model file is missing. */
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  /** A file is not a loadable ONNX model, or not the kind of model asked for (wrong inputs/outputs). */
  MODEL_INVALID: 'MODEL_INVALID',
  /** onnxruntime rejected a run (wrong input names, types or dims) or failed inside it. */
  INFERENCE_FAILED: 'INFERENCE_FAILED',
  /** An inference worker thread crashed or exited while calls were in flight (retryable). */
  INFERENCE_WORKER_DIED: 'INFERENCE_WORKER_DIED',
  /** A call reached an inference pool after `close()`. */
  INFERENCE_POOL_CLOSED: 'INFERENCE_POOL_CLOSED',
  /** Inference pool or session options out of range (pool size, thread counts, batch sizes). */
  INFERENCE_OPTIONS_INVALID: 'INFERENCE_OPTIONS_INVALID',
  /** `reel models pull`: the hub rejected the request (401/403): no, wrong or insufficient HF_TOKEN. */
  MODEL_AUTH: 'MODEL_AUTH',
  /** `reel models pull`: a downloaded file's size or sha256 differs from what the hub announced. */
  MODEL_DOWNLOAD_CORRUPT: 'MODEL_DOWNLOAD_CORRUPT',
  /** `reel models pull`: an HTTP error or network failure that retries did not get past. */
  MODEL_DOWNLOAD_FAILED: 'MODEL_DOWNLOAD_FAILED',
  /** `reel models pull`: bad input (repo name, revision, endpoint URL). */
  MODEL_PULL_INVALID: 'MODEL_PULL_INVALID',
  /** A preprocessing config (`preprocessor_config.json` / `preprocess_cfg.json`) is unreadable or has a bad field. */
  PREPROCESS_CONFIG_INVALID: 'PREPROCESS_CONFIG_INVALID',
  /** An image cannot be decoded, or a raw RGB frame's byte length is not width*height*3. */
  IMAGE_INVALID: 'IMAGE_INVALID',
  /** A graph built in code is malformed (undefined tensor, duplicate name, data size not matching dims). */
  ONNX_GRAPH_INVALID: 'ONNX_GRAPH_INVALID',
  /** A synthetic model's definition is inconsistent (e.g. a word list with a duplicate or non-letter word). */
  SYNTHETIC_MODEL_INVALID: 'SYNTHETIC_MODEL_INVALID',
  /** A tokenizer file (`tokenizer.json`, `tokenizer_config.json`, OpenAI's `bpe_simple_vocab_16e6.txt.gz`) is missing, unreadable or malformed. */
  TOKENIZER_INVALID: 'TOKENIZER_INVALID',
  /** Tokenizer options out of range (context length, pad id). */
  TOKENIZER_OPTIONS_INVALID: 'TOKENIZER_OPTIONS_INVALID',
  /** A model folder's config names a model family reel cannot run (or says nothing it can read). */
  MODEL_FAMILY_UNSUPPORTED: 'MODEL_FAMILY_UNSUPPORTED',
} as const;

export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];
