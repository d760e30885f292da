export {
  allPages,
  allVideos,
  type BatchAccepted,
  type BatchStatus,
  type UploadOptions,
  uploadFiles,
  uploadFolder,
  VIDEO_FILE,
  type Video,
  videoFilesIn,
  waitForBatch,
} from './helpers.ts';
export type { components, paths } from './openapi.ts';
export {
  createReelClient,
  dataOf,
  ReelApiError,
  type ReelClient,
  type ReelClientOptions,
  type ReelFetchClient,
} from './reel-client.ts';
