import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  encodeNpy,
  loadXPoolHead,
  type PoolingMethod,
  parseNpy,
  readNpyFile,
  similarityMatrix,
} from '@reel/index';
import { DEFAULT_MODEL_ID, writeSyntheticClip } from '@reel/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliInProcess } from './helpers/run-cli.ts';
import { normals, writeXPoolHead } from './helpers/xpool-head.ts';

const Nt = 20;
const Nv = 20;
const F = 4;
const D = 16;
/** Text 3 describes video 3 but gt.json says video 7: its rank must come out > 1. */
const WRONG_TEXT = 3;
const WRONG_VIDEO = 7;

interface Metrics {
  R1: number;
  R5: number;
  R10: number;
  MdR: number;
  MnR: number;
  queries: number;
  tiedQueries: number;
}

interface EvalOutput {
  mode: string;
  pooling: string;
  texts: number;
  videos: number;
  framesPerVideo: number;
  dim: number;
  textToVideo: Metrics;
  videoToText: Metrics;
  warnings: string[];
  excluded?: { videoId: string; code: string; message: string; captions: number }[];
  model?: { name: string; fingerprint: string; dim: number };
  ranks?: { textToVideo: number[]; videoToText: { videos: number[]; ranks: number[] } };
}

/** mulberry32 + Box-Muller: the same dataset every run. */

/** Mean of a video's L2-normalised frames (what mean pooling compares a text with). */
function meanFrame(frames: Float32Array, v: number): Float64Array {
  const mean = new Float64Array(D);
  for (let f = 0; f < F; f++) {
    const row = (v * F + f) * D;
    let n = 0;
    for (let d = 0; d < D; d++) n += frames[row + d]! ** 2;
    for (let d = 0; d < D; d++) mean[d] = mean[d]! + frames[row + d]! / Math.sqrt(n) / F;
  }
  return mean;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

function headFile(file: string): void {
  writeXPoolHead(file, D, 99);
}

let root: string;
let featuresDir: string;
let frames: Float32Array;
let texts: Float32Array;
let gt: number[];

function env(dataDir = path.join(root, 'data')): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    REEL_DATA_DIR: dataDir,
    REEL_LOG_LEVEL: 'warn',
  };
}

async function evalJson(args: string[], environment = env()): Promise<EvalOutput> {
  const run = await runCli(['eval', ...args], environment);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as EvalOutput;
}

/** A features folder; `change` edits the arrays before they are written. */
function writeFeatures(
  dir: string,
  parts: { text?: Uint8Array; frames?: Uint8Array; gt?: string | undefined } = {},
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'text.npy'), parts.text ?? encodeNpy(texts, [Nt, D]));
  writeFileSync(path.join(dir, 'frames.npy'), parts.frames ?? encodeNpy(frames, [Nv, F, D]));
  if (!('gt' in parts) || parts.gt !== undefined)
    writeFileSync(path.join(dir, 'gt.json'), parts.gt ?? JSON.stringify({ text_to_video: gt }));
  return dir;
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'reel-eval-cli-'));
  const normal = normals(2024);
  frames = Float32Array.from({ length: Nv * F * D }, normal);
  texts = new Float32Array(Nt * D);
  for (let t = 0; t < Nt; t++) {
    const mean = meanFrame(frames, t);
    for (let d = 0; d < D; d++) texts[t * D + d] = mean[d]! + 0.05 * normal();
  }
  gt = Array.from({ length: Nt }, (_, t) => t);
  gt[WRONG_TEXT] = WRONG_VIDEO;
  featuresDir = writeFeatures(path.join(root, 'features'));
});

describe('reel eval --features (real CLI)', () => {
  it('prints t2v and v2t metrics; the wrong ground truth is ranked as the dumped matrix says', async () => {
    const simsFile = path.join(root, 'sims.npy');
    const out = await evalJson(['--features', featuresDir, '--dump-sims', simsFile, '--ranks']);
    expect(out).toMatchObject({
      mode: 'features',
      pooling: 'mean',
      texts: Nt,
      videos: Nv,
      framesPerVideo: F,
      dim: D,
    });

    const sims = await readNpyFile(simsFile);
    expect(sims.shape).toEqual([Nt, Nv]);
    // the matrix is mean pooling: cos(text, mean of normalised frames), checked independently
    for (const [t, v] of [
      [0, 0],
      [0, 5],
      [WRONG_TEXT, WRONG_VIDEO],
      [19, 2],
    ] as const)
      expect(sims.data[t * Nv + v]).toBeCloseTo(
        cosine(texts.subarray(t * D, (t + 1) * D), meanFrame(frames, v)),
        6,
      );

    // text 3's row: count the videos scored above its (wrong) ground truth
    const row = sims.data.subarray(WRONG_TEXT * Nv, (WRONG_TEXT + 1) * Nv);
    const wrongRank = 1 + row.filter((s) => s > row[WRONG_VIDEO]!).length;
    expect(wrongRank).toBeGreaterThan(1);
    const expectedRanks = gt.map((_, t) => (t === WRONG_TEXT ? wrongRank : 1));
    expect(out.ranks?.textToVideo).toEqual(expectedRanks);
    expect(out.textToVideo).toEqual({
      R1: 95,
      R5: wrongRank <= 5 ? 100 : 95,
      R10: wrongRank <= 10 ? 100 : 95,
      MdR: 1,
      MnR: (19 + wrongRank) / 20,
      queries: 20,
      tiedQueries: 0,
    });
    // video 3 has no text; video 7 has texts 3 and 7 and its best rank is text 7's
    expect(out.videoToText).toMatchObject({ R1: 100, MdR: 1, MnR: 1, queries: 19 });
    expect(out.ranks?.videoToText.videos).toEqual(
      Array.from({ length: Nv }, (_, v) => v).filter((v) => v !== WRONG_TEXT),
    );
    expect(out.ranks?.videoToText.ranks).toEqual(new Array(19).fill(1));
  });

  it('attention, topk, max and xpool (with --head) give the matrix of the pooling module', async () => {
    const head = path.join(root, 'head.safetensors');
    headFile(head);
    const cases: [PoolingMethod, string[], object][] = [
      ['attention', ['--tau', '0.05'], { tau: 0.05 }],
      ['topk', ['--topk', '2'], { topK: 2 }],
      ['max', [], {}],
      ['xpool', ['--head', head], { head: await loadXPoolHead(head) }],
    ];
    const embeddings = { texts, frames, textCount: Nt, videoCount: Nv, frameCount: F, dim: D };
    await Promise.all(
      cases.map(async ([pooling, args, options]) => {
        const file = path.join(root, `sims-${pooling}.npy`);
        const out = await evalJson([
          '--features',
          featuresDir,
          '--pooling',
          pooling,
          ...args,
          '--dump-sims',
          file,
        ]);
        expect(out.pooling).toBe(pooling);
        expect(out.textToVideo.queries).toBe(Nt);
        const expected = similarityMatrix(embeddings, { pooling, ...options });
        expect(parseNpy(readFileSync(file)).data).toEqual(expected);
      }),
    );
  });

  it('exits 2 with a clear message for bad usage and bad inputs', async () => {
    const bad = (name: string, parts: Parameters<typeof writeFeatures>[1]) =>
      writeFeatures(path.join(root, name), parts);
    const fortran = encodeNpy(texts, [Nt, D]);
    fortran.set(new TextEncoder().encode('True '), fortran.indexOf(0x46 /* F of False */, 30));
    const cases: [string[], RegExp][] = [
      [[], /nothing to evaluate: give --features DIR, or --captions FILE with --videos DIR/],
      [['--features', path.join(root, 'nope')], /features folder not found: .*nope/],
      [['--features', bad('no-gt', { gt: undefined })], /ground truth \(gt\.json\) not found/],
      [
        ['--features', bad('dim', { frames: encodeNpy(frames, [Nv, F * 2, D / 2]) })],
        /text\.npy and frames\.npy disagree: text embeddings have D = 16 \(20, 16\), frames have D = 8/,
      ],
      [
        ['--features', bad('gt-range', { gt: JSON.stringify({ text_to_video: [...gt.slice(1), 20] }) })],
        /text_to_video\[19\] must be a video index in \[0, 20\)/,
      ],
      [['--features', bad('fortran', { text: fortran })], /NPY_INVALID: text\.npy: expected C order/],
      [
        ['--features', featuresDir, '--head', path.join(root, 'head.safetensors')],
        /--head is the X-Pool head: it needs --pooling xpool/,
      ],
      [['--features', featuresDir, '--pooling', 'xpool'], /--pooling xpool needs --head FILE/],
      [['--features', featuresDir, '--tau', '0.1'], /--tau applies to --pooling attention only/],
      [
        ['--features', featuresDir, '--pooling', 'attention', '--tau', '0'],
        /argument '0' is invalid\. expected a number > 0/,
      ],
      [['--captions', path.join(root, 'c.csv')], /--captions FILE and --videos DIR go together/],
    ];
    // Three through the real binary (exit status end to end), the rest in process: same code path from
    // main(), without paying the CLI's start-up for each.
    const spawned = new Set([0, 5, 9]);
    await Promise.all(
      cases
        .filter((_, i) => spawned.has(i))
        .map(async ([args, message]) => {
          const run = await runCli(['eval', ...args], env());
          expect({ args, code: run.code }).toEqual({ args, code: 2 });
          expect(run.stderr).toMatch(message);
          expect(run.stdout).toBe('');
        }),
    );
    for (const [args, message] of cases.filter((_, i) => !spawned.has(i))) {
      const run = await runCliInProcess(['eval', ...args]);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
  });
});

describe('reel eval --captions --videos (real ffmpeg, synthetic model)', () => {
  it('samples, encodes and ranks coloured videos; unusable videos are excluded with their code', async () => {
    const dataDir = path.join(root, 'video-data');
    await writeSyntheticClip(path.join(dataDir, 'models', DEFAULT_MODEL_ID));
    const videos = path.join(root, 'videos');
    mkdirSync(videos);
    const colours = ['red', 'blue', 'green', 'yellow'];
    for (const [i, colour] of colours.entries()) {
      const ext = i === 1 ? 'webm' : 'mp4';
      execFileSync('ffmpeg', [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        `color=c=${colour}:s=64x64:d=2:r=10`,
        '-pix_fmt',
        'yuv420p',
        path.join(videos, `vid-${colour}.${ext}`),
      ]);
    }
    writeFileSync(path.join(videos, 'vid-broken.mp4'), 'this is not a video\n');
    const captions = path.join(root, 'captions.csv');
    writeFileSync(
      captions,
      'video_id,sentence\n' +
        colours.map((c) => `vid-${c},${c}`).join('\n') +
        '\nvid-red,"a red, red video"\nvid-broken,purple\nvid-missing,black\n',
    );
    const saved = path.join(root, 'saved-features');
    const out = await evalJson(
      ['--captions', captions, '--videos', videos, '--frames', '3', '--save-features', saved],
      env(dataDir),
    );
    expect(out).toMatchObject({
      mode: 'videos',
      pooling: 'mean',
      texts: 5,
      videos: 4,
      framesPerVideo: 3,
      dim: 128,
    });
    expect(out.model).toMatchObject({
      name: DEFAULT_MODEL_ID,
      dim: 128,
      fingerprint: expect.stringMatching(/^sha256:/),
    });
    expect(out.textToVideo).toMatchObject({ R1: 100, MdR: 1, MnR: 1, queries: 5 });
    expect(out.videoToText).toMatchObject({ R1: 100, queries: 4 });
    expect(out.excluded).toEqual([
      {
        videoId: 'vid-broken',
        code: expect.stringMatching(/^(NOT_A_VIDEO|UNREADABLE)$/),
        message: expect.stringContaining('vid-broken.mp4'),
        captions: 1,
      },
      {
        videoId: 'vid-missing',
        code: 'FILE_NOT_FOUND',
        message: expect.stringContaining('no video for vid-missing'),
        captions: 1,
      },
    ]);
    expect(out.warnings[0]).toMatch(
      /^2 of 6 videos could not be used and were left out with their 2 captions/,
    );

    // the saved features give the same answer without decoding or a model
    const again = await evalJson(['--features', saved]);
    expect(again.textToVideo).toEqual(out.textToVideo);
    expect(again.videoToText).toEqual(out.videoToText);
    expect((await readNpyFile(path.join(saved, 'frames.npy'))).shape).toEqual([4, 3, 128]);
  });

  it('exits 2 for a malformed captions file and 1 when no video can be used', async () => {
    const dataDir = path.join(root, 'video-data-2');
    await writeSyntheticClip(path.join(dataDir, 'models', DEFAULT_MODEL_ID));
    const videos = mkdtempSync(path.join(root, 'empty-videos-'));
    const badCsv = path.join(root, 'bad.csv');
    writeFileSync(badCsv, 'v1,red\nv2,"unterminated\n');
    const bad = await runCli(['eval', '--captions', badCsv, '--videos', videos], env(dataDir));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/CAPTIONS_INVALID: bad\.csv:2: unterminated quoted field/);

    const csv = path.join(root, 'only-missing.csv');
    writeFileSync(csv, 'ghost,red\n');
    const none = await runCli(['eval', '--captions', csv, '--videos', videos], env(dataDir));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /none of the 1 videos could be sampled and encoded; first: ghost: FILE_NOT_FOUND/,
    );
  });
});
