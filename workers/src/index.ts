export {
  type ClusterCheck,
  type ClusterNodeInfo,
  checkRedis,
  compareVersions,
  createRedisConnection,
  describeClusterNodes,
  MIN_REDIS_VERSION,
  type RedisCheck,
  type RedisClient,
  redactUrl,
} from './adapters/redis.ts';
export { kindOf, NOT_A_REGULAR_FILE, openRegularFile } from './adapters/regular-file.ts';
export type {
  ByteRange,
  ObjectInfo,
  ObjectStorage,
  StoredObject,
} from './adapters/storage/object-storage.ts';
export { contentTypeOf, thumbnailKey, uploadKey } from './adapters/storage/storage-keys.ts';
export { DownloadErrorCode } from './adapters/url-fetcher.ts';
export { type ResolvedSource, resolveSource, SOURCE_NOT_ALLOWED } from './adapters/video-source.ts';
export type { WebhookDelivery } from './adapters/webhook-store.ts';
export { BATCH_ID_PATTERN, batchKey, clientBatchId } from './batch-id.ts';
export { type BatchStatus, type BatchVideo, VideoStatus } from './batch-progress.ts';
export { JobName, type ModelRef, QueueName, STAGES, type Stage, WebhookEventType } from './jobs.ts';
export { checkModelDir } from './model-dirs.ts';
export { openPipeline, type Pipeline, type RunningWorker, startPipelineWorker } from './pipeline.ts';
export type {
  SubmitBatchInput,
  SubmitBatchResult,
  SubmitFile,
  SubmitPath,
  SubmitPathsInput,
  SubmittedVideo,
  SubmitUrl,
  SubmitUrlsInput,
} from './services/batch.service.ts';
export {
  CAPTION_EXTENSIONS,
  type CaptionFile,
  type CaptionService,
  MAX_CAPTION_BYTES,
  toWebVtt,
} from './services/caption.service.ts';
export {
  type EncodeVideosOptions,
  type EvalProgress,
  type ExcludedVideo,
  encodeVideos,
  loadFeatures,
  saveFeatures,
  scoreRetrieval,
  type VideoRun as EvalVideoRun,
} from './services/eval.service.ts';
export { LiveSearch, type LiveSearchOptions } from './services/live-search.ts';
export type { Upload, UploadedFile, UploadService } from './services/upload.service.ts';
export { LABEL_LIMITS, type VideoDetails, type VideoService } from './services/video.service.ts';
export {
  MAX_WEBHOOK_ENDPOINTS,
  WEBHOOK_EVENTS,
  type WebhookEndpointView,
  WebhookService,
} from './services/webhook.service.ts';
export { type ExpandedPaths, expandPaths, VIDEO_EXTENSIONS, walkPaths } from './submit-paths.ts';
export { checkVideoUrl } from './video-url.ts';
export { SIGNATURE_HEADER, signWebhook, verifyWebhook } from './webhook-signature.ts';
