/**
 * The two model-folder layouts reel loads, and which files each needs. Pure data plus one folder
 * inspection: loading and validating the ONNX files themselves happens in the model loader.
 *
 * - `hf`: Hugging Face / Transformers.js export: `onnx/{text,vision}_model[_quantized].onnx`,
 *   `tokenizer.json`, `preprocessor_config.json`, `config.json`.
 * - `immich`: immich's export: `config.json`, `textual/{model.onnx,tokenizer.json,tokenizer_config.json}`,
 *   `visual/{model.onnx,preprocess_cfg.json}`.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from './errors.ts';
import { externalDataFiles } from './onnx/external-data.ts';

export const MODEL_LAYOUTS = ['hf', 'immich'] as const;
export type ModelLayout = (typeof MODEL_LAYOUTS)[number];

/** Which encoder weights to use: full precision or a quantized export. */
export const MODEL_VARIANTS = ['fp32', 'quantized'] as const;
export type ModelVariant = (typeof MODEL_VARIANTS)[number];

/** Relative paths (POSIX separators) of the files a model folder of this layout needs. */
export interface LayoutFiles {
  textModel: string;
  visionModel: string;
  tokenizer: string;
  /** Image preprocessing config: HF `preprocessor_config.json` or immich `visual/preprocess_cfg.json`. */
  preprocess: string;
  /** Every file the layout needs, including the ones above. */
  all: string[];
}

export function layoutFiles(layout: ModelLayout, variant: ModelVariant = 'fp32'): LayoutFiles {
  if (layout === 'hf') {
    const suffix = variant === 'quantized' ? '_quantized' : '';
    const files = {
      textModel: `onnx/text_model${suffix}.onnx`,
      visionModel: `onnx/vision_model${suffix}.onnx`,
      tokenizer: 'tokenizer.json',
      preprocess: 'preprocessor_config.json',
    };
    return { ...files, all: [...Object.values(files), 'config.json'] };
  }
  // immich ships one precision per folder; a quantized immich model is a different model id.
  const files = {
    textModel: 'textual/model.onnx',
    visionModel: 'visual/model.onnx',
    tokenizer: 'textual/tokenizer.json',
    preprocess: 'visual/preprocess_cfg.json',
  };
  return { ...files, all: [...Object.values(files), 'config.json', 'textual/tokenizer_config.json'] };
}

/** What {@link inspectModelFolder} found in a folder. */
export type ModelFolderReport =
  | { ok: true; dir: string; layout: ModelLayout; variant: ModelVariant; files: LayoutFiles }
  | { ok: false; dir: string; problem: string };

/** True if `file` exists under `dir` and is a non-empty regular file. */
function hasFile(dir: string, file: string): boolean {
  const full = path.join(dir, file);
  return existsSync(full) && statSync(full).isFile() && statSync(full).size > 0;
}

/**
 * Works out a folder's layout and checks that every file it needs is present and non-empty. A folder
 * with both full-precision and quantized HF encoders reports `fp32` unless `variant` asks otherwise.
 */
export function inspectModelFolder(dir: string, variant?: ModelVariant): ModelFolderReport {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return { ok: false, dir, problem: `model folder ${dir} does not exist` };
  }
  const candidates: { layout: ModelLayout; variant: ModelVariant }[] =
    hasFile(dir, 'visual/model.onnx') || hasFile(dir, 'textual/model.onnx')
      ? [{ layout: 'immich', variant: 'fp32' }]
      : (variant ? [variant] : MODEL_VARIANTS).map((v) => ({ layout: 'hf' as const, variant: v }));

  let best: { layout: ModelLayout; variant: ModelVariant; missing: string[] } | undefined;
  for (const candidate of candidates) {
    const files = layoutFiles(candidate.layout, candidate.variant);
    const missing = files.all.filter((file) => !hasFile(dir, file));
    if (missing.length === 0) return { ok: true, dir, ...candidate, files };
    if (!best || missing.length < best.missing.length) best = { ...candidate, missing };
  }
  const { layout, missing } = best!;
  const what = layout === 'hf' ? 'Hugging Face (onnx/*.onnx)' : 'immich (textual/, visual/)';
  return {
    ok: false,
    dir,
    problem: `model folder ${dir} is incomplete for the ${what} layout: missing or empty ${missing.join(', ')}`,
  };
}

/**
 * Every file the model in `dir` uses: the layout's files plus the external-data files its encoders
 * name (models over 2 GB keep their weights beside the `.onnx`). What the fingerprint covers, what pull
 * fetches. Read from the `.onnx` files without loading their weights.
 * @throws ReelError `MODEL_INVALID`: an encoder names a location outside the folder, or a file it names
 *   is missing or empty (listing them).
 */
export async function modelFiles(
  dir: string,
  files: LayoutFiles,
): Promise<{ all: string[]; external: string[] }> {
  const external: string[] = [];
  for (const encoder of [files.textModel, files.visionModel]) {
    // A malformed encoder is the loader's to report (ingest-only workers never load one); an unsafe
    // location is refused here, always.
    external.push(...(await externalDataFiles(path.join(dir, encoder), dir, { tolerateMalformed: true })));
  }
  const missing = external.filter((file) => !hasFile(dir, file));
  if (missing.length > 0) {
    throw new ReelError(
      ModelErrorCode.MODEL_INVALID,
      `model folder ${dir} is incomplete: its encoders keep weights in ${missing.join(', ')}, missing or empty; pull the model again`,
      { details: { dir, missing } },
    );
  }
  const unique = [...new Set(external)];
  return { all: [...files.all, ...unique], external: unique };
}

/**
 * Where a model named in config lives: an id is a folder under `modelsDir`; anything that looks like a
 * path (contains a slash or starts with a dot or ~) is used as given, relative to `cwd`.
 */
export function resolveModelDir(model: string, modelsDir: string, cwd = process.cwd()): string {
  return /[/\\]|^[.~]/.test(model) ? path.resolve(cwd, model) : path.join(modelsDir, model);
}
