import { describe, expect, it } from 'vitest';
import { isVideoDemuxer, refusedDemuxer, unsupportedContainerCause } from '../src/containers.ts';
import { IngestErrorCode } from '../src/errors.ts';
import { classifyProbeFailure } from '../src/video-info.ts';

describe('the closed list of containers', () => {
  it('knows a video demuxer by any of its names, and nothing else', () => {
    expect(isVideoDemuxer('mov,mp4,m4a,3gp,3g2,mj2')).toBe(true);
    expect(isVideoDemuxer('matroska,webm')).toBe(true);
    expect(isVideoDemuxer('hls')).toBe(false);
    expect(isVideoDemuxer('mp3')).toBe(false);
    expect(isVideoDemuxer('toString')).toBe(false); // not a prototype property
  });

  it('reads the refused demuxer from ffprobe and from ffmpeg-log lines', () => {
    expect(refusedDemuxer("[hls @ 0x55d2c0] Format not on whitelist 'mov,matroska'")).toBe('hls');
    expect(refusedDemuxer("[concat] Format not on whitelist 'mov'")).toBe('concat');
    expect(refusedDemuxer("[image2 @ 0xabc] [error] Format not on whitelist 'mov'")).toBe('image2');
    expect(refusedDemuxer('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found')).toBeUndefined();
  });

  it('turns a refusal into UNSUPPORTED_CONTAINER naming what the file is', () => {
    const failure = classifyProbeFailure(
      "[hls @ 0x563aad85a280] Format not on whitelist 'mov,matroska'\nfile:/x/evil.mp4: Invalid argument\n",
    );
    expect(failure.code).toBe(IngestErrorCode.UNSUPPORTED_CONTAINER);
    expect(failure.cause).toMatch(
      /^an HLS playlist \(hls\), which opens other files; reel reads video files only: MP4\/MOV\/3GP, Matroska\/WebM/,
    );
    expect(unsupportedContainerCause('rm')).toMatch(/^a rm file \(rm\); reel reads/);
  });
});
