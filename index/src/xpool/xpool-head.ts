/**
 * The learned X-Pool pooling head (Gorti et al., CVPR 2022; layer6ai-labs/xpool, modules/transformer.py),
 * loaded from a `.safetensors` file that holds the reference checkpoint's `pool_frames.*` parameters
 * under their reference names. D is read from the file (512 for ViT-B/32); {@link checkXPoolHeadDim}
 * tells the caller whether it fits the CLIP model in use.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import {
  FLOAT_DTYPES,
  parseSafetensors,
  readSafetensorsFile,
  type SafetensorsFile,
  tensorToFloat32,
} from './safetensors.ts';

/** PyTorch's LayerNorm default, which the reference uses for all three. */
export const XPOOL_LAYER_NORM_EPS = 1e-5;

/** A PyTorch `LayerNorm(D)`: y = γ ⊙ (x − mean) / sqrt(var + eps) + β. */
export interface LayerNormParams {
  /** γ, D values. */
  weight: Float32Array;
  /** β, D values. */
  bias: Float32Array;
}

/** A PyTorch `Linear(D, D)`: y = W x + b. */
export interface LinearParams {
  /** W, D×D row-major [out, in], as PyTorch stores it. */
  weight: Float32Array;
  /** b, D values. */
  bias: Float32Array;
}

/** The X-Pool head's parameters (one attention head, as the reference's `num_mha_heads = 1`). */
export interface XPoolHead {
  /** Embedding size D. */
  dim: number;
  /** LayerNorm epsilon (1e-5). */
  eps: number;
  layerNorm1: LayerNormParams;
  qProj: LinearParams;
  kProj: LinearParams;
  vProj: LinearParams;
  outProj: LinearParams;
  layerNorm2: LayerNormParams;
  linearProj: LinearParams;
  layerNorm3: LayerNormParams;
  /**
   * FNV-1a hash (32-bit) of every parameter's float32 bytes in a fixed order. Caches built with one
   * head record it, so scoring refuses a cache from different weights instead of returning wrong
   * scores.
   */
  checksum: number;
  /** Where the head came from (file name), for messages. */
  source: string;
}

type ParamKey =
  | 'layerNorm1'
  | 'qProj'
  | 'kProj'
  | 'vProj'
  | 'outProj'
  | 'layerNorm2'
  | 'linearProj'
  | 'layerNorm3';

/** Reference tensor names, in the order the checksum reads them. */
const PARAMETERS: ReadonlyArray<{ key: ParamKey; prefix: string; kind: 'layerNorm' | 'linear' }> = [
  { key: 'layerNorm1', prefix: 'pool_frames.layer_norm1', kind: 'layerNorm' },
  { key: 'qProj', prefix: 'pool_frames.cross_attn.q_proj', kind: 'linear' },
  { key: 'kProj', prefix: 'pool_frames.cross_attn.k_proj', kind: 'linear' },
  { key: 'vProj', prefix: 'pool_frames.cross_attn.v_proj', kind: 'linear' },
  { key: 'outProj', prefix: 'pool_frames.cross_attn.out_proj', kind: 'linear' },
  { key: 'layerNorm2', prefix: 'pool_frames.layer_norm2', kind: 'layerNorm' },
  { key: 'linearProj', prefix: 'pool_frames.linear_proj', kind: 'linear' },
  { key: 'layerNorm3', prefix: 'pool_frames.layer_norm3', kind: 'layerNorm' },
];

/** Every tensor name an X-Pool head file must hold, with its shape for embedding size `dim`. */
export function xpoolHeadTensorShapes(dim: number): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const { prefix, kind } of PARAMETERS) {
    shapes.set(`${prefix}.weight`, kind === 'linear' ? [dim, dim] : [dim]);
    shapes.set(`${prefix}.bias`, [dim]);
  }
  return shapes;
}

/** D from the first expected tensor present with a plausible shape, or undefined. */
function inferDim(file: SafetensorsFile): number | undefined {
  for (const [name, shape] of xpoolHeadTensorShapes(1)) {
    const found = file.tensors.get(name)?.shape;
    if (found !== undefined && found.length === shape.length && found[0]! > 0) return found[0];
  }
  return undefined;
}

function fnv1a(hash: number, values: Float32Array): number {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let h = hash;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * Builds an X-Pool head from parsed safetensors tensors. Every problem is collected (missing, extra,
 * mis-shaped, unsupported dtype) and reported in one error, so a bad export is fixed in one round.
 *
 * @param expectedDim if given, D must equal it; otherwise D is read from the file.
 * @throws ReelError XPOOL_HEAD_INVALID listing every problem, prefixed with the file name.
 */
export function xpoolHeadFromSafetensors(
  file: SafetensorsFile,
  fileName: string,
  expectedDim?: number,
): XPoolHead {
  const dim = expectedDim ?? inferDim(file);
  const problems: string[] = [];
  const expected = xpoolHeadTensorShapes(dim ?? 0);
  const values = new Map<string, Float32Array>();
  if (dim === undefined) {
    problems.push('cannot tell the embedding size: no pool_frames.* tensor of shape [D] or [D,D]');
  }
  for (const [name, shape] of expected) {
    const tensor = file.tensors.get(name);
    if (tensor === undefined) {
      problems.push(`missing ${name}`);
      continue;
    }
    if (dim !== undefined && tensor.shape.join(',') !== shape.join(','))
      problems.push(`${name}: expected shape [${shape.join(',')}], got [${tensor.shape.join(',')}]`);
    const floats = tensorToFloat32(tensor);
    if (floats === undefined)
      problems.push(`${name}: expected dtype ${FLOAT_DTYPES.join(', ')}, got ${tensor.dtype}`);
    else values.set(name, floats);
  }
  for (const name of file.tensors.keys()) if (!expected.has(name)) problems.push(`unexpected tensor ${name}`);
  if (problems.length > 0 || dim === undefined) {
    throw new ReelError(
      IndexErrorCode.XPOOL_HEAD_INVALID,
      `${fileName}: not a valid X-Pool head (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}`,
      { details: { file: fileName, problems } },
    );
  }
  const head: Partial<Record<ParamKey, LayerNormParams | LinearParams>> = {};
  let checksum = 0x811c9dc5;
  for (const { key, prefix } of PARAMETERS) {
    const weight = values.get(`${prefix}.weight`)!;
    const bias = values.get(`${prefix}.bias`)!;
    checksum = fnv1a(fnv1a(checksum, weight), bias);
    head[key] = { weight, bias };
  }
  return {
    ...(head as Record<ParamKey, LinearParams>),
    dim,
    eps: XPOOL_LAYER_NORM_EPS,
    checksum,
    source: fileName,
  };
}

/**
 * Parses an X-Pool head from `.safetensors` bytes.
 *
 * @throws ReelError SAFETENSORS_INVALID (malformed file) or XPOOL_HEAD_INVALID (wrong tensors).
 */
export function parseXPoolHead(bytes: Uint8Array, fileName: string, expectedDim?: number): XPoolHead {
  return xpoolHeadFromSafetensors(parseSafetensors(bytes, fileName), fileName, expectedDim);
}

/**
 * Loads an X-Pool head from a `.safetensors` file holding the reference checkpoint's `pool_frames.*`
 * parameters (F32, or F16/BF16 widened to float32).
 *
 * @param expectedDim if given, every tensor must be shaped for this D.
 * @throws ReelError SAFETENSORS_INVALID (unreadable or malformed) or XPOOL_HEAD_INVALID (wrong tensors).
 */
export async function loadXPoolHead(filePath: string, expectedDim?: number): Promise<XPoolHead> {
  const file = await readSafetensorsFile(filePath);
  const fileName = filePath.split(/[\\/]/).pop() ?? filePath;
  return xpoolHeadFromSafetensors(file, fileName, expectedDim);
}

/**
 * Checks the head fits the CLIP model whose embeddings it will pool.
 *
 * @param modelDim the model's embedding size (e.g. 512 for ViT-B/32).
 * @throws ReelError XPOOL_DIM_MISMATCH when they differ.
 */
export function checkXPoolHeadDim(head: XPoolHead, modelDim: number, modelName = 'the CLIP model'): void {
  if (head.dim !== modelDim)
    throw new ReelError(
      IndexErrorCode.XPOOL_DIM_MISMATCH,
      `${head.source}: X-Pool head is for embeddings of ${head.dim}, but ${modelName} outputs ${modelDim}`,
    );
}
