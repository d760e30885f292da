import { describe, expect, it } from 'vitest';
import { frameCommandArgs } from '../src/adapters/ffmpeg.ts';

// fluent-ffmpeg assembles the frame command and reel runs the list itself (src/adapters/ffmpeg.ts): the
// list is pinned here, as ffmpeg reads it (input options before their -i, outputs after their options).
describe('frameCommandArgs', () => {
  it('puts each input after its options, the graph, then each output after its own options', () => {
    expect(
      frameCommandArgs({
        inputs: [
          { source: 'file:/videos/a b.mp4', options: ['-threads', '1', '-ss', '1.5'] },
          { source: 'file:/videos/a b.mp4', options: [] },
        ],
        filterComplex: '[0:v][1:v]concat=n=2[out];[out]split[f][pv]',
        output: ['-map', '[f]', '-f', 'rawvideo', '-pix_fmt', 'rgb24'],
        preview: { target: '/tmp/previews/%06d.webp', output: ['-map', '[pv]', '-c:v', 'libwebp'] },
      }),
    ).toEqual([
      ...['-threads', '1', '-ss', '1.5', '-i', 'file:/videos/a b.mp4'],
      ...['-i', 'file:/videos/a b.mp4'],
      // A file output: overwrite (the preview folder is reel's own, made empty).
      '-y',
      ...['-filter_complex', '[0:v][1:v]concat=n=2[out];[out]split[f][pv]'],
      ...['-map', '[f]', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
      ...['-map', '[pv]', '-c:v', 'libwebp', '/tmp/previews/%06d.webp'],
    ]);
  });

  it('writes to stdout alone without -y when there is no preview', () => {
    expect(
      frameCommandArgs({
        inputs: [{ source: 'file:/v.mp4', options: [] }],
        filterComplex: 'null',
        output: ['-f', 'rawvideo'],
      }),
    ).toEqual(['-i', 'file:/v.mp4', '-filter_complex', 'null', '-f', 'rawvideo', 'pipe:1']);
  });
});
