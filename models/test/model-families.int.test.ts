/**
 * Model families beyond OpenAI's CLIP through the real loader and onnxruntime-node: the multilingual
 * synthetic model (immich layout, WordPiece tokenizer, int32 ids and mask) understands five languages in
 * the English model's space; SigLIP-shaped folders pad to their context length; a family reel cannot run
 * is refused by name before any encoder is loaded.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipModel } from '../src/clip/clip-model.ts';
import { loadPreprocessConfig, videoFrameGeometry } from '../src/clip/preprocess-config.ts';
import { ClipTokenizer } from '../src/clip/tokenizer.ts';
import { createInferencePool, type InferencePool } from '../src/inference/inference-pool.ts';
import { detectModelFamily, refineFamily } from '../src/model-family.ts';
import { writeSyntheticClip } from '../src/synthetic/synthetic-clip.ts';
import { writeSyntheticMultilingual } from '../src/synthetic/synthetic-multilingual.ts';
import { writeSyntheticSiglip } from '../src/synthetic/synthetic-siglip.ts';
import { HfTokenizer } from '../src/tokenizers/hf-tokenizer.ts';

let pool: InferencePool;
let english: ClipModel;
let multilingual: ClipModel;
let multilingualDir: string;
const dirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** A 224×224 frame: left half `left`, right half `right`. */
function split(left: [number, number, number], right: [number, number, number]) {
  const size = 224;
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) data.set(x < size / 2 ? left : right, (y * size + x) * 3);
  }
  return { data, width: size, height: size };
}

const RED: [number, number, number] = [230, 25, 25];
const BLUE: [number, number, number] = [25, 50, 230];
const GREEN: [number, number, number] = [25, 180, 25];
const YELLOW: [number, number, number] = [255, 230, 25];

beforeAll(async () => {
  pool = createInferencePool({ size: 1 });
  const englishDir = tempDir('reel-family-en-');
  await writeSyntheticClip(englishDir);
  multilingualDir = tempDir('reel-family-multi-');
  await writeSyntheticMultilingual(multilingualDir);
  english = await ClipModel.load(englishDir, { pool });
  multilingual = await ClipModel.load(multilingualDir, { pool });
}, 60_000);

afterAll(async () => {
  await english?.close();
  await multilingual?.close();
  await pool?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the multilingual synthetic model (immich layout, WordPiece, int32 ids)', () => {
  it('is read as a multilingual family with a WordPiece tokenizer, padded to its context length', () => {
    expect(multilingual.layout).toBe('immich');
    expect(multilingual.family).toMatchObject({ name: 'multilingual-clip', contextLength: 77 });
    expect(multilingual.tokenizer).toBeInstanceOf(HfTokenizer);
    expect((multilingual.tokenizer as HfTokenizer).kind).toBe('WordPiece');
    expect(multilingual.textEncoder.inputIds.type).toBe('int32');
    expect(multilingual.textEncoder.attentionMask?.type).toBe('int32');
    const batch = multilingual.tokenizer.encodeBatch(['rot'], {
      padToContextLength: multilingual.padsToContextLength,
    });
    expect(batch.length).toBe(77);
    // [CLS] rot [SEP] then [PAD]s, with the mask over the first three.
    expect(Array.from(batch.attentionMask.slice(0, 4))).toEqual([1n, 1n, 1n, 0n]);
    expect(english.tokenizer).toBeInstanceOf(ClipTokenizer);
    expect(english.family.name).toBe('clip');
  });

  it('embeds the same query in five languages where the English model embeds it', async () => {
    const [reference] = await english.encodeTexts(['red on the left, blue on the right']);
    const queries = [
      'red on the left, blue on the right',
      'rot links, blau rechts',
      'rouge à gauche, bleu à droite',
      'rojo a la izquierda, azul a la derecha',
      '左红右蓝',
      'Rot   LINKS, Blau rechts',
    ];
    const embedded = await multilingual.encodeTexts(queries);
    for (const [i, vector] of embedded.entries()) {
      expect(cosine(vector, reference!), queries[i]).toBeGreaterThan(0.999);
    }
    const [other] = await multilingual.encodeTexts(['grün links, gelb rechts']);
    expect(cosine(other!, reference!)).toBeLessThan(0.5);
  });

  it('finds the red/blue split-screen frame for the German query, not a green/yellow one', async () => {
    const [query] = await multilingual.encodeTexts(['rot links, blau rechts']);
    const [redLeft, greenLeft] = await multilingual.encodeImages([split(RED, BLUE), split(GREEN, YELLOW)]);
    expect(cosine(query!, redLeft!)).toBeGreaterThan(cosine(query!, greenLeft!) + 0.3);
    // Both models share the image space: the English model's frame embedding is the same vector.
    const [englishFrame] = await english.encodeImages([split(RED, BLUE)]);
    expect(cosine(englishFrame!, redLeft!)).toBeGreaterThan(0.999);
  });

  it('cuts a text longer than the context at a token boundary and keeps [SEP] last', () => {
    const long = Array.from({ length: 100 }, () => 'rot').join(' ');
    const ids = multilingual.tokenizer.encode(long);
    expect(ids).toHaveLength(77);
    // What it would have taken uncut, for the search's warning; the CLIP tokenizer counts the same way.
    expect(multilingual.textFit(long)).toEqual({ tokens: 102, contextLength: 77 });
    expect(english.textFit(long.replaceAll('rot', 'red'))).toEqual({ tokens: 102, contextLength: 77 });
    expect(english.textFit('red')).toEqual({ tokens: 3, contextLength: 77 });
    const tokenizer = multilingual.tokenizer as HfTokenizer;
    expect(ids[0]).toBe(tokenizer.encode('')[0]);
    expect(ids.at(-1)).toBe(tokenizer.encode('').at(-1));
  });
});

describe('the SigLIP-shaped synthetic model (Unigram, input_ids only, fixed padding)', () => {
  it('pads every text to 64 with </s>, takes ids only, and embeds where the English model does', async () => {
    const dir = tempDir('reel-family-siglip-');
    await writeSyntheticSiglip(dir);
    const siglip = await ClipModel.load(dir, { pool });
    try {
      expect(siglip.family).toMatchObject({ name: 'siglip', contextLength: 64, padToContextLength: true });
      expect((siglip.tokenizer as HfTokenizer).kind).toBe('Unigram');
      expect(siglip.textEncoder.attentionMask).toBeUndefined();
      expect(siglip.textEncoder.output.name).toBe('pooler_output');
      expect(siglip.imageEncoder.output.name).toBe('pooler_output');
      const batch = siglip.tokenizer.encodeBatch(['Red'], { padToContextLength: siglip.padsToContextLength });
      expect(batch.length).toBe(64);
      // ▁red then </s> (1), padded with </s> (the file's padding.pad_id).
      expect(Number(batch.inputIds[1])).toBe(1);
      expect(Array.from(batch.inputIds.slice(2)).every((id) => id === 1n)).toBe(true);

      const query = 'red on the left, blue on the right';
      const [reference] = await english.encodeTexts([query]);
      const [mine] = await siglip.encodeTexts([query]);
      expect(cosine(mine!, reference!)).toBeGreaterThan(0.999);
      const [frameEn] = await english.encodeImages([split(RED, BLUE)]);
      const [frameSiglip] = await siglip.encodeImages([split(RED, BLUE)]);
      expect(cosine(frameEn!, frameSiglip!)).toBeGreaterThan(0.999);
    } finally {
      await siglip.close();
    }
  });
});

describe('families from the folder config', () => {
  function variantOf(dir: string, edit: (config: Record<string, unknown>) => void): string {
    const copy = tempDir('reel-family-edit-');
    cpSync(dir, copy, { recursive: true });
    rmSync(path.join(copy, '.reel-fingerprint.json'), { force: true });
    const file = path.join(copy, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    edit(config);
    writeFileSync(file, JSON.stringify(config));
    return copy;
  }

  it('refuses an unsupported model_type by name, listing the supported families, before loading encoders', async () => {
    const dir = variantOf(english.dir, (config) => {
      config.model_type = 'chinese_clip';
    });
    // Make the encoders unloadable too: the family error must come first.
    writeFileSync(path.join(dir, 'onnx/text_model.onnx'), 'not onnx');
    const error = await ClipModel.load(dir, { pool }).catch((e: unknown) => e);
    expect(isReelError(error, 'MODEL_FAMILY_UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toContain('model_type "chinese_clip"');
    expect((error as Error).message).toContain('clip, siglip, multilingual-clip');
  });

  it('reads SigLIP from model_type and pads it to 64 tokens', async () => {
    const dir = variantOf(english.dir, (config) => {
      config.model_type = 'siglip';
      (config.text_config as Record<string, unknown>).max_position_embeddings = undefined;
    });
    rmSync(path.join(dir, 'tokenizer_config.json'));
    await expect(detectModelFamily(dir, 'hf')).resolves.toMatchObject({
      name: 'siglip',
      contextLength: 64,
      padToContextLength: true,
    });
  });

  it("reads immich's M-CLIP export from its real config (verbatim) and its tokenizer", async () => {
    const fixture = path.join(import.meta.dirname, 'fixtures', 'immich-XLM-Roberta-Large-Vit-B-16Plus');
    const dir = tempDir('reel-family-mclip-');
    cpSync(path.join(fixture, 'config.json'), path.join(dir, 'config.json'));
    const detected = await detectModelFamily(dir, 'immich');
    // The config alone names no tokenizer: it reads as open_clip CLIP, padded to 77 as immich pads.
    expect(detected).toMatchObject({
      name: 'clip',
      contextLength: 77,
      padToContextLength: true,
      cleaning: 'whitespace',
    });
    expect(refineFamily(detected, false, 'Unigram')).toMatchObject({
      name: 'multilingual-clip',
      contextLength: 77,
    });
    expect(refineFamily(detected, true).name).toBe('clip');
    const preprocess = await loadPreprocessConfig(path.join(fixture, 'preprocess_cfg.json'));
    expect(videoFrameGeometry(preprocess)).toEqual({
      size: 240,
      resize: 'shortest',
      shortestEdge: 240,
      interpolation: 'bicubic',
    });
    expect(preprocess.defaulted).toEqual([]);
  });

  it('reads immich SigLIP configs (canonicalize) and open_clip CLIP configs', async () => {
    const siglip = variantOf(multilingualDir, (config) => {
      config.text_cfg = {
        context_length: 64,
        vocab_size: 32000,
        hf_tokenizer_name: 'timm/ViT-B-16-SigLIP',
        tokenizer_kwargs: { clean: 'canonicalize' },
      };
    });
    await expect(detectModelFamily(siglip, 'immich')).resolves.toMatchObject({
      name: 'siglip',
      contextLength: 64,
      cleaning: 'canonicalize',
    });
    const clip = variantOf(multilingualDir, (config) => {
      config.text_cfg = { context_length: 77, vocab_size: 49408, width: 512, heads: 8, layers: 12 };
    });
    await expect(detectModelFamily(clip, 'immich')).resolves.toMatchObject({
      name: 'clip',
      contextLength: 77,
      padToContextLength: true,
    });
  });
});
