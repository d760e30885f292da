import { describe, expect, it } from 'vitest';
import { DECODE_FORMAT_WHITELIST, PROBE_FORMAT_WHITELIST } from '../src/containers.ts';
import {
  fileSource,
  frameFilters,
  keyframesCommand,
  probeArgs,
  scenesCommand,
  seekCommand,
  selectAtOrAfter,
  selectNear,
  singlePassCommand,
  sumOf,
  toArgv,
} from '../src/ffmpeg-args.ts';
import { parseFfmpegLogLine } from '../src/ffmpeg-log.ts';

const frame = { size: 224, deinterlace: false };
const SAFETY = ['-protocol_whitelist', 'file', '-format_whitelist', DECODE_FORMAT_WHITELIST];

describe('ffmpeg arguments', () => {
  it('reads files through file: with an absolute path, whatever the name', () => {
    expect(fileSource('/v/-rf $(rm -rf ~) "x".mp4')).toBe('file:/v/-rf $(rm -rf ~) "x".mp4');
    expect(fileSource('/v/http:foo.mp4')).toBe('file:/v/http:foo.mp4');
    expect(fileSource('relative.mp4')).toMatch(/^file:\/.+\/relative\.mp4$/);
  });

  it('probes streams, format and the packets of the first 30 s as JSON, file protocol only', () => {
    const args = probeArgs('/v/a.mp4');
    expect(args.slice(-1)).toEqual(['file:/v/a.mp4']);
    expect(args).toEqual(expect.arrayContaining(['-show_streams', '-show_format', '%+30', 'json=compact=1']));
    expect(args.join(' ')).toContain('-protocol_whitelist file');
    expect(args.join(' ')).toContain(`-format_whitelist ${PROBE_FORMAT_WHITELIST}`);
  });

  it('names a closed list of demuxers before every input: no playlist, concat list or image sequence', () => {
    const commands = [
      seekCommand('/v/a.mp4', 0, [1, 2], frame),
      singlePassCommand('/v/a.mp4', 0, [1], frame),
      keyframesCommand('/v/a.mp4', 0, [1], undefined, frame),
      scenesCommand('/v/a.mp4', 0, { threshold: 0.3, minGap: 1, keyframesOnly: false }, frame),
    ];
    for (const spec of commands)
      for (const input of spec.inputs) {
        const at = input.options.indexOf('-format_whitelist');
        expect(input.options[at + 1]).toBe(DECODE_FORMAT_WHITELIST);
      }
    for (const list of [DECODE_FORMAT_WHITELIST, PROBE_FORMAT_WHITELIST]) {
      const names = list.split(',');
      for (const opener of ['hls', 'dash', 'concat', 'image2', 'imf', 'webm_dash_manifest', 'sdp', 'lavfi'])
        expect(names).not.toContain(opener);
    }
    expect(DECODE_FORMAT_WHITELIST.split(',')).toEqual(expect.arrayContaining(['mov', 'matroska', 'mpegts']));
    expect(DECODE_FORMAT_WHITELIST.split(',')).not.toContain('mp3');
  });

  it('resizes the shortest edge (pixel aspect included), centre-crops and outputs rgb24', () => {
    expect(frameFilters(frame)).toEqual([
      "scale=w='if(gte(iw*sar,ih),trunc(224*iw*sar/ih),224)':h='if(gte(iw*sar,ih),224,trunc(224*ih/(iw*sar)))':flags=bicubic",
      'crop=224:224',
      'setsar=1',
      'format=rgb24',
    ]);
    expect(frameFilters({ size: 64, deinterlace: true }).slice(0, 2)).toEqual([
      'field=type=top',
      "setsar=r='sar/2':max=1000",
    ]);
  });

  it("cuts frames the model's way: squash, another shortest edge, its interpolation", () => {
    expect(
      frameFilters({
        size: 224,
        deinterlace: false,
        geometry: { resize: 'squash', interpolation: 'bilinear' },
      }),
    ).toEqual(['scale=224:224:flags=bilinear', 'setsar=1', 'format=rgb24']);
    expect(
      frameFilters({
        size: 224,
        deinterlace: false,
        geometry: { resize: 'shortest', shortestEdge: 256, interpolation: 'nearest' },
      }).slice(0, 2),
    ).toEqual([
      "scale=w='if(gte(iw*sar,ih),trunc(256*iw*sar/ih),256)':h='if(gte(iw*sar,ih),256,trunc(256*ih/(iw*sar)))':flags=neighbor",
      'crop=224:224',
    ]);
  });

  it('selects the first frame at or after each target in turn', () => {
    expect(selectAtOrAfter([0.5, 1.25])).toBe(
      'lt(selected_n\\,2)*gte(t\\,0.500000*eq(selected_n\\,0)+1.250000*eq(selected_n\\,1))',
    );
    expect(selectNear([1], 0.5)).toBe('gt(lte(abs(t-1.000000)\\,0.500000)\\,0)');
  });

  it('seeks once per target, one labelled chain each, concatenated in order', () => {
    const spec = seekCommand('/v/a.mp4', 2, [1.5, 7], frame);
    expect(spec.inputs).toEqual([
      { options: [...SAFETY, '-ss', '1.500000'], source: 'file:/v/a.mp4' },
      { options: [...SAFETY, '-ss', '7.000000'], source: 'file:/v/a.mp4' },
    ]);
    expect(spec.filterComplex).toMatch(/^\[0:2\]trim=end_frame=1,scale=.*showinfo@s0\[v0\];\[1:2\]trim/);
    expect(spec.filterComplex).toMatch(/\[v0\]\[v1\]concat=n=2:v=1:a=0\[out\]$/);
    const argv = toArgv(spec);
    expect(argv.slice(0, 8)).toEqual([...SAFETY, '-ss', '1.500000', '-i', 'file:/v/a.mp4']);
    expect(argv.slice(-1)).toEqual(['pipe:1']);
    expect(argv).toEqual(expect.arrayContaining(['-fps_mode', 'passthrough', '-copyts', '-start_at_zero']));
    expect(argv).not.toContain('-vsync');
    expect(seekCommand('/v/a.mp4', 0, [3], frame).filterComplex).toMatch(/showinfo@s0\[out\]$/);
  });

  it('stops a single pass after the last wanted frame', () => {
    const spec = singlePassCommand('/v/a.mp4', 0, [1, 2, 3], frame);
    expect(spec.output.slice(0, 2)).toEqual(['-frames:v', '3']);
    expect(spec.filterComplex).toMatch(/^\[0:0\]select='lt\(selected_n\\,3\)\*gte/);
  });

  it('decodes keyframes only, and passes all of them when their spacing is unknown', () => {
    const spec = keyframesCommand('/v/a.mp4', 0, [5], 10, frame);
    expect(spec.inputs[0]!.options).toEqual(
      expect.arrayContaining(['-discard', 'nokey', '-skip_frame', 'nokey']),
    );
    expect(spec.filterComplex).toContain("select='gt(lte(abs(t-5.000000)\\,10.000000)\\,0)'");
    expect(keyframesCommand('/v/a.mp4', 0, [5], undefined, frame).filterComplex).not.toContain('select');
  });

  it('keeps the first frame and each cut above the threshold, minGap apart, logging scores', () => {
    const spec = scenesCommand('/v/a.mp4', 1, { threshold: 0.3, minGap: 2, keyframesOnly: false }, frame);
    expect(spec.filterComplex).toContain(
      "select='gt(eq(n\\,0)+gt(scene\\,0.3)*gte(t-prev_selected_t\\,2.000000)\\,0)',metadata@m=mode=print:key=lavfi.scene_score",
    );
  });
});

describe('parseFfmpegLogLine (-loglevel level+info)', () => {
  it('reads showinfo and metadata frames, and keeps other lines as messages', () => {
    expect(
      parseFfmpegLogLine(
        '[showinfo@s3 @ 0x5598e42c7140] [info] n:   0 pts:  38400 pts_time:3.04    pos:   111109 fmt:rgb24',
      ),
    ).toEqual({ kind: 'frame', label: 's3', pts: 3.04 });
    expect(parseFfmpegLogLine('[metadata@m @ 0x55d0] [info] frame:2    pts:25600   pts_time:2')).toEqual({
      kind: 'metadata-frame',
      label: 'm',
      pts: 2,
    });
    expect(parseFfmpegLogLine('[metadata@m @ 0x55d0] [info] lavfi.scene_score=0.812000')).toEqual({
      kind: 'metadata',
      label: 'm',
      key: 'lavfi.scene_score',
      value: '0.812000',
    });
    expect(parseFfmpegLogLine('[h264 @ 0x55d0] [error] Invalid NAL unit size (6448 > 1703).')).toEqual({
      kind: 'message',
      level: 'error',
      text: '[h264] Invalid NAL unit size (6448 > 1703).',
    });
    expect(parseFfmpegLogLine('[error] Error while decoding stream #0:0')).toMatchObject({ level: 'error' });
    expect(parseFfmpegLogLine('[showinfo@p @ 0x1] [info] n: 0 pts:NOPTS pts_time:NOPTS')).toMatchObject({
      kind: 'frame',
      pts: Number.NaN,
    });
  });
});

describe('colourVideoArgs', () => {
  it('builds one lavfi input per colour and refuses anything that is not a colour', async () => {
    const { colourVideoArgs } = await import('../src/ffmpeg-args.ts');
    const args = colourVideoArgs(
      '/tmp/out $(x).mp4',
      [
        { colour: 'red', seconds: 2 },
        { colour: 'blue', right: '0x00ff00', seconds: 1 },
      ],
      { width: 64, height: 32, fps: 4 },
    );
    expect(args.filter((a) => a.startsWith('color='))).toEqual([
      'color=c=red:s=64x32:d=2:r=4',
      'color=c=blue:s=32x32:d=1:r=4',
      'color=c=0x00ff00:s=32x32:d=1:r=4',
    ]);
    expect(args.at(-1)).toBe('file:/tmp/out $(x).mp4');
    expect(args[args.indexOf('-filter_complex') + 1]).toBe(
      '[0:v]null[s0];[1:v][2:v]hstack[s1];[s0][s1]concat=n=2:v=1:a=0,format=yuv420p[out]',
    );
    expect(() => colourVideoArgs('x.mp4', [{ colour: 'red:d=9999', seconds: 1 }])).toThrow('not a colour');
    expect(args).toContain('libx264');
    expect(colourVideoArgs('clip.webm', [{ colour: 'red', seconds: 1 }])).toContain('libvpx');
  });

  it('stacks top and bottom halves and overlays a centre box, with every piece in even pixels', async () => {
    const { colourVideoArgs } = await import('../src/ffmpeg-args.ts');
    const args = colourVideoArgs(
      '/tmp/x.mp4',
      [
        { colour: 'blue', bottom: 'yellow', seconds: 2 },
        { colour: 'green', centre: 'pink', seconds: 1 },
        { colour: 'red', right: 'blue', centre: 'black', seconds: 1 },
      ],
      { width: 320, height: 180, fps: 4 },
    );
    expect(args.filter((a) => a.startsWith('color='))).toEqual([
      'color=c=blue:s=320x90:d=2:r=4',
      'color=c=yellow:s=320x90:d=2:r=4',
      'color=c=green:s=320x180:d=1:r=4',
      'color=c=pink:s=160x90:d=1:r=4',
      'color=c=red:s=160x180:d=1:r=4',
      'color=c=blue:s=160x180:d=1:r=4',
      'color=c=black:s=160x90:d=1:r=4',
    ]);
    expect(args[args.indexOf('-filter_complex') + 1]).toBe(
      '[0:v][1:v]vstack[s0];[2:v]null[b1];[b1][3:v]overlay=x=80:y=44[s1];' +
        '[4:v][5:v]hstack[b2];[b2][6:v]overlay=x=80:y=44[s2];' +
        '[s0][s1][s2]concat=n=3:v=1:a=0,format=yuv420p[out]',
    );
    expect(() => colourVideoArgs('x.mp4', [{ colour: 'red', centre: 'x;[0:v]', seconds: 1 }])).toThrow(
      'not a colour',
    );
    expect(() => colourVideoArgs('x.mp4', [{ colour: 'red', bottom: 'blue;', seconds: 1 }])).toThrow(
      'not a colour',
    );
    expect(() =>
      colourVideoArgs('x.mp4', [{ colour: 'red', right: 'blue', bottom: 'green', seconds: 1 }]),
    ).toThrow('not both');
    expect(() => colourVideoArgs('x.mp4', [{ colour: 'red', seconds: Number.NaN }])).toThrow('seconds');
  });
});

describe('sumOf', () => {
  it('nests a long sum in groups of at most 10, which ffmpeg parses (a flat sum of 110 terms failed)', () => {
    const terms = Array.from({ length: 250 }, (_, i) => `t${i}`);
    const sum = sumOf(terms);
    expect(sum.match(/t\d+/g)).toEqual(terms);
    for (const group of sum.match(/\([^()]*\)/g) ?? [])
      expect(group.split('+').length).toBeLessThanOrEqual(10);
    expect(sumOf(['a', 'b'])).toBe('a+b');
  });
});
