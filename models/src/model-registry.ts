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

export const DEFAULT_MODEL_ID = 'reel-synthetic-clip';
export const ACTIVE_MODEL_FILE = 'active-model.json';

export type ActiveModelSource = 'REEL_MODEL' | 'reel models use' | 'default';

export interface ActiveModel {
  /** The id or path as configured. */
  name: string;
  dir: string;
  source: ActiveModelSource;
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

export function resolveActiveModel(configured: string | undefined, modelsDir: string): ActiveModel {
  if (configured)
    return { name: configured, dir: resolveModelDir(configured, modelsDir), source: 'REEL_MODEL' };
  const saved = readSavedModel(modelsDir);
  if (saved) return { name: saved, dir: resolveModelDir(saved, modelsDir), source: 'reel models use' };
  return { name: DEFAULT_MODEL_ID, dir: path.join(modelsDir, DEFAULT_MODEL_ID), source: 'default' };
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
      return { id: entry.name, dir, report: inspectModelFolder(dir), fingerprint };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}
