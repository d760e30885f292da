/**
 * Which model folders a process may load when a job or the search-model pointer (both in Redis) names
 * one: folders inside the models folder, and the active model's own folder (REEL_MODEL may name one
 * elsewhere) with the precision copy it resolves to. Anything else is a path from a payload someone
 * else may have written: loading it would let that someone choose the files onnxruntime reads.
 */
import path from 'node:path';
import { type ReelConfig, ReelError } from '@reel/infra';
import { resolveActiveModel } from '@reel/models';

function inside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** Throws MODEL_NOT_ALLOWED unless `dir` is a model folder this configuration may load. */
export function checkModelDir(
  config: Pick<ReelConfig, 'model' | 'paths' | 'imagePrecision' | 'textPrecision'>,
  dir: string,
): string {
  const wanted = path.resolve(dir);
  if (inside(path.resolve(config.paths.models), wanted)) return dir;
  const active = resolveActiveModel(config.model, config.paths.models, {
    image: config.imagePrecision,
    text: config.textPrecision,
  });
  if ([active.configuredDir, active.dir].some((allowed) => path.resolve(allowed) === wanted)) return dir;
  throw new ReelError(
    'MODEL_NOT_ALLOWED',
    `model folder ${dir}: not in the models folder nor the active model (REEL_MODEL); a job or pointer naming it was not written by reel`,
  );
}
