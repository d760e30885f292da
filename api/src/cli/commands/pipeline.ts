import type { TableUpkeep } from '@reel/index';
import type { Logger } from '@reel/infra';
import { SAMPLING_PRECISIONS, type SamplingPrecision } from '@reel/ingest';
import {
  type BatchStatus,
  clientBatchId,
  openPipeline,
  type Pipeline,
  QueueName,
  type RunningWorker,
  startPipelineWorker,
  VIDEO_EXTENSIONS,
  walkPaths,
} from '@reel/workers';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { toAccepted } from '../../http/schemas.ts';
import { batchView } from '../../json-views.ts';
import { waitWithProgress } from '../batch-progress.ts';
import { type CliContext, ExitCode, UsageError } from '../context.ts';
import { needRedis } from '../need-redis.ts';
import { formatTable, humanBytes, printJson } from '../output.ts';

const ALL_QUEUES = Object.values(QueueName);

function queueList(value: string): QueueName[] {
  const queues = value.split(',').map((q) => q.trim());
  const unknown = queues.filter((q) => !(ALL_QUEUES as readonly string[]).includes(q));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown queue ${unknown.join(', ')}: expected ${ALL_QUEUES.join(', ')}`);
  return queues as QueueName[];
}

/** Waits for SIGTERM or SIGINT, then drains the worker. */
function drainOnSignal(worker: RunningWorker, context: CliContext): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      context.logger.info({ signal }, 'draining: no new jobs, waiting for running ones');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      worker.close(30_000).then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

function registerWorker(program: Command, context: () => CliContext): void {
  program
    .command('worker')
    .description(
      'run a worker process: takes jobs from Redis until SIGTERM (which drains: running jobs finish)',
    )
    .option(
      '--queues <list>',
      `queues to serve, comma-separated (default: all: ${ALL_QUEUES.join(',')})`,
      queueList,
    )
    .addHelpText(
      'after',
      '\nStart as many as you like, on as many machines as share Redis and the data folder.\n\nExample:\n  $ npx reel worker\n  $ npx reel worker --queues ingest,embed',
    )
    .action(async (options: { queues?: QueueName[] }) => {
      const ctx = context();
      const worker = await startPipelineWorker(
        ctx.config,
        ctx.logger,
        options.queues ? { queues: options.queues } : {},
      );
      // Signal handlers first: whoever reads "serving" may send SIGTERM at once.
      const drained = drainOnSignal(worker, ctx);
      ctx.logger.info({ queues: options.queues ?? ALL_QUEUES, pid: process.pid }, 'worker started');
      process.stderr.write(
        `worker ${process.pid} serving ${(options.queues ?? ALL_QUEUES).join(', ')}; Ctrl-C to stop\n`,
      );
      await drained;
    });
}

/**
 * The log of a worker a command runs in its own process: warnings and errors only (its info lines,
 * one per video and stage, would land between the command's own progress and table), unless
 * REEL_LOG_LEVEL (or a config file) sets a level of its own.
 */
function quietLogger(ctx: CliContext): Logger {
  if (process.env.REEL_LOG_LEVEL || ctx.config.logLevel !== 'info') return ctx.logger;
  return ctx.logger.child({}, { level: 'warn' });
}

/** The files a folder walk passed over, counted and named (the first few). */
function skippedLine(skipped: readonly string[]): string {
  const shown = skipped.slice(0, 5).join(', ');
  const more = skipped.length > 5 ? ` and ${skipped.length - 5} more` : '';
  return `skipped ${skipped.length} file(s) that are not videos by name (${[...VIDEO_EXTENSIONS].join(' ')}) or not regular files: ${shown}${more}`;
}

function formatOutcomes(status: BatchStatus): string {
  return formatTable(
    ['file', 'status', 'detail'],
    status.videos.map((v) => [
      v.name,
      v.status,
      v.status === 'failed'
        ? `${v.code}: ${v.message}`
        : v.duplicateOf
          ? `duplicate (batch ${v.duplicateOf})`
          : '',
    ]),
  );
}

function registerIngest(program: Command, context: () => CliContext): void {
  program
    .command('ingest')
    .description(
      'submit video files or folders as one batch and follow it until every video is indexed or failed',
    )
    .argument('<paths...>', 'video files, or folders to search for videos')
    .option('--tenant <id>', 'tenant the videos belong to', 'default')
    .option('--tags <list>', 'comma-separated tags for every video', (v: string) =>
      v
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .option('--batch-id <id>', 'idempotency key: submitting the same id again returns the first batch')
    .addOption(
      new Option(
        '--precision <precision>',
        'how precisely frames land on their targets (default REEL_SAMPLING_PRECISION)',
      ).choices([...SAMPLING_PRECISIONS]),
    )
    .option('--no-wait', 'return right after submitting')
    .option('--no-local-worker', 'never start a worker in this process when none is running')
    .option('--json', 'print the batch as JSON')
    .addHelpText(
      'after',
      '\nWhen no worker process is running, a worker runs inside this command until the batch ends.\n\nExample:\n  $ npx reel ingest ~/footage/day1 clip.mp4 --tags beach,2026',
    )
    .action(
      async (
        paths: string[],
        options: {
          tenant: string;
          tags?: string[];
          batchId?: string;
          precision?: SamplingPrecision;
          wait: boolean;
          localWorker: boolean;
          json?: boolean;
        },
      ) => {
        const ctx = context();
        const walked = await walkPaths(paths);
        if (walked.missing.length > 0)
          throw new UsageError(
            `no such file or folder: ${walked.missing.join(', ')} (nothing was submitted)`,
          );
        if (walked.skipped.length > 0) process.stderr.write(`${skippedLine(walked.skipped)}\n`);
        const files = walked.files;
        if (files.length === 0) throw new UsageError(`no video files found in ${paths.join(', ')}`);
        await needRedis(ctx.config, 'reel ingest');
        const pipeline = await openPipeline(ctx.config);
        let local: RunningWorker | undefined;
        try {
          const model = await pipeline.searchModel();
          const submitted = await pipeline.service.submit({
            tenant: options.tenant,
            model,
            ...(options.precision ? { precision: options.precision } : {}),
            files: files.map((file) => ({ path: file, ...(options.tags ? { tags: options.tags } : {}) })),
            ...(options.batchId ? { batchId: options.batchId } : {}),
          });
          if (!options.wait) {
            if (options.json) printJson(toAccepted(submitted));
            else
              process.stdout.write(
                `batch ${submitted.batchId}: ${submitted.videos.length} file(s) submitted; follow it with: npx reel status ${submitted.batchId}\n`,
              );
            return;
          }
          if (options.localWorker && !(await pipeline.status.workersListening())) {
            process.stderr.write(
              'no worker is running: starting one in this process (run `npx reel worker` to keep one up)\n',
            );
            local = await startPipelineWorker(ctx.config, quietLogger(ctx));
          }
          const status = await waitWithProgress(
            pipeline,
            submitted.batchId,
            !options.json && process.stderr.isTTY === true,
          );
          if (options.json) printJson(batchView(status, clientBatchId(status.id)));
          else {
            process.stdout.write(`${formatOutcomes(status)}\n`);
            process.stdout.write(
              `batch ${status.id}: ${status.counts.indexed} indexed, ${status.counts.duplicate} duplicate, ${status.counts.failed} failed\n`,
            );
          }
          process.exitCode = status.counts.failed > 0 ? ExitCode.failure : ExitCode.ok;
        } finally {
          await local?.close();
          await pipeline.close();
        }
      },
    );
}

function registerStatus(program: Command, context: () => CliContext): void {
  program
    .command('status')
    .description("a batch's progress and per-video outcomes, or (without an id) the queues and the index")
    .argument('[batch]', 'batch id (as ingest printed it, or as the API shows it with --tenant)')
    .option('--tenant <id>', "the tenant whose batch id it is (the API's ids are per tenant)", 'default')
    .option('--json', 'print as JSON (the shape GET /v1/batches/:id answers)')
    .addHelpText('after', '\nExample:\n  $ npx reel status\n  $ npx reel status 4f0c2a9e-...')
    .action(async (batch: string | undefined, options: { json?: boolean; tenant: string }) => {
      const ctx = context();
      await needRedis(ctx.config, 'reel status');
      const pipeline = await openPipeline(ctx.config);
      try {
        if (batch) {
          const status =
            (await pipeline.service.status(batch)) ??
            (await pipeline.service.statusOf(options.tenant, batch));
          if (!status) {
            process.stderr.write(
              `error BATCH_NOT_FOUND: no batch ${batch} (batches are kept 30 days after they end)\n`,
            );
            process.exitCode = ExitCode.failure;
            return;
          }
          if (options.json) printJson(batchView(status, clientBatchId(status.id)));
          else
            process.stdout.write(
              `batch ${status.id} (${status.tenant}): ${status.done}/${status.total} done${status.finishedAt ? ', finished' : status.etaSeconds !== undefined ? `, about ${status.etaSeconds}s left` : ''}\n${formatOutcomes(status)}\n`,
            );
          return;
        }
        // A video that failed fails its ingest, embed and index jobs alike: failures are counted once,
        // per video, in `videos` (the index), not per queue.
        const queues = (await pipeline.status.queues()).map(({ prioritized, failed: _, ...q }) => ({
          ...q,
          waiting: q.waiting + prioritized,
        }));
        const videos = await pipeline.status.videoCounts();
        if (options.json) printJson({ queues, videos });
        else {
          process.stdout.write(
            `${formatTable(
              ['queue', 'waiting', 'active', 'delayed', 'workers'],
              queues.map((q) => [q.name, `${q.waiting}`, `${q.active}`, `${q.delayed}`, `${q.workers}`]),
            )}\nvideos: ${
              Object.entries(videos)
                .filter(([, n]) => n > 0)
                .map(([s, n]) => `${n} ${s}`)
                .join(', ') || 'none'
            }\n`,
          );
        }
      } finally {
        await pipeline.close();
      }
    });
}

type ReindexOutcome = Awaited<ReturnType<Pipeline['reindex']['upkeep']>>;

/** One reindex step as `reel reindex` reports it: the service's outcome plus the batch it waited for. */
export interface ReindexReport extends ReindexOutcome {
  batch?: Record<string, number> | undefined;
  /** Backfill: the fingerprint searches read once it ended. */
  searching?: string;
  /** Backfill: the batch whose failures keep searches on the old model. */
  stuckOn?: string;
}

function countsText(counts: Record<string, number> | undefined): string {
  if (!counts) return '';
  return `: ${counts.indexed ?? 0} indexed, ${counts.duplicate ?? 0} duplicate, ${counts.failed ?? 0} failed`;
}

/** One readable line per reindex step (--json has every field). */
export function describeOutcome(outcome: ReindexReport): string {
  const batch = outcome.batchId ? ` (batch ${outcome.batchId}${countsText(outcome.batch)})` : '';
  if (outcome.kind === 'backfill') {
    const what =
      (outcome.videos ?? 0) > 0
        ? `re-embedded ${outcome.videos} video(s) with the active model${batch}`
        : 'nothing to re-embed';
    // `switched` as reindex reports it: searches now read the active model.
    if (outcome.switched)
      return `model:  ${what}; searches now read the active model (${outcome.searching?.slice(0, 19) ?? '?'}…)`;
    const stuck = outcome.stuckOn
      ? `: ${outcome.batch?.failed ?? 'some'} video(s) could not get the active model's vectors (npx reel status ${outcome.stuckOn} says why); searches switch once every indexed video has them: run npx reel reindex --model again when they can`
      : '';
    return `model:  ${what}; searches still read ${outcome.searching?.slice(0, 19) ?? '?'}…, not the active model${stuck}`;
  }
  if (outcome.kind === 'sweep')
    return (outcome.videos ?? 0) > 0
      ? `sweep:  re-ran ${outcome.videos} failed, missing or stuck video(s)${batch}`
      : 'sweep:  nothing to re-run';
  const detail = (outcome.detail ?? {}) as { dropped?: string[]; tables?: TableUpkeep[] };
  const tables = detail.tables ?? [];
  const sum = (key: 'fragmentsRemoved' | 'versionsPruned' | 'bytesPruned') =>
    tables.reduce((total, t) => total + t[key], 0);
  const indexes = tables.flatMap((t) => t.indexesCreated);
  return (
    `upkeep: ${tables.length} table(s) compacted (${sum('fragmentsRemoved')} fragments merged, ` +
    `${sum('versionsPruned')} old versions pruned, ${humanBytes(sum('bytesPruned'))} freed)` +
    `${indexes.length > 0 ? `, built ${indexes.join(', ')}` : ''}` +
    `, ${detail.dropped?.length ?? 0} retired model(s) dropped`
  );
}

function registerReindex(program: Command, context: () => CliContext): void {
  program
    .command('reindex')
    .description(
      'bring the index up to date now: backfill a new model, re-run failed/missing/stuck videos, compact the tables',
    )
    .option(
      '--model',
      'backfill the active model if searches still read another one, then switch searches to it',
    )
    .option('--sweep', 're-enqueue videos that failed with a transient error, lack vectors, or are stuck')
    .option('--upkeep', 'compact the tables, prune old versions, rebuild the vector index when due')
    .option('--no-local-worker', 'never start a worker in this process when none is running')
    .option('--json', 'print the outcomes as JSON')
    .addHelpText(
      'after',
      '\nWithout options it does all three. Workers also run them on a schedule (REEL_SWEEP_CRON, REEL_UPKEEP_CRON).\n' +
        'It waits for the videos it re-runs (a progress bar on a terminal) and exits 1 if any of them failed.\n\nExample:\n  $ npx reel models use Xenova__clip-vit-base-patch32 && npx reel reindex --model',
    )
    .action(
      async (options: {
        model?: boolean;
        sweep?: boolean;
        upkeep?: boolean;
        localWorker: boolean;
        json?: boolean;
      }) => {
        const ctx = context();
        const all = !options.model && !options.sweep && !options.upkeep;
        await needRedis(ctx.config, 'reel reindex');
        const pipeline = await openPipeline(ctx.config, ctx.logger);
        let local: RunningWorker | undefined;
        const outcomes: ReindexReport[] = [];
        let failed = 0;
        try {
          const showBar = !options.json && process.stderr.isTTY === true;
          const follow = async (batchId: string | undefined, label: string) => {
            if (!batchId) return undefined;
            if (!local && options.localWorker && !(await pipeline.status.workersListening())) {
              process.stderr.write('no worker is running: starting one in this process\n');
              local = await startPipelineWorker(ctx.config, quietLogger(ctx));
            }
            const status = await waitWithProgress(pipeline, batchId, showBar, label);
            failed += status.counts.failed;
            return status;
          };
          if (all || options.model) {
            const active = await pipeline.activeModel();
            await pipeline.searchModel();
            // Each round re-embeds the videos that lack the active model's vectors; when a round ends,
            // asking again switches searches, or starts a round for videos indexed meanwhile. The same
            // round asked twice means its failures keep searches where they are.
            const first = await pipeline.reindex.backfill(active);
            let outcome = first;
            let batch: BatchStatus | undefined;
            const rounds: string[] = [];
            while (outcome.batchId && !rounds.includes(outcome.batchId)) {
              rounds.push(outcome.batchId);
              batch = await follow(
                outcome.batchId,
                rounds.length > 1 ? `backfill round ${rounds.length}` : 'backfill',
              );
              outcome = await pipeline.reindex.backfill(active);
            }
            const now = await pipeline.searchModel();
            outcomes.push({
              ...first,
              batch: batch?.counts,
              searching: now.fingerprint,
              switched: now.fingerprint === active.fingerprint,
              ...(now.fingerprint !== active.fingerprint && batch ? { stuckOn: batch.id } : {}),
            });
          }
          if (all || options.sweep) {
            const outcome = await pipeline.reindex.sweep();
            const batch = await follow(outcome.batchId, 'sweep');
            outcomes.push({ ...outcome, batch: batch?.counts });
          }
          if (all || options.upkeep) {
            if (showBar) process.stderr.write('upkeep: compacting the tables…\n');
            outcomes.push(await pipeline.reindex.upkeep());
          }
          if (options.json) printJson(outcomes);
          else process.stdout.write(`${outcomes.map(describeOutcome).join('\n')}\n`);
          process.exitCode = failed > 0 ? ExitCode.failure : ExitCode.ok;
        } finally {
          await local?.close();
          await pipeline.close();
        }
      },
    );
}

export function registerPipeline(program: Command, context: () => CliContext): void {
  registerWorker(program, context);
  registerIngest(program, context);
  registerStatus(program, context);
  registerReindex(program, context);
}
