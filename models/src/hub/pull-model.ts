/**
 * `reel models pull`: downloads a CLIP model export from a Hugging Face-compatible hub into
 * `<modelsDir>/<id>/`, where the model id is the repo with `/` replaced by `__`
 * (`Xenova/clip-vit-base-patch32` → `Xenova__clip-vit-base-patch32`).
 *
 * On disk:
 * - Everything is downloaded into `<modelsDir>/.<id>.partial/`; each file streams into `<file>.part` and is
 *   renamed to `<file>` once its size and sha256 check out. The folder becomes `<modelsDir>/<id>/` only when
 *   every file is complete, so a reader never sees a half-pulled model.
 * - `.<id>.partial/.reel-pull-state.json` records which remote version (size, etag) each file there belongs
 *   to: an interrupted pull resumes (`Range`) only files whose remote version is unchanged.
 * - The finished folder holds `.reel-pull.json` ({@link PULL_MANIFEST_FILE}): repo, revision, commit, layout,
 *   variant and each file's bytes, sha256 and etag.
 *
 * An existing model folder: when its manifest says it holds exactly the remote files (same layout, variant,
 * and for every file the same size and etag, with the size on disk matching), the pull is a no-op
 * (`upToDate: true`, no download). Otherwise a fresh copy is assembled in the partial folder (unchanged
 * files are hard-linked from the old folder rather than downloaded again) and swapped in: old folder renamed
 * to `.<id>.old-*`, new folder renamed into place, old folder deleted. The swap is two renames, so there is
 * a moment (microseconds) with no `<id>/`; a crash in that moment is repaired by the next pull, which
 * renames the old folder back. Files of the old folder that this pull does not need (e.g. the other
 * variant's encoders) are not kept. Two pulls of the same id at the same time are not supported.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isReelError, ReelError, retrying } from '@reel/infra';
import { detectModelFamily } from '../model-family.ts';
import { layoutFiles, type ModelLayout, type ModelVariant, modelFiles } from '../model-layout.ts';
import { externalDataFiles } from '../onnx/external-data.ts';
import { loadTextTokenizer } from '../tokenizers/text-tokenizer.ts';
import { cachedRepo, type HubEnv } from './hub-cache.ts';
import { HubClient, type HubFileInfo } from './hub-client.ts';

/** Progress of a pull, reported after every chunk written (and once when each file starts and ends). */
export interface PullProgress {
  /** File being downloaded, relative to the model folder (POSIX separators). */
  file: string;
  /** Bytes of `file` on disk so far (a resumed file starts above 0). */
  bytesDone: number;
  /** Size of `file` in bytes, when the hub announced it. */
  bytesTotal: number | undefined;
  /** Files complete so far (0 … filesTotal). */
  filesDone: number;
  filesTotal: number;
  /** Bytes of the whole model on disk so far (complete files plus `bytesDone`). */
  totalBytesDone: number;
  /** Size of the whole model in bytes, when the hub announced every file's size. */
  totalBytes: number | undefined;
}

/** One file of a pulled model. */
export interface PulledFile {
  /** Relative to the model folder (POSIX separators), as listed by `layoutFiles`. */
  path: string;
  bytes: number;
  /** Lowercase hex sha256 of the file's bytes. */
  sha256: string;
}

/** How often and how patiently to retry network failures, 408/429 and 5xx answers. */
export interface RetryPolicy {
  /** Tries per request in a row without progress (a try that added bytes to the file resets the count). */
  attempts: number;
  /** Wait before the first retry, ms; doubles each retry. */
  baseDelayMs: number;
  /** Cap on the wait between retries, ms. */
  maxDelayMs: number;
}

/** 5 tries, waiting 0.5, 1, 2, 4 s between them. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 8_000 };

export interface PullModelOptions {
  /** Hub repo, `owner/name` (e.g. `Xenova/clip-vit-base-patch32`, `immich-app/ViT-B-32__openai`). */
  repo: string;
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  /** HF layout only: `quantized` pulls `onnx/*_quantized.onnx`. Default `fp32`. immich repos ignore it. */
  variant?: ModelVariant;
  /** Hub base URL (config `hfEndpoint`, HF_ENDPOINT), e.g. `https://huggingface.co`. */
  endpoint: string;
  /** HF_TOKEN, sent to the endpoint's origin only (never to redirect targets elsewhere). */
  token?: string;
  /** Folder holding model folders (config `paths.models`); created if missing. */
  modelsDir: string;
  onProgress?: (progress: PullProgress) => void;
  /** Aborting leaves the partial download in place (the next pull resumes it) and rejects with the reason. */
  signal?: AbortSignal;
  /** Fetch implementation; Node's built-in fetch by default. */
  fetch?: typeof fetch;
  /** Retry tuning; default {@link DEFAULT_RETRY_POLICY}. */
  retry?: Partial<RetryPolicy>;
  /**
   * No network (HF_HUB_OFFLINE): install from the Hugging Face cache snapshot or immich cache folder of
   * the repo instead (files hard-linked when the file system allows, else copied).
   */
  offline?: boolean;
  /** Environment the caches are found from (HF_HOME, HF_HUB_CACHE, MACHINE_LEARNING_CACHE_FOLDER); default process.env. */
  env?: HubEnv;
}

export interface PullModelResult {
  /** Model id: the repo with `/` replaced by `__`; the folder name under `modelsDir`. */
  id: string;
  /** Absolute path of the model folder. */
  dir: string;
  layout: ModelLayout;
  /** `fp32` for immich models (one precision per repo). */
  variant: ModelVariant;
  /** The files the layout needs (configs and tokenizer first, then each encoder and its external data). */
  files: PulledFile[];
  repo: string;
  /** The revision asked for. */
  revision: string;
  /** The commit the revision resolved to (files were fetched at this commit), when the hub said. */
  commit: string | undefined;
  /** True when the folder already held exactly these files and nothing was downloaded. */
  upToDate: boolean;
  /** Set when the files came from a local cache (offline), not the hub: that folder. */
  fromCache?: string;
}

/** Name of the manifest a pull writes into the model folder. */
export const PULL_MANIFEST_FILE = '.reel-pull.json';
const STATE_FILE = '.reel-pull-state.json';

interface ManifestFile extends PulledFile {
  etag: string | undefined;
  /** For an ONNX external-data file: the encoder that names it. */
  externalOf?: string;
}

interface PullManifest {
  version: 1;
  repo: string;
  revision: string;
  commit: string | undefined;
  endpoint: string;
  layout: ModelLayout;
  variant: ModelVariant;
  pulledAt: string;
  files: ManifestFile[];
}

interface PartialState {
  repo: string;
  layout: ModelLayout;
  variant: ModelVariant;
  files: Record<string, { size: number | undefined; etag: string | undefined }>;
}

/** huggingface.co's repo name rules: `[owner/]name`, letters, digits, `-_.`, no `--` or `..`. */
const REPO_PATTERN = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

/**
 * Model id of a hub repo: `/` replaced by `__` (`immich-app/ViT-B-32__openai` → `immich-app__ViT-B-32__openai`).
 *
 * @throws ReelError `MODEL_PULL_INVALID` if `repo` is not a hub repo name.
 */
export function modelIdFromRepo(repo: string): string {
  if (!REPO_PATTERN.test(repo) || repo.includes('--') || repo.includes('..') || repo.length > 200) {
    throw new ReelError(
      'MODEL_PULL_INVALID',
      `expected a hub repo like "owner/name" (letters, digits, - _ .), got ${JSON.stringify(repo)}`,
    );
  }
  return repo.replace('/', '__');
}

/**
 * Downloads the files a CLIP model export needs from a hub and installs them as `<modelsDir>/<id>/`.
 *
 * Layout: HEAD `onnx/vision_model[_quantized].onnx` → `hf`; else HEAD `visual/model.onnx` → `immich`.
 * The files `layoutFiles(layout, variant).all` lists are fetched, all at the commit the revision resolved
 * to during that probe: configs and tokenizer first, and a model reel cannot run (its family, or a
 * tokenizer that does not load) is refused then, before any weights; then each encoder, followed by
 * the ONNX external-data files it names (models over 2 GB), whose locations must stay in the folder. Each file's size is checked against `X-Linked-Size`/`Content-Length` and
 * its sha256 against `X-Linked-Etag` when that is a sha256 (LFS files).
 *
 * @throws ReelError `MODEL_NOT_FOUND` (no repo/revision, neither layout, or a required file 404s),
 *   `MODEL_AUTH` (401/403: set HF_TOKEN), `MODEL_DOWNLOAD_CORRUPT` (size or sha256 mismatch; the bad file
 *   is deleted), `MODEL_DOWNLOAD_FAILED` (HTTP error or network failure after retries),
 *   `MODEL_PULL_INVALID` (bad repo, revision or endpoint), `MODEL_FAMILY_UNSUPPORTED` /
 *   `TOKENIZER_INVALID` (refused from the configs, no weights fetched), `MODEL_INVALID` (an encoder is
 *   not ONNX, or names external data outside the folder). Rejects with `signal.reason` when aborted.
 */
export async function pullModel(options: PullModelOptions): Promise<PullModelResult> {
  const { repo, modelsDir, signal, onProgress } = options;
  const revision = options.revision ?? 'main';
  if (revision.trim() === '' || revision.length > 256 || /\p{Cc}/u.test(revision)) {
    throw new ReelError(
      'MODEL_PULL_INVALID',
      `expected a revision (branch, tag or commit), got ${JSON.stringify(revision)}`,
    );
  }
  const id = modelIdFromRepo(repo);
  if (options.offline) return pullFromCache({ ...options, revision, id });
  const client = new HubClient({ endpoint: options.endpoint, token: options.token, fetch: options.fetch });
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const finalDir = path.resolve(modelsDir, id);
  const partialDir = path.resolve(modelsDir, `.${id}.partial`);
  signal?.throwIfAborted();

  // 1. Which layout? Probe each layout's vision encoder.
  const probe = await probeLayout(client, repo, revision, options.variant ?? 'fp32', retry, signal);
  const { layout, variant } = probe;
  // Pin the commit so a branch moving mid-pull cannot mix files from two commits.
  const pinned = probe.info.commit ?? revision;

  // 2. Metadata of every file the layout needs.
  const needed = layoutFiles(layout, variant).all;
  const remote = await Promise.all(
    needed.map((file) =>
      file === probe.info.path
        ? probe.info
        : withRetries(retry, signal, () => client.head(repo, pinned, file, signal)),
    ),
  );

  await fs.mkdir(modelsDir, { recursive: true });
  await recoverInterruptedSwap(modelsDir, id, finalDir);

  // 3. Already there? (External data counts: the folder's manifest says which files the encoders name.)
  const manifestJson = await readJson<PullManifest>(path.join(finalDir, PULL_MANIFEST_FILE));
  // A hand-edited or foreign manifest is ignored (the folder is then replaced by a fresh pull).
  const existing = Array.isArray(manifestJson?.files) ? manifestJson : undefined;
  const base = { id, dir: finalDir, layout, variant, repo, revision, commit: probe.info.commit };
  const externals =
    existing?.repo === repo && existing.layout === layout && existing.variant === variant
      ? await headExternals(existing, remote, (file) =>
          withRetries(retry, signal, () => client.head(repo, pinned, file, signal)),
        )
      : undefined;
  if (existing && externals && (await sameFiles(existing, [...remote, ...externals], finalDir))) {
    // In the order the manifest recorded them: the order they were pulled in.
    const wanted = new Set([...remote, ...externals].map((info) => info.path));
    const files = existing.files
      .filter((entry) => wanted.has(entry.path))
      .map(({ path: file, bytes, sha256 }) => ({ path: file, bytes, sha256 }));
    return { ...base, files, upToDate: true };
  }

  // 4. Download into the partial folder, resuming what an earlier run left there.
  await preparePartial(partialDir, { repo, layout, variant, remote });
  if (existing) await linkUnchanged(existing, remote, finalDir, partialDir);

  // Configs and tokenizer first: a model reel cannot run is refused before any weights are fetched.
  const queue = [
    ...remote.filter((info) => !info.path.endsWith('.onnx')),
    ...remote.filter((info) => info.path.endsWith('.onnx')),
  ];
  let checked = false;
  let doneBytes = 0;
  const files: ManifestFile[] = [];
  const ctx = { client, repo, revision: pinned, retry, signal };
  for (let index = 0; index < queue.length; index++) {
    const info = queue[index]!;
    signal?.throwIfAborted();
    if (!checked && info.path.endsWith('.onnx')) {
      await checkRunnable(partialDir, layout, `${repo}@${revision}`);
      checked = true;
    }
    const sizes = queue.map((entry) => entry.size);
    const totalBytes = sizes.every((size) => size !== undefined)
      ? sizes.reduce((a, b) => a + b, 0)
      : undefined;
    const report = (bytesDone: number, filesDone: number): void =>
      onProgress?.({
        file: info.path,
        bytesDone,
        bytesTotal: info.size,
        filesDone,
        filesTotal: queue.length,
        totalBytesDone: doneBytes + bytesDone,
        totalBytes,
      });
    const file = await fetchFile(ctx, info, partialDir, (bytes) => report(bytes, index));
    report(file.bytes, index + 1);
    doneBytes += file.bytes;
    const externalOf = (info as HubFileInfo & { externalOf?: string }).externalOf;
    files.push({ ...file, etag: info.etag, ...(externalOf ? { externalOf } : {}) });
    if (info.path.endsWith('.onnx')) {
      // Models over 2 GB keep their weights beside the graph; the graph names the files exactly.
      for (const external of await externalDataFiles(path.join(partialDir, info.path), partialDir)) {
        if (queue.some((entry) => entry.path === external)) continue;
        const head = await withRetries(retry, signal, () => client.head(repo, pinned, external, signal));
        const entry = { ...head, externalOf: info.path };
        if (existing) await linkUnchanged(existing, [entry], finalDir, partialDir);
        queue.splice(index + 1, 0, entry);
      }
    }
  }
  if (!checked) await checkRunnable(partialDir, layout, `${repo}@${revision}`);

  // 5. Manifest, then swap the complete folder into place.
  const endpoint = new URL(client.endpoint);
  endpoint.username = '';
  endpoint.password = '';
  const manifest: PullManifest = {
    version: 1,
    repo,
    revision,
    commit: probe.info.commit,
    endpoint: endpoint.href.replace(/\/+$/, ''),
    layout,
    variant,
    pulledAt: new Date().toISOString(),
    files,
  };
  await fs.writeFile(path.join(partialDir, PULL_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await fs.rm(path.join(partialDir, STATE_FILE), { force: true });
  signal?.throwIfAborted();
  await swapIntoPlace(modelsDir, id, partialDir, finalDir);
  return {
    ...base,
    files: files.map(({ path: file, bytes, sha256 }) => ({ path: file, bytes, sha256 })),
    upToDate: false,
  };
}

/** HEADs each layout's vision encoder; the first present one decides the layout. */
async function probeLayout(
  client: HubClient,
  repo: string,
  revision: string,
  variant: ModelVariant,
  retry: RetryPolicy,
  signal: AbortSignal | undefined,
): Promise<{ layout: ModelLayout; variant: ModelVariant; info: HubFileInfo }> {
  const candidates: { layout: ModelLayout; variant: ModelVariant }[] = [
    { layout: 'hf', variant },
    // immich ships one precision per repo: its files do not depend on the variant.
    { layout: 'immich', variant: 'fp32' },
  ];
  const tried: string[] = [];
  for (const candidate of candidates) {
    const file = layoutFiles(candidate.layout, candidate.variant).visionModel;
    tried.push(file);
    try {
      const info = await withRetries(retry, signal, () => client.head(repo, revision, file, signal));
      return { ...candidate, info };
    } catch (error) {
      if (!isReelError(error, 'MODEL_NOT_FOUND')) throw error;
      const hubCode = error.details?.hubCode;
      if (hubCode === 'RepoNotFound' || hubCode === 'RevisionNotFound') {
        throw new ReelError('MODEL_NOT_FOUND', `${error.message} (tried ${tried.join(', ')})`, {
          details: { ...error.details, tried },
          cause: error,
        });
      }
    }
  }
  throw new ReelError(
    'MODEL_NOT_FOUND',
    `expected ${repo}@${revision} at ${client.endpoint} to hold a CLIP ONNX export, found neither layout: ` +
      `tried ${tried.map((file, i) => `${file} (${candidates[i]!.layout})`).join(', ')}`,
    { details: { repo, revision, tried } },
  );
}

/**
 * Offline pull: the repo's files from a local cache (Hugging Face snapshot, else immich's folder),
 * checked as a download is (family and tokenizer, external data inside the folder, every file the layout
 * needs), linked or copied into the partial folder and swapped into place with a manifest.
 * @throws ReelError `MODEL_NOT_FOUND` naming every place looked in, or what {@link checkRunnable} and
 *   {@link modelFiles} throw.
 */
async function pullFromCache(
  options: PullModelOptions & { revision: string; id: string },
): Promise<PullModelResult> {
  const { repo, revision, id, modelsDir } = options;
  const cached = cachedRepo(repo, revision, options.env ?? process.env);
  if (!cached.dir) {
    throw new ReelError(
      'MODEL_NOT_FOUND',
      `HF_HUB_OFFLINE is set and ${repo}@${revision} is in no local cache (looked in ${cached.looked.join(', ')}): pull it once with network, or unset HF_HUB_OFFLINE`,
      { details: { repo, revision, looked: cached.looked } },
    );
  }
  const dir = cached.dir;
  const wanted = options.variant ?? 'fp32';
  const has = (file: string) => existsSync(path.join(dir, file));
  const probe: { layout: ModelLayout; variant: ModelVariant } | undefined = has(
    layoutFiles('hf', wanted).visionModel,
  )
    ? { layout: 'hf', variant: wanted }
    : has(layoutFiles('immich').visionModel)
      ? { layout: 'immich', variant: 'fp32' }
      : undefined;
  if (!probe) {
    throw new ReelError(
      'MODEL_NOT_FOUND',
      `${dir} (the cached ${repo}@${revision}) holds neither ${layoutFiles('hf', wanted).visionModel} nor ${layoutFiles('immich').visionModel}`,
      { details: { repo, dir } },
    );
  }
  const { layout, variant } = probe;
  // What a cached file resolves to must be a regular file inside the repo's cache folder: a link
  // elsewhere (any file on the machine) or a FIFO (a read that never ends) is refused before reading.
  const root = await fs.realpath(cached.root!);
  const cachedFile = async (file: string): Promise<string> => {
    const source = await fs.realpath(path.join(dir, file));
    const inside = path.relative(root, source);
    if (inside.startsWith('..') || path.isAbsolute(inside))
      throw new ReelError(
        'MODEL_INVALID',
        `the cached ${repo} at ${dir}: ${file} links outside its cache folder ${root} (to ${source}); refused`,
        { details: { repo, file, source } },
      );
    if (!(await fs.stat(source)).isFile())
      throw new ReelError(
        'MODEL_INVALID',
        `the cached ${repo} at ${dir}: ${file} is not a regular file; refused`,
        {
          details: { repo, file },
        },
      );
    return source;
  };
  for (const file of layoutFiles(layout, variant).all) if (has(file)) await cachedFile(file);
  await checkRunnable(dir, layout, `${repo}@${revision} (cached at ${dir})`, { remove: false });
  const files = layoutFiles(layout, variant);
  const missing = files.all.filter((file) => !has(file));
  if (missing.length > 0) {
    throw new ReelError(
      'MODEL_NOT_FOUND',
      `the cached ${repo}@${revision} at ${dir} lacks ${missing.join(', ')}: pull it once with network`,
      { details: { repo, dir, missing } },
    );
  }
  const { all, external } = await modelFiles(dir, files);

  await fs.mkdir(modelsDir, { recursive: true });
  const finalDir = path.resolve(modelsDir, id);
  const partialDir = path.resolve(modelsDir, `.${id}.partial`);
  await recoverInterruptedSwap(modelsDir, id, finalDir);
  await fs.rm(partialDir, { recursive: true, force: true });
  const manifestFiles: ManifestFile[] = [];
  for (const [index, file] of all.entries()) {
    options.signal?.throwIfAborted();
    // Snapshot files are links into the cache's blobs: link (or copy) what they point at.
    const source = await cachedFile(file);
    const target = path.join(partialDir, file);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.link(source, target).catch(() => fs.copyFile(source, target));
    const { bytes, sha256 } = await hashFile(target);
    const owner = external.includes(file)
      ? [files.textModel, files.visionModel].find(
          (encoder) => path.posix.dirname(encoder) === path.posix.dirname(file),
        )
      : undefined;
    manifestFiles.push({
      path: file,
      bytes,
      sha256,
      etag: undefined,
      ...(owner ? { externalOf: owner } : {}),
    });
    options.onProgress?.({
      file,
      bytesDone: bytes,
      bytesTotal: bytes,
      filesDone: index + 1,
      filesTotal: all.length,
      totalBytesDone: manifestFiles.reduce((sum, f) => sum + f.bytes, 0),
      totalBytes: undefined,
    });
  }
  const manifest: PullManifest = {
    version: 1,
    repo,
    revision,
    commit: cached.commit,
    endpoint: `cache:${dir}`,
    layout,
    variant,
    pulledAt: new Date().toISOString(),
    files: manifestFiles,
  };
  await fs.writeFile(path.join(partialDir, PULL_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await swapIntoPlace(modelsDir, id, partialDir, finalDir);
  return {
    id,
    dir: finalDir,
    layout,
    variant,
    repo,
    revision,
    commit: cached.commit,
    files: manifestFiles.map(({ path: file, bytes, sha256 }) => ({ path: file, bytes, sha256 })),
    upToDate: false,
    fromCache: dir,
  };
}

/**
 * HEADs the external-data files the existing folder's manifest lists, when their encoders are unchanged
 * on the hub; undefined when an encoder changed or a file is gone (the folder is then pulled again).
 */
async function headExternals(
  manifest: PullManifest,
  remote: HubFileInfo[],
  head: (file: string) => Promise<HubFileInfo>,
): Promise<HubFileInfo[] | undefined> {
  const out: HubFileInfo[] = [];
  for (const entry of manifest.files) {
    if (!entry.externalOf) continue;
    const owner = manifest.files.find((file) => file.path === entry.externalOf);
    const ownerRemote = remote.find((info) => info.path === entry.externalOf);
    if (!owner || !ownerRemote || !sameVersion(owner, ownerRemote)) return undefined;
    try {
      out.push({ ...(await head(entry.path)), externalOf: entry.externalOf } as HubFileInfo);
    } catch (error) {
      if (isReelError(error, 'MODEL_NOT_FOUND')) return undefined;
      throw error;
    }
  }
  return out;
}

/**
 * Refuses a model reel cannot run from its configs and tokenizer alone, before its weights: the family
 * its config names, and a tokenizer that loads. The partial folder is removed (it holds only configs).
 * @throws ReelError `MODEL_FAMILY_UNSUPPORTED` or `TOKENIZER_INVALID`, saying no weights were fetched.
 */
async function checkRunnable(
  partialDir: string,
  layout: ModelLayout,
  what: string,
  options: { remove?: boolean } = {},
): Promise<void> {
  try {
    const family = await detectModelFamily(partialDir, layout);
    await loadTextTokenizer(path.join(partialDir, layoutFiles(layout).tokenizer), {
      contextLength: family.contextLength ?? 77,
      cleaning: family.cleaning,
    });
  } catch (error) {
    if (!isReelError(error)) throw error;
    if (options.remove !== false) await fs.rm(partialDir, { recursive: true, force: true });
    throw new ReelError(
      error.code,
      `${what} cannot be used, so its weights were not downloaded: ${error.message.replaceAll(partialDir, 'the model')}`,
      { details: error.details, cause: error },
    );
  }
}

/** True when the manifest's files are exactly the remote ones and still whole on disk. */
async function sameFiles(manifest: PullManifest, remote: HubFileInfo[], dir: string): Promise<boolean> {
  for (const info of remote) {
    const entry = manifest.files.find((file) => file.path === info.path);
    if (!entry || !sameVersion(entry, info)) return false;
    if ((await sizeOf(path.join(dir, info.path))) !== entry.bytes) return false;
  }
  return true;
}

/** Same remote version: sizes equal and etags equal (a file without an etag never matches). */
function sameVersion(entry: { bytes: number; etag: string | undefined }, info: HubFileInfo): boolean {
  return info.etag !== undefined && entry.etag === info.etag && entry.bytes === info.size;
}

/**
 * Makes the partial folder ready: wiped when it was left by a pull of another repo, layout or variant (or
 * has no state), otherwise files whose remote version changed since are deleted. Writes the new state.
 */
async function preparePartial(
  partialDir: string,
  want: { repo: string; layout: ModelLayout; variant: ModelVariant; remote: HubFileInfo[] },
): Promise<void> {
  const statePath = path.join(partialDir, STATE_FILE);
  const state = await readJson<PartialState>(statePath);
  if (!state || state.repo !== want.repo || state.layout !== want.layout || state.variant !== want.variant) {
    await fs.rm(partialDir, { recursive: true, force: true });
  } else {
    for (const info of want.remote) {
      const before = state.files[info.path];
      if (!before || info.etag === undefined || before.etag !== info.etag || before.size !== info.size) {
        await fs.rm(path.join(partialDir, info.path), { force: true });
        await fs.rm(path.join(partialDir, `${info.path}.part`), { force: true });
      }
    }
  }
  await fs.mkdir(partialDir, { recursive: true });
  const files = Object.fromEntries(
    want.remote.map((info) => [info.path, { size: info.size, etag: info.etag }]),
  );
  const next: PartialState = { repo: want.repo, layout: want.layout, variant: want.variant, files };
  await fs.writeFile(statePath, `${JSON.stringify(next, null, 2)}\n`);
}

/** Hard-links (or copies) files the existing model already has at the same remote version. */
async function linkUnchanged(
  manifest: PullManifest,
  remote: HubFileInfo[],
  finalDir: string,
  partialDir: string,
): Promise<void> {
  for (const info of remote) {
    const entry = manifest.files.find((file) => file.path === info.path);
    const source = path.join(finalDir, info.path);
    const target = path.join(partialDir, info.path);
    if (!entry || !sameVersion(entry, info) || (await sizeOf(source)) !== entry.bytes) continue;
    if ((await sizeOf(target)) !== undefined) continue;
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.link(source, target).catch(() => fs.copyFile(source, target));
  }
}

interface FetchContext {
  client: HubClient;
  repo: string;
  revision: string;
  retry: RetryPolicy;
  signal: AbortSignal | undefined;
}

/**
 * Brings one file to completion in the partial folder: keeps a complete verified copy, else downloads into
 * `<file>.part` (resuming), retries failures without progress up to `retry.attempts` in a row, verifies,
 * and renames `.part` to the file.
 */
async function fetchFile(
  ctx: FetchContext,
  info: HubFileInfo,
  partialDir: string,
  report: (bytesDone: number) => void,
): Promise<PulledFile> {
  const dest = path.join(partialDir, info.path);
  const part = `${dest}.part`;
  await fs.mkdir(path.dirname(dest), { recursive: true });

  if ((await sizeOf(dest)) !== undefined) {
    const { bytes, sha256 } = await hashFile(dest);
    if (
      (info.size === undefined || bytes === info.size) &&
      (info.sha256 === undefined || sha256 === info.sha256)
    ) {
      await fs.rm(part, { force: true }); // a stale .part must not end up in the model folder
      return { path: info.path, bytes, sha256 };
    }
    await fs.rm(dest, { force: true });
  }

  // Hand-written rather than `retrying`: the budget is failures without progress in a row, and it
  // refills whenever a failed try still added bytes (a multi-gigabyte file over a flaky link), which
  // p-retry's budget, only ever spent, cannot express.
  let failures = 0;
  let restartedFresh = false;
  for (;;) {
    const before = (await sizeOf(part)) ?? 0;
    try {
      const { bytes, sha256 } = await downloadOnce(ctx, info, part, report);
      await verifyGitBlob(info, part);
      await fs.rename(part, dest);
      return { path: info.path, bytes, sha256 };
    } catch (error) {
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      if (isReelError(error, 'MODEL_DOWNLOAD_CORRUPT')) {
        await fs.rm(part, { force: true });
        // Bytes resumed from an earlier run may belong to another version of the file: one clean try.
        if (!restartedFresh && Number(error.details?.resumedFrom) > 0) {
          restartedFresh = true;
          continue;
        }
        throw error;
      }
      if (!isReelError(error) || !error.retryable) throw error;
      if (error.details?.status === 416) await fs.rm(part, { force: true });
      if (((await sizeOf(part)) ?? 0) > before) failures = 0;
      failures += 1;
      if (failures >= ctx.retry.attempts) throw exhausted(error, failures);
      await sleep(backoffMs(ctx.retry, failures), ctx.signal);
    }
  }
}

/**
 * One GET of a file into `part`: resumes from the bytes already in `part` (hashing them first), restarts
 * from zero if the server ignores the range, streams chunk by chunk into the file and the hash.
 *
 * @throws ReelError `MODEL_DOWNLOAD_CORRUPT` (size or sha256 mismatch; `details.resumedFrom`), retryable
 *   `MODEL_DOWNLOAD_FAILED` (dropped connection, early end), or what {@link HubClient.get} throws.
 */
async function downloadOnce(
  ctx: FetchContext,
  info: HubFileInfo,
  part: string,
  report: (bytesDone: number) => void,
): Promise<{ bytes: number; sha256: string }> {
  let offset = (await sizeOf(part)) ?? 0;
  if (info.size !== undefined && offset > info.size) {
    await fs.rm(part, { force: true });
    offset = 0;
  }
  let hash = createHash('sha256');
  if (offset > 0) await hashInto(hash, part);
  if (info.size !== undefined && offset === info.size && offset > 0) {
    report(offset);
    return verify(info, offset, hash.digest('hex'), offset);
  }

  const download = await ctx.client.get(ctx.repo, ctx.revision, info.path, { offset, signal: ctx.signal });
  if (download.status === 206 && download.start !== offset) {
    await download.body.cancel().catch(() => {});
    await fs.rm(part, { force: true });
    throw new ReelError(
      'MODEL_DOWNLOAD_FAILED',
      `expected ${info.path} from byte ${offset}, the server sent bytes from ${download.start}; restarting it`,
      { retryable: true, details: { status: 206 } },
    );
  }
  // A 200 to a range request is the whole file: start over.
  const resumedFrom = download.status === 206 ? offset : 0;
  if (resumedFrom === 0 && offset > 0) hash = createHash('sha256');
  const expected = info.size ?? download.totalSize;
  if (info.size !== undefined && download.totalSize !== undefined && download.totalSize !== info.size) {
    await download.body.cancel().catch(() => {});
    throw corrupt(info.path, `${info.size} bytes (HEAD)`, `${download.totalSize} bytes (GET)`, resumedFrom);
  }

  const handle = await fs.open(part, resumedFrom > 0 ? 'a' : 'w');
  const reader = download.body.getReader();
  let bytes = resumedFrom;
  let finished = false;
  try {
    report(bytes);
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (ctx.signal?.aborted) throw ctx.signal.reason;
        throw new ReelError(
          'MODEL_DOWNLOAD_FAILED',
          `connection dropped downloading ${info.path} after ${bytes} bytes: ${describeCause(error)}`,
          { retryable: true, cause: error },
        );
      }
      if (chunk.done) {
        finished = true;
        break;
      }
      bytes += chunk.value.byteLength;
      if (expected !== undefined && bytes > expected) {
        throw corrupt(info.path, `${expected} bytes`, `more (${bytes} so far)`, resumedFrom);
      }
      hash.update(chunk.value);
      await writeAll(handle, chunk.value, part);
      report(bytes);
    }
    await handle.datasync();
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    await handle.close();
  }
  if (expected !== undefined && bytes < expected) {
    throw new ReelError(
      'MODEL_DOWNLOAD_FAILED',
      `expected ${expected} bytes of ${info.path}, the download ended after ${bytes}`,
      { retryable: true },
    );
  }
  return verify(info, bytes, hash.digest('hex'), resumedFrom);
}

function verify(
  info: HubFileInfo,
  bytes: number,
  sha256: string,
  resumedFrom: number,
): { bytes: number; sha256: string } {
  if (info.size !== undefined && bytes !== info.size) {
    throw corrupt(info.path, `${info.size} bytes`, `${bytes} bytes`, resumedFrom);
  }
  if (info.sha256 !== undefined && sha256 !== info.sha256) {
    throw corrupt(info.path, `sha256 ${info.sha256}`, `sha256 ${sha256}`, resumedFrom);
  }
  return { bytes, sha256 };
}

const GIT_SHA1 = /^[0-9a-f]{40}$/;

/**
 * A small (non-LFS) file's ETag is its git blob id, sha1("blob <size>\0" + bytes): checked, so a file the
 * hub announces no sha256 for is still verified. Files with a sha256 (LFS) were checked by it already.
 * @throws ReelError `MODEL_DOWNLOAD_CORRUPT` when the id differs.
 */
async function verifyGitBlob(info: HubFileInfo, file: string): Promise<void> {
  if (info.sha256 !== undefined || info.etag === undefined || !GIT_SHA1.test(info.etag)) return;
  const bytes = await fs.readFile(file);
  const id = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
  if (id !== info.etag) {
    await fs.rm(file, { force: true });
    throw corrupt(info.path, `git blob ${info.etag}`, `git blob ${id}`, 0);
  }
}

function corrupt(file: string, expected: string, actual: string, resumedFrom: number): ReelError {
  return new ReelError(
    'MODEL_DOWNLOAD_CORRUPT',
    `downloaded ${file} does not match the hub: expected ${expected}, got ${actual}; deleted it`,
    { details: { file, expected, actual, resumedFrom } },
  );
}

function exhausted(error: ReelError, tries: number): ReelError {
  return new ReelError('MODEL_DOWNLOAD_FAILED', `${error.message} (gave up after ${tries} tries)`, {
    details: { ...error.details, tries },
    cause: error,
  });
}

/** Retries retryable `ReelError`s per `policy`; anything else (and an abort) is thrown at once. */
async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  run: () => Promise<T>,
): Promise<T> {
  let tries = 0;
  const isRetryable = (error: unknown): error is ReelError => isReelError(error) && error.retryable;
  try {
    return await retrying(
      () => {
        tries += 1;
        return run();
      },
      {
        attempts: policy.attempts,
        firstDelayMs: policy.baseDelayMs,
        maxDelayMs: policy.maxDelayMs,
        retryIf: isRetryable,
        ...(signal ? { signal } : {}),
      },
    );
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw isRetryable(error) && tries >= policy.attempts ? exhausted(error, tries) : error;
  }
}

/** Exponential: base, 2·base, 4·base … capped at `maxDelayMs`. `failures` counts from 1. */
function backoffMs(policy: RetryPolicy, failures: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - 1));
}

async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  }
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

async function writeAll(handle: fs.FileHandle, chunk: Uint8Array, file: string): Promise<void> {
  let written = 0;
  try {
    while (written < chunk.byteLength) {
      const { bytesWritten } = await handle.write(chunk, written, chunk.byteLength - written);
      written += bytesWritten;
    }
  } catch (error) {
    throw new ReelError('MODEL_DOWNLOAD_FAILED', `could not write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function hashInto(hash: Hash, file: string): Promise<number> {
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return bytes;
}

async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const bytes = await hashInto(hash, file);
  return { bytes, sha256: hash.digest('hex') };
}

/** Size of a regular file in bytes, or undefined if there is none. */
async function sizeOf(file: string): Promise<number | undefined> {
  const stats = await fs.stat(file).catch(() => undefined);
  return stats?.isFile() ? stats.size : undefined;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A crash between the two renames of a swap leaves `.<id>.old-*` and no `<id>`: put the old one back. */
async function recoverInterruptedSwap(modelsDir: string, id: string, finalDir: string): Promise<void> {
  const olds = (await fs.readdir(modelsDir)).filter((name) => name.startsWith(`.${id}.old-`));
  for (const name of olds) {
    const old = path.join(modelsDir, name);
    if ((await fs.stat(finalDir).catch(() => undefined)) === undefined) await fs.rename(old, finalDir);
    else await fs.rm(old, { recursive: true, force: true });
  }
}

/** Renames the complete partial folder to the model folder, replacing an existing one (see file header). */
async function swapIntoPlace(
  modelsDir: string,
  id: string,
  partialDir: string,
  finalDir: string,
): Promise<void> {
  try {
    await fs.rename(partialDir, finalDir);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR') throw error;
  }
  const old = path.join(modelsDir, `.${id}.old-${process.pid}-${Date.now()}`);
  await fs.rename(finalDir, old);
  try {
    await fs.rename(partialDir, finalDir);
  } catch (error) {
    await fs.rename(old, finalDir);
    throw error;
  }
  await fs.rm(old, { recursive: true, force: true });
}
