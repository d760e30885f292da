/**
 * Subtitle tracks inside real files, made here by ffmpeg from caption files: mov_text in MP4, SubRip and
 * ASS in Matroska, WebVTT in WebM. Two tracks ffmpeg cannot write are made by relabelling a Matroska
 * track's CodecID in place: "S_TEXT/UTF8" → "S_HDMV/PGS" (a bitmap PGS track, whose packets then are text,
 * never decoded since bitmaps are not read) and "D_WEBVTT/SUBTITLES" → "S_HDMV/TEXTST" (Blu-ray text
 * subtitles, for which ffmpeg 5.1 has no decoder: a text track that cannot be read).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isReelError, type ReelError } from '@reel/infra';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Cue, ReadTrack } from '../src/captions/caption-types.ts';
import { type ReadSubtitleOptions, readSubtitleTracks } from '../src/captions/subtitle-tracks.ts';
import { IngestErrorCode } from '../src/errors.ts';
import { type ProbeOptions, probeVideo } from '../src/probe-video.ts';
import { ffmpeg, tempDir } from './helpers/videos.ts';

const binaries = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };
const probeOptions: ProbeOptions = {
  limits: { maxVideoSeconds: 3600, maxVideoPixels: 7680 * 4320, maxVideoBytes: 2 ** 40 },
  binaries,
  timeoutMs: 30_000,
};
const options: ReadSubtitleOptions = { binaries, timeoutMs: 30_000 };
let dir: string;
const file = (name: string) => path.join(dir, name);

const SRT = [
  '1',
  '00:00:00,500 --> 00:00:01,250',
  '<i>Hello</i> &amp; welcome',
  '',
  '2',
  '00:00:01,500 --> 00:00:02,750',
  'Second line',
  'with two lines',
  '',
].join('\r\n');
const SRT_FR =
  '1\n00:00:00,250 --> 00:00:01,000\nBonjour à tous\n\n2\n00:00:02,040 --> 00:00:02,900\n<b>Café</b> crème\n';
const ASS = [
  '[Script Info]',
  'ScriptType: v4.00+',
  '',
  '[V4+ Styles]',
  'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
  'Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0',
  '',
  '[Events]',
  'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
  'Dialogue: 0,0:00:00.30,0:00:01.20,Default,,0,0,0,,{\\an8}{\\i1}Sortie{\\i0} nord\\Ndeuxième ligne',
  'Dialogue: 0,0:00:01.40,0:00:02.60,Default,,0,0,0,,{\\pos(10,20)\\c&H00FF00&}Quai{\\b1} 3',
  '',
].join('\n');
const VTT =
  'WEBVTT\n\nNOTE made for the test\n\n00:00.750 --> 00:01.500\n<v Ann>Over here</v>\n\n00:01.600 --> 00:02.200\nNow &lt;3\n';

const HELLO: Cue[] = [
  { start: 0.5, end: 1.25, text: 'Hello & welcome' },
  { start: 1.5, end: 2.75, text: 'Second line\nwith two lines' },
];

/** A 3 s lavfi video with the given caption files as subtitle tracks, and extra output options. */
function videoWithSubtitles(out: string, captions: string[], codecOptions: string[]): void {
  const video = out.endsWith('.webm')
    ? ['-c:v', 'libvpx', '-b:v', '100k']
    : ['-c:v', 'libx264', '-preset', 'veryfast'];
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'color=black:s=64x48:r=10:d=3',
    ...captions.flatMap((c) => ['-i', file(c)]),
    '-map',
    '0',
    ...captions.flatMap((_, i) => ['-map', String(i + 1)]),
    ...video,
    ...codecOptions,
    file(out),
  ]);
}

/** Rewrites one Matroska CodecID in place: same length, NUL padded (ffmpeg compares it as a C string). */
function relabel(from: string, to: string, source: string, out: string): void {
  const bytes = readFileSync(file(source));
  const at = bytes.indexOf(from, 0, 'latin1');
  expect(at, `${from} in ${source}`).toBeGreaterThan(0);
  expect(bytes.indexOf(from, at + 1, 'latin1'), `one ${from} in ${source}`).toBe(-1);
  expect(to.length).toBeLessThanOrEqual(from.length);
  Buffer.from(to.padEnd(from.length, '\0'), 'latin1').copy(bytes, at);
  writeFileSync(file(out), bytes);
}

async function tracksOf(name: string, opts: ReadSubtitleOptions = options): Promise<ReadTrack[]> {
  const info = await probeVideo(file(name), probeOptions);
  return readSubtitleTracks(file(name), info, opts);
}

/** Cues with times rounded to the 10 ms the assertions hold them to. */
function rounded(cues: Cue[]): Cue[] {
  return cues.map((c) => ({
    start: Math.round(c.start * 100) / 100,
    end: Math.round(c.end * 100) / 100,
    text: c.text,
  }));
}

beforeAll(() => {
  dir = tempDir('subtitles');
  writeFileSync(file('hello.srt'), SRT);
  writeFileSync(file('fr.srt'), SRT_FR);
  writeFileSync(file('signs.ass'), ASS);
  writeFileSync(file('talk.vtt'), VTT);
  videoWithSubtitles('movtext.mp4', ['hello.srt'], ['-c:s', 'mov_text', '-metadata:s:s:0', 'language=eng']);
  videoWithSubtitles(
    'two.mkv',
    ['fr.srt', 'signs.ass'],
    [
      '-c:s:0',
      'srt',
      '-c:s:1',
      'ass',
      '-metadata:s:s:0',
      'language=fra',
      '-metadata:s:s:1',
      'title=Signs',
      '-disposition:s:0',
      'default',
      '-disposition:s:1',
      'forced',
    ],
  );
  videoWithSubtitles('talk.webm', ['talk.vtt'], ['-c:s', 'webvtt', '-metadata:s:s:0', 'language=eng']);
  videoWithSubtitles('srt-and-vtt.mkv', ['fr.srt', 'hello.srt'], ['-c:s:0', 'srt', '-c:s:1', 'webvtt']);
  relabel('D_WEBVTT/SUBTITLES', 'S_HDMV/TEXTST', 'srt-and-vtt.mkv', 'one-unreadable.mkv');
  relabel('S_TEXT/UTF8', 'S_HDMV/PGS', 'srt-and-vtt.mkv', 'pgs-and-vtt.mkv');
  videoWithSubtitles('none.mp4', [], []);
  // Muxed as it is (ffmpeg's own SubRip encoder refuses text that is not UTF-8), as old rips are.
  writeFileSync(
    file('latin.srt'),
    Buffer.from('1\r\n00:00:01,000 --> 00:00:02,000\r\nHerr Müller trinkt café.\r\n', 'latin1'),
  );
  videoWithSubtitles('latin.mkv', ['latin.srt'], ['-c:s', 'copy', '-metadata:s:s:0', 'language=ger']);
}, 60_000);

describe('readSubtitleTracks', () => {
  it('reads mov_text in MP4 (language eng) with exact times and cleaned text', async () => {
    const info = await probeVideo(file('movtext.mp4'), probeOptions);
    expect(info.subtitles).toEqual([
      {
        index: 1,
        codec: 'mov_text',
        language: 'eng',
        title: null,
        isText: true,
        isDefault: true,
        isForced: false,
      },
    ]);
    const tracks = await readSubtitleTracks(file('movtext.mp4'), info, options);
    expect(tracks).toHaveLength(1);
    expect(tracks[0]).toMatchObject({
      id: 'embedded-1',
      source: 'embedded',
      codec: 'mov_text',
      language: 'eng',
      label: null,
      read: true,
      error: null,
    });
    expect(rounded(tracks[0]!.cues)).toEqual(HELLO);
    expect(tracks[0]!.encoding).toBeUndefined();
  });

  it('reads SubRip (fra) and ASS with override tags from one Matroska file', async () => {
    const tracks = await tracksOf('two.mkv');
    expect(tracks.map((t) => [t.id, t.codec, t.language, t.label, t.read])).toEqual([
      ['embedded-1', 'subrip', 'fra', null, true],
      ['embedded-2', 'ass', null, 'Signs', true],
    ]);
    expect(rounded(tracks[0]!.cues)).toEqual([
      { start: 0.25, end: 1, text: 'Bonjour à tous' },
      { start: 2.04, end: 2.9, text: 'Café crème' },
    ]);
    expect(rounded(tracks[1]!.cues)).toEqual([
      { start: 0.3, end: 1.2, text: 'Sortie nord\ndeuxième ligne' },
      { start: 1.4, end: 2.6, text: 'Quai 3' },
    ]);
    const info = await probeVideo(file('two.mkv'), probeOptions);
    expect(info.subtitles.map((s) => [s.isDefault, s.isForced])).toEqual([
      [true, false],
      [false, true],
    ]);
  });

  it('reads a WebVTT track in WebM', async () => {
    const tracks = await tracksOf('talk.webm');
    expect(tracks).toHaveLength(1);
    expect(tracks[0]).toMatchObject({ codec: 'webvtt', language: 'eng', read: true, error: null });
    expect(rounded(tracks[0]!.cues)).toEqual([
      { start: 0.75, end: 1.5, text: 'Over here' },
      { start: 1.6, end: 2.2, text: 'Now <3' },
    ]);
  });

  it('fails an unreadable text track alone, with its code and ffmpeg’s reason, and reads the other', async () => {
    const tracks = await tracksOf('one-unreadable.mkv');
    expect(tracks.map((t) => [t.id, t.codec, t.read])).toEqual([
      ['embedded-1', 'subrip', true],
      ['embedded-2', 'hdmv_text_subtitle', false],
    ]);
    expect(rounded(tracks[0]!.cues)).toHaveLength(2);
    expect(tracks[1]!.cues).toEqual([]);
    expect(tracks[1]!.error?.code).toBe(IngestErrorCode.SUBTITLE_TRACK_UNREADABLE);
    expect(tracks[1]!.error?.message).toBe(
      `${file('one-unreadable.mkv')}: subtitle stream 2 (hdmv_text_subtitle): ffmpeg cannot read it: Decoder (codec hdmv_text_subtitle) not found for input stream #0:2`,
    );
  });

  it('lists a bitmap (PGS) track as present and unread, and still reads the text one', async () => {
    const tracks = await tracksOf('pgs-and-vtt.mkv');
    expect(tracks[0]).toEqual({
      id: 'embedded-1',
      source: 'embedded',
      codec: 'hdmv_pgs_subtitle',
      language: null,
      label: null,
      read: false,
      cues: [],
      error: null,
    });
    expect(tracks[1]).toMatchObject({ codec: 'webvtt', read: true });
    expect(rounded(tracks[1]!.cues)).toEqual(HELLO);
  });

  it('reads an embedded SubRip track in windows-1252 by detecting its encoding, as for a sidecar', async () => {
    const tracks = await tracksOf('latin.mkv');
    expect(tracks).toHaveLength(1);
    expect(tracks[0]).toMatchObject({ codec: 'subrip', language: 'ger', read: true });
    expect(rounded(tracks[0]!.cues)).toEqual([{ start: 1, end: 2, text: 'Herr Müller trinkt café.' }]);
  });

  it('gives a file without subtitles no tracks', async () => {
    expect(await tracksOf('none.mp4')).toEqual([]);
  });

  it('fails a track over the byte or cue limit with CAPTIONS_TOO_LARGE, and one that overruns with FFMPEG_TIMEOUT', async () => {
    const small = await tracksOf('two.mkv', { ...options, maxBytes: 40 });
    expect(small.map((t) => t.error?.code)).toEqual([
      IngestErrorCode.CAPTIONS_TOO_LARGE,
      IngestErrorCode.CAPTIONS_TOO_LARGE,
    ]);
    expect(small[0]!.error?.message).toBe(
      `${file('two.mkv')}: subtitle stream 1 (subrip, fra): its text is over 40 bytes`,
    );
    const few = await tracksOf('two.mkv', { ...options, maxCues: 1 });
    expect(few[0]!.error?.message).toBe(
      `${file('two.mkv')}: subtitle stream 1 (subrip, fra): 2 cues, more than the 1 allowed`,
    );
    const info = await probeVideo(file('two.mkv'), probeOptions);
    const slow = await readSubtitleTracks(file('two.mkv'), info, { ...options, timeoutMs: 1 });
    expect(slow.map((t) => [t.read, t.error?.code])).toEqual([
      [false, IngestErrorCode.FFMPEG_TIMEOUT],
      [false, IngestErrorCode.FFMPEG_TIMEOUT],
    ]);
    expect(slow[1]!.error?.message).toBe(
      `${file('two.mkv')}: subtitle stream 2 (ass): ffmpeg did not finish within 0.001 s and was killed`,
    );
  });

  it('throws when ffmpeg cannot start or the caller aborts: no track could be read', async () => {
    const info = await probeVideo(file('two.mkv'), probeOptions);
    const error = async (opts: ReadSubtitleOptions): Promise<ReelError> => {
      try {
        await readSubtitleTracks(file('two.mkv'), info, opts);
      } catch (e) {
        if (isReelError(e)) return e;
        throw e;
      }
      throw new Error('read');
    };
    const missing = await error({
      ...options,
      binaries: { ...binaries, ffmpegPath: path.join(dir, 'no-ffmpeg') },
    });
    expect(missing.code).toBe(IngestErrorCode.FFMPEG_NOT_FOUND);
    const aborted = await error({ ...options, signal: AbortSignal.abort() });
    expect(aborted.code).toBe(IngestErrorCode.INGEST_ABORTED);
  });
});
