import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIP_IMAGE_MEAN, CLIP_IMAGE_STD } from '../src/clip/preprocess-config.ts';
import {
  SYNTHETIC_BRIGHTNESS_WORDS,
  SYNTHETIC_COLOURS,
  SYNTHETIC_EMBED_DIM,
  SYNTHETIC_FILLER_WORDS,
  SYNTHETIC_REGIONS,
  syntheticClipFiles,
  writeSyntheticClip,
} from '../src/synthetic/synthetic-clip.ts';

type Rgb = readonly [number, number, number];
const SIZE = 224;
const FILES = [
  'onnx/text_model.onnx',
  'onnx/vision_model.onnx',
  'tokenizer.json',
  'tokenizer_config.json',
  'preprocessor_config.json',
  'config.json',
];

let dir: string;
let tokenizer: Tokenizer;
let text: ort.InferenceSession;
let vision: ort.InferenceSession;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'reel-synthetic-clip-'));
  await writeSyntheticClip(dir);
  tokenizer = new Tokenizer(JSON.parse(await readFile(path.join(dir, 'tokenizer.json'), 'utf8')), {});
  text = await ort.InferenceSession.create(path.join(dir, 'onnx/text_model.onnx'));
  vision = await ort.InferenceSession.create(path.join(dir, 'onnx/vision_model.onnx'));
});

afterAll(async () => {
  await text?.release();
  await vision?.release();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A CLIP-normalised [3,224,224] frame whose pixel (y, x) has colour `paint(y, x)` in [0,1]. */
function frame(paint: (y: number, x: number) => Rgb): Float32Array {
  const plane = SIZE * SIZE;
  const out = new Float32Array(3 * plane);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const rgb = paint(y, x);
      for (let c = 0; c < 3; c++)
        out[c * plane + y * SIZE + x] = (rgb[c]! - CLIP_IMAGE_MEAN[c]!) / CLIP_IMAGE_STD[c]!;
    }
  }
  return out;
}

const solid = (rgb: Rgb) => frame(() => rgb);

function rows(data: Float32Array, count: number): Float32Array[] {
  return Array.from({ length: count }, (_, i) =>
    data.slice(i * SYNTHETIC_EMBED_DIM, (i + 1) * SYNTHETIC_EMBED_DIM),
  );
}

async function embedImages(frames: Float32Array[]): Promise<Float32Array[]> {
  const data = new Float32Array(frames.length * 3 * SIZE * SIZE);
  frames.forEach((f, i) => {
    data.set(f, i * f.length);
  });
  const out = await vision.run({
    pixel_values: new ort.Tensor('float32', data, [frames.length, 3, SIZE, SIZE]),
  });
  return rows(out.image_embeds!.data as Float32Array, frames.length);
}

/** Runs the text model on rows of ids, right-padded with `padId` (mask 0) to the longest row. */
async function embedIds(idRows: number[][], padId = 49407, extraPad = 0): Promise<Float32Array[]> {
  const length = Math.max(...idRows.map((r) => r.length)) + extraPad;
  const ids = new BigInt64Array(idRows.length * length).fill(BigInt(padId));
  const mask = new BigInt64Array(idRows.length * length);
  idRows.forEach((row, i) => {
    row.forEach((id, j) => {
      ids[i * length + j] = BigInt(id);
      mask[i * length + j] = 1n;
    });
  });
  const out = await text.run({
    input_ids: new ort.Tensor('int64', ids, [idRows.length, length]),
    attention_mask: new ort.Tensor('int64', mask, [idRows.length, length]),
  });
  return rows(out.text_embeds!.data as Float32Array, idRows.length);
}

async function embedTexts(texts: string[]): Promise<Float32Array[]> {
  return embedIds(texts.map((t) => tokenizer.encode(t).ids));
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i]!)), 0);
}

describe('synthetic CLIP folder', () => {
  it('writes every file of the HF layout with the expected JSON', async () => {
    for (const file of FILES) expect((await readFile(path.join(dir, file))).byteLength).toBeGreaterThan(100);
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'clip',
      projection_dim: SYNTHETIC_EMBED_DIM,
      reel_synthetic: true,
    });
    expect(typeof config.description).toBe('string');
    const pre = JSON.parse(await readFile(path.join(dir, 'preprocessor_config.json'), 'utf8'));
    expect(pre).toMatchObject({
      do_resize: true,
      size: { shortest_edge: 224 },
      crop_size: 224,
      do_center_crop: true,
      do_normalize: true,
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
      resample: 3,
      do_rescale: true,
    });
    expect(pre.rescale_factor).toBeCloseTo(1 / 255, 12);
  });

  it('declares the encoders I/O names, types and shapes', () => {
    expect(text.inputMetadata).toEqual([
      { name: 'input_ids', isTensor: true, type: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', isTensor: true, type: 'int64', shape: ['batch', 'sequence'] },
    ]);
    expect(text.outputMetadata).toEqual([
      { name: 'text_embeds', isTensor: true, type: 'float32', shape: ['batch', SYNTHETIC_EMBED_DIM] },
    ]);
    expect(vision.inputMetadata).toEqual([
      { name: 'pixel_values', isTensor: true, type: 'float32', shape: ['batch', 3, 224, 224] },
    ]);
    expect(vision.outputMetadata).toEqual([
      { name: 'image_embeds', isTensor: true, type: 'float32', shape: ['batch', SYNTHETIC_EMBED_DIM] },
    ]);
  });

  it('writes the same bytes every time', async () => {
    const again = await mkdtemp(path.join(tmpdir(), 'reel-synthetic-clip-'));
    try {
      await writeSyntheticClip(again);
      for (const file of FILES) {
        const [a, b] = await Promise.all([readFile(path.join(dir, file)), readFile(path.join(again, file))]);
        expect(a.equals(b), file).toBe(true);
      }
    } finally {
      await rm(again, { recursive: true, force: true });
    }
    expect([...syntheticClipFiles().keys()].sort()).toEqual([...FILES].sort());
  });
});

describe('synthetic CLIP tokenizer', () => {
  it('keeps every vocabulary word as one token between <|startoftext|> and <|endoftext|>', () => {
    const words = [
      ...SYNTHETIC_COLOURS.flatMap((c) => c.words),
      ...SYNTHETIC_REGIONS.flatMap((r) => r.words),
      ...Object.keys(SYNTHETIC_BRIGHTNESS_WORDS),
      ...SYNTHETIC_FILLER_WORDS,
    ];
    expect(words.length).toBeGreaterThan(60);
    const seen = new Set<number>();
    for (const word of words) {
      const { ids, tokens } = tokenizer.encode(word);
      expect(tokens, word).toEqual(['<|startoftext|>', `${word}</w>`, '<|endoftext|>']);
      expect(ids[0]).toBe(49406);
      expect(ids[2]).toBe(49407);
      seen.add(ids[1]!);
    }
    expect(seen.size).toBe(words.length);
  });

  it('lowercases, splits punctuation and falls back to byte-level symbols for unknown words', () => {
    expect(tokenizer.encode('A  RED square, on the Left!').tokens).toEqual([
      '<|startoftext|>',
      'a</w>',
      'red</w>',
      'square</w>',
      ',</w>',
      'on</w>',
      'the</w>',
      'left</w>',
      '!</w>',
      '<|endoftext|>',
    ]);
    expect(tokenizer.encode('zebra').tokens.slice(1, -1).join('')).toBe('zebra</w>');
    expect(tokenizer.encode('zebra').tokens.length).toBeGreaterThan(3);
    expect(tokenizer.encode('a')).toMatchObject({ ids: [49406, 320, 49407] });
  });
});

describe('synthetic CLIP alignment', () => {
  it("ranks each colour's own solid frame first for every colour word", async () => {
    const frames = await embedImages(SYNTHETIC_COLOURS.map((c) => solid(c.rgb)));
    const words = SYNTHETIC_COLOURS.flatMap((c, index) => c.words.map((word) => ({ word, index })));
    const texts = await embedTexts(words.map(({ word }) => `a ${word} video`));
    words.forEach(({ word, index }, i) => {
      const scores = frames.map((f) => cosine(texts[i]!, f));
      const own = scores[index]!;
      const bestOther = Math.max(...scores.filter((_, j) => j !== index));
      expect(own - bestOther, `${word}: ${scores.map((s) => s.toFixed(3)).join(' ')}`).toBeGreaterThan(0.2);
    });
  });

  it('recognises everyday RGB values, not only the prototypes', async () => {
    const everyday: [string, Rgb][] = [
      ['red', [1, 0, 0]],
      ['green', [0, 0.5, 0]],
      ['blue', [0, 0, 1]],
      ['yellow', [1, 1, 0]],
      ['orange', [1, 0.65, 0]],
      ['purple', [0.5, 0, 0.5]],
      ['cyan', [0, 1, 1]],
      ['brown', [0.65, 0.16, 0.16]],
    ];
    const frames = await embedImages(everyday.map(([, rgb]) => solid(rgb)));
    const texts = await embedTexts(everyday.map(([name]) => name));
    everyday.forEach(([name], i) => {
      const scores = frames.map((f) => cosine(texts[i]!, f));
      expect(scores.indexOf(Math.max(...scores)), name).toBe(i);
    });
  });

  it('binds colour to position: "a red square on the left" prefers red on the left', async () => {
    const red: Rgb = SYNTHETIC_COLOURS.find((c) => c.name === 'red')!.rgb;
    const blue: Rgb = SYNTHETIC_COLOURS.find((c) => c.name === 'blue')!.rgb;
    const black: Rgb = [0, 0, 0];
    const halves: Record<string, (y: number, x: number) => boolean> = {
      left: (_y, x) => x < SIZE / 2,
      right: (_y, x) => x >= SIZE / 2,
      top: (y) => y < SIZE / 2,
      bottom: (y) => y >= SIZE / 2,
    };
    const opposite: Record<string, string> = { left: 'right', right: 'left', top: 'bottom', bottom: 'top' };
    for (const [side, inside] of Object.entries(halves)) {
      const other = halves[opposite[side]!]!;
      const [redThere, redOpposite, blueThere, splitRedThere, splitBlueThere] = await embedImages([
        frame((y, x) => (inside(y, x) ? red : black)),
        frame((y, x) => (other(y, x) ? red : black)),
        frame((y, x) => (inside(y, x) ? blue : black)),
        frame((y, x) => (inside(y, x) ? red : blue)),
        frame((y, x) => (inside(y, x) ? blue : red)),
      ]);
      const [query] = await embedTexts([`a red square on the ${side}`]);
      const score = (image: Float32Array | undefined) => cosine(query!, image!);
      expect(score(redThere) - score(redOpposite), side).toBeGreaterThan(0.1);
      expect(score(redThere) - score(blueThere), side).toBeGreaterThan(0.1);
      expect(score(splitRedThere) - score(splitBlueThere), side).toBeGreaterThan(0.1);
    }
  });

  it('knows the centre', async () => {
    const red: Rgb = [1, 0, 0];
    const black: Rgb = [0, 0, 0];
    const q = SIZE / 4;
    const [centre, corner] = await embedImages([
      frame((y, x) => (y >= q && y < 3 * q && x >= q && x < 3 * q ? red : black)),
      frame((y, x) => (y < 2 * q && x < 2 * q ? red : black)),
    ]);
    for (const word of ['centre', 'center', 'middle']) {
      const [query] = await embedTexts([`a red square in the ${word}`]);
      expect(cosine(query!, centre!) - cosine(query!, corner!), word).toBeGreaterThan(0.1);
    }
  });

  it('orders light and dark frames by brightness', async () => {
    const greys = [1, 0.8, 0.2, 0];
    const frames = await embedImages(greys.map((v) => solid([v, v, v])));
    const [light, bright, dark] = await embedTexts(['a light frame', 'a bright video', 'a dark scene']);
    for (const query of [light!, bright!]) {
      const scores = frames.map((f) => cosine(query, f));
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect(scores[1]! - scores[2]!).toBeGreaterThan(0.2);
    }
    const darkScores = frames.map((f) => cosine(dark!, f));
    expect(darkScores).toEqual([...darkScores].sort((a, b) => a - b));
    expect(darkScores[2]! - darkScores[1]!).toBeGreaterThan(0.2);
  });
});

describe('synthetic CLIP encoders', () => {
  it('gives the same embeddings in a batch as one at a time, for texts and images', async () => {
    const texts = ['red', 'a blue square on the right', 'dark', 'the video of a green circle in the middle'];
    const batched = await embedTexts(texts);
    for (const [i, t] of texts.entries()) {
      const [single] = await embedTexts([t]);
      expect(maxAbsDiff(batched[i]!, single!)).toBeLessThan(1e-6);
    }
    const frames = [solid([1, 0, 0]), frame((_y, x) => (x < 112 ? [0, 0, 1] : [1, 1, 1]))];
    const images = await embedImages(frames);
    for (const [i, f] of frames.entries()) {
      const [single] = await embedImages([f]);
      expect(maxAbsDiff(images[i]!, single!)).toBeLessThan(1e-6);
    }
  });

  it('ignores padded positions whatever ids they hold', async () => {
    const ids = tokenizer.encode('a red square on the left').ids;
    const [plain] = await embedIds([ids]);
    const [paddedEos] = await embedIds([ids], 49407, 20);
    const [paddedWords] = await embedIds([ids], tokenizer.token_to_id('blue</w>')!, 20);
    expect(maxAbsDiff(plain!, paddedEos!)).toBeLessThan(1e-6);
    expect(maxAbsDiff(plain!, paddedWords!)).toBeLessThan(1e-6);
  });

  it('embeds unknown words, filler and out-of-range ids to the same finite non-zero vector', async () => {
    const [unknown, filler, empty] = await embedTexts(['xylophone quux 42', 'the video of a square', '']);
    const [outOfRange] = await embedIds([[49406, 99_999, -5, 49407]]);
    for (const v of [unknown!, filler!, empty!, outOfRange!]) {
      expect(v.every(Number.isFinite)).toBe(true);
      expect(Math.hypot(...v)).toBeGreaterThan(0.01);
      expect(maxAbsDiff(v, empty!)).toBeLessThan(1e-6);
    }
    const [red] = await embedTexts(['red']);
    expect(maxAbsDiff(red!, empty!)).toBeGreaterThan(0.05);
  });

  it('gives finite, non-zero image embeddings for noise and extreme pixel values', async () => {
    let seed = 7;
    const noise = frame(() => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return [seed / 2147483648, (seed % 1000) / 1000, ((seed >> 8) % 1000) / 1000];
    });
    const extreme = new Float32Array(3 * SIZE * SIZE).fill(50);
    for (const v of await embedImages([noise, extreme])) {
      expect(v.every(Number.isFinite)).toBe(true);
      expect(Math.hypot(...v)).toBeGreaterThan(0.5);
    }
  });
});
