/**
 * Subtitle streams from ffprobe's JSON. Bitmap subtitles cannot be made by the ffmpeg the tests run (it
 * encodes DVD/DVB subtitles only from bitmaps, and renders no text into pictures), so the classification
 * of every bitmap codec is checked here on ffprobe-shaped JSON; `subtitle-tracks.int.test.ts` has a real
 * PGS stream made by relabelling a text track.
 */
import { describe, expect, it } from 'vitest';
import { extractPlan, subtitleExtractArgs } from '../src/captions/subtitle-args.ts';
import { DECODE_FORMAT_WHITELIST } from '../src/containers.ts';
import { type FfprobeStream, subtitleStreams, toVideoInfo } from '../src/video-info.ts';

const sub = (
  index: number,
  codec: string | undefined,
  extra: Partial<FfprobeStream> = {},
): FfprobeStream => ({
  index,
  codec_type: 'subtitle',
  ...(codec === undefined ? {} : { codec_name: codec }),
  disposition: { default: 0, forced: 0 },
  ...extra,
});

describe('subtitleStreams', () => {
  it('lists text streams as text and PGS, DVB, DVD, XSUB and teletext as bitmaps', () => {
    const codecs = ['mov_text', 'subrip', 'webvtt', 'ass', 'ssa', 'text', 'eia_608', 'hdmv_text_subtitle'];
    const bitmaps = ['hdmv_pgs_subtitle', 'dvb_subtitle', 'dvd_subtitle', 'xsub', 'dvb_teletext'];
    const streams = [...codecs, ...bitmaps].map((c, i) => sub(i + 1, c));
    expect(subtitleStreams(streams).map((s) => [s.codec, s.isText])).toEqual([
      ...codecs.map((c) => [c, true]),
      ...bitmaps.map((c) => [c, false]),
    ]);
  });

  it('reads language, title, default and forced; und and generic handler names are null', () => {
    const streams = [
      { index: 0, codec_type: 'video', codec_name: 'h264' },
      sub(2, 'mov_text', {
        tags: { language: 'eng', handler_name: 'SubtitleHandler' },
        disposition: { default: 1, forced: 0 },
      }),
      sub(3, 'subrip', { tags: { language: 'und', title: 'Director commentary' } }),
      sub(4, 'ass', {
        tags: { LANGUAGE: 'FRA', handler_name: 'Signs & songs' },
        disposition: { default: 0, forced: 1 },
      }),
      sub(5, undefined),
      { index: 6, codec_type: 'audio', codec_name: 'aac' },
    ];
    expect(subtitleStreams(streams)).toEqual([
      {
        index: 2,
        codec: 'mov_text',
        language: 'eng',
        title: null,
        isText: true,
        isDefault: true,
        isForced: false,
      },
      {
        index: 3,
        codec: 'subrip',
        language: null,
        title: 'Director commentary',
        isText: true,
        isDefault: false,
        isForced: false,
      },
      {
        index: 4,
        codec: 'ass',
        language: 'fra',
        title: 'Signs & songs',
        isText: true,
        isDefault: false,
        isForced: true,
      },
      {
        index: 5,
        codec: 'unknown',
        language: null,
        title: null,
        isText: true,
        isDefault: false,
        isForced: false,
      },
    ]);
  });

  it('is part of VideoInfo, empty when the file has no subtitles', () => {
    const video: FfprobeStream = { index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 48 };
    const format = { format_name: 'matroska,webm', duration: '1.0', probe_score: 100 };
    expect(toVideoInfo({ format, streams: [video] }, 'a.mkv', 1).subtitles).toEqual([]);
    const info = toVideoInfo({ format, streams: [video, sub(1, 'dvd_subtitle')] }, 'a.mkv', 1);
    expect(info.subtitles).toMatchObject([{ index: 1, codec: 'dvd_subtitle', isText: false }]);
  });
});

describe('subtitleExtractArgs', () => {
  it('copies SubRip, WebVTT and ASS/SSA into their own format and converts the rest to WebVTT', () => {
    expect(
      ['subrip', 'webvtt', 'ass', 'ssa', 'mov_text', 'text', 'eia_608'].map((c) => extractPlan(c)),
    ).toEqual([
      { copy: true, format: 'srt' },
      { copy: true, format: 'webvtt' },
      { copy: true, format: 'ass' },
      { copy: true, format: 'ass' },
      { copy: false, format: 'webvtt' },
      { copy: false, format: 'webvtt' },
      { copy: false, format: 'webvtt' },
    ]);
  });

  it('opens the file as a file: URL with the safety flags, maps the one stream and writes stdout', () => {
    const args = subtitleExtractArgs('-odd:name.mkv', 3, { copy: false, format: 'webvtt' });
    const at = (flag: string) => args[args.indexOf(flag) + 1];
    expect(args.indexOf('-protocol_whitelist')).toBeLessThan(args.indexOf('-i'));
    expect(at('-protocol_whitelist')).toBe('file');
    expect(at('-format_whitelist')).toBe(DECODE_FORMAT_WHITELIST);
    expect(args).toContain('-nostdin');
    expect(at('-i')).toBe(`file:${process.cwd()}/-odd:name.mkv`);
    expect([at('-map'), at('-c:s'), at('-f'), args.at(-1)]).toEqual(['0:3', 'webvtt', 'webvtt', 'pipe:1']);
    const copy = subtitleExtractArgs('/v/a.mkv', 2, { copy: true, format: 'srt' });
    expect([copy[copy.indexOf('-c:s') + 1], copy[copy.indexOf('-f') + 1]]).toEqual(['copy', 'srt']);
    expect(() => subtitleExtractArgs('/v/a.mkv', -1, { copy: true, format: 'srt' })).toThrow(RangeError);
  });
});
