import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { parseCaptionsCsv } from '../src/eval/captions-csv.ts';

function expectCaptionsError(text: string, message: RegExp) {
  try {
    parseCaptionsCsv(text, 'caps.csv');
  } catch (error) {
    expect(isReelError(error, 'CAPTIONS_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected CAPTIONS_INVALID');
}

describe('parseCaptionsCsv', () => {
  it('reads video_id,sentence with a header', () => {
    expect(parseCaptionsCsv('video_id,sentence\nvideo7010,a man is singing\nvideo7011,a dog runs\n')).toEqual(
      [
        { videoId: 'video7010', sentence: 'a man is singing', line: 2 },
        { videoId: 'video7011', sentence: 'a dog runs', line: 3 },
      ],
    );
  });

  it('reads records without a header, CRLF line ends, a BOM, blank lines and no final newline', () => {
    expect(parseCaptionsCsv('\ufeffv1,red\r\n\r\nv2, blue \r\n\nv3,green')).toEqual([
      { videoId: 'v1', sentence: 'red', line: 1 },
      { videoId: 'v2', sentence: 'blue', line: 3 },
      { videoId: 'v3', sentence: 'green', line: 5 },
    ]);
  });

  it('reads CLIP4Clip’s MSRVTT_JSFUSION_test.csv columns (unnamed index, key, vid_key, video_id, sentence)', () => {
    const text =
      ',key,vid_key,video_id,sentence\n' +
      '0,ret0,msr7579,video7579,a girl wearing red top and black trouser is putting a sweater on a dog\n' +
      '1,ret1,msr7725,video7725,young people sit around the edges of a room clapping and raising their arms\n';
    expect(parseCaptionsCsv(text).map((c) => [c.videoId, c.sentence.slice(0, 14)])).toEqual([
      ['video7579', 'a girl wearing'],
      ['video7725', 'young people s'],
    ]);
  });

  it('handles quoted fields with commas, doubled quotes and newlines; a line number is where the record starts', () => {
    const text =
      'sentence,video_id\n' +
      '"a man, a woman and a dog",v1\n' +
      '"she says ""hello""",v2\n' +
      '"two\nlines",v3\n' +
      'a "quoted" word inside,v4\n' +
      '"",v5\n';
    expectCaptionsError(text, /^caps\.csv:7: expected a sentence for video v5, got an empty field$/);
    const captions = parseCaptionsCsv(text.replace('"",v5\n', 'last,"v5"\r\n'));
    expect(captions).toEqual([
      { videoId: 'v1', sentence: 'a man, a woman and a dog', line: 2 },
      { videoId: 'v2', sentence: 'she says "hello"', line: 3 },
      { videoId: 'v3', sentence: 'two\nlines', line: 4 },
      { videoId: 'v4', sentence: 'a "quoted" word inside', line: 6 },
      { videoId: 'v5', sentence: 'last', line: 7 },
    ]);
  });

  it('reports malformed input with the file and line', () => {
    expectCaptionsError('v1,ok\nv2,"never closed\nv3,x\n', /^caps\.csv:2: unterminated quoted field/);
    expectCaptionsError(
      'v1,ok\nv2,"closed" then text\n',
      /^caps\.csv:2: expected a comma or the end of the line after a closing quote, got " "/,
    );
    expectCaptionsError(
      'v1,ok\nv2,a man, a woman\n',
      /^caps\.csv:2: expected 2 fields \(video_id,sentence\), got 3 \(quote a sentence/,
    );
    expectCaptionsError(
      'video_id,sentence,extra\nv1,x,y\nv2,z\n',
      /^caps\.csv:3: expected 3 fields \(as the header\), got 2/,
    );
    expectCaptionsError(
      'id,caption,source\nv1,x,y\n',
      /^caps\.csv:1: expected a header with video_id and sentence columns or records of 2 fields/,
    );
    expectCaptionsError('v1,ok\n ,no id\n', /^caps\.csv:2: expected a video id, got an empty field/);
    expectCaptionsError('\n\n', /^caps\.csv:1: expected video_id,sentence records, got an empty file/);
    expectCaptionsError(
      'video_id,sentence\n',
      /^caps\.csv:1: expected at least one caption after the header/,
    );
  });
});
