/**
 * The conventions of `huggingface_hub` that reel follows, so a machine set up for Hugging Face or immich
 * works as it is: where the token and the cache live, offline mode, and the cached copies of a repo.
 *
 * - `HF_HOME` (default `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`); the hub cache is
 *   `HF_HUB_CACHE` (legacy `HUGGINGFACE_HUB_CACHE`), default `$HF_HOME/hub`.
 * - The token: `HF_TOKEN`, else the file `hf auth login` writes: `HF_TOKEN_PATH`, default `$HF_HOME/token`.
 * - `HF_HUB_OFFLINE=1` (or `true`, `yes`, `on`): no network; models come from the caches.
 * - A cached repo: `<hub cache>/models--<owner>--<name>/refs/<revision>` holds the commit, and
 *   `snapshots/<commit>/` the files (links into `blobs/`).
 * - immich's machine-learning cache: `MACHINE_LEARNING_CACHE_FOLDER` (default `/cache`), a model
 *   `immich-app/<name>` in `clip/<name>/`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export type HubEnv = Readonly<Record<string, string | undefined>>;

const TRUE = new Set(['1', 'on', 'yes', 'true']);
const COMMIT = /^[0-9a-f]{40}$/;

/** `HF_HOME`, the hub cache and the token file, as huggingface_hub resolves them. */
export function hubPaths(env: HubEnv = process.env): { home: string; hubCache: string; tokenFile: string } {
  const cacheHome = env.XDG_CACHE_HOME || path.join(env.HOME || homedir(), '.cache');
  const home = env.HF_HOME || path.join(cacheHome, 'huggingface');
  const hubCache = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || path.join(home, 'hub');
  const tokenFile = env.HF_TOKEN_PATH || path.join(home, 'token');
  return { home, hubCache, tokenFile };
}

/** True when `HF_HUB_OFFLINE` asks for no network. */
export function isHubOffline(env: HubEnv = process.env): boolean {
  return TRUE.has((env.HF_HUB_OFFLINE ?? '').trim().toLowerCase());
}

/** The token to send: `HF_TOKEN`, else the token file's first line; undefined when there is neither. */
export function hubToken(env: HubEnv = process.env): string | undefined {
  const fromEnv = env.HF_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  try {
    const line = readFileSync(hubPaths(env).tokenFile, 'utf8').split(/\r?\n/)[0]?.trim();
    return line || undefined;
  } catch {
    return undefined;
  }
}

function isDir(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory();
}

/** Where a cached copy of `repo@revision` would be, and whether it is there. */
export interface CachedRepo {
  /** The folder holding the repo's files, when it exists. */
  dir: string | undefined;
  /** The folder every file of the copy must resolve into: the repo's cache folder (snapshots link into its blobs), or immich's model folder. */
  root: string | undefined;
  /** The commit the revision resolved to in the cache (HF cache only). */
  commit: string | undefined;
  /** Every place looked in, for messages. */
  looked: string[];
}

/**
 * The cached copy of `repo@revision`: a Hugging Face cache snapshot, else (for `immich-app/<name>`) the
 * immich cache's `clip/<name>/`.
 */
export function cachedRepo(repo: string, revision: string, env: HubEnv = process.env): CachedRepo {
  const looked: string[] = [];
  const repoDir = path.join(hubPaths(env).hubCache, `models--${repo.replace('/', '--')}`);
  let commit: string | undefined;
  if (COMMIT.test(revision)) commit = revision;
  else {
    const ref = path.join(repoDir, 'refs', revision);
    looked.push(ref);
    try {
      const value = readFileSync(ref, 'utf8').trim();
      if (COMMIT.test(value)) commit = value;
    } catch {
      // not cached under this revision
    }
  }
  if (commit) {
    const snapshot = path.join(repoDir, 'snapshots', commit);
    looked.push(snapshot);
    if (isDir(snapshot)) return { dir: snapshot, root: repoDir, commit, looked };
  }
  const [owner, name] = repo.split('/');
  if (owner === 'immich-app' && name) {
    const immich = path.join(env.MACHINE_LEARNING_CACHE_FOLDER || '/cache', 'clip', name);
    looked.push(immich);
    if (isDir(immich)) return { dir: immich, root: immich, commit: undefined, looked };
  }
  return { dir: undefined, root: undefined, commit: undefined, looked };
}
