export { ClipModel, type LoadClipModelOptions } from './clip/clip-model.ts';
export {
  ClipImageEncoder,
  type ClipImageEncoderOptions,
  ClipTextEncoder,
  type ClipTextEncoderOptions,
  type PixelBatch,
  type TokenBatch,
} from './clip/encoders.ts';
export {
  type ImageFormat,
  ImagePreprocessor,
  MAX_INPUT_PIXELS,
  normalizeRgb,
  type PreprocessInput,
  type RawFrame,
  sniffImage,
} from './clip/preprocess.ts';
export {
  CLIP_IMAGE_MEAN,
  CLIP_IMAGE_SIZE,
  CLIP_IMAGE_STD,
  loadPreprocessConfig,
  type PreprocessConfig,
  videoFrameGeometry,
} from './clip/preprocess-config.ts';
export { referenceStills } from './clip/reference-stills.ts';
export {
  type ClipTextBatch,
  ClipTokenizer,
  type ClipTokenizerOptions,
  DEFAULT_CONTEXT_LENGTH,
} from './clip/tokenizer.ts';
export { ModelErrorCode } from './errors.ts';
export { cachedRepo, type HubEnv, hubPaths, hubToken, isHubOffline } from './hub/hub-cache.ts';
export {
  DEFAULT_RETRY_POLICY,
  modelIdFromRepo,
  PULL_MANIFEST_FILE,
  type PulledFile,
  type PullModelOptions,
  type PullModelResult,
  type PullProgress,
  pullModel,
  type RetryPolicy,
} from './hub/pull-model.ts';
export { createInferencePool, type InferencePool, type ModelHandle } from './inference/inference-pool.ts';
export { cpuSessionOptions, defaultIntraOpThreads } from './inference/session-options.ts';
export {
  detectModelFamily,
  MODEL_FAMILIES,
  type ModelFamily,
  type ModelFamilyName,
} from './model-family.ts';
export { FINGERPRINT_CACHE_FILE, modelFingerprint } from './model-fingerprint.ts';
export {
  inspectModelFolder,
  type LayoutFiles,
  layoutFiles,
  MODEL_LAYOUTS,
  MODEL_VARIANTS,
  type ModelFolderReport,
  type ModelLayout,
  type ModelVariant,
  modelFiles,
  resolveModelDir,
} from './model-layout.ts';
export {
  ACTIVE_MODEL_FILE,
  type ActiveModel,
  type ActiveModelSource,
  DEFAULT_MODEL_ID,
  type InstalledModel,
  listInstalledModels,
  readSavedModel,
  resolveActiveModel,
  SYNTHETIC_MULTILINGUAL_ID,
  saveActiveModel,
} from './model-registry.ts';
export { externalDataFiles } from './onnx/external-data.ts';
export {
  CALIBRATION_FILE,
  CALIBRATION_TEXTS,
  type Calibration,
  type CosineStats,
  cosineStats,
  cosines,
  DEFAULT_CALIBRATION_THRESHOLD,
  describeCosines,
  type EncoderCalibration,
  generatedCalibrationImages,
  type Precision,
  readCalibration,
  topKAgreement,
} from './quantize/calibrate.ts';
export {
  DEFAULT_PRECISION,
  type EncoderPrecision,
  PRECISION_CHOICES,
  type PrecisionChoice,
  type PrecisionSettings,
  QUANTIZED_VARIANTS,
  quantizedModelId,
  type ResolvedPrecision,
  resolvePrecision,
} from './quantize/precision.ts';
export {
  listQuantizableLayers,
  QUANTIZED_FORMATS,
  type QuantizableLayer,
  type QuantizedFormat,
  type QuantizeGraphOptions,
  type QuantizeGraphReport,
  quantizeGraph,
} from './quantize/quantize-graph.ts';
export {
  type QuantizedFolder,
  type QuantizeModelOptions,
  type QuantizeModelResult,
  quantizeModel,
} from './quantize/quantize-model.ts';
export { checkOnnxRuntime, type RuntimeCheck } from './runtime-check.ts';
export {
  SYNTHETIC_COLOURS,
  SYNTHETIC_EMBED_DIM,
  SYNTHETIC_REGIONS,
  type SyntheticClipOptions,
  syntheticClipFiles,
  syntheticVisionModel,
  writeSyntheticClip,
} from './synthetic/synthetic-clip.ts';
export {
  SYNTHETIC_MULTILINGUAL_CONTEXT_LENGTH,
  SYNTHETIC_TRANSLATIONS,
  syntheticMultilingualFiles,
  writeSyntheticMultilingual,
} from './synthetic/synthetic-multilingual.ts';
export {
  SYNTHETIC_SIGLIP_CONTEXT_LENGTH,
  syntheticSiglipFiles,
  writeSyntheticSiglip,
} from './synthetic/synthetic-siglip.ts';
export { VIT_B32_EMBED_DIM, writeClipTextEncoder, writeVitB32Vision } from './synthetic/vit-b32.ts';
export { cleanText, HF_TOKENIZER_MODELS, HfTokenizer, type TextCleaning } from './tokenizers/hf-tokenizer.ts';
export { loadTextTokenizer, type TextTokenizer } from './tokenizers/text-tokenizer.ts';
