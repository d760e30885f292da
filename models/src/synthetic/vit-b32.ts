/**
 * Random-weight ONNX encoders with exactly the architecture and compute of OpenAI CLIP ViT-B/32, for
 * benchmarks only (their embeddings mean nothing). Weights are seeded (same file every time) and
 * small (uniform, std 0.02) so activations stay finite through all 12 layers.
 *
 * - Vision (87,849,216 parameters, ~351 MB fp32): 32×32 patch conv (no bias) → 49 patches + class token
 *   → + position embeddings → ln_pre → 12 pre-LN layers (width 768, 12 heads, MLP 3072, quick-GELU) →
 *   ln_post on the class token → projection 768→512.
 * - Text (63,428,096 parameters, ~254 MB fp32): token (49408×512) + position (77×512) embeddings → 12
 *   pre-LN layers (width 512, 8 heads, MLP 2048, quick-GELU, causal + padding mask) → final LN → the
 *   EOS position, taken as argmax(input_ids) per row as HF CLIP does (EOS 49407 is the largest id) →
 *   projection 512→512.
 *
 * The files are large: write them to a path the caller chooses (a temp or cache dir), never the repo.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { float, GraphBuilder } from '../onnx/graph-builder.ts';
import { CLIP_CONTEXT_LENGTH, CLIP_EOS_ID } from './synthetic-tokenizer.ts';

/** Output embedding size of both ViT-B/32 encoders. */
export const VIT_B32_EMBED_DIM = 512;

/** What was written. */
export interface EncoderFileInfo {
  file: string;
  /** Number of weights (initializer elements, small shape constants included). */
  parameters: number;
  /** File size in bytes. */
  bytes: number;
}

/** Options of the random-weight writers. */
export interface RandomEncoderOptions {
  /** PRNG seed of the weights; default fixed, so files are identical across runs. */
  seed?: number;
  /** A fixed batch size for the input (immich's current exports fix it at 1); default symbolic. */
  batch?: number;
}

const WEIGHT_STD = 0.02;
const LAYER_NORM_EPSILON = 1e-5;
/** A large finite negative, so masked logits vanish in softmax without producing NaN. */
const MASKED = -1e9;

/** Fills weights with seeded uniform noise of standard deviation `std` (mulberry32, inlined for speed). */
class WeightRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed | 0;
  }

  uniform(length: number, std: number): Float32Array {
    const out = new Float32Array(length);
    // Uniform on [−a, a] has std a/√3; map uint32 u to (u − 2³¹)·scale.
    const scale = (std * Math.sqrt(3)) / 2147483648;
    let state = this.#state;
    for (let i = 0; i < length; i++) {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      out[i] = (((t ^ (t >>> 14)) >>> 0) - 2147483648) * scale;
    }
    this.#state = state;
    return out;
  }
}

interface Transformer {
  g: GraphBuilder;
  random: WeightRandom;
  width: number;
  heads: number;
  mlp: number;
}

function layerNorm(t: Transformer, x: string, name: string): string {
  const scale = t.g.initializer(`${name}.weight`, new Float32Array(t.width).fill(1), [t.width]);
  const bias = t.g.initializer(`${name}.bias`, new Float32Array(t.width), [t.width]);
  return t.g.op('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: float(LAYER_NORM_EPSILON) });
}

/** x·W + b with W stored [in, out]. */
function linear(
  t: Transformer,
  x: string,
  inputs: number,
  outputs: number,
  name: string,
  bias = true,
): string {
  const weight = t.g.initializer(`${name}.weight`, t.random.uniform(inputs * outputs, WEIGHT_STD), [
    inputs,
    outputs,
  ]);
  const product = t.g.op('MatMul', [x, weight]);
  if (!bias) return product;
  return t.g.op('Add', [product, t.g.initializer(`${name}.bias`, new Float32Array(outputs), [outputs])]);
}

/** One pre-LN residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). `mask` is added to the logits. */
function encoderLayer(t: Transformer, x: string, name: string, mask?: string): string {
  const { g, width, heads } = t;
  const headDim = width / heads;
  const h = layerNorm(t, x, `${name}.layer_norm1`);
  const split = g.int64s([0, 0, heads, headDim]);
  const project = (kind: string) =>
    g.op('Reshape', [linear(t, h, width, width, `${name}.self_attn.${kind}_proj`), split]);
  const q = g.op('Transpose', [g.op('Mul', [project('q'), g.floats([1 / Math.sqrt(headDim)], [])])], {
    perm: [0, 2, 1, 3],
  }); // [B,H,S,d]
  const k = g.op('Transpose', [project('k')], { perm: [0, 2, 3, 1] }); // [B,H,d,S]
  const v = g.op('Transpose', [project('v')], { perm: [0, 2, 1, 3] }); // [B,H,S,d]
  let logits = g.op('MatMul', [q, k]); // [B,H,S,S]
  if (mask !== undefined) logits = g.op('Add', [logits, mask]);
  const context = g.op('MatMul', [g.op('Softmax', [logits], { axis: -1 }), v]);
  const merged = g.op('Reshape', [
    g.op('Transpose', [context], { perm: [0, 2, 1, 3] }),
    g.int64s([0, 0, width]),
  ]);
  const attended = g.op('Add', [x, linear(t, merged, width, width, `${name}.self_attn.out_proj`)]);

  const up = linear(t, layerNorm(t, attended, `${name}.layer_norm2`), width, t.mlp, `${name}.mlp.fc1`);
  // quick-GELU, CLIP's activation: x·sigmoid(1.702·x).
  const activated = g.op('Mul', [up, g.op('Sigmoid', [g.op('Mul', [up, g.floats([1.702], [])])])]);
  return g.op('Add', [attended, linear(t, activated, t.mlp, width, `${name}.mlp.fc2`)]);
}

async function writeModel(file: string, g: GraphBuilder, docString: string): Promise<EncoderFileInfo> {
  const bytes = g.serialize({ docString });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { file, parameters: g.parameterCount, bytes: bytes.byteLength };
}

/** Builds the ViT-B/32 vision graph in memory (see the file header). */
export function buildVitB32Vision(options: RandomEncoderOptions = {}): GraphBuilder {
  const g = new GraphBuilder('vit_b32_vision_random');
  const t: Transformer = {
    g,
    random: new WeightRandom(options.seed ?? 0x000b_0032),
    width: 768,
    heads: 12,
    mlp: 3072,
  };
  const patch = 32;
  const patches = (224 / patch) ** 2;
  const pixels = g.input('pixel_values', 'float32', [options.batch ?? 'batch', 3, 224, 224]);
  const convWeight = g.initializer(
    'vision_model.embeddings.patch_embedding.weight',
    t.random.uniform(t.width * 3 * patch * patch, WEIGHT_STD),
    [t.width, 3, patch, patch],
  );
  const conv = g.op('Conv', [pixels, convWeight], { kernel_shape: [patch, patch], strides: [patch, patch] });
  const tokens = g.op('Transpose', [g.op('Reshape', [conv, g.int64s([0, t.width, patches])])], {
    perm: [0, 2, 1],
  });
  const classEmbedding = g.initializer(
    'vision_model.embeddings.class_embedding',
    t.random.uniform(t.width, WEIGHT_STD),
    [1, 1, t.width],
  );
  const batch = g.op('Slice', [g.op('Shape', [pixels]), g.int64s([0]), g.int64s([1])]);
  const classShape = g.op('Concat', [batch, g.int64s([1, t.width])], { axis: 0 });
  const classTokens = g.op('Expand', [classEmbedding, classShape]); // [B,1,W]
  const positions = g.initializer(
    'vision_model.embeddings.position_embedding.weight',
    t.random.uniform((patches + 1) * t.width, WEIGHT_STD),
    [patches + 1, t.width],
  );
  let x = g.op('Add', [g.op('Concat', [classTokens, tokens], { axis: 1 }), positions]); // [B,50,W]
  x = layerNorm(t, x, 'vision_model.pre_layrnorm');
  for (let layer = 0; layer < 12; layer++) x = encoderLayer(t, x, `vision_model.encoder.layers.${layer}`);
  const pooled = layerNorm(
    t,
    g.op('Gather', [x, g.int64s([0], [])], { axis: 1 }),
    'vision_model.post_layernorm',
  );
  linearInto(t, pooled, t.width, VIT_B32_EMBED_DIM, 'visual_projection', 'image_embeds');
  g.output('image_embeds', 'float32', [options.batch ?? 'batch', VIT_B32_EMBED_DIM]);
  return g;
}

/** The bias-free output projection, writing tensor `output`. */
function linearInto(
  t: Transformer,
  x: string,
  inputs: number,
  outputs: number,
  name: string,
  output: string,
): void {
  const weight = t.g.initializer(`${name}.weight`, t.random.uniform(inputs * outputs, WEIGHT_STD), [
    inputs,
    outputs,
  ]);
  t.g.op('MatMul', [x, weight], {}, output);
}

/**
 * Writes a random-weight CLIP ViT-B/32 image encoder to `file`: `pixel_values` float32 [batch, 3, 224,
 * 224] → `image_embeds` float32 [batch, 512]. About 351 MB; same bytes for the same seed.
 */
export async function writeVitB32Vision(
  file: string,
  options: RandomEncoderOptions = {},
): Promise<EncoderFileInfo> {
  return writeModel(
    file,
    buildVitB32Vision(options),
    'random-weight CLIP ViT-B/32 image encoder (benchmarks only)',
  );
}

/** Builds the CLIP ViT-B/32 text graph in memory (see the file header). */
export function buildClipTextEncoder(options: RandomEncoderOptions = {}): GraphBuilder {
  const g = new GraphBuilder('clip_text_random');
  const t: Transformer = {
    g,
    random: new WeightRandom(options.seed ?? 0x000c_1170),
    width: 512,
    heads: 8,
    mlp: 2048,
  };
  const context = CLIP_CONTEXT_LENGTH;
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const tokenTable = g.initializer(
    'text_model.embeddings.token_embedding.weight',
    t.random.uniform((CLIP_EOS_ID + 1) * t.width, WEIGHT_STD),
    [CLIP_EOS_ID + 1, t.width],
  );
  const positionTable = g.initializer(
    'text_model.embeddings.position_embedding.weight',
    t.random.uniform(context * t.width, WEIGHT_STD / 2),
    [context, t.width],
  );
  const length = g.op('Slice', [g.op('Shape', [ids]), g.int64s([1]), g.int64s([2])]); // [1] = S
  const positions = g.op('Slice', [positionTable, g.int64s([0]), length, g.int64s([0])]); // [S,W]
  let x = g.op('Add', [g.op('Gather', [tokenTable, ids]), positions]); // [B,S,W]

  // Causal mask [S,S] cut from a fixed 77×77 one, plus padding mask [B,1,1,S]: logits bias [B,1,S,S].
  const causalData = new Float32Array(context * context);
  for (let row = 0; row < context; row++)
    causalData.fill(MASKED, row * context + row + 1, (row + 1) * context);
  const causalTable = g.initializer('text_model.causal_mask', causalData, [context, context]);
  const ends = g.op('Concat', [length, length], { axis: 0 });
  const causal = g.op('Slice', [causalTable, g.int64s([0, 0]), ends, g.int64s([0, 1])]);
  const keep = g.op('Cast', [mask], { to: 1 });
  const padding = g.op('Unsqueeze', [
    g.op('Mul', [g.op('Sub', [g.floats([1], []), keep]), g.floats([MASKED], [])]),
    g.int64s([1, 2]),
  ]);
  const attentionBias = g.op('Add', [causal, padding]);

  for (let layer = 0; layer < 12; layer++) {
    x = encoderLayer(t, x, `text_model.encoder.layers.${layer}`, attentionBias);
  }
  x = layerNorm(t, x, 'text_model.final_layer_norm');
  const eos = g.op('ArgMax', [ids], { axis: 1, keepdims: 1 }); // [B,1]: first position of the largest id
  const pooled = g.op('GatherND', [x, eos], { batch_dims: 1 }); // [B,W]
  linearInto(t, pooled, t.width, VIT_B32_EMBED_DIM, 'text_projection', 'text_embeds');
  g.output('text_embeds', 'float32', ['batch', VIT_B32_EMBED_DIM]);
  return g;
}

/**
 * Writes a random-weight CLIP ViT-B/32 text encoder to `file`: `input_ids`, `attention_mask` int64
 * [batch, sequence ≤ 77] → `text_embeds` float32 [batch, 512]. About 254 MB; same bytes for the same seed.
 */
export async function writeClipTextEncoder(
  file: string,
  options: RandomEncoderOptions = {},
): Promise<EncoderFileInfo> {
  return writeModel(
    file,
    buildClipTextEncoder(options),
    'random-weight CLIP ViT-B/32 text encoder (benchmarks only)',
  );
}
