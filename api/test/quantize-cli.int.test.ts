import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { colourVideo } from './helpers/api-server.ts';
import { runCli } from './helpers/run-cli.ts';

const ID = 'reel-synthetic-clip';
let env: Record<string, string>;
let videos: string;

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-cli-quantize-'));
  videos = path.join(root, 'videos');
  mkdirSync(videos);
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    REEL_DATA_DIR: path.join(root, 'data'),
    REEL_QUEUE_PREFIX: `{cli-${randomUUID().slice(0, 8)}}`,
    REEL_LOG_LEVEL: 'error',
  };
  colourVideo(videos, 'red.mp4', 'red');
  colourVideo(videos, 'blue.mp4', 'blue');
  expect((await runCli(['models', 'synth'], env)).code).toBe(0);
});

interface Folder {
  id: string;
  fingerprint: string;
  calibration: {
    precision: { image: string; text: string };
    items: { images: number; imageSource: string; texts: number };
    image: { mean: number; p1: number; min: number };
    text: { p1: number };
    retrieval: { agreement: number };
  };
}

describe('reel models quantize (real CLI, Redis, ffmpeg, onnxruntime)', () => {
  it('quantizes the model on frames of indexed videos; auto makes the int8 image copy active; a reindex moves search to it', async () => {
    // Index with the fp32 model first: the calibration then uses these videos' frames.
    const ingest = await runCli(['ingest', videos, '--json'], env);
    expect(ingest.code).toBe(0);
    expect(JSON.parse(ingest.stdout).counts).toMatchObject({ indexed: 2 });

    const quantize = await runCli(['models', 'quantize', ID, '--json'], env);
    expect(quantize.stderr).toBe('');
    expect(quantize.code).toBe(0);
    const result = JSON.parse(quantize.stdout) as {
      written: boolean;
      source: { fingerprint: string };
      folders: Folder[];
      chosen: { dir: string; image: { precision: string; reason: string } };
    };
    expect(result.written).toBe(true);
    // precision auto picks the new int8 copy: the command says the active model changed, and what follows
    expect((result as unknown as { activeModel: unknown }).activeModel).toEqual({
      before: ID,
      after: `${ID}-int8-image`,
      changed: true,
    });
    expect(result.folders.map((f) => f.id)).toEqual([`${ID}-int8`, `${ID}-int8-image`, `${ID}-int8-text`]);
    const calibration = result.folders[0]!.calibration;
    // 2 videos × 12 frames, topped up with generated images to 64.
    expect(calibration.items).toEqual({
      images: 64,
      imageSource: '24 frames (thumbnails) of indexed videos and 40 generated images',
      texts: 32,
    });
    expect(calibration.image.p1).toBeGreaterThanOrEqual(0.99);
    expect(calibration.text.p1).toBeGreaterThanOrEqual(0.99);
    expect(path.basename(result.chosen.dir)).toBe(`${ID}-int8-image`);
    expect(result.chosen.image.precision).toBe('int8');

    const list = await runCli(['models', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(
        `^\\*\\s+${ID}-int8-image\\s+hf int8 copy\\s+complete\\s+sha256:.*image int8 \\(p1 0\\.99\\d+\\) · text fp32 · top-10 `,
        'm',
      ),
    );
    expect(list.stdout).toContain(`active: ${ID} (from default)`);
    expect(list.stdout).toMatch(
      /runs as reel-synthetic-clip-int8-image: image int8 \(REEL_IMAGE_PRECISION=auto: calibration p1 cosine 0\.99\d+, top-10 agreement [01]\.\d{3} \(≥ 0\.99 and ≥ 0\.95\)\)/,
    );
    const listed = JSON.parse((await runCli(['models', 'list', '--json'], env)).stdout) as {
      models: { id: string; active: boolean; calibration?: Folder['calibration'] }[];
    };
    expect(listed.models.find((m) => m.id === ID)).toMatchObject({ active: false });
    expect(listed.models.find((m) => m.id === `${ID}-int8-image`)).toMatchObject({
      active: true,
      calibration: { precision: { image: 'int8', text: 'fp32' } },
    });

    const doctor = await runCli(['doctor', '--json'], env);
    const { checks } = JSON.parse(doctor.stdout) as {
      checks: { name: string; ok: boolean; detail: string }[];
    };
    const model = checks.find((c) => c.name === 'model')!;
    expect(model.ok).toBe(true);
    expect(model.detail).toContain(`${ID}-int8-image`);
    expect(model.detail).toMatch(
      /image int8 \(REEL_IMAGE_PRECISION=auto: .*\), text fp32 \(REEL_TEXT_PRECISION=fp32\)/,
    );

    // The int8 copy is a model change: the backfill re-embeds both videos, then searches read it.
    const int8 = result.folders.find((f) => f.id === `${ID}-int8-image`)!;
    const reindex = await runCli(['reindex', '--model', '--json'], env);
    expect(reindex.code).toBe(0);
    const [outcome] = JSON.parse(reindex.stdout) as {
      switched: boolean;
      searching: string;
      batch: Record<string, number>;
    }[];
    expect(outcome).toMatchObject({ switched: true, searching: int8.fingerprint, batch: { indexed: 2 } });
    const search = await runCli(['search', 'red', '--json'], env);
    expect(search.code).toBe(0);
    const { results } = JSON.parse(search.stdout) as { results: { title: string; score: number }[] };
    expect(results.map((r) => r.title)).toEqual(['red', 'blue']);
    expect(results[0]!.score).toBeGreaterThan(results[1]!.score + 0.1);
    // quantizing again changes nothing, and says so
    const again = await runCli(['models', 'quantize', ID], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`the active model stays ${ID}-int8-image: nothing is re-embedded`);
  });

  it('REEL_IMAGE_PRECISION=fp32 keeps the fp32 model; int8 on a model without a copy fails doctor with the fix', async () => {
    const fp32 = await runCli(['models', 'list', '--json'], { ...env, REEL_IMAGE_PRECISION: 'fp32' });
    const listed = JSON.parse(fp32.stdout) as { models: { id: string; active: boolean }[] };
    expect(listed.models.filter((m) => m.active).map((m) => m.id)).toEqual([ID]);

    const other = path.join(env.REEL_DATA_DIR!, 'elsewhere', 'plain');
    mkdirSync(path.dirname(other), { recursive: true });
    execFileSync('cp', ['-r', path.join(env.REEL_DATA_DIR!, 'models', ID), other]);
    const doctor = await runCli(['doctor', '--json'], {
      ...env,
      REEL_MODEL: other,
      REEL_IMAGE_PRECISION: 'int8',
    });
    expect(doctor.code).toBe(1);
    const model = (
      JSON.parse(doctor.stdout) as { checks: { name: string; ok: boolean; detail: string; fix?: string }[] }
    ).checks.find((c) => c.name === 'model')!;
    expect(model.ok).toBe(false);
    expect(model.detail).toContain('REEL_IMAGE_PRECISION=int8 but plain has no int8 copy');
    expect(model.fix).toMatch(/^npx reel models quantize plain/);

    const bad = await runCli(['models', 'list'], { ...env, REEL_TEXT_PRECISION: 'int4' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('REEL_TEXT_PRECISION: expected one of auto, fp32, int8, got "int4"');
  });
});
