/**
 * The learned X-Pool pooling head (Gorti et al., CVPR 2022; layer6ai-labs/xpool, modules/transformer.py),
 * loaded from a `.safetensors` file: either just the reference checkpoint's `pool_frames.*` parameters,
 * or its whole `state_dict` (the `.pth` files the reference publishes hold `{epoch, state_dict,
 * optimizer}` with every `clip.*` tensor beside the head; a DataParallel run prefixes `module.`). Only
 * `pool_frames.*` is read. D is read from the file (512 for ViT-B/32); {@link checkXPoolHeadDim} tells the
 * caller whether it fits the CLIP model in use.
 *
 * The head was trained with a fine-tuned CLIP: with another CLIP its attention is meaningless though
 * the dimensions fit. The file's `__metadata__` may say which model it belongs to
 * (`reel.model_fingerprint`, the `sha256:…` reel prints for a model folder; `reel.model`, a name), and
 * {@link xpoolHeadPairingWarning} says when it is used with another, or when it does not say.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import {
  FLOAT_DTYPES,
  parseSafetensors,
  readSafetensorsFile,
  type SafetensorsFile,
  type SafetensorsTensor,
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
  /** The CLIP model the file's metadata says the head was trained with, when it says. */
  pairedModel?: { fingerprint?: string; name?: string };
  /** Tensors of the file that are not the head (a whole checkpoint's `clip.*`), ignored. */
  ignoredTensors?: number;
}

/** Metadata keys naming the CLIP model a head belongs to. */
export const XPOOL_MODEL_FINGERPRINT_KEY = 'reel.model_fingerprint';
export const XPOOL_MODEL_NAME_KEY = 'reel.model';

/** A checkpoint name as the head's reference name: DataParallel's `module.` prefixes dropped. */
function headName(name: string): string {
  let out = name;
  while (out.startsWith('module.')) out = out.slice('module.'.length);
  return out;
}

/** True for the tensors of the head (after {@link headName}); everything else in a checkpoint is skipped. */
function isHeadTensor(name: string): boolean {
  return headName(name).startsWith('pool_frames.');
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
  checkpoint: SafetensorsFile,
  fileName: string,
  expectedDim?: number,
): XPoolHead {
  // Keep the head's tensors under their reference names; a whole checkpoint's others are ignored.
  const tensors = new Map<string, SafetensorsTensor>();
  const problems: string[] = [];
  for (const [name, tensor] of checkpoint.tensors) {
    if (!isHeadTensor(name)) continue;
    const reference = headName(name);
    if (tensors.has(reference)) problems.push(`${reference} appears twice (with and without module.)`);
    tensors.set(reference, tensor);
  }
  const ignoredTensors = checkpoint.names.filter((name) => !isHeadTensor(name)).length;
  const file: SafetensorsFile = { tensors, metadata: checkpoint.metadata, names: [...tensors.keys()] };
  if (tensors.size === 0 && ignoredTensors > 0) {
    const problem = `no pool_frames.* tensors among its ${ignoredTensors} (is it an X-Pool checkpoint?)`;
    throw new ReelError(
      IndexErrorCode.XPOOL_HEAD_INVALID,
      `${fileName}: not a valid X-Pool head: ${problem}`,
      {
        details: { file: fileName, problems: [problem] },
      },
    );
  }
  const dim = expectedDim ?? inferDim(file);
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
  const fingerprint = checkpoint.metadata[XPOOL_MODEL_FINGERPRINT_KEY];
  const name = checkpoint.metadata[XPOOL_MODEL_NAME_KEY];
  return {
    ...(head as Record<ParamKey, LinearParams>),
    dim,
    eps: XPOOL_LAYER_NORM_EPS,
    checksum,
    source: fileName,
    pairedModel:
      fingerprint || name
        ? { ...(fingerprint ? { fingerprint } : {}), ...(name ? { name } : {}) }
        : undefined,
    ignoredTensors,
  };
}

/**
 * What to tell the user about using `head` with `model`: undefined when the head's metadata names this
 * model's fingerprint; otherwise a sentence saying it was trained with another model, or that it does
 * not say which (X-Pool's scores mean something only with the CLIP it was trained with).
 */
export function xpoolHeadPairingWarning(
  head: XPoolHead,
  model: { fingerprint: string; name: string },
): string | undefined {
  const paired = head.pairedModel;
  if (paired?.fingerprint === model.fingerprint) return undefined;
  if (paired?.fingerprint) {
    return `X-Pool head ${head.source} was trained with ${paired.name ?? paired.fingerprint} (${paired.fingerprint.slice(0, 19)}…), but model ${model.name} (${model.fingerprint.slice(0, 19)}…) makes the embeddings: its pooling will not mean what it learned`;
  }
  return `X-Pool head ${head.source} does not say which CLIP it was trained with (no ${XPOOL_MODEL_FINGERPRINT_KEY} in its metadata): it is only meaningful with that CLIP; add ${XPOOL_MODEL_FINGERPRINT_KEY}=${model.fingerprint} if ${model.name} is the one`;
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
  const file = await readSafetensorsFile(filePath, isHeadTensor);
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
