import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelIdFromRepo, PULL_MANIFEST_FILE, type PullProgress, pullModel } from '../src/hub/pull-model.ts';
import { inspectModelFolder, layoutFiles } from '../src/model-layout.ts';
import { GraphBuilder } from '../src/onnx/graph-builder.ts';
import { syntheticClipFiles } from '../src/synthetic/synthetic-clip.ts';
import { syntheticMultilingualFiles } from '../src/synthetic/synthetic-multilingual.ts';
import { type FakeHub, type FakeRepos, startFakeHub } from './fake-hub.ts';

const HF_REPO = 'Xenova/clip-test';
const HF_ID = 'Xenova__clip-test';
const IMMICH_REPO = 'immich-app/ViT-T__test';
const VISION = 'onnx/vision_model.onnx';
const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 4 };

/** Deterministic pseudo-random bytes (xorshift), so every file differs and corruption is detectable. */
function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A real `.onnx` file of about `size` bytes whose weights are `bytes(size, seed)`: pull reads an
 * encoder's graph (for the external-data files it names), so encoders must be ONNX, not noise.
 */
function onnx(size: number, seed: number): Uint8Array {
  const g = new GraphBuilder(`pull_test_${seed}`);
  const x = g.input('x', 'float32', [1]);
  g.floats(new Float32Array(bytes(size - (size % 4), seed).buffer), [Math.floor(size / 4)], 'weights');
  g.op('Identity', [x], {}, 'y');
  g.output('y', 'float32', [1]);
  return g.serialize();
}

/** The order pull fetches in: configs and tokenizer, then encoders. */
const pullOrder = (files: string[]): string[] => [
  ...files.filter((f) => !f.endsWith('.onnx')),
  ...files.filter((f) => f.endsWith('.onnx')),
];

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const CLIP_TOKENIZER = syntheticClipFiles().get('tokenizer.json')!;
const MULTILINGUAL = syntheticMultilingualFiles();
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

function makeRepos(): FakeRepos {
  return {
    [HF_REPO]: {
      main: {
        'onnx/text_model.onnx': onnx(300_000, 1),
        [VISION]: onnx(1_500_000, 2),
        'onnx/text_model_quantized.onnx': onnx(90_000, 3),
        'onnx/vision_model_quantized.onnx': onnx(400_000, 4),
        'tokenizer.json': CLIP_TOKENIZER,
        'preprocessor_config.json': json({ size: { shortest_edge: 224 } }),
        'config.json': json({ model_type: 'clip' }),
      },
    },
    [IMMICH_REPO]: {
      main: {
        'config.json': MULTILINGUAL.get('config.json')!,
        'textual/model.onnx': onnx(200_000, 6),
        'textual/tokenizer.json': MULTILINGUAL.get('textual/tokenizer.json')!,
        'textual/tokenizer_config.json': MULTILINGUAL.get('textual/tokenizer_config.json')!,
        'visual/model.onnx': onnx(600_000, 8),
        'visual/preprocess_cfg.json': json({ size: [224, 224] }),
        'visual/fp16/model.armnn': bytes(5_000, 9),
      },
    },
    'someone/not-a-clip': { main: { 'config.json': json({}), 'model.safetensors': bytes(100, 10) } },
    'someone/incomplete': {
      main: {
        'onnx/text_model.onnx': onnx(1000, 11),
        [VISION]: onnx(1000, 12),
        'tokenizer.json': CLIP_TOKENIZER,
        'config.json': json({ model_type: 'clip' }),
      },
    },
  };
}

let hub: FakeHub;
let modelsDir: string;

beforeEach(async () => {
  hub = await startFakeHub(makeRepos());
  modelsDir = mkdtempSync(path.join(tmpdir(), 'reel-pull-'));
});

afterEach(async () => {
  await hub.close();
  rmSync(modelsDir, { recursive: true, force: true });
});

function pull(overrides: Partial<Parameters<typeof pullModel>[0]> = {}) {
  return pullModel({ repo: HF_REPO, endpoint: hub.endpoint, modelsDir, retry: FAST_RETRY, ...overrides });
}

function expectIdentical(dir: string, repo: string, files: string[]): void {
  for (const file of files) {
    const want = Buffer.from(hub.repos[repo]!.main![file]!);
    expect(readFileSync(path.join(dir, file)).equals(want), file).toBe(true);
  }
}

/** GETs of a file; an `.onnx` GET hits the hub (302) then the CDN: count the CDN ones, which carry the body. */
const gets = (file: string) =>
  hub.requests.filter(
    (r) => r.method === 'GET' && r.file === file && (!file.endsWith('.onnx') || r.server === 'cdn'),
  );

describe('pullModel: layouts and variants', () => {
  it('pulls an hf export through the CDN redirect, verified, with progress', async () => {
    const events: PullProgress[] = [];
    const result = await pull({ onProgress: (p) => events.push(p) });

    const needed = layoutFiles('hf', 'fp32').all;
    expect(result).toMatchObject({
      id: HF_ID,
      dir: path.join(modelsDir, HF_ID),
      layout: 'hf',
      variant: 'fp32',
    });
    expect(result.upToDate).toBe(false);
    expect(result.files.map((f) => f.path)).toEqual(pullOrder(needed));
    for (const file of result.files) {
      const served = hub.repos[HF_REPO]!.main![file.path]!;
      expect(file).toEqual({ path: file.path, bytes: served.length, sha256: sha256(served) });
    }
    expectIdentical(result.dir, HF_REPO, needed);
    expect(inspectModelFolder(result.dir)).toMatchObject({ ok: true, layout: 'hf', variant: 'fp32' });
    expect(existsSync(path.join(modelsDir, `.${HF_ID}.partial`))).toBe(false);
    expect(readdirSync(path.join(result.dir, 'onnx')).sort()).toEqual([
      'text_model.onnx',
      'vision_model.onnx',
    ]);
    const manifest = JSON.parse(readFileSync(path.join(result.dir, PULL_MANIFEST_FILE), 'utf8'));
    expect(manifest).toMatchObject({ repo: HF_REPO, revision: 'main', layout: 'hf', variant: 'fp32' });

    // .onnx bodies come from the CDN, everything else from the hub; quantized files are never touched.
    expect(hub.requests.filter((r) => r.method === 'GET' && r.file === VISION).map((r) => r.server)).toEqual([
      'hub',
      'cdn',
    ]);
    expect(gets('config.json').map((r) => r.server)).toEqual(['hub']);
    expect(hub.requests.some((r) => r.file?.includes('quantized'))).toBe(false);
    // After the probe, files are fetched at the commit the revision resolved to.
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(gets('config.json')[0]!.url).toContain(`/resolve/${result.commit}/config.json`);

    const total = result.files.reduce((sum, f) => sum + f.bytes, 0);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ filesDone: needed.length, filesTotal: needed.length, totalBytes: total });
    expect(last.totalBytesDone).toBe(total);
    const vision = events.filter((e) => e.file === VISION);
    expect(vision.length).toBeGreaterThan(3); // per chunk, not per file
    expect(vision.every((e) => e.bytesTotal === hub.repos[HF_REPO]!.main![VISION]!.length)).toBe(true);
    for (let i = 1; i < vision.length; i++)
      expect(vision[i]!.bytesDone).toBeGreaterThanOrEqual(vision[i - 1]!.bytesDone);
  });

  it('quantized variant picks the *_quantized.onnx encoders', async () => {
    const result = await pull({ variant: 'quantized' });
    expect(result.variant).toBe('quantized');
    expect(result.files.map((f) => f.path)).toEqual(pullOrder(layoutFiles('hf', 'quantized').all));
    expect(result.files.map((f) => f.path)).toContain('onnx/vision_model_quantized.onnx');
    expectIdentical(result.dir, HF_REPO, layoutFiles('hf', 'quantized').all);
    expect(hub.requests.some((r) => r.file === VISION || r.file === 'onnx/text_model.onnx')).toBe(false);
    expect(inspectModelFolder(result.dir, 'quantized')).toMatchObject({ ok: true, variant: 'quantized' });
  });

  it('pulls an immich export, only the files its layout needs', async () => {
    const result = await pull({ repo: IMMICH_REPO });
    expect(result).toMatchObject({ id: 'immich-app__ViT-T__test', layout: 'immich', variant: 'fp32' });
    expect(result.files.map((f) => f.path)).toEqual(pullOrder(layoutFiles('immich').all));
    expectIdentical(result.dir, IMMICH_REPO, layoutFiles('immich').all);
    expect(inspectModelFolder(result.dir)).toMatchObject({ ok: true, layout: 'immich' });
    expect(existsSync(path.join(result.dir, 'visual/fp16'))).toBe(false);
    // The hf probe came first and 404ed.
    expect(hub.requests[0]).toMatchObject({ method: 'HEAD', file: VISION });
  });

  it('modelIdFromRepo replaces / with __ and rejects names that are not repos', () => {
    expect(modelIdFromRepo('Xenova/clip-vit-base-patch32')).toBe('Xenova__clip-vit-base-patch32');
    expect(modelIdFromRepo('immich-app/ViT-B-32__openai')).toBe('immich-app__ViT-B-32__openai');
    for (const bad of ['../etc', 'a/b/c', '', '/x', 'a/..', '.hidden/x']) {
      expect(() => modelIdFromRepo(bad), bad).toThrow(
        expect.objectContaining({ code: 'MODEL_PULL_INVALID' }),
      );
    }
  });
});

describe('pullModel: auth', () => {
  it('sends the token to the hub and never to the CDN', async () => {
    hub.requiredToken = 'hf_secret';
    const result = await pull({ token: 'hf_secret' });
    expectIdentical(result.dir, HF_REPO, layoutFiles('hf').all);
    const hubRequests = hub.requests.filter((r) => r.server === 'hub');
    const cdnRequests = hub.requests.filter((r) => r.server === 'cdn');
    expect(hubRequests.length).toBeGreaterThan(5);
    expect(cdnRequests.length).toBe(2);
    expect(hubRequests.every((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
    expect(cdnRequests.map((r) => r.authorization)).toEqual([undefined, undefined]);
  });

  it('401 without a token and 403 with a wrong one are MODEL_AUTH asking for HF_TOKEN', async () => {
    hub.requiredToken = 'hf_secret';
    await expect(pull()).rejects.toMatchObject({
      code: 'MODEL_AUTH',
      message: expect.stringContaining('set HF_TOKEN'),
    });
    await expect(pull({ token: 'hf_wrong' })).rejects.toMatchObject({
      code: 'MODEL_AUTH',
      message: expect.stringMatching(/403.*HF_TOKEN/),
    });
    expect(existsSync(path.join(modelsDir, HF_ID))).toBe(false);
  });
});

describe('pullModel: not found', () => {
  it('a missing repo or revision is MODEL_NOT_FOUND naming it', async () => {
    await expect(pull({ repo: 'nobody/nothing' })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringMatching(/nobody\/nothing.*404.*tried onnx\/vision_model\.onnx/),
    });
    await expect(pull({ revision: 'v9' })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringContaining('revision v9 not found'),
    });
    expect(readdirSync(modelsDir)).toEqual([]);
  });

  it('a repo with neither layout lists what was tried', async () => {
    const error = await pull({ repo: 'someone/not-a-clip' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect((error as Error).message).toContain('onnx/vision_model.onnx (hf)');
    expect((error as Error).message).toContain('visual/model.onnx (immich)');
  });

  it('a 404 on a required file names repo, revision and file', async () => {
    await expect(pull({ repo: 'someone/incomplete' })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringMatching(
        /preprocessor_config\.json not found in someone\/incomplete at revision [0-9a-f]{40}/,
      ),
    });
    expect(existsSync(path.join(modelsDir, 'someone__incomplete'))).toBe(false);
  });
});

describe('pullModel: faults', () => {
  it('resumes with a Range request when the connection drops mid-file', async () => {
    hub.dropAfter(VISION, 500_000);
    const result = await pull();
    expectIdentical(result.dir, HF_REPO, layoutFiles('hf').all);
    const visionGets = gets(VISION);
    expect(visionGets).toHaveLength(2);
    expect(visionGets[0]!.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(visionGets[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(500_000);
  });

  it('a corrupted download is MODEL_DOWNLOAD_CORRUPT, deleted, and no model folder appears', async () => {
    hub.corrupt.add(VISION);
    const error = await pull().catch((e: unknown) => e);
    const served = hub.repos[HF_REPO]!.main![VISION]!;
    expect(error).toMatchObject({ code: 'MODEL_DOWNLOAD_CORRUPT' });
    expect((error as Error).message).toContain(VISION);
    expect((error as Error).message).toContain(`expected sha256 ${sha256(served)}`);
    expect((error as Error).message).toMatch(/got sha256 [0-9a-f]{64}/);
    expect(existsSync(path.join(modelsDir, HF_ID))).toBe(false);
    const partial = path.join(modelsDir, `.${HF_ID}.partial`);
    expect(existsSync(path.join(partial, VISION))).toBe(false);
    expect(existsSync(path.join(partial, `${VISION}.part`))).toBe(false);
  });

  it('verifies a small file against its git blob ETag, as the hub announces no sha256 for it', async () => {
    hub.corrupt.add('preprocessor_config.json');
    const error = await pull().catch((e: unknown) => e);
    const served = hub.repos[HF_REPO]!.main!['preprocessor_config.json']!;
    const blob = createHash('sha1').update(`blob ${served.length}\0`).update(served).digest('hex');
    expect(error).toMatchObject({ code: 'MODEL_DOWNLOAD_CORRUPT' });
    expect((error as Error).message).toContain('preprocessor_config.json');
    expect((error as Error).message).toContain(`expected git blob ${blob}`);
    expect(existsSync(path.join(modelsDir, HF_ID))).toBe(false);
  });

  it('an aborted pull leaves a .part that the next pull resumes', async () => {
    const controller = new AbortController();
    const first = pull({
      signal: controller.signal,
      onProgress: (p) => {
        if (p.file === VISION && p.bytesDone >= 200_000) controller.abort();
      },
    });
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    const part = path.join(modelsDir, `.${HF_ID}.partial`, `${VISION}.part`);
    const partSize = statSync(part).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThan(1_500_000);
    expect(existsSync(path.join(modelsDir, HF_ID))).toBe(false);

    hub.requests.length = 0;
    const result = await pull();
    expectIdentical(result.dir, HF_REPO, layoutFiles('hf').all);
    expect(gets(VISION).map((r) => r.range)).toEqual([`bytes=${partSize}-`]);
    expect(gets('onnx/text_model.onnx')).toEqual([]); // finished in the first run, kept
  });

  it('restarts from zero when the server answers a Range request with 200', async () => {
    const controller = new AbortController();
    await pull({
      signal: controller.signal,
      onProgress: (p) => p.file === VISION && p.bytesDone >= 200_000 && controller.abort(),
    }).catch(() => {});
    hub.ignoreRange.add(VISION);
    hub.requests.length = 0;
    const result = await pull();
    expectIdentical(result.dir, HF_REPO, [VISION]);
    expect(gets(VISION)).toHaveLength(1);
    expect(gets(VISION)[0]!.range).toMatch(/^bytes=\d+-$/);
  });

  it('retries 5xx answers and gives up with MODEL_DOWNLOAD_FAILED naming the status', async () => {
    hub.failWith('config.json', 502, 2);
    const ok = await pull();
    expectIdentical(ok.dir, HF_REPO, ['config.json']);

    hub.failWith('tokenizer.json', 503, 100);
    hub.requests.length = 0;
    hub.repos[HF_REPO]!.main!['tokenizer.json'] = bytes(20_000, 99); // changed: forces a download
    await expect(pull({ retry: { attempts: 3, ...FAST_RETRY } })).rejects.toMatchObject({
      code: 'MODEL_DOWNLOAD_FAILED',
      message: expect.stringMatching(/HTTP 503.*gave up after 3 tries/),
    });
    expect(hub.requests.filter((r) => r.file === 'tokenizer.json')).toHaveLength(3);
  });

  it('a connection that keeps dropping before any byte is MODEL_DOWNLOAD_FAILED after the retries', async () => {
    hub.dropAfter('tokenizer.json', 0, 100);
    await expect(pull({ retry: { attempts: 4, ...FAST_RETRY } })).rejects.toMatchObject({
      code: 'MODEL_DOWNLOAD_FAILED',
      message: expect.stringContaining('gave up after 4 tries'),
    });
    expect(gets('tokenizer.json')).toHaveLength(4);
    expect(existsSync(path.join(modelsDir, HF_ID))).toBe(false);
  });
});

describe('pullModel: an existing model', () => {
  it('is a no-op when identical and is replaced atomically when the hub changed', async () => {
    const first = await pull();
    hub.requests.length = 0;
    const again = await pull();
    expect(again.upToDate).toBe(true);
    expect(again.files).toEqual(first.files);
    expect(hub.requests.filter((r) => r.method === 'GET')).toEqual([]);

    const newConfig = json({ model_type: 'clip', projection_dim: 512 });
    hub.repos[HF_REPO]!.main!['config.json'] = newConfig;
    hub.requests.length = 0;
    const updated = await pull();
    expect(updated.upToDate).toBe(false);
    expect(readFileSync(path.join(updated.dir, 'config.json')).equals(Buffer.from(newConfig))).toBe(true);
    expectIdentical(updated.dir, HF_REPO, layoutFiles('hf').all);
    // Unchanged files were reused from the old folder, not downloaded again.
    expect(hub.requests.filter((r) => r.method === 'GET').map((r) => r.file)).toEqual(['config.json']);
    expect(readdirSync(modelsDir)).toEqual([HF_ID]);
  });

  it('a crash between the swap renames is repaired by the next pull', async () => {
    const first = await pull();
    renameSync(first.dir, path.join(modelsDir, `.${HF_ID}.old-1-1`));
    const again = await pull();
    expect(again.upToDate).toBe(true);
    expectIdentical(again.dir, HF_REPO, layoutFiles('hf').all);
    expect(readdirSync(modelsDir)).toEqual([HF_ID]);
  });

  it('a complete file left beside a stale .part keeps no .part in the model folder', async () => {
    const controller = new AbortController();
    await pull({
      signal: controller.signal,
      onProgress: (p) => p.file === VISION && p.bytesDone >= 200_000 && controller.abort(),
    }).catch(() => {});
    const partial = path.join(modelsDir, `.${HF_ID}.partial`);
    copyFileSync(path.join(partial, 'onnx/text_model.onnx'), path.join(partial, 'onnx/text_model.onnx.part'));
    const result = await pull();
    expect(readdirSync(path.join(result.dir, 'onnx')).sort()).toEqual([
      'text_model.onnx',
      'vision_model.onnx',
    ]);
  });
});
