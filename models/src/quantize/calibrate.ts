/**
 * How much a quantized model loses, measured: cosine between the fp32 and int8 embeddings of the same
 * items (mean, 1st percentile, minimum), and how far a small text→image retrieval over those items
 * still agrees (overlap of the top-10 images per text). Written as `calibration.json` beside a quantized
 * model and read back when choosing an encoder's precision. Pure, apart from reading/writing that file.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RawFrame } from '../clip/preprocess.ts';
import { mulberry32 } from '../seeded-random.ts';

export const CALIBRATION_FILE = 'calibration.json';

/** The 1st-percentile cosine an encoder must reach for `auto` precision to pick int8. */
export const DEFAULT_CALIBRATION_THRESHOLD = 0.99;

/**
 * The top-10 retrieval agreement with fp32 a copy must also reach for `auto` to pick it: embeddings can
 * each stay close (high cosines) and still reorder near-ties enough to change what a search returns.
 */
export const DEFAULT_RETRIEVAL_AGREEMENT = 0.95;

export type Precision = 'fp32' | 'int8';

export interface CosineStats {
  /** Items compared. */
  count: number;
  mean: number;
  /** 1st percentile (nearest rank). */
  p1: number;
  min: number;
}

/** One encoder's calibration. */
export interface EncoderCalibration extends CosineStats {
  /** `p1 ≥ threshold`. */
  passed: boolean;
  /** Layers written as int8, and the ones left in fp32 (node names) with why. */
  quantizedLayers: number;
  keptLayers: { node: string; reason: string }[];
}

/** What `calibration.json` holds. */
export interface Calibration {
  version: 1;
  /** The fp32 model this folder was made from. */
  source: { id: string; fingerprint: string };
  /** Precision of each encoder in this folder. */
  precision: { image: Precision; text: Precision };
  createdAt: string;
  /** How quantized layers are written (see quantize-graph.ts). */
  format: string;
  threshold: number;
  items: { images: number; imageSource: string; texts: number };
  image: EncoderCalibration;
  text: EncoderCalibration;
  /** Text→image retrieval over the calibration items with this folder's encoders against fp32 ones. */
  retrieval: { k: number; agreement: number };
}

/** Dot products of matching rows (both sides L2-normalised, so cosines). */
export function cosines(a: readonly Float32Array[], b: readonly Float32Array[]): number[] {
  if (a.length !== b.length) throw new RangeError(`cosines: ${a.length} rows against ${b.length}`);
  return a.map((row, i) => {
    const other = b[i]!;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = 0; j < row.length; j++) {
      dot += row[j]! * other[j]!;
      na += row[j]! * row[j]!;
      nb += other[j]! * other[j]!;
    }
    return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
  });
}

export function cosineStats(values: readonly number[]): CosineStats {
  if (values.length === 0) throw new RangeError('cosineStats: no values');
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.max(0, Math.ceil(0.01 * sorted.length) - 1);
  return {
    count: sorted.length,
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    p1: sorted[rank]!,
    min: sorted[0]!,
  };
}

function scores(query: Float32Array, gallery: readonly Float32Array[]): number[] {
  return gallery.map((item) => {
    let dot = 0;
    for (let j = 0; j < item.length; j++) dot += item[j]! * query[j]!;
    return dot;
  });
}

function topK(scored: readonly number[], k: number): number[] {
  return scored
    .map((dot, index) => ({ index, dot }))
    .sort((x, y) => y.dot - x.dot || x.index - y.index)
    .slice(0, k)
    .map((s) => s.index);
}

/**
 * Reference scores this close to the k-th best are a tie at the edge of the top k: which of them makes
 * it in is not a change a person would see (the same gap the index's int8 frames are judged by, see
 * index/DESIGN.md), and near-duplicate gallery items (frames of one shot) would otherwise count as
 * disagreements.
 */
export const RETRIEVAL_TIE = 1e-3;

/**
 * Mean overlap, in [0, 1], of the top-`k` gallery items per query under two embeddings of the same
 * queries and gallery (reference, candidate). `k` is capped at the gallery size. A candidate pick
 * outside the reference top k still agrees when its reference score ties the k-th best (within
 * {@link RETRIEVAL_TIE}).
 */
export function topKAgreement(
  reference: { queries: readonly Float32Array[]; gallery: readonly Float32Array[] },
  candidate: { queries: readonly Float32Array[]; gallery: readonly Float32Array[] },
  k = 10,
): number {
  const kk = Math.min(k, reference.gallery.length);
  if (kk === 0 || reference.queries.length === 0) return 1;
  let total = 0;
  reference.queries.forEach((query, i) => {
    const referenceScores = scores(query, reference.gallery);
    const expected = topK(referenceScores, kk);
    const edge = referenceScores[expected[kk - 1]!]! - RETRIEVAL_TIE;
    const kept = new Set(expected);
    const picks = topK(scores(candidate.queries[i]!, candidate.gallery), kk);
    total += picks.filter((x) => kept.has(x) || referenceScores[x]! >= edge).length / kk;
  });
  return total / reference.queries.length;
}

/** Deterministic PRNG (mulberry32) in [0, 1). */
const random = mulberry32;

/**
 * Generated calibration images for a model with no indexed videos yet: `count` RGB frames of `size`²
 * pixels cycling through four kinds (two-colour splits, gradients, blocks on a background, noise),
 * varied enough to spread embeddings. Same frames every call.
 */
export function generatedCalibrationImages(count = 64, size = 224): RawFrame[] {
  const next = random(0xca11b);
  const colour = () => [next() * 255, next() * 255, next() * 255] as const;
  return Array.from({ length: count }, (_, index) => {
    const data = new Uint8Array(size * size * 3);
    const [a, b] = [colour(), colour()];
    const kind = index % 4;
    const split = 0.2 + next() * 0.6;
    const vertical = next() < 0.5;
    const box = { x: next() * 0.6, y: next() * 0.6, w: 0.2 + next() * 0.3, h: 0.2 + next() * 0.3 };
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const u = x / size;
        const v = y / size;
        let rgb: readonly number[];
        if (kind === 0) rgb = (vertical ? u : v) < split ? a : b;
        else if (kind === 1) {
          const t = vertical ? u : v;
          rgb = [0, 1, 2].map((c) => a[c]! * (1 - t) + b[c]! * t);
        } else if (kind === 2) {
          rgb = u >= box.x && u < box.x + box.w && v >= box.y && v < box.y + box.h ? a : b;
        } else rgb = [0, 1, 2].map((c) => a[c]! * 0.5 + next() * 127);
        const offset = (y * size + x) * 3;
        data[offset] = rgb[0]!;
        data[offset + 1] = rgb[1]!;
        data[offset + 2] = rgb[2]!;
      }
    }
    return { data, width: size, height: size };
  });
}

/** Calibration texts: everyday captions plus phrases in the synthetic model's small vocabulary. */
export const CALIBRATION_TEXTS: readonly string[] = [
  'a dog running on the beach',
  'a person riding a bicycle in the city',
  'a car driving on a highway at night',
  'people dancing at a party',
  'a cat sleeping on a sofa',
  'a chef cooking in a kitchen',
  'a football match in a stadium',
  'waves crashing on rocks',
  'a plane taking off',
  'a child playing with a ball',
  'snow falling in a forest',
  'a man giving a speech',
  'a woman singing on stage',
  'fireworks in the night sky',
  'a bowl of fruit on a table',
  'a timelapse of clouds over mountains',
  'a red square on the left',
  'a blue circle in the middle',
  'green at the top and yellow at the bottom',
  'a dark frame',
  'a light gray background',
  'orange on the right side',
  'purple block in the centre',
  'black and white stripes',
  'a pink shape at the bottom',
  'cyan everywhere',
  'brown on the left and white on the right',
  'a bright yellow picture',
  'dark blue at the top',
  'a pale green screen',
  'violet in the lower half',
  'turquoise water under a blue sky',
];

/** The calibration in `dir`, if it has a readable one. */
export function readCalibration(dir: string): Calibration | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path.join(dir, CALIBRATION_FILE), 'utf8')) as Calibration;
    return parsed.version === 1 && parsed.image && parsed.text ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `calibration.json` into `dir` atomically. */
export async function writeCalibration(dir: string, calibration: Calibration): Promise<void> {
  const file = path.join(dir, CALIBRATION_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(calibration, null, 2)}\n`);
  await rename(tmp, file);
}

/** `cosine mean 0.9991, p1 0.9962, min 0.9950`: one encoder's figures for people. */
export function describeCosines(stats: CosineStats): string {
  return `cosine mean ${stats.mean.toFixed(4)}, p1 ${stats.p1.toFixed(4)}, min ${stats.min.toFixed(4)}`;
}
