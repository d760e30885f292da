/**
 * Which model is active, and what models are installed. Models live in `<data dir>/models/<id>/`. The
 * active one is, in order: `REEL_MODEL` (an id or a folder path), the id saved by `reel models use` in
 * `<data dir>/models/active-model.json`, or the built-in default, the synthetic model.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FINGERPRINT_CACHE_FILE } from './model-fingerprint.ts';
import { inspectModelFolder, type ModelFolderReport, resolveModelDir } from './model-layout.ts';
import { type Calibration, readCalibration } from './quantize/calibrate.ts';
import {
  DEFAULT_PRECISION,
  type EncoderPrecision,
  type PrecisionSettings,
  resolvePrecision,
} from './quantize/precision.ts';

export const DEFAULT_MODEL_ID = 'reel-synthetic-clip';
/** Where `reel models synth --multilingual` and `reel demo --multilingual` put the multilingual synthetic model. */
export const SYNTHETIC_MULTILINGUAL_ID = 'reel-synthetic-multilingual';
export const ACTIVE_MODEL_FILE = 'active-model.json';

export type ActiveModelSource = 'REEL_MODEL' | 'reel models use' | 'default';

export interface ActiveModel {
  /** The id or path as configured. */
  name: string;
  /** The folder to load: the configured one, or its quantized copy chosen by the precision settings. */
  dir: string;
  source: ActiveModelSource;
  /** The configured folder, before the precision settings picked a quantized copy. */
  configuredDir: string;
  /** Each encoder's precision and why. */
  precision: { image: EncoderPrecision; text: EncoderPrecision };
}

/** The id saved by `reel models use`, if any. */
export function readSavedModel(modelsDir: string): string | undefined {
  try {
    const saved = JSON.parse(readFileSync(path.join(modelsDir, ACTIVE_MODEL_FILE), 'utf8')) as {
      model?: unknown;
    };
    return typeof saved.model === 'string' && saved.model !== '' ? saved.model : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The active model (see the file header), at the precisions `precision` asks for: with int8 chosen
 * for an encoder (`auto` needs a passing calibration), `dir` is the matching quantized copy that
 * `reel models quantize` wrote beside the model. A different `dir` means a different fingerprint, so a
 * precision change is a model change (backfill, no mixed vectors).
 */
export function resolveActiveModel(
  configured: string | undefined,
  modelsDir: string,
  precision: PrecisionSettings = DEFAULT_PRECISION,
): ActiveModel {
  const saved = configured ? undefined : readSavedModel(modelsDir);
  const [name, source]: [string, ActiveModelSource] = configured
    ? [configured, 'REEL_MODEL']
    : saved
      ? [saved, 'reel models use']
      : [DEFAULT_MODEL_ID, 'default'];
  const configuredDir = resolveModelDir(name, modelsDir);
  const resolved = resolvePrecision(configuredDir, modelsDir, precision);
  return {
    name,
    dir: resolved.dir,
    source,
    configuredDir,
    precision: { image: resolved.image, text: resolved.text },
  };
}

/** Saves `model` as the active one (atomically: a reader never sees a half-written file). */
export async function saveActiveModel(modelsDir: string, model: string): Promise<void> {
  await mkdir(modelsDir, { recursive: true });
  const file = path.join(modelsDir, ACTIVE_MODEL_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ model, savedAt: new Date().toISOString() }, null, 2)}\n`);
  await rename(tmp, file);
}

export interface InstalledModel {
  id: string;
  dir: string;
  report: ModelFolderReport;
  /** From the fingerprint cache, when the model has been loaded before. */
  fingerprint: string | undefined;
  /** A quantized copy's `calibration.json` (see `reel models quantize`). */
  calibration: Calibration | undefined;
}

/** Model folders under `modelsDir` (hidden folders, e.g. partial downloads, are skipped). */
export function listInstalledModels(modelsDir: string): InstalledModel[] {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => {
      const dir = path.join(modelsDir, entry.name);
      let fingerprint: string | undefined;
      try {
        fingerprint = (
          JSON.parse(readFileSync(path.join(dir, FINGERPRINT_CACHE_FILE), 'utf8')) as { fingerprint?: string }
        ).fingerprint;
      } catch {
        fingerprint = undefined;
      }
      return {
        id: entry.name,
        dir,
        report: inspectModelFolder(dir),
        fingerprint,
        calibration: readCalibration(dir),
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}
