import { describe, expect, it } from 'vitest';
import { toWebVtt } from '../src/services/caption.service.ts';

describe('a track as WebVTT', () => {
  it('serves hostile cue text as text: no markup, no line that ends a cue or starts a new one', () => {
    const vtt = toWebVtt([
      { start: 1, end: 2.5, text: '<img src=x onerror=alert(1)> & <c.x>' },
      { start: 3, end: 4, text: 'a line\n\n00:00:09.000 --> 00:00:10.000\nforged' },
    ]);
    expect(vtt).toBe(
      'WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n&lt;img src=x onerror=alert(1)&gt; &amp; &lt;c.x&gt;\n\n' +
        '00:00:03.000 --> 00:00:04.000\na line\n00:00:09.000 --&gt; 00:00:10.000\nforged\n',
    );
  });

  it('writes hours and clamps an end before its start', () => {
    expect(toWebVtt([{ start: 3725.5, end: 3725, text: 'late' }])).toBe(
      'WEBVTT\n\n01:02:05.500 --> 01:02:05.500\nlate\n',
    );
    expect(toWebVtt([])).toBe('WEBVTT\n\n');
  });
});
