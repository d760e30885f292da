import path from 'node:path';
import {
  ClipModel,
  createInferencePool,
  DEFAULT_MODEL_ID,
  type RawFrame,
  resolveActiveModel,
  writeSyntheticClip,
} from '@reel/models';
import type { Command } from 'commander';
import { runChecks } from '../../doctor/checks.ts';
import { type CliContext, ExitCode } from '../context.ts';
import { formatTable } from '../output.ts';
import { formatChecks } from './doctor.ts';

type Rgb = [number, number, number];

/** A frame whose left and right halves have the given colours. */
function halves(left: Rgb, right: Rgb, size = 224): RawFrame {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) data.set(x < size / 2 ? left : right, (y * size + x) * 3);
  }
  return { data, width: size, height: size };
}

const RED: Rgb = [220, 30, 30];
const BLUE: Rgb = [30, 50, 220];
const GREEN: Rgb = [30, 170, 40];

/** Generated stand-ins for video frames: what the synthetic model can tell apart. */
export const DEMO_FRAMES: { name: string; frame: RawFrame }[] = [
  { name: 'all red', frame: halves(RED, RED) },
  { name: 'all blue', frame: halves(BLUE, BLUE) },
  { name: 'red left, blue right', frame: halves(RED, BLUE) },
  { name: 'blue left, red right', frame: halves(BLUE, RED) },
  { name: 'green left, white right', frame: halves(GREEN, [250, 250, 250]) },
  { name: 'all black', frame: halves([5, 5, 5], [5, 5, 5]) },
];

export const DEMO_QUERIES = [
  'red',
  'a blue square on the left',
  'a red square on the right',
  'something dark',
  'green',
];

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] ?? 0) * (b[i] ?? 0);
  return sum;
}

export function registerDemo(program: Command, context: () => CliContext): void {
  program
    .command('demo')
    .description(
      'check the machine, install the synthetic model if needed, and rank generated frames by text',
    )
    .option('--json', 'print the rankings as JSON')
    .addHelpText('after', '\nExample:\n  $ npm run demo')
    .action(async (options: { json?: boolean }) => {
      const { config } = context();
      const checks = await runChecks(config);
      const blocking = checks.filter((c) => !c.ok && c.name !== 'model');
      if (!options.json) process.stdout.write(`${formatChecks(checks.filter((c) => c.name !== 'model'))}\n`);
      if (blocking.length > 0) {
        process.stderr.write(`fix the failed check(s) above, then run the demo again\n`);
        process.exitCode = ExitCode.failure;
        return;
      }
      const active = resolveActiveModel(config.model, config.paths.models);
      if (active.name === DEFAULT_MODEL_ID && !checks.find((c) => c.name === 'model')?.ok) {
        if (!options.json) process.stdout.write(`writing the synthetic model to ${active.dir}\n`);
        await writeSyntheticClip(active.dir);
      }
      const pool = createInferencePool({ size: 1 });
      try {
        const model = await ClipModel.load(active.dir, { pool });
        const frames = await model.encodeImages(DEMO_FRAMES.map((f) => f.frame));
        const texts = await model.encodeTexts(DEMO_QUERIES);
        const rankings = DEMO_QUERIES.map((query, q) => ({
          query,
          results: DEMO_FRAMES.map((f, i) => ({ frame: f.name, score: dot(texts[q]!, frames[i]!) })).sort(
            (a, b) => b.score - a.score,
          ),
        }));
        await model.close();
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ model: active.name, fingerprint: model.fingerprint, rankings }, null, 2)}\n`,
          );
          return;
        }
        process.stdout.write(
          `\nmodel: ${active.name} (${model.layout}, ${model.dim}-d) from ${path.relative(process.cwd(), active.dir) || active.dir}\n`,
        );
        for (const { query, results } of rankings) {
          process.stdout.write(
            `\n"${query}"\n${formatTable(
              ['rank', 'frame', 'cosine'],
              results.slice(0, 3).map((r, i) => [`${i + 1}`, r.frame, r.score.toFixed(3)]),
            )}\n`,
          );
        }
        process.stdout.write(
          '\nThe synthetic model knows colours, light/dark and left/right/top/bottom/centre only. For real search,\n' +
            'pull a real CLIP: npx reel models pull Xenova/clip-vit-base-patch32 && npx reel models use Xenova__clip-vit-base-patch32\n',
        );
      } finally {
        await pool.close();
      }
    });
}
