/**
 * Which model family a folder holds, from its own config files, and what that family decides: how
 * texts are cleaned, how long they may be and whether they are padded to that length. The tokenizer's
 * kind comes from `tokenizer.json` itself ({@link loadTextTokenizer}); input names and types from the
 * ONNX graph (the encoders); embeddings are compared by cosine in every family (SigLIP's sigmoid of a
 * scaled cosine orders a query's results the same way).
 *
 * - Hugging Face layout, `config.json` `model_type`: `clip` (OpenAI/open_clip CLIP: pad to the longest
 *   text, as Transformers.js does), `siglip`/`siglip2` (pad to the context length, 64 unless the
 *   config says otherwise, as SigLIP was trained and Transformers.js pads it).
 * - immich layout, open_clip's `config.json` `text_cfg`: a tokenizer named in `hf_tokenizer_name` or
 *   `hf_model_name` is SigLIP when the name says so, else a multilingual text tower (XLM-R, NLLB). No
 *   name means OpenAI's CLIP tokenizer, unless `tokenizer.json` is not CLIP's BPE: immich's M-CLIP
 *   exports (`XLM-Roberta-Large-Vit-B-16Plus`, …) carry the open_clip config of their vision tower
 *   only, and their XLM-R tokenizer says what they are ({@link refineFamily}). immich pads every family to `context_length` (77
 *   unless set) and cleans texts (whitespace collapsed; `tokenizer_kwargs.clean: canonicalize` also drops
 *   ASCII punctuation and lowercases).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from './errors.ts';
import type { ModelLayout } from './model-layout.ts';
import type { TextCleaning } from './tokenizers/hf-tokenizer.ts';

export const MODEL_FAMILIES = ['clip', 'siglip', 'multilingual-clip'] as const;
export type ModelFamilyName = (typeof MODEL_FAMILIES)[number];

/** HF `model_type` values reel runs, and their family. */
const HF_MODEL_TYPES: Readonly<Record<string, ModelFamilyName>> = {
  clip: 'clip',
  siglip: 'siglip',
  siglip2: 'siglip',
};

export interface ModelFamily {
  name: ModelFamilyName;
  /** What in the folder said so, e.g. `config.json model_type "siglip"`. */
  evidence: string;
  /** Token length the config declares, when it does. */
  contextLength: number | undefined;
  /** Pad every text to the context length (else to the longest text in a batch). */
  padToContextLength: boolean;
  /** Cleaning before a non-CLIP tokenizer. */
  cleaning: TextCleaning;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const positiveInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 2 ? value : undefined;

function unsupported(dir: string, what: string): ReelError {
  return new ReelError(
    ModelErrorCode.MODEL_FAMILY_UNSUPPORTED,
    `model folder ${dir}: ${what}; reel runs ${MODEL_FAMILIES.join(', ')} (HF model_type ${Object.keys(HF_MODEL_TYPES).join(', ')}, or an immich export)`,
    { details: { dir } },
  );
}

async function readObject(file: string): Promise<Json | undefined> {
  try {
    const json: unknown = JSON.parse(await readFile(file, 'utf8'));
    return isObject(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The family of the model in `dir` (its layout already known).
 * @throws ReelError `MODEL_FAMILY_UNSUPPORTED` naming the family found and the ones supported.
 */
export async function detectModelFamily(dir: string, layout: ModelLayout): Promise<ModelFamily> {
  const config = await readObject(path.join(dir, 'config.json'));
  if (!config) throw unsupported(dir, 'config.json is missing or not a JSON object');
  if (layout === 'hf')
    return hfFamily(dir, config, await readObject(path.join(dir, 'tokenizer_config.json')));
  return immichFamily(dir, config);
}

/**
 * The family once the tokenizer is known: an immich `clip` whose `tokenizer.json` is not CLIP's BPE is
 * a multilingual text tower (M-CLIP, LaBSE), whatever its open_clip config says.
 */
export function refineFamily(family: ModelFamily, isClipTokenizer: boolean, kind?: string): ModelFamily {
  if (family.name !== 'clip' || isClipTokenizer) return family;
  return {
    ...family,
    name: 'multilingual-clip',
    evidence: `${family.evidence}, with a ${kind ?? 'non-CLIP'} tokenizer.json`,
  };
}

function hfFamily(dir: string, config: Json, tokenizerConfig: Json | undefined): ModelFamily {
  const type = config.model_type;
  // Old CLIP exports leave model_type out; the architecture still says CLIP.
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  const inferred = type === undefined && architectures.includes('CLIPModel') ? 'clip' : type;
  const name = typeof inferred === 'string' ? HF_MODEL_TYPES[inferred] : undefined;
  if (!name) {
    throw unsupported(
      dir,
      `config.json has model_type ${JSON.stringify(type ?? null)}, which is not a supported family`,
    );
  }
  const text = isObject(config.text_config) ? config.text_config : {};
  const declared =
    positiveInt(text.max_position_embeddings) ??
    (name === 'siglip' ? positiveInt(tokenizerConfig?.model_max_length) : undefined);
  return {
    name,
    evidence: `config.json model_type "${inferred}"`,
    contextLength: declared ?? (name === 'siglip' ? 64 : undefined),
    padToContextLength: name === 'siglip',
    cleaning: 'none',
  };
}

function immichFamily(dir: string, config: Json): ModelFamily {
  const text = config.text_cfg;
  if (!isObject(text)) throw unsupported(dir, 'config.json has no text_cfg (not an open_clip/immich config)');
  const hfName = [text.hf_tokenizer_name, text.hf_model_name].find((v) => typeof v === 'string') as
    | string
    | undefined;
  const kwargs = isObject(text.tokenizer_kwargs) ? text.tokenizer_kwargs : {};
  const name: ModelFamilyName = !hfName ? 'clip' : /siglip/i.test(hfName) ? 'siglip' : 'multilingual-clip';
  return {
    name,
    evidence: hfName
      ? `config.json text_cfg names the tokenizer "${hfName}"`
      : 'config.json text_cfg (open_clip CLIP)',
    contextLength: positiveInt(text.context_length) ?? 77,
    padToContextLength: true,
    cleaning: kwargs.clean === 'canonicalize' ? 'canonicalize' : 'whitespace',
  };
}
