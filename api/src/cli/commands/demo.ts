/**
 * `reel demo` (`npm run demo`, the README's main command): the whole product on the embedded defaults.
 * Checks the machine, writes the synthetic model if it is the active one and missing, renders a few
 * short videos with ffmpeg, ingests them through the real pipeline (a worker runs in this process when
 * none is running), and searches them, printing each result's score and the moment that matched.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { SearchService } from '@reel/index';
import { type ColourSegment, colourVideoArgs, renderVideo } from '@reel/ingest';
import {
  ClipModel,
  createInferencePool,
  DEFAULT_MODEL_ID,
  inspectModelFolder,
  resolveActiveModel,
  writeSyntheticClip,
} from '@reel/models';
import { openPipeline, type RunningWorker, startPipelineWorker } from '@reel/workers';
import type { Command } from 'commander';
import { runChecks } from '../../doctor/checks.ts';
import { type CliContext, ExitCode } from '../context.ts';
import { formatTable } from '../output.ts';
import { formatChecks } from './doctor.ts';

/** Videos the synthetic model can tell apart: colours, light/dark, left/right, each with a moment to find. */
export const DEMO_VIDEOS: Record<string, ColourSegment[]> = {
  'traffic-light.mp4': [
    { colour: 'red', seconds: 2 },
    { colour: 'yellow', seconds: 2 },
    { colour: 'green', seconds: 2 },
  ],
  'ocean.mp4': [
    { colour: 'blue', seconds: 3 },
    { colour: 'cyan', seconds: 3 },
  ],
  'night-flash.mp4': [
    { colour: 'black', seconds: 4 },
    { colour: 'white', seconds: 1 },
    { colour: 'black', seconds: 1 },
  ],
  'forest.mp4': [
    { colour: 'green', seconds: 4 },
    { colour: 'brown', seconds: 2 },
  ],
  'split-screen.mp4': [
    { colour: 'red', right: 'blue', seconds: 3 },
    { colour: 'blue', right: 'red', seconds: 3 },
  ],
};

export const DEMO_QUERIES = [
  'yellow',
  'a white flash',
  'red on the left, blue on the right',
  'brown',
  'cyan',
];

function seconds(value: number): string {
  return `${value.toFixed(1)}s`;
}

export function registerDemo(program: Command, context: () => CliContext): void {
  program
    .command('demo')
    .description(
      'run reel end to end on generated videos: check, install the synthetic model, ingest, search',
    )
    .option('--json', 'print the batch and the searches as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ npm run demo\n  $ npx reel search "yellow"            # afterwards, search the demo videos yourself',
    )
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const { config } = ctx;
      const say = (text: string) => {
        if (!options.json) process.stdout.write(`${text}\n`);
      };
      const checks = await runChecks(config);
      const blocking = checks.filter((c) => !c.ok && c.name !== 'model');
      say(formatChecks(checks.filter((c) => c.name !== 'model')));
      if (blocking.length > 0) {
        process.stderr.write('fix the failed check(s) above, then run the demo again\n');
        process.exitCode = ExitCode.failure;
        return;
      }
      const active = resolveActiveModel(config.model, config.paths.models, {
        image: config.imagePrecision,
        text: config.textPrecision,
      });
      if (active.name === DEFAULT_MODEL_ID && !inspectModelFolder(active.configuredDir).ok) {
        say(`writing the synthetic model to ${active.configuredDir}`);
        await writeSyntheticClip(active.configuredDir);
      }

      const videoDir = path.join(config.paths.dataDir, 'demo-videos');
      await mkdir(videoDir, { recursive: true });
      for (const [name, segments] of Object.entries(DEMO_VIDEOS)) {
        const file = path.join(videoDir, name);
        if (existsSync(file)) continue;
        await renderVideo(colourVideoArgs(file, segments), {
          binaries: { ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath },
          timeoutMs: config.ffmpegTimeoutSeconds * 1000,
          file,
        });
      }
      say(`\ningesting ${Object.keys(DEMO_VIDEOS).length} generated videos from ${videoDir}`);

      const pipeline = await openPipeline(config, ctx.logger);
      const pool = createInferencePool({ size: 1 });
      let local: RunningWorker | undefined;
      try {
        const model = await pipeline.searchModel();
        const submitted = await pipeline.service.submit({
          tenant: 'default',
          model,
          files: Object.keys(DEMO_VIDEOS).map((name) => ({
            path: path.join(videoDir, name),
            tags: ['demo'],
          })),
        });
        if (!(await pipeline.workersListening())) local = await startPipelineWorker(config, ctx.logger);
        const status = await pipeline.waitForBatch(submitted.batchId);
        say(
          `batch ${submitted.batchId}: ${status.counts.indexed} indexed, ${status.counts.duplicate} already there, ${status.counts.failed} failed`,
        );

        const clip = await ClipModel.load(model.dir, { pool });
        const search = new SearchService({ store: pipeline.store, embedder: clip });
        const searches = [];
        for (const query of DEMO_QUERIES) {
          const response = await search.search(query, {
            tenant: 'default',
            k: 3,
            filters: { tags: ['demo'] },
          });
          const results = response.results.map((r) => ({
            title: r.title,
            score: r.score,
            moment: { start: r.moment.start, end: r.moment.end },
          }));
          searches.push({ query, pooling: response.pooling, results });
          say(
            `\n"${query}"\n${formatTable(
              ['#', 'video', 'score', 'moment'],
              results.map((r, i) => [
                `${i + 1}`,
                r.title,
                r.score.toFixed(3),
                `${seconds(r.moment.start)}–${seconds(r.moment.end)}`,
              ]),
            )}`,
          );
        }
        await clip.close();
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ model: model.fingerprint, batch: status.counts, searches }, null, 2)}\n`,
          );
        }
        say(
          '\nThe synthetic model knows colours, light/dark and left/right/top/bottom/centre only.\n' +
            'Search these videos yourself: npx reel search "green"\n' +
            'Index your own:                npx reel ingest ~/Videos   (real search needs a real CLIP: npx reel models pull Xenova/clip-vit-base-patch32)',
        );
      } finally {
        await local?.close();
        await pool.close();
        await pipeline.close();
      }
    });
}
