/**
 * Search end to end with the model families beyond OpenAI's CLIP: a real server, the real Redis, a real
 * worker, real ffmpeg videos. The multilingual model (immich layout, WordPiece) finds the split-screen
 * video for a German, French or Chinese query; the SigLIP-shaped model (its preprocessing squashes
 * instead of cropping) is given frames cut its way, so the sides of a wide video reach it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeSyntheticMultilingual, writeSyntheticSiglip } from '@reel/models';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiFixture, json, startApi, uploadForm, waitForBatch } from './helpers/api-server.ts';

let api: ApiFixture | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: 'pipe' });
}

/** 2 s at 8 fps, `width`×`height`, coloured by the `geq` expressions for R, G and B (X: column, W: width). */
function video(file: string, width: number, height: number, rgb: [string, string, string]): string {
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `color=black:size=${width}x${height}:rate=8:duration=2,format=rgb24,geq=r='${rgb[0]}':g='${rgb[1]}':b='${rgb[2]}'`,
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv444p',
    file,
  ]);
  return file;
}

async function indexAndSearch(
  modelDir: string,
  files: string[],
  queries: string[],
): Promise<Map<string, string[]>> {
  api = await startApi({ env: { REEL_MODEL: modelDir } });
  const accepted = await json(
    await fetch(`${api.url}/v1/videos`, {
      method: 'POST',
      body: uploadForm(files.map((file) => ({ file }))),
    }),
  );
  const status = await waitForBatch(api.url, accepted.batchId);
  expect(status.videos.map((v: { status: string }) => v.status)).toEqual(files.map(() => 'indexed'));
  const titles = new Map<string, string[]>();
  for (const q of queries) {
    const body = await json(await fetch(`${api.url}/v1/search?q=${encodeURIComponent(q)}&k=3`));
    titles.set(
      q,
      body.results.map((r: { title: string }) => r.title),
    );
  }
  return titles;
}

describe('search with other model families (real server, worker, ffmpeg)', () => {
  it('the multilingual model finds the split-screen video in German, French, Spanish and Chinese', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reel-multilingual-'));
    const model = path.join(root, 'multilingual-model');
    await writeSyntheticMultilingual(model);
    const videos = [
      video(path.join(root, 'split.mp4'), 96, 72, [
        'if(lt(X,W/2),230,25)',
        'if(lt(X,W/2),25,50)',
        'if(lt(X,W/2),25,230)',
      ]),
      video(path.join(root, 'green.mp4'), 96, 72, ['25', '180', '25']),
      video(path.join(root, 'yellow-left.mp4'), 96, 72, [
        'if(lt(X,W/2),255,25)',
        'if(lt(X,W/2),230,180)',
        '25',
      ]),
    ];
    const queries = [
      'red on the left, blue on the right',
      'rot links, blau rechts',
      'rouge à gauche, bleu à droite',
      'rojo a la izquierda, azul a la derecha',
      '左红右蓝',
    ];
    const results = await indexAndSearch(model, videos, queries);
    for (const q of queries) expect(results.get(q)?.[0], q).toBe('split');
    expect(results.get('grün')).toBeUndefined();
  });

  it("the SigLIP-shaped model sees a wide video's sides, which a centre crop would cut off", async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reel-siglip-'));
    const model = path.join(root, 'siglip-model');
    await writeSyntheticSiglip(model);
    // 4:1, red | green | blue thirds: a centre crop keeps only the green middle.
    const videos = [
      video(path.join(root, 'wide.mp4'), 256, 64, [
        'if(lt(X,W/3),230,25)',
        'if(between(X,W/3,2*W/3-1),180,if(lt(X,W/3),25,50))',
        'if(gte(X,2*W/3),230,25)',
      ]),
      video(path.join(root, 'green.mp4'), 96, 72, ['25', '180', '25']),
    ];
    const results = await indexAndSearch(model, videos, ['red on the left, blue on the right', 'green']);
    expect(results.get('red on the left, blue on the right')?.[0]).toBe('wide');
    expect(results.get('green')?.[0]).toBe('green');
  });
});
