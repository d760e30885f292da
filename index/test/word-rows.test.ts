/** The rows a video has in the words index (word-rows.ts): file names, label rows, cue rows and checks. */
import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { checkCues, fileBaseName, fileNameWords, labelRows, trackRows } from '../src/words/word-rows.ts';
import { wordTerms } from '../src/words/word-terms.ts';

function codeOf(run: () => void): string | undefined {
  try {
    run();
  } catch (error) {
    return isReelError(error) ? `${error.code}: ${error.message}` : 'other';
  }
  return undefined;
}

describe('file names', () => {
  it('takes the base name of a path, a Windows path or a URL (decoded, without its query)', () => {
    expect(fileBaseName('/videos/acme/Beach Day.mp4')).toBe('Beach Day.mp4');
    expect(fileBaseName('C:\\clips\\talk.final.mov')).toBe('talk.final.mov');
    expect(fileBaseName('https://cdn.example.com/a/Ribeira%20walk.webm?sig=x#t=3')).toBe('Ribeira walk.webm');
    expect(fileBaseName('upload.mkv')).toBe('upload.mkv');
    expect(fileBaseName('https://example.com/')).toBeNull();
    expect(fileBaseName(null)).toBeNull();
    expect(fileBaseName('  ')).toBeNull();
  });

  it('drops the extension and turns separators into spaces', () => {
    expect(fileNameWords('beach_day-2024.final.mp4')).toBe('beach day 2024 final');
    expect(fileNameWords('Tram+28  ride.webm')).toBe('Tram 28 ride');
    expect(fileNameWords('README')).toBe('README');
    expect(fileNameWords('.hidden')).toBe('hidden');
  });
});

describe('labelRows', () => {
  it('gives one title row, one file row and one row per tag, with their terms', () => {
    const rows = labelRows({ title: '東京 trip', tags: ['night', 'city_lights'], source: '/v/IMG_0042.MOV' });
    expect(rows).toEqual([
      {
        field: 'title',
        trackId: null,
        seq: 0,
        start: null,
        end: null,
        text: '東京 trip',
        terms: '東京 trip',
      },
      {
        field: 'file',
        trackId: null,
        seq: 0,
        start: null,
        end: null,
        text: 'IMG_0042.MOV',
        terms: 'IMG 0042',
      },
      { field: 'tag', trackId: null, seq: 0, start: null, end: null, text: 'night', terms: 'night' },
      {
        field: 'tag',
        trackId: null,
        seq: 1,
        start: null,
        end: null,
        text: 'city_lights',
        terms: 'city_lights',
      },
    ]);
  });

  it('leaves out what has no text: an empty title, no source', () => {
    expect(labelRows({ title: '', tags: [], source: null })).toEqual([]);
  });
});

describe('cues', () => {
  it('rows keep the order given, times and the track; the track row holds all their words', () => {
    const rows = trackRows({
      trackId: 'en',
      cues: [
        { start: 2, end: 3.5, text: '東京' },
        { start: 4, end: 5, text: 'Café  noir' },
      ],
    });
    expect(rows.cues).toEqual([
      { trackId: 'en', seq: 0, start: 2, end: 3.5, text: '東京' },
      { trackId: 'en', seq: 1, start: 4, end: 5, text: 'Café  noir' },
    ]);
    expect(rows.track).toEqual({
      field: 'track',
      trackId: 'en',
      seq: 0,
      start: null,
      end: null,
      text: '',
      terms: `${wordTerms('東京')} ${wordTerms('Café  noir')}`,
    });
    // a track with neither cues nor a listing has no row; one listed without cues keeps its listing
    expect(trackRows({ trackId: 'en', cues: [] })).toEqual({ cues: [], track: null });
    const info = {
      id: 'x',
      source: 'sidecar',
      codec: 'srt',
      language: null,
      label: null,
      read: false,
      cueCount: 0,
      error: null,
    } as const;
    expect(JSON.parse(trackRows({ trackId: 'en', cues: [], info }).track!.text)).toEqual({
      ...info,
      id: 'en',
    });
  });

  it('are checked: ids, one entry per track, finite ordered times, texts', () => {
    const ok = { start: 0, end: 1, text: 'x' };
    expect(codeOf(() => checkCues('v', [{ trackId: 'en', cues: [ok] }]))).toBeUndefined();
    expect(codeOf(() => checkCues('v', [{ trackId: '', cues: [] }]))).toMatch(/^VIDEO_INVALID: .*track id/);
    expect(
      codeOf(() =>
        checkCues('v', [
          { trackId: 'en', cues: [] },
          { trackId: 'en', cues: [] },
        ]),
      ),
    ).toMatch(/track en given twice/);
    expect(codeOf(() => checkCues('v', [{ trackId: 'en', cues: [{ ...ok, start: Number.NaN }] }]))).toMatch(
      /cue 0 start: expected a finite number of seconds ≥ 0, got NaN/,
    );
    expect(
      codeOf(() => checkCues('v', [{ trackId: 'en', cues: [ok, { ...ok, start: 5, end: 4 }] }])),
    ).toMatch(/cue 1: expected end ≥ start, got 5 to 4/);
    expect(codeOf(() => checkCues('v', [{ trackId: 'en', cues: [{ ...ok, text: 3 as never }] }]))).toMatch(
      /cue 0 text: expected a string/,
    );
  });
});
