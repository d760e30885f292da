/**
 * A tiny CLIP-style model pair with real, hand-built text–image alignment for a narrow world: colours,
 * coarse positions and light/dark. It exists so end-to-end tests and the demo can run real onnxruntime
 * on a real Hugging Face-layout folder, with queries that rank frames in a predictable way, without
 * downloading CLIP. No training: every weight is written down below or drawn from a fixed seed, so the
 * folder's bytes (and fingerprint) are identical on every write.
 *
 * Both encoders map into one concept space, then through the same orthonormal projection to
 * {@link SYNTHETIC_EMBED_DIM} dims (so cosine similarity in the output equals cosine in concept space):
 *
 * - concept `colour@region` (12 colours × 6 regions): image = share of the region's 14×14-pixel cells
 *   whose mean colour is nearest that colour's prototype (softmax of −‖rgb − prototype‖² / 0.02);
 *   text = (sum of colour-word vectors) ⊗ (sum of position-word vectors + 0.5·whole).
 * - concept `brightness@region` (6): image = 2·(mean of R,G,B) − 1 over the region, in [−1, 1];
 *   text = (light/dark words: +1/−1) ⊗ the same region weights.
 * - a constant 0.05 along one extra direction in both encoders, so a text with no known word (or only
 *   filler words) still embeds to a finite, non-zero vector.
 *
 * Outputs are not L2-normalised (like HF's `text_embeds`/`image_embeds` of the separate encoders): the
 * caller normalises and scores by cosine, as with real CLIP.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLIP_IMAGE_MEAN, CLIP_IMAGE_STD } from '../clip/preprocess-config.ts';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { mulberry32 } from '../seeded-random.ts';
import {
  buildSyntheticTokenizer,
  CLIP_BOS_ID,
  CLIP_CONTEXT_LENGTH,
  CLIP_EOS_ID,
} from './synthetic-tokenizer.ts';

/** Output embedding size of both synthetic encoders. */
export const SYNTHETIC_EMBED_DIM = 128;
/** Input image side in pixels (pixel_values is [batch, 3, 224, 224]). */
export const SYNTHETIC_IMAGE_SIZE = 224;
/** A colour concept: its RGB prototype in [0, 1] and the words that name it. */
export interface SyntheticColour {
  name: string;
  rgb: readonly [number, number, number];
  words: readonly string[];
}

/** The 12 colour concepts, in concept order. */
export const SYNTHETIC_COLOURS: readonly SyntheticColour[] = [
  { name: 'red', rgb: [0.9, 0.1, 0.1], words: ['red'] },
  { name: 'orange', rgb: [1, 0.55, 0], words: ['orange'] },
  { name: 'yellow', rgb: [1, 0.9, 0.1], words: ['yellow'] },
  { name: 'green', rgb: [0.1, 0.7, 0.1], words: ['green'] },
  { name: 'cyan', rgb: [0, 0.85, 0.9], words: ['cyan', 'turquoise'] },
  { name: 'blue', rgb: [0.1, 0.2, 0.9], words: ['blue'] },
  { name: 'purple', rgb: [0.5, 0.1, 0.6], words: ['purple', 'violet'] },
  { name: 'pink', rgb: [1, 0.6, 0.75], words: ['pink'] },
  { name: 'brown', rgb: [0.55, 0.27, 0.07], words: ['brown'] },
  { name: 'white', rgb: [1, 1, 1], words: ['white'] },
  { name: 'gray', rgb: [0.5, 0.5, 0.5], words: ['gray', 'grey'] },
  { name: 'black', rgb: [0, 0, 0], words: ['black'] },
];

/** A region of the 224×224 frame; `cells` tests a cell of the 16×16 grid of 14×14-pixel cells. */
export interface SyntheticRegion {
  name: string;
  words: readonly string[];
  cells: (row: number, col: number) => boolean;
}

const GRID = 16;
const CELL = SYNTHETIC_IMAGE_SIZE / GRID;

/** The 6 regions, in concept order. `whole` is also implied (weight 0.5) by every text. */
export const SYNTHETIC_REGIONS: readonly SyntheticRegion[] = [
  { name: 'left', words: ['left'], cells: (_row, col) => col < GRID / 2 },
  { name: 'right', words: ['right'], cells: (_row, col) => col >= GRID / 2 },
  { name: 'top', words: ['top', 'upper'], cells: (row) => row < GRID / 2 },
  { name: 'bottom', words: ['bottom', 'lower'], cells: (row) => row >= GRID / 2 },
  {
    name: 'centre',
    words: ['centre', 'center', 'middle'],
    cells: (row, col) => row >= GRID / 4 && row < (3 * GRID) / 4 && col >= GRID / 4 && col < (3 * GRID) / 4,
  },
  { name: 'whole', words: ['whole', 'entire', 'everywhere'], cells: () => true },
];

/** Brightness words and their sign: light (+1) or dark (−1). */
export const SYNTHETIC_BRIGHTNESS_WORDS: Readonly<Record<string, number>> = {
  light: 1,
  bright: 1,
  pale: 1,
  dark: -1,
  dim: -1,
};

/** Words the tokenizer keeps whole but whose vectors are zero (they carry no concept). */
export const SYNTHETIC_FILLER_WORDS: readonly string[] = [
  'a',
  'an',
  'the',
  'of',
  'on',
  'in',
  'at',
  'to',
  'with',
  'and',
  'is',
  'this',
  'square',
  'circle',
  'box',
  'block',
  'shape',
  'half',
  'side',
  'corner',
  'frame',
  'image',
  'photo',
  'picture',
  'video',
  'clip',
  'scene',
  'screen',
  'background',
  'colour',
  'color',
  'solid',
  'plain',
];

/** Concept names in concept-space order: `colour@region` (colour-major), then `brightness@region`. */
export const SYNTHETIC_CONCEPTS: readonly string[] = [
  ...SYNTHETIC_COLOURS.flatMap((colour) =>
    SYNTHETIC_REGIONS.map((region) => `${colour.name}@${region.name}`),
  ),
  ...SYNTHETIC_REGIONS.map((region) => `brightness@${region.name}`),
];

/** Softmax temperature of colour membership, in squared RGB distance ([0,1] units). */
const COLOUR_TEMPERATURE = 0.02;
/** Weight of the `whole` region in every text, so a text without position words matches anywhere. */
const DEFAULT_WHOLE_WEIGHT = 0.5;
/** Constant added along its own direction, keeping empty texts non-zero. */
const CONSTANT_COMPONENT = 0.05;
const PROJECTION_SEED = 0x5eed_c11b;

const K = SYNTHETIC_COLOURS.length;
const R = SYNTHETIC_REGIONS.length;
/** Word-vector columns: K colour weights, R region weights, 1 brightness sign. */
const WORD_FEATURES = K + R + 1;
const CONCEPT_DIM = K * R + R;

/** Every word the tokenizer keeps as one token, in vocabulary order. */
function vocabularyWords(): string[] {
  return [
    ...SYNTHETIC_COLOURS.flatMap((colour) => colour.words),
    ...SYNTHETIC_REGIONS.flatMap((region) => region.words),
    ...Object.keys(SYNTHETIC_BRIGHTNESS_WORDS),
    ...SYNTHETIC_FILLER_WORDS,
  ];
}

/**
 * `rows` orthonormal row vectors of length `dim` (Gram-Schmidt, done twice for accuracy, on seeded
 * uniform vectors). Uses only + − × ÷ and sqrt, so the result is bit-identical everywhere.
 */
function orthonormalRows(rows: number, dim: number, seed: number): Float64Array[] {
  const random = mulberry32(seed);
  const basis: Float64Array[] = [];
  for (let r = 0; r < rows; r++) {
    const v = Float64Array.from({ length: dim }, () => 2 * random() - 1);
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let dot = 0;
        for (let i = 0; i < dim; i++) dot += v[i]! * b[i]!;
        for (let i = 0; i < dim; i++) v[i]! -= dot * b[i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) v[i]! /= norm;
    basis.push(v);
  }
  return basis;
}

/** The shared projection: [CONCEPT_DIM, D] matrix and the constant-direction bias [D]. */
function projection(seed: number): { matrix: Float32Array; bias: Float32Array } {
  const rows = orthonormalRows(CONCEPT_DIM + 1, SYNTHETIC_EMBED_DIM, seed);
  const matrix = new Float32Array(CONCEPT_DIM * SYNTHETIC_EMBED_DIM);
  for (let r = 0; r < CONCEPT_DIM; r++) matrix.set(rows[r]!, r * SYNTHETIC_EMBED_DIM);
  const bias = Float32Array.from(rows[CONCEPT_DIM]!, (x) => x * CONSTANT_COMPONENT);
  return { matrix, bias };
}

/** Declares `[batch, 1, D]` (the embedding unsqueezed) as output `name`: a 3-D output to not pick. */
function hiddenState(g: GraphBuilder, embedding: string, name: string): void {
  g.op('Unsqueeze', [embedding, g.int64s([1])], {}, name);
  g.output(name, 'float32', ['batch', 1, SYNTHETIC_EMBED_DIM]);
}

/** Adds `MatMul(concept, P) + bias` and declares it as output `name` [batch, D]. */
function project(g: GraphBuilder, concept: string, name: string, seed: number): void {
  const { matrix, bias } = projection(seed);
  const projected = g.op('MatMul', [
    concept,
    g.floats(matrix, [CONCEPT_DIM, SYNTHETIC_EMBED_DIM], 'projection'),
  ]);
  g.op('Add', [projected, g.floats(bias, [SYNTHETIC_EMBED_DIM], 'projection_bias')], {}, name);
  g.output(name, 'float32', ['batch', SYNTHETIC_EMBED_DIM]);
}

/** How a synthetic text encoder reads its tokens. */
export interface SyntheticTextSpec {
  /** Each concept word (as in {@link SYNTHETIC_COLOURS} etc.) → every token id that means it. */
  idsOf: ReadonlyMap<string, readonly number[]>;
  /** Ids below this have a row; every other id (specials, padding) reads the all-zero last row. */
  regularIdCount: number;
  /** Element type of `input_ids` and `attention_mask`: int64 (HF) or int32 (immich, M-CLIP). */
  idType?: 'int64' | 'int32';
  /** Input name of the ids (`input_ids`; immich's open_clip exports say `text`). */
  idsName?: string;
  /** Output name (`text_embeds`; immich: `embedding`). */
  outputName?: string;
  /** False for towers that take `input_ids` only (SigLIP): padding then reads the zero row. */
  attentionMask?: boolean;
  /** Also output `[batch, 1, D]` under this name, as towers that export `last_hidden_state` do. */
  hiddenStateName?: string;
}

/**
 * The text encoder: word vectors → masked sum → colour ⊗ region (+ brightness ⊗ region) → projection.
 * Shared by the CLIP-tokenizer synthetic model and the multilingual one, which differ only in their
 * vocabularies and input types.
 */
export function syntheticTextModel(spec: SyntheticTextSpec, seed = PROJECTION_SEED): Uint8Array {
  const { idsOf, regularIdCount } = spec;
  const idType = spec.idType ?? 'int64';
  // One extra all-zero row at the end; ids are clipped into range so BOS/EOS (49406/49407), padding
  // and any out-of-range id all read that row instead of failing in Gather.
  const rows = regularIdCount + 1;
  const table = new Float32Array(rows * WORD_FEATURES);
  const set = (word: string, column: number, value: number) => {
    for (const id of idsOf.get(word) ?? []) table[id * WORD_FEATURES + column] = value;
  };
  SYNTHETIC_COLOURS.forEach((colour, k) => {
    for (const word of colour.words) set(word, k, 1);
  });
  SYNTHETIC_REGIONS.forEach((region, r) => {
    for (const word of region.words) set(word, K + r, 1);
  });
  for (const [word, sign] of Object.entries(SYNTHETIC_BRIGHTNESS_WORDS)) set(word, K + R, sign);

  const g = new GraphBuilder('synthetic_clip_text');
  const rawIds = g.input(spec.idsName ?? 'input_ids', idType, ['batch', 'sequence']);
  const mask =
    spec.attentionMask === false ? undefined : g.input('attention_mask', idType, ['batch', 'sequence']);
  const ids = idType === 'int64' ? rawIds : g.op('Cast', [rawIds], { to: 7 });
  const clipped = g.op('Clip', [ids, g.int64s([0], []), g.int64s([rows - 1], [])]);
  const vectors = g.op('Gather', [g.floats(table, [rows, WORD_FEATURES], 'word_vectors'), clipped]); // [B,S,F]
  const masked = mask
    ? g.op('Mul', [vectors, g.op('Unsqueeze', [g.op('Cast', [mask], { to: 1 }), g.int64s([2])])]) // × [B,S,1]
    : vectors;
  const summed = g.op('ReduceSum', [masked, g.int64s([1])], { keepdims: 0 }); // [B,F]
  const slice = (from: number, to: number) =>
    g.op('Slice', [summed, g.int64s([from]), g.int64s([to]), g.int64s([1])]);
  const colours = slice(0, K); // [B,K]
  const defaultRegion = Array.from({ length: R }, (_, r) => (r === R - 1 ? DEFAULT_WHOLE_WEIGHT : 0));
  const regions = g.op('Add', [slice(K, K + R), g.floats(defaultRegion, [R], 'default_region')]); // [B,R]
  const brightness = slice(K + R, WORD_FEATURES); // [B,1]
  const outer = g.op('Mul', [
    g.op('Unsqueeze', [colours, g.int64s([2])]),
    g.op('Unsqueeze', [regions, g.int64s([1])]),
  ]);
  const colourRegion = g.op('Reshape', [outer, g.int64s([0, -1])]); // [B,K*R]
  const brightRegion = g.op('Mul', [brightness, regions]); // [B,R]
  const concept = g.op('Concat', [colourRegion, brightRegion], { axis: 1 }); // [B,CONCEPT_DIM]
  const output = spec.outputName ?? 'text_embeds';
  project(g, concept, output, seed);
  if (spec.hiddenStateName) hiddenState(g, output, spec.hiddenStateName);
  return g.serialize({
    docString: 'reel synthetic CLIP text encoder (hand-built colour/position/brightness concepts)',
  });
}

/** The vision encoder: un-normalise → 16×16 cell means → colour membership + brightness → region means → projection. */
export function syntheticVisionModel(
  seed = PROJECTION_SEED,
  names: {
    input?: string;
    output?: string;
    hiddenState?: string;
    /** Normalisation the preprocessing applies (default CLIP's), undone first. */
    mean?: readonly number[];
    std?: readonly number[];
    /** A fixed batch size (immich's current exports fix it at 1); default symbolic. */
    batch?: number;
  } = {},
): Uint8Array {
  const g = new GraphBuilder('synthetic_clip_vision');
  const pixels = g.input(names.input ?? 'pixel_values', 'float32', [
    names.batch ?? 'batch',
    3,
    SYNTHETIC_IMAGE_SIZE,
    SYNTHETIC_IMAGE_SIZE,
  ]);
  const scaled = g.op('Mul', [pixels, g.floats(names.std ?? CLIP_IMAGE_STD, [1, 3, 1, 1], 'image_std')]);
  const rgb = g.op('Clip', [
    g.op('Add', [scaled, g.floats(names.mean ?? CLIP_IMAGE_MEAN, [1, 3, 1, 1], 'image_mean')]),
    g.floats([0], []),
    g.floats([1], []),
  ]);
  const cellMeans = g.op('AveragePool', [rgb], { kernel_shape: [CELL, CELL], strides: [CELL, CELL] }); // [B,3,16,16]
  const cells = g.op('Reshape', [
    g.op('Transpose', [cellMeans], { perm: [0, 2, 3, 1] }),
    g.int64s([0, -1, 3]),
  ]); // [B,256,3]

  // −‖x − p‖² / T = (2·x·p − ‖x‖² − ‖p‖²) / T, one MatMul for all prototypes.
  const prototypes = new Float32Array(3 * K);
  const prototypeNorms = new Float32Array(K);
  SYNTHETIC_COLOURS.forEach((colour, k) => {
    colour.rgb.forEach((value, c) => {
      prototypes[c * K + k] = value;
    });
    prototypeNorms[k] = colour.rgb.reduce((sum, value) => sum + value * value, 0) / COLOUR_TEMPERATURE;
  });
  const dots = g.op('MatMul', [cells, g.floats(prototypes, [3, K], 'colour_prototypes')]); // [B,256,K]
  const squares = g.op('ReduceSum', [g.op('Mul', [cells, cells]), g.int64s([2])], { keepdims: 1 }); // [B,256,1]
  const logits = g.op('Sub', [
    g.op('Sub', [
      g.op('Mul', [dots, g.floats([2 / COLOUR_TEMPERATURE], [])]),
      g.op('Mul', [squares, g.floats([1 / COLOUR_TEMPERATURE], [])]),
    ]),
    g.floats(prototypeNorms, [K], 'colour_prototype_norms'),
  ]);
  const membership = g.op('Softmax', [logits], { axis: -1 }); // [B,256,K]
  const lightness = g.op('ReduceMean', [cells], { axes: [2], keepdims: 1 }); // [B,256,1]
  const brightness = g.op('Sub', [g.op('Mul', [lightness, g.floats([2], [])]), g.floats([1], [])]);
  const features = g.op('Concat', [membership, brightness], { axis: 2 }); // [B,256,K+1]

  const regionMeans = new Float32Array(GRID * GRID * R); // [256, R], each column averages its cells
  SYNTHETIC_REGIONS.forEach((region, r) => {
    let count = 0;
    for (let cell = 0; cell < GRID * GRID; cell++)
      if (region.cells(Math.floor(cell / GRID), cell % GRID)) count++;
    for (let cell = 0; cell < GRID * GRID; cell++) {
      if (region.cells(Math.floor(cell / GRID), cell % GRID)) regionMeans[cell * R + r] = 1 / count;
    }
  });
  const pooled = g.op('MatMul', [
    g.op('Transpose', [features], { perm: [0, 2, 1] }),
    g.floats(regionMeans, [GRID * GRID, R], 'region_means'),
  ]); // [B,K+1,R]
  const concept = g.op('Reshape', [pooled, g.int64s([0, -1])]); // [B,(K+1)*R] = [B,CONCEPT_DIM]
  const output = names.output ?? 'image_embeds';
  project(g, concept, output, seed);
  if (names.hiddenState) hiddenState(g, output, names.hiddenState);
  return g.serialize({
    docString: 'reel synthetic CLIP vision encoder (hand-built colour/position/brightness concepts)',
  });
}

/** A config file's bytes: pretty JSON and a final newline, as the synthetic folders write them. */
export function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Every file of the synthetic model folder, by POSIX relative path: `onnx/text_model.onnx`,
 * `onnx/vision_model.onnx`, `tokenizer.json`, `tokenizer_config.json`, `preprocessor_config.json`,
 * `config.json`. Pure and deterministic (same bytes on every call).
 */
/** Options of the synthetic model. */
export interface SyntheticClipOptions {
  /**
   * Seed of the shared projection. Another seed gives another model with the same understanding but
   * vectors in a different space (and another fingerprint): what a real model upgrade looks like.
   */
  projectionSeed?: number;
}

export function syntheticClipFiles(options: SyntheticClipOptions = {}): Map<string, Uint8Array> {
  const seed = options.projectionSeed ?? PROJECTION_SEED;
  const tokenizer = buildSyntheticTokenizer(vocabularyWords());
  const files = new Map<string, Uint8Array>();
  const idsOf = new Map([...tokenizer.wordIds].map(([word, id]) => [word, [id]]));
  files.set(
    'onnx/text_model.onnx',
    syntheticTextModel({ idsOf, regularIdCount: tokenizer.regularIdCount }, seed),
  );
  files.set('onnx/vision_model.onnx', syntheticVisionModel(seed));
  files.set('tokenizer.json', json(tokenizer.json));
  files.set(
    'tokenizer_config.json',
    json({
      tokenizer_class: 'CLIPTokenizer',
      bos_token: '<|startoftext|>',
      eos_token: '<|endoftext|>',
      pad_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      model_max_length: CLIP_CONTEXT_LENGTH,
      do_lower_case: true,
      clean_up_tokenization_spaces: true,
    }),
  );
  files.set(
    'preprocessor_config.json',
    json({
      image_processor_type: 'CLIPImageProcessor',
      do_convert_rgb: true,
      do_resize: true,
      size: { shortest_edge: SYNTHETIC_IMAGE_SIZE },
      resample: 3,
      do_center_crop: true,
      crop_size: SYNTHETIC_IMAGE_SIZE,
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: CLIP_IMAGE_MEAN,
      image_std: CLIP_IMAGE_STD,
    }),
  );
  files.set(
    'config.json',
    json({
      architectures: ['CLIPModel'],
      model_type: 'clip',
      projection_dim: SYNTHETIC_EMBED_DIM,
      text_config: {
        model_type: 'clip_text_model',
        vocab_size: CLIP_EOS_ID + 1,
        max_position_embeddings: CLIP_CONTEXT_LENGTH,
        bos_token_id: CLIP_BOS_ID,
        eos_token_id: CLIP_EOS_ID,
        projection_dim: SYNTHETIC_EMBED_DIM,
      },
      vision_config: {
        model_type: 'clip_vision_model',
        image_size: SYNTHETIC_IMAGE_SIZE,
        num_channels: 3,
        projection_dim: SYNTHETIC_EMBED_DIM,
      },
      reel_synthetic: true,
      description:
        'reel synthetic CLIP: hand-built weights (no training) aligning colour, coarse position and light/dark words ' +
        'with frames; for tests and demos only. Score with cosine similarity.',
      reel_vocabulary: {
        colours: SYNTHETIC_COLOURS.flatMap((colour) => colour.words),
        positions: SYNTHETIC_REGIONS.flatMap((region) => region.words),
        brightness: Object.keys(SYNTHETIC_BRIGHTNESS_WORDS),
        filler: SYNTHETIC_FILLER_WORDS,
      },
    }),
  );
  return files;
}

/**
 * Writes the synthetic CLIP model folder (Hugging Face / Transformers.js layout) into `dir`, creating
 * it if needed and overwriting the files. Text model: `input_ids`, `attention_mask` int64 [batch,
 * sequence] → `text_embeds` float32 [batch, 128]. Vision model: `pixel_values` float32 [batch, 3, 224,
 * 224] (CLIP-normalised) → `image_embeds` float32 [batch, 128]. Same bytes on every call.
 */
export async function writeSyntheticClip(dir: string, options: SyntheticClipOptions = {}): Promise<void> {
  await writeModelFiles(dir, syntheticClipFiles(options));
}

/** Writes a model's files (POSIX relative path → bytes) into `dir`, creating folders, overwriting files. */
export async function writeModelFiles(dir: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  for (const [relative, bytes] of files) {
    const file = path.join(dir, ...relative.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
  }
}
