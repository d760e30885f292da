/**
 * Which precision each encoder of the active model runs at. Config (`REEL_IMAGE_PRECISION`,
 * `REEL_TEXT_PRECISION`) says `fp32`, `int8` or `auto`; the answer is a model folder: the fp32 model
 * itself, or one of the quantized copies `reel models quantize` wrote beside it (see quantize-model.ts).
 * `auto` picks int8 for an encoder when a quantized copy exists and its calibration's 1st-percentile
 * cosine reached the threshold. Every choice comes with a one-line reason for logs and `reel doctor`.
 *
 * A folder that is itself a quantized copy (chosen by id with `reel models use` or `REEL_MODEL`) is
 * used as it is: naming a folder wins over the precision settings.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FINGERPRINT_CACHE_FILE } from '../model-fingerprint.ts';
import { inspectModelFolder } from '../model-layout.ts';
import {
  type Calibration,
  DEFAULT_RETRIEVAL_AGREEMENT,
  type Precision,
  readCalibration,
} from './calibrate.ts';

/** The combinations `reel models quantize` writes, with their folder suffix. */
export const QUANTIZED_VARIANTS = [
  { suffix: '-int8', precision: { image: 'int8', text: 'int8' } },
  { suffix: '-int8-image', precision: { image: 'int8', text: 'fp32' } },
  { suffix: '-int8-text', precision: { image: 'fp32', text: 'int8' } },
] as const satisfies readonly { suffix: string; precision: { image: Precision; text: Precision } }[];

/** Id of the folder holding `sourceId` at these precisions (the source itself when both are fp32). */
export function quantizedModelId(sourceId: string, precision: { image: Precision; text: Precision }): string {
  const variant = QUANTIZED_VARIANTS.find(
    (v) => v.precision.image === precision.image && v.precision.text === precision.text,
  );
  return variant ? `${sourceId}${variant.suffix}` : sourceId;
}

export const PRECISION_CHOICES = ['auto', 'fp32', 'int8'] as const;
export type PrecisionChoice = (typeof PRECISION_CHOICES)[number];

/** The configured choice per encoder. */
export interface PrecisionSettings {
  image: PrecisionChoice;
  text: PrecisionChoice;
}

/** Defaults: int8 images when calibration allows (ingest speed), fp32 texts (one query per search). */
export const DEFAULT_PRECISION: PrecisionSettings = { image: 'auto', text: 'fp32' };

export interface EncoderPrecision {
  precision: Precision;
  /** Why, e.g. "auto: calibration p1 cosine 0.9987 ≥ 0.99". */
  reason: string;
  /** True when the setting asked for int8 and could not get it (a doctor failure). */
  unmet?: boolean;
}

export interface ResolvedPrecision {
  /** The folder to load. */
  dir: string;
  image: EncoderPrecision;
  text: EncoderPrecision;
}

const SETTING: Record<'image' | 'text', string> = {
  image: 'REEL_IMAGE_PRECISION',
  text: 'REEL_TEXT_PRECISION',
};

function decide(
  encoder: 'image' | 'text',
  choice: PrecisionChoice,
  calibration: Calibration | undefined,
  sourceId: string,
  stale: boolean,
): EncoderPrecision {
  const setting = `${SETTING[encoder]}=${choice}`;
  if (choice === 'fp32') return { precision: 'fp32', reason: setting };
  if (!calibration) {
    const why = stale ? 'its int8 copy was made from other files than it has now' : 'has no int8 copy';
    return {
      precision: 'fp32',
      reason: `${setting} but ${sourceId} ${why} (make one with: npx reel models quantize ${sourceId}${stale ? ' --force' : ''})`,
      ...(choice === 'int8' ? { unmet: true } : {}),
    };
  }
  const { p1 } = calibration[encoder];
  const agreement = calibration.retrieval?.agreement;
  const k = calibration.retrieval?.k ?? 10;
  const measured = `calibration p1 cosine ${p1.toFixed(4)}${agreement === undefined ? '' : `, top-${k} agreement ${agreement.toFixed(3)}`}`;
  if (choice === 'int8') return { precision: 'int8', reason: `${setting} (${measured})` };
  if (p1 < calibration.threshold)
    return {
      precision: 'fp32',
      reason: `${setting}: p1 cosine ${p1.toFixed(4)} < ${calibration.threshold}, int8 would lose too much`,
    };
  // Close embeddings can still reorder results: the copy must also keep what a search returns.
  if (agreement !== undefined && agreement < DEFAULT_RETRIEVAL_AGREEMENT)
    return {
      precision: 'fp32',
      reason: `${setting}: top-${k} agreement ${agreement.toFixed(3)} < ${DEFAULT_RETRIEVAL_AGREEMENT}, int8 would change search results`,
    };
  return {
    precision: 'int8',
    reason: `${setting}: ${measured} (≥ ${calibration.threshold}${agreement === undefined ? '' : ` and ≥ ${DEFAULT_RETRIEVAL_AGREEMENT}`})`,
  };
}

/** The fingerprint last computed for `dir` (cached beside the model), if any: reading it hashes nothing. */
function cachedFingerprint(dir: string): string | undefined {
  try {
    const cache = JSON.parse(readFileSync(path.join(dir, FINGERPRINT_CACHE_FILE), 'utf8')) as {
      fingerprint?: unknown;
    };
    return typeof cache.fingerprint === 'string' ? cache.fingerprint : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The folder to load for the model in `dir` under `settings`, looking for quantized copies in
 * `modelsDir` (named `<id>-int8*`, made from a source whose id is `dir`'s folder name).
 */
export function resolvePrecision(
  dir: string,
  modelsDir: string,
  settings: PrecisionSettings,
): ResolvedPrecision {
  const own = readCalibration(dir);
  if (own) {
    const named = (encoder: 'image' | 'text') => ({
      precision: own.precision[encoder],
      reason: `the folder chosen is a quantized copy of ${own.source.id} (${SETTING[encoder]} does not apply)`,
    });
    return { dir, image: named('image'), text: named('text') };
  }
  const sourceId = path.basename(path.resolve(dir));
  const copyDir = (image: Precision, text: Precision) =>
    path.join(modelsDir, quantizedModelId(sourceId, { image, text }));
  // Any copy carries the calibration of both encoders; the all-int8 one is always written.
  const candidate = copyDir('int8', 'int8');
  const found = readCalibration(candidate);
  const current = cachedFingerprint(dir);
  const stale = found !== undefined && current !== undefined && found.source.fingerprint !== current;
  const calibration =
    found?.source.id === sourceId && !stale && inspectModelFolder(candidate).ok ? found : undefined;
  const image = decide('image', settings.image, calibration, sourceId, stale);
  const text = decide('text', settings.text, calibration, sourceId, stale);
  if (image.precision === 'fp32' && text.precision === 'fp32') return { dir, image, text };
  const chosen = copyDir(image.precision, text.precision);
  if (!inspectModelFolder(chosen).ok) {
    const missing = `${path.basename(chosen)} is missing or incomplete (redo: npx reel models quantize ${sourceId} --force)`;
    return {
      dir,
      image: {
        precision: 'fp32',
        reason: `${image.reason}; but ${missing}`,
        unmet: image.precision === 'int8',
      },
      text: { precision: 'fp32', reason: `${text.reason}; but ${missing}`, unmet: text.precision === 'int8' },
    };
  }
  return { dir: chosen, image, text };
}
