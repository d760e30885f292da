import { isReelError, type ReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { CAPTION_MAX_BYTES, parseCaptionFile } from '../src/captions/caption-file.ts';
import { languageFromName, readSidecarCaptions, sidecarTrackId } from '../src/captions/sidecar-captions.ts';
import { decodeCaptionBytes } from '../src/captions/text-encoding.ts';
import { IngestErrorCode } from '../src/errors.ts';
import { noise } from './helpers/videos.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

function failure(bytes: Uint8Array, name: string, options?: { maxCues?: number }): ReelError {
  try {
    parseCaptionFile(bytes, name, options);
  } catch (error) {
    if (isReelError(error)) return error;
    throw error;
  }
  throw new Error(`${name} was accepted`);
}

describe('parseCaptionFile: SubRip', () => {
  it('reads an SRT with a BOM and CRLF line ends, cleaning its markup', () => {
    const srt =
      '\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i> &amp; <b>welcome</b>\r\n\r\n' +
      '2\r\n00:00:03,250 --> 00:00:04,000\r\n<font color="#ffff00">Two</font>\r\n  lines  \r\n\r\n';
    const parsed = parseCaptionFile(utf8(srt), 'clip.srt');
    expect(parsed.format).toBe('srt');
    expect(parsed.encoding).toBe('utf-8');
    expect(parsed.cues).toEqual([
      { start: 1, end: 2.5, text: 'Hello & welcome' },
      { start: 3.25, end: 4, text: 'Two\nlines' },
    ]);
  });

  it('tolerates missing blank lines and numbers, "." for ",", short fractions, trailing garbage', () => {
    const srt = [
      'Subtitles downloaded from somewhere', // text before the first cue
      '1',
      '00:00:01.5 --> 00:00:02,000 X1:100 X2:200 Y1:10 Y2:20',
      'first',
      '2',
      '00:00:03,000 --> 00:00:04,000',
      'second, no blank line before it',
      '',
      '00:00:05,000 --> 00:00:06,000', // no cue number
      'third',
      '',
      'continued after a blank line',
      '',
      '4',
    ].join('\n');
    const parsed = parseCaptionFile(utf8(srt), 'messy.srt');
    expect(parsed.cues).toEqual([
      { start: 1.5, end: 2, text: 'first' },
      { start: 3, end: 4, text: 'second, no blank line before it' },
      { start: 5, end: 6, text: 'third\ncontinued after a blank line' },
    ]);
  });

  it('clamps an end before its start, sorts by time and drops exact duplicates and empty cues', () => {
    const srt =
      '1\n00:00:05,000 --> 00:00:04,000\nbackwards\n\n2\n00:00:01,000 --> 00:00:02,000\nearly\n\n' +
      '3\n00:00:01,000 --> 00:00:02,000\nearly\n\n4\n00:00:02,000 --> 00:00:03,000\n<i> </i>\n';
    expect(parseCaptionFile(utf8(srt), 'x.srt').cues).toEqual([
      { start: 1, end: 2, text: 'early' },
      { start: 5, end: 5, text: 'backwards' },
    ]);
  });

  it('reads hours past 99 and a cue at exactly the limit of the time fields', () => {
    const srt = '1\n100:59:59,999 --> 101:00:00,000\nlate\n';
    expect(parseCaptionFile(utf8(srt), 'long.srt').cues).toEqual([
      { start: 100 * 3600 + 59 * 60 + 59.999, end: 101 * 3600, text: 'late' },
    ]);
  });

  it('names the line of a cue number followed by text instead of its time line', () => {
    const srt = '1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\nhello\n';
    const error = failure(utf8(srt), 'clip.srt');
    expect(error.code).toBe(IngestErrorCode.CAPTIONS_MALFORMED);
    expect(error.message).toBe(
      "clip.srt: line 6: expected a time line like 00:00:01,000 --> 00:00:02,000 after cue number 2, found 'hello'",
    );
    expect(error.details).toMatchObject({ line: 6, format: 'srt' });
    expect(error.retryable).toBe(false);
  });

  it('refuses a time line whose times do not parse or are out of range, naming it', () => {
    const broken = failure(
      utf8('1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> soon\nx\n'),
      'a.srt',
    );
    expect(broken.code).toBe(IngestErrorCode.CAPTIONS_MALFORMED);
    expect(broken.message).toMatch(
      /^a\.srt: line 6: expected a time line like .*, found '00:00:03,000 --> soon'/,
    );
    const range = failure(utf8('1\n00:75:01,000 --> 00:76:02,000\nx\n'), 'b.srt');
    expect(range.message).toBe(
      "b.srt: line 2: expected a time line like 00:00:01,000 --> 00:00:02,000, found '00:75:01,000 --> 00:76:02,000' (minutes must be below 60 in '00:75:01,000')",
    );
  });

  it('refuses a caption-named text file with no cue, pointing at its first line', () => {
    const error = failure(utf8('\n\nhello there\nno times here\n'), 'notes.srt');
    expect(error.code).toBe(IngestErrorCode.CAPTIONS_MALFORMED);
    expect(error.message).toBe(
      "notes.srt: line 3: expected a time line like 00:00:01,000 --> 00:00:02,000, found 'hello there'",
    );
    expect(failure(new Uint8Array(0), 'empty.srt').message).toBe(
      'empty.srt: line 1: the file is empty: no cue',
    );
  });

  it('reads a windows-1252 SRT (café, Müller) by detecting its encoding', () => {
    const text =
      "1\r\n00:00:01,000 --> 00:00:02,000\r\nUn café, s'il vous plaît.\r\n\r\n" +
      '2\r\n00:00:03,000 --> 00:00:04,000\r\nHerr Müller grüßt – 5 €.\r\n';
    const bytes = Buffer.from(text.replace('–', '\x96').replace('€', '\x80'), 'latin1');
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow();
    const parsed = parseCaptionFile(bytes, 'fr.srt');
    expect(parsed.encoding).toBe('windows-1252');
    expect(parsed.cues.map((c) => c.text)).toEqual(["Un café, s'il vous plaît.", 'Herr Müller grüßt – 5 €.']);
  });

  it('reads a Shift_JIS SRT', () => {
    // こんにちは世界 / 日本語の字幕です, encoded in Shift_JIS by hand.
    const bytes = Buffer.concat([
      Buffer.from('1\r\n00:00:01,000 --> 00:00:02,000\r\n'),
      Buffer.from([0x82, 0xb1, 0x82, 0xf1, 0x82, 0xc9, 0x82, 0xbf, 0x82, 0xcd, 0x90, 0xa2, 0x8a, 0x45]),
      Buffer.from('\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\n'),
      Buffer.from([
        0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, 0x82, 0xcc, 0x8e, 0x9a, 0x96, 0x8b, 0x82, 0xc5, 0x82, 0xb7,
      ]),
      Buffer.from('\r\n'),
    ]);
    const parsed = parseCaptionFile(bytes, 'ja.srt');
    expect(parsed.encoding).toBe('shift_jis');
    expect(parsed.cues.map((c) => c.text)).toEqual(['こんにちは世界', '日本語の字幕です']);
  });

  it('reads UTF-16 with and without a byte-order mark', () => {
    const text = '1\n00:00:01,000 --> 00:00:02,000\nÇa va? Ünïcödé\n';
    const le = Buffer.from(text, 'utf16le');
    const be = Buffer.from(le).swap16();
    expect(decodeCaptionBytes(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).toEqual({
      text,
      encoding: 'utf-16le',
    });
    expect(decodeCaptionBytes(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toEqual({
      text,
      encoding: 'utf-16be',
    });
    expect(decodeCaptionBytes(le)).toEqual({ text, encoding: 'utf-16le' });
    expect(parseCaptionFile(be, 'x.srt').cues).toEqual([{ start: 1, end: 2, text: 'Ça va? Ünïcödé' }]);
  });
});

describe('parseCaptionFile: WebVTT', () => {
  const vtt = [
    'WEBVTT - a title',
    'Kind: captions',
    'Language: en',
    '',
    'STYLE',
    '::cue { color: yellow }',
    '',
    'NOTE this is a comment',
    'over two lines',
    '',
    'REGION',
    'id:fred width:40%',
    '',
    'intro',
    '00:01.000 --> 00:02.500 align:start position:10% line:0',
    '<v Roger Bingham>We are in New York City</v>',
    '',
    '2',
    '00:00:03.000 --> 00:00:05.000',
    '<c.yellow.bg_blue>Karaoke</c> <00:00:03.500>words &lt;here&gt;',
    '<ruby>漢<rt>かん</rt>字<rt>じ</rt></ruby> &nbsp;spaced',
    '',
    'NOTE at the end',
    '',
  ].join('\n');

  it('skips header, STYLE, NOTE and REGION blocks and cue settings, and strips voice and class tags', () => {
    const parsed = parseCaptionFile(utf8(vtt), 'talk.vtt');
    expect(parsed.format).toBe('webvtt');
    expect(parsed.cues).toEqual([
      { start: 1, end: 2.5, text: 'We are in New York City' },
      { start: 3, end: 5, text: 'Karaoke words <here>\n漢字 spaced' },
    ]);
  });

  it('decides by content, not by name: WebVTT named .srt, SubRip named .txt', () => {
    expect(parseCaptionFile(utf8(vtt), 'talk.srt').format).toBe('webvtt');
    expect(parseCaptionFile(utf8('1\n00:00:01,000 --> 00:00:02,000\nhi\n'), 'subs.txt').format).toBe('srt');
    // A WebVTT body without its signature, named .vtt, is read as WebVTT (NOTE blocks skipped).
    const unsigned = parseCaptionFile(utf8('NOTE x\n\n00:01.000 --> 00:02.000\nhi\n'), 'a.vtt');
    expect(unsigned).toMatchObject({ format: 'webvtt', cues: [{ start: 1, end: 2, text: 'hi' }] });
  });

  it('reads a header with no blank line after it and refuses a broken time line with its line', () => {
    expect(parseCaptionFile(utf8('WEBVTT\n00:01.000 --> 00:02.000\nhi\n'), 'a.vtt').cues).toEqual([
      { start: 1, end: 2, text: 'hi' },
    ]);
    const error = failure(
      utf8('WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n\n00:03.000 -> 00:04.000\nx\n'),
      'b.vtt',
    );
    // A wrong arrow is a broken time line, not text that WebVTT would skip (losing the cue silently).
    expect(error.code).toBe(IngestErrorCode.CAPTIONS_MALFORMED);
    expect(error.message).toBe(
      "b.vtt: line 6: expected a time line like 00:00:01.000 --> 00:00:02.000, found '00:03.000 -> 00:04.000' (not a time line)",
    );
    // Times in a cue's text are text.
    expect(
      parseCaptionFile(utf8('WEBVTT\n\n00:01.000 --> 00:02.000\nOpen 10:30 - 11:45\n'), 'c.vtt').cues,
    ).toEqual([{ start: 1, end: 2, text: 'Open 10:30 - 11:45' }]);
  });
});

describe('parseCaptionFile: ASS/SSA', () => {
  const ass = [
    '[Script Info]',
    'ScriptType: v4.00+',
    '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize',
    'Style: Default,Arial,16',
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
    'Dialogue: 0,0:00:02.00,0:00:03.50,Default,,0,0,0,,{\\an8}{\\i1}Bonjour{\\i0}, le monde\\Nligne deux',
    'Comment: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,not shown',
    'Dialogue: 1,0:00:02.00,0:00:03.50,Default,,0,0,0,,{\\blur3}Bonjour, le monde\\Nligne deux',
    'Dialogue: 0,0:00:00.50,0:00:01.25,Default,,0,0,0,,{\\p1}m 0 0 l 100 0 100 100{\\p0}Sign{comment}\\htext',
  ].join('\n');

  it('reads Dialogue lines by the Format line, without override blocks, drawings or layer duplicates', () => {
    const parsed = parseCaptionFile(utf8(ass), 'fr.ass');
    expect(parsed.format).toBe('ass');
    expect(parsed.cues).toEqual([
      { start: 0.5, end: 1.25, text: 'Sign text' },
      { start: 2, end: 3.5, text: 'Bonjour, le monde\nligne deux' },
    ]);
  });

  it('names the line of a Dialogue whose time does not parse', () => {
    const broken = ass.replace('0:00:00.50,0:00:01.25', '0:00:00.50,later');
    const error = failure(utf8(broken), 'fr.ass');
    expect(error.code).toBe(IngestErrorCode.CAPTIONS_MALFORMED);
    expect(error.message).toBe(
      "fr.ass: line 13: Dialogue End: expected a time like 0:00:01.00, found 'later'",
    );
  });

  it('refuses an ASS file with no Dialogue', () => {
    const error = failure(
      utf8('[Script Info]\nTitle: x\n\n[Events]\nFormat: Layer, Start, End, Text\n'),
      'x.ass',
    );
    expect(error.code).toBe(IngestErrorCode.CAPTIONS_MALFORMED);
    expect(error.message).toMatch(/no Dialogue line in the \[Events\] section/);
  });
});

describe('parseCaptionFile: what it refuses', () => {
  it('refuses binary data as CAPTIONS_UNSUPPORTED, whatever it is called', () => {
    for (const name of ['movie.srt', 'movie.bin']) {
      const error = failure(noise(4096), name);
      expect(error.code).toBe(IngestErrorCode.CAPTIONS_UNSUPPORTED);
      expect(error.message).toMatch(/binary data, not a caption file/);
    }
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), noise(256)]);
    expect(failure(png, 'x.vtt').code).toBe(IngestErrorCode.CAPTIONS_UNSUPPORTED);
  });

  it('refuses text in no caption format, unless its name says it is captions', () => {
    const error = failure(utf8('just some notes\nabout nothing\n'), 'notes.txt');
    expect(error.code).toBe(IngestErrorCode.CAPTIONS_UNSUPPORTED);
    expect(error.details).toBeUndefined();
    expect(failure(utf8('just some notes\n'), 'notes.vtt').code).toBe(IngestErrorCode.CAPTIONS_MALFORMED);
  });

  it('refuses a file over 5 MiB and one with more cues than allowed', () => {
    const big = new Uint8Array(CAPTION_MAX_BYTES + 1).fill(0x20);
    const tooBig = failure(big, 'big.srt');
    expect(tooBig.code).toBe(IngestErrorCode.CAPTIONS_TOO_LARGE);
    expect(tooBig.message).toBe(
      'big.srt: 5242881 bytes, more than the 5242880 (5 MiB) a caption file may have',
    );
    const cues = Array.from(
      { length: 11 },
      (_, i) =>
        `${i + 1}\n00:00:${String(i).padStart(2, '0')},000 --> 00:00:${String(i).padStart(2, '0')},500\ncue ${i}\n`,
    );
    const many = failure(utf8(cues.join('\n')), 'many.srt', { maxCues: 10 });
    expect(many.code).toBe(IngestErrorCode.CAPTIONS_TOO_LARGE);
    expect(many.message).toBe('many.srt: 11 cues, more than the 10 allowed');
    expect(parseCaptionFile(utf8(cues.join('\n')), 'many.srt', { maxCues: 11 }).cues).toHaveLength(11);
  });
});

describe('readSidecarCaptions', () => {
  it('gives a read track with its format, encoding and the language its name says', () => {
    const track = readSidecarCaptions(utf8('1\n00:00:01,000 --> 00:00:02,000\nhi\n'), '/up/My Film.fr.srt');
    expect(track).toEqual({
      id: 'sidecar-My_Film.fr.srt',
      source: 'sidecar',
      codec: 'srt',
      language: 'fr',
      label: null,
      read: true,
      cues: [{ start: 1, end: 2, text: 'hi' }],
      error: null,
      encoding: 'utf-8',
    });
  });

  it('turns a broken file into an unread track with its coded error, instead of throwing', () => {
    const track = readSidecarCaptions(
      utf8('1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\nhello\n'),
      'clip.en.vtt',
    );
    expect(track).toMatchObject({
      id: 'sidecar-clip.en.vtt',
      codec: 'webvtt',
      language: 'en',
      read: false,
      cues: [],
    });
    expect(track.error).toEqual({
      code: 'CAPTIONS_MALFORMED',
      message:
        "clip.en.vtt: line 6: expected a time line like 00:00:01.000 --> 00:00:02.000 after cue number 2, found 'hello'",
    });
  });

  it('reads languages from names, not markers or words', () => {
    expect(languageFromName('film.eng.forced.srt')).toBe('eng');
    expect(languageFromName('film.pt-BR.vtt')).toBe('pt-br');
    expect(languageFromName('film.en.hi.srt')).toBe('en');
    expect(languageFromName('film.hi.srt')).toBe('hi');
    expect(languageFromName('my.cut.srt')).toBeNull();
    expect(languageFromName('film.srt')).toBeNull();
    expect(languageFromName('film.und.srt')).toBeNull();
    expect(sidecarTrackId('../x/a b$c.ass')).toBe('sidecar-a_b_c.ass');
  });
});
