/**
 * `pullModel` against the loopback test hub for the model shapes beyond OpenAI's CLIP: a SigLIP-shaped
 * HF export, a multilingual immich export, and an immich export whose vision weights are ONNX external
 * data; each installed folder then loads in the real onnxruntime-node and ranks frames for a query. A
 * family reel cannot run, or a tokenizer it cannot read, is refused from the configs before any weights
 * are fetched; an external-data location outside the folder is never requested.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClipModel } from '../src/clip/clip-model.ts';
import { PULL_MANIFEST_FILE, pullModel } from '../src/hub/pull-model.ts';
import { createInferencePool, type InferencePool } from '../src/inference/inference-pool.ts';
import { withExternalData } from '../src/onnx/graph-builder.ts';
import { syntheticClipFiles } from '../src/synthetic/synthetic-clip.ts';
import { syntheticMultilingualFiles } from '../src/synthetic/synthetic-multilingual.ts';
import { syntheticSiglipFiles } from '../src/synthetic/synthetic-siglip.ts';
import { type FakeHub, type FakeRepos, startFakeHub } from './fake-hub.ts';

const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 4 };
const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

function filesOf(map: Map<string, Uint8Array>): Record<string, Uint8Array> {
  return Object.fromEntries(map);
}

/** The multilingual export with its vision weights moved to `visual/model.onnx_data`. */
function externalDataRepo(location = 'model.onnx_data'): Record<string, Uint8Array> {
  const files = filesOf(syntheticMultilingualFiles());
  const { model, data } = withExternalData(files['visual/model.onnx']!, location);
  return { ...files, 'visual/model.onnx': model, 'visual/model.onnx_data': data };
}

function makeRepos(): FakeRepos {
  const clip = filesOf(syntheticClipFiles());
  return {
    'Xenova/siglip-test': { main: filesOf(syntheticSiglipFiles()) },
    'immich-app/XLM-test': { main: filesOf(syntheticMultilingualFiles()) },
    'immich-app/ViT-H-14__test': { main: externalDataRepo() },
    'immich-app/hostile': { main: externalDataRepo('../../../etc/passwd') },
    'someone/chinese-clip': {
      main: {
        ...clip,
        'config.json': json({ architectures: ['ChineseCLIPModel'], model_type: 'chinese_clip' }),
      },
    },
    'someone/wordlevel': {
      main: {
        ...clip,
        'tokenizer.json': json({
          version: '1.0',
          model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' },
        }),
      },
    },
  };
}

let hub: FakeHub;
let modelsDir: string;
let pool: InferencePool;

beforeAll(() => {
  pool = createInferencePool({ size: 1 });
});
afterAll(() => pool.close());
beforeEach(async () => {
  hub = await startFakeHub(makeRepos());
  modelsDir = mkdtempSync(path.join(tmpdir(), 'reel-pull-families-'));
});
afterEach(async () => {
  await hub.close();
  rmSync(modelsDir, { recursive: true, force: true });
});

function pull(repo: string) {
  return pullModel({ repo, endpoint: hub.endpoint, modelsDir, retry: FAST_RETRY });
}

/** Weight downloads: GETs of graphs and their data (from the CDN, where LFS bodies come from). */
const weightGets = () =>
  hub.requests.filter(
    (r) => r.method === 'GET' && r.server === 'cdn' && /\.onnx(_data)?$/.test(r.file ?? ''),
  );

function cosine(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function split(left: number[], right: number[]) {
  const data = new Uint8Array(224 * 224 * 3);
  for (let i = 0; i < 224 * 224; i++) data.set(i % 224 < 112 ? left : right, i * 3);
  return { data, width: 224, height: 224 };
}

/** Loads the pulled folder and checks `query` ranks the red|blue frame above the green|yellow one. */
async function searchWith(dir: string, query: string): Promise<ClipModel> {
  const model = await ClipModel.load(dir, { pool });
  const [text] = await model.encodeTexts([query]);
  const [match, other] = await model.encodeImages([
    split([230, 25, 25], [25, 50, 230]),
    split([25, 180, 25], [255, 230, 25]),
  ]);
  expect(cosine(text!, match!)).toBeGreaterThan(cosine(text!, other!) + 0.3);
  await model.close();
  return model;
}

describe('pullModel: model families', () => {
  it('installs a SigLIP-shaped HF export that then searches', async () => {
    const result = await pull('Xenova/siglip-test');
    expect(result.layout).toBe('hf');
    const model = await searchWith(result.dir, 'red on the left, blue on the right');
    expect(model.family.name).toBe('siglip');
  });

  it('installs a multilingual immich export that then searches in German', async () => {
    const result = await pull('immich-app/XLM-test');
    const model = await searchWith(result.dir, 'rot links, blau rechts');
    expect(model.family.name).toBe('multilingual-clip');
  });

  it('fetches the external-data files an encoder names, records them, and counts them in up-to-date checks', async () => {
    const repo = 'immich-app/ViT-H-14__test';
    const result = await pull(repo);
    const paths = result.files.map((f) => f.path);
    // Configs first, then each graph followed by the weights it names.
    expect(paths.indexOf('visual/model.onnx_data')).toBe(paths.indexOf('visual/model.onnx') + 1);
    expect(paths.slice(0, 4).every((p) => !p.endsWith('.onnx'))).toBe(true);
    const served = hub.repos[repo]!.main!['visual/model.onnx_data']!;
    expect(readFileSync(path.join(result.dir, 'visual/model.onnx_data')).equals(Buffer.from(served))).toBe(
      true,
    );
    const manifest = JSON.parse(readFileSync(path.join(result.dir, PULL_MANIFEST_FILE), 'utf8'));
    expect(manifest.files.find((f: { path: string }) => f.path === 'visual/model.onnx_data')).toMatchObject({
      externalOf: 'visual/model.onnx',
      bytes: served.length,
    });
    await searchWith(result.dir, 'rouge à gauche, bleu à droite');

    hub.requests.length = 0;
    const again = await pull(repo);
    expect(again.upToDate).toBe(true);
    expect(again.files).toEqual(result.files);
    expect(hub.requests.filter((r) => r.method === 'GET')).toEqual([]);

    // New weights under the same graph: only the data file is fetched again.
    const changed = Uint8Array.from(served);
    changed[changed.length - 1] = (changed[changed.length - 1]! + 1) % 256;
    hub.repos[repo]!.main!['visual/model.onnx_data'] = changed;
    hub.requests.length = 0;
    const updated = await pull(repo);
    expect(updated.upToDate).toBe(false);
    expect(weightGets().map((r) => r.file)).toEqual(['visual/model.onnx_data']);
    expect(readFileSync(path.join(updated.dir, 'visual/model.onnx_data')).equals(Buffer.from(changed))).toBe(
      true,
    );
  });

  it('never requests an external-data location outside the model folder', async () => {
    const error = await pull('immich-app/hostile').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_INVALID' });
    expect((error as Error).message).toContain('points outside');
    expect(hub.requests.some((r) => r.file?.includes('passwd') || r.url.includes('passwd'))).toBe(false);
    expect(() => readFileSync(path.join(modelsDir, 'immich-app__hostile', 'config.json'))).toThrow();
  });

  it('refuses an unsupported family from its config before fetching any weights', async () => {
    const error = await pull('someone/chinese-clip').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_FAMILY_UNSUPPORTED' });
    expect((error as Error).message).toContain('model_type "chinese_clip"');
    expect((error as Error).message).toContain('weights were not downloaded');
    expect((error as Error).message).toContain('clip, siglip, multilingual-clip');
    expect(weightGets()).toEqual([]);
  });

  it('refuses a tokenizer it cannot read before fetching any weights', async () => {
    const error = await pull('someone/wordlevel').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TOKENIZER_INVALID' });
    expect((error as Error).message).toContain('"WordLevel"');
    expect(weightGets()).toEqual([]);
  });
});
