export {
  type BinaryVersion,
  binaryVersion,
  type FfmpegBinaries,
  renderVideo,
} from './adapters/ffmpeg.ts';
export { type RunningProcess, SpawnHost, startProcess } from './adapters/spawn-host.ts';
export {
  THUMBNAIL_MAX_SIDE,
  type ThumbnailOptions,
  writeFramePngs,
  writeThumbnails,
} from './adapters/thumbnails.ts';
export {
  CAPTION_MAX_BYTES,
  type CaptionParseOptions,
  DEFAULT_MAX_CUES,
  type ParsedCaptions,
  parseCaptionFile,
} from './captions/caption-file.ts';
export type { CaptionFormat, Cue, ReadTrack, SubtitleStream } from './captions/caption-types.ts';
export { cleanCueText } from './captions/cue-text.ts';
export { readSidecarCaptions, sidecarTrackId } from './captions/sidecar-captions.ts';
export { type ReadSubtitleOptions, readSubtitleTracks } from './captions/subtitle-tracks.ts';
export { INPUT_ERROR_CODES, IngestErrorCode } from './errors.ts';
export { type ColourSegment, colourVideoArgs, type FrameGeometry } from './ffmpeg-args.ts';
export { type ProbeOptions, probeVideo, type VideoLimits } from './probe-video.ts';
export {
  DEFAULT_FRAME_SIZE,
  type PreviewOptions,
  type SampledFrame,
  type SampleVideoOptions,
  type SampleVideoResult,
  sampleVideo,
} from './sample-frames.ts';
export { type DecodePlan, type SamplingStrategy, xpoolFrameIndices } from './sampling-plan.ts';
export { isSamplingPrecision, SAMPLING_PRECISIONS, type SamplingPrecision } from './sampling-precision.ts';
export type { VideoInfo, VideoStreamSummary } from './video-info.ts';
