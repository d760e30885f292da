import { describe, expect, it } from 'vitest';
import { IngestErrorCode } from '../src/errors.ts';
import {
  classifyProbeFailure,
  type FfprobeOutput,
  type FfprobeStream,
  keyframeInterval,
  toVideoInfo,
} from '../src/video-info.ts';

function video(overrides: Partial<FfprobeStream> = {}): FfprobeStream {
  return {
    index: 0,
    codec_type: 'video',
    codec_name: 'h264',
    width: 1920,
    height: 1080,
    sample_aspect_ratio: '1:1',
    pix_fmt: 'yuv420p',
    field_order: 'progressive',
    r_frame_rate: '30000/1001',
    avg_frame_rate: '30000/1001',
    duration: '10.010000',
    nb_frames: '300',
    disposition: { default: 1, attached_pic: 0 },
    ...overrides,
  };
}

function probe(streams: FfprobeStream[], extra: Partial<FfprobeOutput> = {}): FfprobeOutput {
  return {
    format: {
      format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
      start_time: '0.000000',
      duration: '10.010000',
      probe_score: 100,
    },
    streams,
    ...extra,
  };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('toVideoInfo', () => {
  it('reads a plain H.264 stream', () => {
    const info = toVideoInfo(probe([video()]), '/v/a.mp4', 1234);
    expect(info).toMatchObject({
      file: '/v/a.mp4',
      sizeBytes: 1234,
      codec: 'h264',
      displayWidth: 1920,
      displayHeight: 1080,
      rotation: 0,
      bitDepth: 8,
      duration: 10.01,
      durationSource: 'stream',
      frameCount: 300,
      frameCountExact: true,
      variableFrameRate: false,
      seekable: true,
    });
    expect(info.frameRate).toBeCloseTo(29.97, 2);
  });

  it('turns the display matrix into a clockwise rotation and swaps the display size', () => {
    const phone = video({ side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] });
    expect(toVideoInfo(probe([phone]), 'f', 1)).toMatchObject({
      rotation: 90,
      displayWidth: 1080,
      displayHeight: 1920,
    });
    const ccw = video({ side_data_list: [{ side_data_type: 'Display Matrix', rotation: 90 }] });
    expect(toVideoInfo(probe([ccw]), 'f', 1).rotation).toBe(270);
    const flipped = video({ side_data_list: [{ side_data_type: 'Display Matrix', rotation: 180 }] });
    expect(toVideoInfo(probe([flipped]), 'f', 1)).toMatchObject({ rotation: 180, displayWidth: 1920 });
  });

  it('applies non-square pixels (DV widescreen 720×576 at 64:45 shows as 1024×576)', () => {
    const dv = video({ width: 720, height: 576, sample_aspect_ratio: '64:45' });
    expect(toVideoInfo(probe([dv]), 'f', 1)).toMatchObject({ displayWidth: 1024, displayHeight: 576 });
    expect(toVideoInfo(probe([video({ sample_aspect_ratio: '0:1' })]), 'f', 1).sampleAspectRatio).toBe(1);
  });

  it('reads bit depth, interlacing, and the Matroska duration tag', () => {
    const hdr = video({
      codec_name: 'hevc',
      pix_fmt: 'yuv420p10le',
      field_order: 'tt',
      duration: undefined,
      tags: { DURATION: '00:01:02.500000000' },
    });
    expect(toVideoInfo(probe([hdr]), 'f', 1)).toMatchObject({
      bitDepth: 10,
      interlaced: true,
      duration: 62.5,
      durationSource: 'stream',
    });
  });

  it('takes the default video stream, never cover art', () => {
    const streams = [
      { index: 0, codec_type: 'audio', codec_name: 'aac' },
      video({ index: 1, codec_name: 'mjpeg', disposition: { default: 1, attached_pic: 1 } }),
      video({ index: 2, disposition: { default: 0 } }),
      video({ index: 3, disposition: { default: 1 } }),
    ];
    const info = toVideoInfo(probe(streams), 'f', 1);
    expect(info.streamIndex).toBe(3);
    expect(info.videoStreams.map((s) => s.isCoverArt)).toEqual([true, false, false]);
    expect(info.audioStreams).toBe(1);
  });

  it('learns keyframes and pacing from the packets of the first seconds (timestamps relative to the start)', () => {
    const packets = [0, 0.04, 0.08, 0.12, 0.16, 0.2].map((t, i) => ({
      stream_index: 0,
      pts_time: String(1.4 + t),
      flags: i % 3 === 0 ? 'K_' : '__',
    }));
    const info = toVideoInfo(
      probe([video({ start_time: '1.400000' })], {
        packets,
        format: { format_name: 'mpegts', start_time: '1.400000', duration: '10' },
      }),
      'f',
      1,
    );
    expect(info.keyframes.map((k) => Number(k.toFixed(3)))).toEqual([0, 0.12]);
    expect(keyframeInterval(info)).toBeCloseTo(0.12, 9);
    expect(info.scannedUntil).toBeCloseTo(0.2, 9);
    expect(info.variableFrameRate).toBe(false);
    const uneven = [0, 0.04, 0.08, 0.5, 0.54, 1.5].map((t) => ({
      stream_index: 0,
      pts_time: String(t),
      flags: '__',
    }));
    expect(toVideoInfo(probe([video()], { packets: uneven }), 'f', 1).variableFrameRate).toBe(true);
  });

  it('marks raw streams as not seekable and estimates frames from duration × rate when not stated', () => {
    const raw = toVideoInfo(
      probe([video({ duration: undefined, nb_frames: undefined })], { format: { format_name: 'h264' } }),
      'f.h264',
      1,
    );
    expect(raw).toMatchObject({
      seekable: false,
      duration: undefined,
      durationSource: 'unknown',
      frameCount: undefined,
    });
    const mkv = toVideoInfo(
      probe([video({ nb_frames: undefined, avg_frame_rate: '25/1', duration: '4' })]),
      'f',
      1,
    );
    expect(mkv).toMatchObject({ frameCount: 100, frameCountExact: false });
  });

  it('refuses images, text, audio and cover art with the right code', () => {
    expect(
      code(() =>
        toVideoInfo(probe([video({ codec_name: 'png' })], { format: { format_name: 'png_pipe' } }), 'f', 1),
      ),
    ).toBe(IngestErrorCode.NOT_A_VIDEO);
    expect(code(() => toVideoInfo(probe([video()], { format: { format_name: 'image2' } }), 'f', 1))).toBe(
      IngestErrorCode.NOT_A_VIDEO,
    );
    expect(
      code(() =>
        toVideoInfo(probe([video({ codec_name: 'ansi' })], { format: { format_name: 'tty' } }), 'f', 1),
      ),
    ).toBe(IngestErrorCode.NOT_A_VIDEO);
    expect(code(() => toVideoInfo(probe([{ index: 0, codec_type: 'subtitle' }]), 'f', 1))).toBe(
      IngestErrorCode.NOT_A_VIDEO,
    );
    const audio = { index: 0, codec_type: 'audio', codec_name: 'mp3' };
    expect(code(() => toVideoInfo(probe([audio]), 'f', 1))).toBe(IngestErrorCode.NO_VIDEO_STREAM);
    expect(
      code(() => toVideoInfo(probe([audio], { format: { format_name: 'mp3', probe_score: 1 } }), 'f', 1)),
    ).toBe(IngestErrorCode.NOT_A_VIDEO);
    const cover = video({ disposition: { attached_pic: 1 } });
    expect(code(() => toVideoInfo(probe([audio, cover]), 'f', 1))).toBe(IngestErrorCode.NO_VIDEO_STREAM);
    expect(
      code(() => toVideoInfo(probe([video({ codec_name: undefined, codec_tag_string: 'apcn' })]), 'f', 1)),
    ).toBe(IngestErrorCode.UNREADABLE);
    expect(code(() => toVideoInfo(probe([video({ width: 0 })]), 'f', 1))).toBe(IngestErrorCode.UNREADABLE);
  });
});

describe('classifyProbeFailure', () => {
  it('tells damaged videos from things that are not videos', () => {
    expect(
      classifyProbeFailure(
        '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5623] moov atom not found\nfile:/v/a.mp4: Invalid data found when processing input\n',
      ),
    ).toEqual({
      code: IngestErrorCode.UNREADABLE,
      cause: 'corrupt or truncated mov,mp4,m4a,3gp,3g2,mj2 file: moov atom not found',
    });
    expect(classifyProbeFailure('file:/v/a.bin: Invalid data found when processing input\n')).toEqual({
      code: IngestErrorCode.NOT_A_VIDEO,
      cause: 'not a video (Invalid data found when processing input)',
    });
    expect(
      classifyProbeFailure(
        '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x56] Format mov,mp4,m4a,3gp,3g2,mj2 detected only with low score of 1, misdetection possible!\n[mov,mp4,m4a,3gp,3g2,mj2 @ 0x56] moov atom not found\n',
      ).code,
    ).toBe(IngestErrorCode.NOT_A_VIDEO);
    expect(classifyProbeFailure('file:/v/a.mp4: Permission denied\n').code).toBe(IngestErrorCode.UNREADABLE);
  });
});
