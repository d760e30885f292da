import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { syntheticClipFiles, syntheticMultilingualFiles } from '@reel/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The loopback hub that the models package's pull tests use; shared rather than written twice.
import { type FakeHub, startFakeHub } from '../../models/test/fake-hub.ts';
import { runCli } from './helpers/run-cli.ts';

const VOCAB = path.resolve(import.meta.dirname, '../../../shared/data/clip/bpe_simple_vocab_16e6.txt.gz');
let hub: FakeHub;
if (!existsSync(VOCAB)) {
  console.warn(
    `CLIP vocabulary not found at ${VOCAB}: skipping the reel tokenize --vocab test (present in the reel workplace and CI)`,
  );
}

function env(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    REEL_DATA_DIR: dataDir,
    REEL_LOG_LEVEL: 'warn',
    ...extra,
  };
}

beforeAll(async () => {
  hub = await startFakeHub({
    'acme/tiny-clip': { main: Object.fromEntries(syntheticClipFiles()) },
    'acme/tiny-multilingual': { main: Object.fromEntries(syntheticMultilingualFiles()) },
  });
});

afterAll(async () => {
  await hub.close();
});

describe('reel models (real CLI, real onnxruntime, loopback hub)', () => {
  it('synth writes the synthetic model, and list shows it active by default', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-cli-models-'));
    const synth = await runCli(['models', 'synth', '--json'], env(dataDir));
    expect(synth.code).toBe(0);
    const result = JSON.parse(synth.stdout) as { id: string; dir: string; dim: number; fingerprint: string };
    expect(result).toMatchObject({
      id: 'reel-synthetic-clip',
      dim: 128,
      fingerprint: expect.stringMatching(/^sha256:/),
    });
    expect(existsSync(path.join(result.dir, 'onnx', 'vision_model.onnx'))).toBe(true);

    const list = await runCli(['models', 'list', '--json'], env(dataDir));
    const listed = JSON.parse(list.stdout) as {
      active: { name: string; source: string };
      models: { id: string; active: boolean; complete: boolean; fingerprint: string }[];
    };
    expect(listed.active).toMatchObject({ name: 'reel-synthetic-clip', source: 'default' });
    expect(listed.models).toEqual([
      expect.objectContaining({
        id: 'reel-synthetic-clip',
        active: true,
        complete: true,
        fingerprint: result.fingerprint,
      }),
    ]);
  });

  it('pull downloads from HF_ENDPOINT, use activates it, tokenize and doctor follow the active model', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-cli-pull-'));
    const pull = await runCli(
      ['models', 'pull', 'acme/tiny-clip'],
      env(dataDir, { HF_ENDPOINT: hub.endpoint }),
    );
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain('pulled acme/tiny-clip@main (hf, fp32');
    expect(pull.stdout).toContain('use it with: npx reel models use acme__tiny-clip');

    const use = await runCli(['models', 'use', 'acme__tiny-clip'], env(dataDir));
    expect(use.code).toBe(0);
    expect(use.stdout).toMatch(/^active model: acme__tiny-clip \(hf fp32, 128-d, sha256:[0-9a-f]{64}\)/);

    const list = await runCli(['models', 'list'], env(dataDir));
    expect(list.stdout).toMatch(/^\*\s+acme__tiny-clip\s+hf fp32\s+complete/m);
    expect(list.stdout).toContain('active: acme__tiny-clip (from reel models use)');

    const doctor = await runCli(['doctor'], env(dataDir));
    expect(doctor.stdout).toMatch(/ok {3}model +acme__tiny-clip \(from reel models use; hf layout, fp32\)/);

    // The synthetic tokenizer has its own small vocabulary: "red" is one token there.
    const tokenize = await runCli(['tokenize', 'red'], env(dataDir));
    const line = JSON.parse(tokenize.stdout.trim()) as { text: string; ids: number[] };
    expect(line.text).toBe('red');
    expect(line.ids).toHaveLength(3);
    expect(line.ids[0]).toBe(49406);
    expect(line.ids[2]).toBe(49407);
  });

  it('pulls a multilingual immich export, activates it, and tokenizes with its WordPiece tokenizer', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-cli-pull-multi-'));
    const pull = await runCli(
      ['models', 'pull', 'acme/tiny-multilingual'],
      env(dataDir, { HF_ENDPOINT: hub.endpoint }),
    );
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain('pulled acme/tiny-multilingual@main (immich');
    const use = await runCli(['models', 'use', 'acme__tiny-multilingual'], env(dataDir));
    expect(use.code).toBe(0);
    const tokenize = await runCli(['tokenize', 'Rot  LINKS'], env(dataDir));
    expect(tokenize.code).toBe(0);
    const line = JSON.parse(tokenize.stdout.trim()) as { ids: number[] };
    // [CLS] rot links [SEP]: BERT's lowercasing, ids from the WordPiece vocabulary (specials 0-4).
    expect(line.ids).toHaveLength(4);
    expect(line.ids[0]).toBe(2);
    expect(line.ids[3]).toBe(3);
    expect(Math.min(...line.ids.slice(1, 3))).toBeGreaterThan(4);
  });

  it('reads the token that `hf auth login` saved in HF_HOME when HF_TOKEN is unset', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-cli-token-'));
    const hfHome = mkdtempSync(path.join(tmpdir(), 'reel-hf-home-'));
    writeFileSync(path.join(hfHome, 'token'), 'hf_from_the_file\n');
    hub.requiredToken = 'hf_from_the_file';
    try {
      const pull = await runCli(
        ['models', 'pull', 'acme/tiny-clip'],
        env(dataDir, { HF_ENDPOINT: hub.endpoint, HF_HOME: hfHome }),
      );
      expect(pull.stderr).toBe('');
      expect(pull.code).toBe(0);
      const denied = await runCli(
        ['models', 'pull', 'acme/tiny-clip', '--revision', 'main'],
        env(dataDir, { HF_ENDPOINT: hub.endpoint }),
      );
      expect(denied.stderr).toContain('MODEL_AUTH');
    } finally {
      hub.requiredToken = undefined;
    }
  });

  it('with HF_HUB_OFFLINE installs from the Hugging Face cache or immich cache without any network', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-cli-offline-'));
    const hfHome = mkdtempSync(path.join(tmpdir(), 'reel-hf-home-'));
    // The hub cache as huggingface_hub writes it: refs/main → commit, snapshot files linking to blobs.
    const repoDir = path.join(hfHome, 'hub', 'models--acme--cached-clip');
    const commit = 'c'.repeat(40);
    mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
    for (const [file, bytes] of syntheticClipFiles()) {
      const blob = path.join(repoDir, 'blobs', createHash('sha256').update(bytes).digest('hex'));
      mkdirSync(path.dirname(blob), { recursive: true });
      writeFileSync(blob, bytes);
      const link = path.join(repoDir, 'snapshots', commit, file);
      mkdirSync(path.dirname(link), { recursive: true });
      symlinkSync(path.relative(path.dirname(link), blob), link);
    }
    const immichCache = mkdtempSync(path.join(tmpdir(), 'reel-immich-cache-'));
    for (const [file, bytes] of syntheticMultilingualFiles()) {
      mkdirSync(path.dirname(path.join(immichCache, 'clip', 'XLM-test', file)), { recursive: true });
      writeFileSync(path.join(immichCache, 'clip', 'XLM-test', file), bytes);
    }
    // Nothing listens here: any request would fail.
    const offline = env(dataDir, {
      HF_HUB_OFFLINE: '1',
      HF_HOME: hfHome,
      HF_ENDPOINT: 'http://127.0.0.1:9',
      MACHINE_LEARNING_CACHE_FOLDER: immichCache,
    });
    const pull = await runCli(['models', 'pull', 'acme/cached-clip'], offline);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain(
      `installed from the local cache ${path.join(repoDir, 'snapshots', commit)}`,
    );
    const use = await runCli(['models', 'use', 'acme__cached-clip'], offline);
    expect(use.code, use.stderr).toBe(0);

    const immich = await runCli(['models', 'pull', 'immich-app/XLM-test'], offline);
    expect(immich.code, immich.stderr).toBe(0);
    expect(immich.stdout).toContain('(immich, fp32');

    // A cache is input too: a snapshot file linking out of the cache, or a FIFO, is refused before reading.
    for (const [name, plant] of [
      [
        'acme/leaky',
        (link: string) => {
          const outside = path.join(mkdtempSync(path.join(tmpdir(), 'reel-outside-')), 'secret.json');
          writeFileSync(outside, '{"model_type": "clip"}');
          symlinkSync(outside, link);
        },
      ],
      ['acme/fifo', (link: string) => execFileSync('mkfifo', [link])],
    ] as const) {
      const hostile = path.join(hfHome, 'hub', `models--${name.replace('/', '--')}`);
      mkdirSync(path.join(hostile, 'refs'), { recursive: true });
      writeFileSync(path.join(hostile, 'refs', 'main'), commit);
      for (const [file, bytes] of syntheticClipFiles()) {
        const at = path.join(hostile, 'snapshots', commit, file);
        mkdirSync(path.dirname(at), { recursive: true });
        if (file === 'config.json') plant(at);
        else writeFileSync(at, bytes);
      }
      const refused = await runCli(['models', 'pull', name], offline);
      expect(refused.code, name).toBe(1);
      expect(refused.stderr, name).toContain(
        name === 'acme/leaky'
          ? 'config.json links outside its cache folder'
          : 'config.json is not a regular file',
      );
    }

    const missing = await runCli(['models', 'pull', 'acme/not-cached'], offline);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('HF_HUB_OFFLINE is set and acme/not-cached@main is in no local cache');
    expect(missing.stderr).toContain(path.join(hfHome, 'hub', 'models--acme--not-cached', 'refs', 'main'));
  });

  it('fails with the error code when a repo does not exist or a model is not installed', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-cli-missing-'));
    const pull = await runCli(
      ['models', 'pull', 'acme/nothing-here'],
      env(dataDir, { HF_ENDPOINT: hub.endpoint }),
    );
    expect(pull.code).toBe(1);
    expect(pull.stderr).toMatch(/^error MODEL_NOT_FOUND: .*acme\/nothing-here/m);
    const use = await runCli(['models', 'use', 'not-installed'], env(dataDir));
    expect(use.code).toBe(1);
    expect(use.stderr).toContain('error MODEL_NOT_FOUND: model folder');
  });

  it('rejects a bad --variant as bad usage', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-cli-usage-'));
    const pull = await runCli(['models', 'pull', 'acme/tiny-clip', '--variant', 'int4'], env(dataDir));
    expect(pull.code).toBe(2);
    expect(pull.stderr).toContain("argument 'int4' is invalid");
  });
});

describe('reel tokenize', () => {
  it.runIf(existsSync(VOCAB))(
    "gives OpenAI's ids from the OpenAI vocabulary, truncated with EOS last",
    async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-cli-tok-'));
      const run = await runCli(
        ['tokenize', '--vocab', VOCAB, 'a photo of a cat', 'a photo of a cat', '--context', '5'],
        env(dataDir),
      );
      expect(run.code).toBe(0);
      const lines = run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { ids: number[] });
      expect(lines).toHaveLength(2);
      expect(lines[0]!.ids).toEqual([49406, 320, 1125, 539, 49407]);
    },
  );

  it('refuses --model and --vocab together as bad usage', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-cli-tok-'));
    const run = await runCli(['tokenize', '--model', 'x', '--vocab', 'y', 'text'], env(dataDir));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('give --model or --vocab, not both');
  });
});
