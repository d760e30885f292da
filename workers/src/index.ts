export {
  checkRedis,
  compareVersions,
  createRedisConnection,
  MIN_REDIS_VERSION,
  type RedisCheck,
  redactUrl,
} from './adapters/redis.ts';
export { type BatchStatus, type BatchVideo, VideoStatus } from './batch-progress.ts';
export { JobName, type ModelRef, QueueName, STAGES, type Stage } from './jobs.ts';
export { openPipeline, type Pipeline, type RunningWorker, startPipelineWorker } from './pipeline.ts';
export type { SubmitBatchResult, SubmittedVideo } from './services/batch.service.ts';
export { expandPaths, VIDEO_EXTENSIONS } from './submit-paths.ts';
