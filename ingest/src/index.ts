export { type BinaryVersion, binaryVersion, type FfmpegBinaries } from './adapters/ffmpeg.ts';
