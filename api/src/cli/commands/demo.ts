/**
 * `reel demo` (`npm run demo`, the README's main command): the whole product on one machine, from a
 * fresh clone. It finds a Redis (the configured one, else a private `redis-server` it starts with its
 * data in the data folder), writes the synthetic model if it is the active one and missing, renders
 * short generated videos with ffmpeg, starts the HTTP API and a pipeline worker, ingests the videos,
 * runs example searches through the API and prints them, then serves the web page until Ctrl-C and
 * stops everything it started. A second run reuses the videos, the model, the index and the private
 * Redis's data (every video is then "already there").
 */

import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createReelClient, dataOf } from '@reel/client';
import { createLogger, isReelError, type Logger, type ReelConfig } from '@reel/infra';
import { type ColourSegment, colourVideoArgs, renderVideo } from '@reel/ingest';
import {
  DEFAULT_MODEL_ID,
  inspectModelFolder,
  resolveActiveModel,
  SYNTHETIC_MULTILINGUAL_ID,
  writeSyntheticClip,
  writeSyntheticMultilingual,
} from '@reel/models';
import { type BatchStatus, type Pipeline, type RunningWorker, startPipelineWorker } from '@reel/workers';
import type { Command } from 'commander';
import { runChecks } from '../../doctor/checks.ts';
import { KeyStore, LOCAL_TENANT } from '../../keys/key-store.ts';
import { countProgress, type ProgressDisplay, progressDisplay, waitWithProgress } from '../batch-progress.ts';
import { type CliContext, ExitCode } from '../context.ts';
import { formatTable } from '../output.ts';
import { REDIS_INSTALL, redisForRun } from '../private-redis.ts';
import { formatChecks } from './doctor.ts';

/** 6-second scenes the synthetic model can tell apart (colours, halves, a box in the middle). */
export const DEMO_VIDEOS: Record<string, ColourSegment[]> = {
  'traffic-light.mp4': [
    { colour: 'red', seconds: 2 },
    { colour: 'yellow', seconds: 2 },
    { colour: 'green', seconds: 2 },
  ],
  'sunset.mp4': [
    { colour: 'orange', seconds: 3 },
    { colour: 'purple', seconds: 3 },
  ],
  'split-screen.mp4': [
    { colour: 'red', right: 'blue', seconds: 3 },
    { colour: 'yellow', right: 'green', seconds: 3 },
  ],
  'desert.mp4': [{ colour: 'blue', bottom: 'yellow', seconds: 6 }],
  'night-flash.mp4': [
    { colour: 'black', seconds: 4 },
    { colour: 'white', seconds: 1 },
    { colour: 'black', seconds: 1 },
  ],
  'forest.mp4': [
    { colour: 'green', seconds: 4 },
    { colour: 'brown', seconds: 2 },
  ],
  'ocean.mp4': [{ colour: 'cyan', bottom: 'blue', seconds: 6 }],
  'meadow.mp4': [{ colour: 'cyan', bottom: 'green', seconds: 6 }],
  'snowfield.mp4': [{ colour: 'white', seconds: 6 }],
  'fog.mp4': [{ colour: 'gray', seconds: 6 }],
  'clear-sky.mp4': [{ colour: 'blue', seconds: 6 }],
  'swimming-pool.mp4': [{ colour: 'cyan', seconds: 6 }],
  'chocolate.mp4': [{ colour: 'brown', seconds: 6 }],
  'candle.mp4': [{ colour: 'black', centre: 'orange', seconds: 6 }],
  'fried-egg.mp4': [{ colour: 'white', centre: 'yellow', seconds: 6 }],
  'rose-garden.mp4': [{ colour: 'green', centre: 'pink', seconds: 6 }],
  'ladybug.mp4': [{ colour: 'red', centre: 'black', seconds: 6 }],
  'spotlight.mp4': [
    { colour: 'black', seconds: 3 },
    { colour: 'black', centre: 'white', seconds: 3 },
  ],
  'volcano.mp4': [
    { colour: 'brown', seconds: 3 },
    { colour: 'red', seconds: 3 },
  ],
  'nightfall.mp4': [
    { colour: 'blue', seconds: 2 },
    { colour: 'black', seconds: 4 },
  ],
  'sunrise.mp4': [
    { colour: 'black', seconds: 2 },
    { colour: 'orange', seconds: 2 },
    { colour: 'yellow', seconds: 2 },
  ],
  'autumn-leaves.mp4': [
    { colour: 'orange', seconds: 2 },
    { colour: 'brown', seconds: 2 },
    { colour: 'yellow', seconds: 2 },
  ],
  'party-lights.mp4': [
    { colour: 'pink', seconds: 2 },
    { colour: 'cyan', seconds: 2 },
    { colour: 'yellow', seconds: 2 },
  ],
  'test-pattern.mp4': [
    { colour: 'red', right: 'green', seconds: 2 },
    { colour: 'white', bottom: 'black', seconds: 2 },
    { colour: 'gray', centre: 'white', seconds: 2 },
  ],
};

/** The example searches, each with the one video that must come first and where its moment lies. */
export const DEMO_SEARCHES = [
  { query: 'a purple sky', expect: 'sunset', within: [3, 6] },
  { query: 'red on the left, blue on the right', expect: 'split-screen', within: [0, 3] },
  { query: 'blue on top, yellow at the bottom', expect: 'desert', within: [0, 6] },
] as const;

/**
 * With `--multilingual`: the same videos found in German, French, Spanish and Chinese by the
 * multilingual synthetic model (immich's layout, WordPiece tokenizer).
 */
export const DEMO_SEARCHES_MULTILINGUAL = [
  { query: 'rot links, blau rechts', expect: 'split-screen', within: [0, 3] },
  { query: 'rouge à gauche, bleu à droite', expect: 'split-screen', within: [0, 3] },
  { query: 'azul arriba, amarillo abajo', expect: 'desert', within: [0, 6] },
  { query: '左红右蓝', expect: 'split-screen', within: [0, 3] },
] as const;

/** Tag every demo video carries (searches filter on it, so your own videos never mix in). */
export const DEMO_TAG = 'demo';

interface SearchHit {
  title: string;
  score: number;
  moment: { start: number; end: number };
}

function seconds(value: number): string {
  return `${value.toFixed(1)}s`;
}

/** Info lines of the API and the worker would bury the demo's own output; debug and trace still show. */
function demoLogger(config: ReelConfig): Logger {
  const level = config.logLevel === 'info' ? 'warn' : config.logLevel;
  return createLogger({ level, name: 'reel', destination: 2 });
}

/** Renders the demo videos that are missing, two ffmpeg processes at a time; returns how many. */
async function renderMissing(config: ReelConfig, dir: string, display: ProgressDisplay): Promise<number> {
  await mkdir(dir, { recursive: true });
  const missing = Object.keys(DEMO_VIDEOS).filter((name) => !existsSync(path.join(dir, name)));
  if (missing.length === 0) return 0;
  const progress = countProgress('render', missing.length, display);
  let done = 0;
  progress.update(0, 'ffmpeg');
  const next = [...missing];
  const renderOne = async (name: string) => {
    const file = path.join(dir, name);
    // Rendered under a hidden name, then renamed: an interrupted run leaves no half-written video.
    const partial = path.join(dir, `.partial-${name}`);
    try {
      await renderVideo(colourVideoArgs(partial, DEMO_VIDEOS[name]!), {
        binaries: { ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath },
        timeoutMs: config.ffmpegTimeoutSeconds * 1000,
        file,
      });
      await rename(partial, file);
    } finally {
      await rm(partial, { force: true });
    }
    done += 1;
    progress.update(done, name);
  };
  await Promise.all(
    [0, 1].map(async () => {
      for (let name = next.shift(); name !== undefined; name = next.shift()) await renderOne(name);
    }),
  );
  progress.stop();
  return missing.length;
}

/** Until searches read the active model (after `reel models use`), re-embeds the index with it. */
async function backfillActiveModel(pipeline: Pipeline, display: ProgressDisplay, say: (t: string) => void) {
  const active = await pipeline.activeModel();
  for (let round = 0; round < 5; round++) {
    const searching = await pipeline.searchModel();
    if (searching.fingerprint === active.fingerprint) return;
    const outcome = await pipeline.reindex.backfill(active);
    if (!outcome.batchId) continue;
    say(`the active model changed: re-embedding ${outcome.videos ?? 0} indexed video(s) with it`);
    await waitWithProgress(pipeline, outcome.batchId, display, 'reindex');
  }
}

/** Runs one search through the HTTP API with the typed client, as a script would. */
async function searchApi(url: string, query: string, key: string | undefined): Promise<SearchHit[]> {
  const reel = createReelClient({ baseUrl: url, ...(key ? { apiKey: key } : {}) });
  const { results } = dataOf(
    await reel.api.POST('/v1/search', { body: { query, k: 3, filters: { tags: [DEMO_TAG] } } }),
  );
  return results.map((r) => ({
    title: r.title,
    score: r.score,
    moment: { start: r.moment.start, end: r.moment.end },
  }));
}

function formatFailures(status: BatchStatus): string {
  return status.videos
    .filter((v) => v.status === 'failed')
    .map((v) => `  ${v.name}: ${v.code}: ${v.message}`)
    .join('\n');
}

function missingRedisMessage(redisUrl: string, reason: string): string {
  return [
    `Redis at ${redisUrl} does not answer (${reason}), and redis-server is not installed, so the demo cannot start a private one.`,
    'Install it, then run the demo again:',
    `  ${REDIS_INSTALL.debian}      # Debian, Ubuntu`,
    `  ${REDIS_INSTALL.macos}                       # macOS`,
    '(or set REEL_REDIS_URL to a Redis 6.2+ you have)',
  ].join('\n');
}

export function registerDemo(program: Command, context: () => CliContext): void {
  program
    .command('demo')
    .description(
      'run reel end to end on generated videos: Redis, model, videos, API and worker, ingest, searches, web page',
    )
    .option('--no-serve', 'stop after the example searches instead of serving the web page')
    .option('--json', 'print the model, the batch, the searches and the URL as JSON')
    .option(
      '--multilingual',
      `use the multilingual synthetic model (${SYNTHETIC_MULTILINGUAL_ID}) and search in German, French, Spanish and Chinese too`,
    )
    .addHelpText(
      'after',
      '\nUses the configured Redis when it answers, else starts a private redis-server (data in <data dir>/redis).\n' +
        'Logs below warn are hidden unless REEL_LOG_LEVEL is debug or trace.\n\n' +
        'Example:\n  $ npm run demo\n  $ npx reel demo --no-serve --json',
    )
    .action(async (options: { json?: boolean; serve: boolean; multilingual?: boolean }) => {
      const ctx = context();
      const say = (text: string) => {
        if (!options.json) process.stdout.write(`${text}\n`);
      };
      const display = progressDisplay(options.json);
      const logger = demoLogger(ctx.config);

      // Everything started is stopped in reverse order, on every way out.
      const closers: { name: string; close: () => Promise<void> }[] = [];
      let closing: Promise<void> | undefined;
      const closeAll = () => {
        closing ??= (async () => {
          for (const { name, close } of closers.reverse()) {
            try {
              await close();
            } catch (error) {
              logger.warn({ err: (error as Error).message }, `could not stop the ${name}`);
            }
          }
        })();
        return closing;
      };
      let serving = false;
      let stopRequested: (signal: NodeJS.Signals) => void = () => {};
      const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
        stopRequested = resolve;
      });
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          // A second Ctrl-C: stop waiting (the private Redis still gets SIGTERM as the process exits).
          process.exit(130);
        }
        const names = closers.map((c) => c.name).reverse();
        process.stderr.write(`stopping${names.length > 0 ? `: ${names.join(', ')}` : ''}…\n`);
        if (serving) stopRequested(signal);
        else void closeAll().finally(() => process.exit(130));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);

      try {
        // 1. Redis: the configured one, else a private redis-server.
        let redis: Awaited<ReturnType<typeof redisForRun>>;
        try {
          redis = await redisForRun({ redisUrl: ctx.config.redisUrl, dataDir: ctx.config.paths.dataDir });
        } catch (error) {
          if (!isReelError(error, 'REDIS_SERVER_MISSING')) throw error;
          process.stderr.write(`${missingRedisMessage(ctx.config.redisUrl, 'not reachable')}\n`);
          process.exitCode = ExitCode.failure;
          return;
        }
        if (redis.private) {
          const started = redis.private;
          closers.push({ name: 'private Redis', close: () => started.stop() });
          say(
            `Redis: ${ctx.config.redisUrl} does not answer; ${started.adopted ? 'using the private redis-server left running' : 'started a private redis-server'} on 127.0.0.1:${started.port} (pid ${started.pid}, data in ${started.dir})`,
          );
        } else say(`Redis: ${redis.url}`);
        const config: ReelConfig = {
          ...ctx.config,
          redisUrl: redis.url,
          ...(options.multilingual ? { model: SYNTHETIC_MULTILINGUAL_ID } : {}),
        };

        // 2. The rest of doctor's checks (the model is written below when missing).
        const checks = (await runChecks(config)).filter((c) => c.name !== 'model');
        const failed = checks.filter((c) => !c.ok);
        if (failed.length > 0) {
          process.stderr.write(
            `${formatChecks(failed)}\nfix the failed check(s) above, then run the demo again\n`,
          );
          process.exitCode = ExitCode.failure;
          return;
        }

        // 3. The model.
        const active = resolveActiveModel(config.model, config.paths.models, {
          image: config.imagePrecision,
          text: config.textPrecision,
        });
        const multilingual = active.name === SYNTHETIC_MULTILINGUAL_ID;
        const synthetic = active.name === DEFAULT_MODEL_ID || multilingual;
        if (synthetic && !inspectModelFolder(active.configuredDir).ok) {
          say(`model: writing the synthetic model to ${active.configuredDir}`);
          if (multilingual) await writeSyntheticMultilingual(active.configuredDir);
          else await writeSyntheticClip(active.configuredDir);
        }
        say(
          synthetic
            ? `model: ${active.name}, synthetic: it knows 12 colours, light/dark and left/right/top/bottom/centre, nothing else${multilingual ? ' (in English, German, French, Spanish and Chinese)' : ''}`
            : `model: ${active.name} (${active.dir})`,
        );

        // 4. The videos.
        const videoDir = path.join(config.paths.dataDir, 'demo-videos');
        const total = Object.keys(DEMO_VIDEOS).length;
        const rendered = await renderMissing(config, videoDir, display);
        say(
          `videos: ${total} in ${videoDir} (${rendered === 0 ? 'all there from an earlier run' : `${rendered} rendered with ffmpeg`})`,
        );

        // 5. The API and a worker.
        const { startServer } = await import('../../http/server.ts');
        let server: Awaited<ReturnType<typeof startServer>>;
        try {
          server = await startServer(config, logger);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
          server = await startServer({ ...config, apiPort: 0 }, logger);
          say(`port ${config.apiPort} is taken: the API listens on ${server.url} instead`);
        }
        const api = server;
        closers.push({ name: 'API', close: () => api.close() });
        const worker: RunningWorker = await startPipelineWorker(config, logger);
        closers.push({ name: 'worker', close: () => worker.close(10_000) });
        let key: string | undefined;
        const keys = new KeyStore(config.paths.apiKeys);
        if (!server.deps.access.keyless) {
          // The API asks for keys once one was ever created: the demo's own searches use a key it revokes at the end.
          const created = await keys.create({
            tenant: LOCAL_TENANT,
            scopes: ['search'],
            name: 'reel demo (temporary)',
          });
          key = created.key;
          closers.push({
            name: 'temporary API key',
            close: async () => void (await keys.revoke(created.entry.id)),
          });
          say(
            'API keys exist: the page asks for one (npx reel keys create --tenant default --scopes search)',
          );
        }

        // 6. Ingest.
        const pipeline = worker.pipeline;
        await backfillActiveModel(pipeline, display, say);
        const model = await pipeline.searchModel();
        const submitted = await pipeline.service.submit({
          tenant: LOCAL_TENANT,
          model,
          files: Object.keys(DEMO_VIDEOS).map((name) => ({
            path: path.join(videoDir, name),
            tags: [DEMO_TAG],
          })),
        });
        const status = await waitWithProgress(pipeline, submitted.batchId, display);
        say(
          `ingest: ${status.counts.indexed} indexed, ${status.counts.duplicate} already there, ${status.counts.failed} failed (batch ${status.id})`,
        );
        if (status.counts.failed > 0) {
          say(formatFailures(status));
          process.exitCode = ExitCode.failure;
        }

        // 7. Example searches, through the API.
        const searches: { query: string; results: SearchHit[] }[] = [];
        for (const { query } of multilingual
          ? [...DEMO_SEARCHES, ...DEMO_SEARCHES_MULTILINGUAL]
          : DEMO_SEARCHES) {
          const results = await searchApi(api.url, query, key);
          searches.push({ query, results });
          say(
            `\nsearch "${query}"\n${formatTable(
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
        if (options.json)
          process.stdout.write(
            `${JSON.stringify(
              {
                model: { name: active.name, fingerprint: model.fingerprint, synthetic },
                batch: status.counts,
                searches,
                // With --no-serve the server stops with the demo: there is no page to open.
                url: options.serve ? `${api.url}/` : null,
                redis: { private: redis.private !== undefined, port: redis.private?.port ?? null },
              },
              null,
              2,
            )}\n`,
          );
        if (synthetic)
          say(
            '\nThe demo model is synthetic: it knows colours and positions only. Real search needs a real CLIP model:\n' +
              '  npx reel models pull Xenova/clip-vit-base-patch32 && npx reel models use Xenova__clip-vit-base-patch32',
          );

        // 8. Serve the page until Ctrl-C (or stop now with --no-serve).
        if (!options.serve) return;
        say(
          `\nOpen ${api.url}/ to search the demo videos in your browser (API ${api.url}/v1, docs ${api.url}/docs).\n` +
            'Try "pink in the centre", "a black box in the centre" or "a white flash". Ctrl-C stops the demo.',
        );
        serving = true;
        await stopSignal;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await closeAll();
        if (serving) process.stderr.write('stopped\n');
      }
    });
}
