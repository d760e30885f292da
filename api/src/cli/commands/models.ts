import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  ClipModel,
  createInferencePool,
  DEFAULT_MODEL_ID,
  listInstalledModels,
  MODEL_VARIANTS,
  type ModelVariant,
  pullModel,
  resolveActiveModel,
  resolveModelDir,
  saveActiveModel,
  writeSyntheticClip,
} from '@reel/models';
import { SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import { type CliContext, ExitCode } from '../context.ts';
import { formatTable, humanBytes, printJson } from '../output.ts';

/** Loads a model fully (both encoders run once) to prove it works; the pool is closed afterwards. */
async function validateModel(
  dir: string,
): Promise<{ fingerprint: string; dim: number; layout: string; variant: string }> {
  const pool = createInferencePool({ size: 1 });
  try {
    const model = await ClipModel.load(dir, { pool });
    const { fingerprint, dim, layout, variant } = model;
    await model.close();
    return { fingerprint, dim, layout, variant };
  } finally {
    await pool.close();
  }
}

function registerSynth(models: Command, context: () => CliContext): void {
  models
    .command('synth')
    .description(
      `write the small synthetic CLIP model used by the demo and tests into <data dir>/models/${DEFAULT_MODEL_ID}`,
    )
    .option('--force', 'rewrite it even if it is already there')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nThe synthetic model understands colours, light/dark and coarse positions only.\n\nExample:\n  $ npx reel models synth',
    )
    .action(async (options: { force?: boolean; json?: boolean }) => {
      const { config } = context();
      const dir = path.join(config.paths.models, DEFAULT_MODEL_ID);
      const existed = existsSync(dir);
      if (!existed || options.force) {
        // Written beside the final folder, then renamed: a crash never leaves a half-written model.
        const tmp = path.join(config.paths.models, `.${DEFAULT_MODEL_ID}.${process.pid}.tmp`);
        await rm(tmp, { recursive: true, force: true });
        await writeSyntheticClip(tmp);
        await rm(dir, { recursive: true, force: true });
        await rename(tmp, dir);
      }
      const checked = await validateModel(dir);
      const result = { id: DEFAULT_MODEL_ID, dir, written: !existed || Boolean(options.force), ...checked };
      if (options.json) printJson(result);
      else
        process.stdout.write(
          `${result.written ? 'wrote' : 'already present:'} ${DEFAULT_MODEL_ID} (${checked.layout}, ${checked.dim}-d, ${checked.fingerprint.slice(0, 19)}…) at ${dir}\n`,
        );
    });
}

function registerPull(models: Command, context: () => CliContext): void {
  models
    .command('pull')
    .description(
      'download a CLIP model (Hugging Face or immich layout) from HF_ENDPOINT into <data dir>/models',
    )
    .argument('<repo>', 'hub repository, e.g. Xenova/clip-vit-base-patch32 or immich-app/ViT-B-32__openai')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .addOption(
      new Option('--variant <variant>', 'encoder weights (HF layout)')
        .choices(MODEL_VARIANTS)
        .default('fp32'),
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nResumable: run it again after an interruption. Set HF_TOKEN for gated models, HF_ENDPOINT for a mirror.\n\nExample:\n  $ npx reel models pull Xenova/clip-vit-base-patch32 --variant quantized\n  $ npx reel models use Xenova__clip-vit-base-patch32',
    )
    .action(async (repo: string, options: { revision: string; variant: ModelVariant; json?: boolean }) => {
      const { config } = context();
      const bar = new SingleBar({
        format:
          '{file} |{bar}| {percentage}% {done}/{size} · file {filesDone}/{filesTotal} · eta {eta_formatted}',
        hideCursor: true,
      });
      let started = false;
      const result = await pullModel({
        repo,
        revision: options.revision,
        variant: options.variant,
        endpoint: config.hfEndpoint,
        token: config.hfToken,
        modelsDir: config.paths.models,
        onProgress: (p) => {
          const total = p.totalBytes ?? 0;
          const payload = {
            file: p.file,
            done: humanBytes(p.totalBytesDone),
            size: p.totalBytes === undefined ? '?' : humanBytes(p.totalBytes),
            filesDone: p.filesDone,
            filesTotal: p.filesTotal,
          };
          if (!started) {
            bar.start(total, p.totalBytesDone, payload);
            started = true;
          } else {
            bar.setTotal(total);
            bar.update(p.totalBytesDone, payload);
          }
        },
      }).finally(() => {
        if (started) bar.stop();
      });
      if (options.json) printJson(result);
      else {
        const size = result.files.reduce((sum, f) => sum + f.bytes, 0);
        process.stdout.write(
          `${result.upToDate ? 'up to date:' : 'pulled'} ${repo}@${result.revision} (${result.layout}, ${result.variant}, ${humanBytes(size)}) into ${result.dir}\n` +
            `use it with: npx reel models use ${result.id}\n`,
        );
      }
    });
}

function registerList(models: Command, context: () => CliContext): void {
  models
    .command('list')
    .description('list installed models and which one is active')
    .option('--json', 'print the models as JSON')
    .addHelpText('after', '\nExample:\n  $ npx reel models list')
    .action((options: { json?: boolean }) => {
      const { config } = context();
      const active = resolveActiveModel(config.model, config.paths.models);
      const installed = listInstalledModels(config.paths.models);
      const rows = installed.map((m) => ({
        id: m.id,
        active: path.resolve(m.dir) === path.resolve(active.dir),
        dir: m.dir,
        layout: m.report.ok ? m.report.layout : undefined,
        variant: m.report.ok ? m.report.variant : undefined,
        complete: m.report.ok,
        problem: m.report.ok ? undefined : m.report.problem,
        fingerprint: m.fingerprint,
      }));
      if (options.json) {
        printJson({ active: { ...active }, models: rows });
        return;
      }
      if (rows.length === 0)
        process.stdout.write(
          `no models in ${config.paths.models} (write the demo one: npx reel models synth)\n`,
        );
      else
        process.stdout.write(
          `${formatTable(
            ['', 'id', 'layout', 'status', 'fingerprint'],
            rows.map((r) => [
              r.active ? '*' : '',
              r.id,
              r.layout ? `${r.layout} ${r.variant}` : '-',
              r.complete ? 'complete' : `incomplete: ${r.problem}`,
              r.fingerprint ? `${r.fingerprint.slice(0, 19)}…` : '(not loaded yet)',
            ]),
          )}\n`,
        );
      process.stdout.write(`active: ${active.name} (from ${active.source})\n`);
    });
}

function registerUse(models: Command, context: () => CliContext): void {
  models
    .command('use')
    .description('make a model the active one (checked by loading it first)')
    .argument('<id>', 'a model id under <data dir>/models, or a model folder path')
    .addHelpText(
      'after',
      '\nREEL_MODEL, when set, still wins over this choice.\n\nExample:\n  $ npx reel models use Xenova__clip-vit-base-patch32',
    )
    .action(async (id: string) => {
      const { config } = context();
      const dir = resolveModelDir(id, config.paths.models);
      const checked = await validateModel(dir);
      await saveActiveModel(config.paths.models, id);
      process.stdout.write(
        `active model: ${id} (${checked.layout} ${checked.variant}, ${checked.dim}-d, ${checked.fingerprint})\n`,
      );
      if (config.model && config.model !== id) {
        process.stderr.write(
          `note: REEL_MODEL=${config.model} is set and overrides this choice until it is unset\n`,
        );
      }
      process.exitCode = ExitCode.ok;
    });
}

export function registerModels(program: Command, context: () => CliContext): void {
  const models = program
    .command('models')
    .description('install, list and choose CLIP models')
    .addHelpText('after', '\nExample:\n  $ npx reel models synth && npx reel models list');
  registerSynth(models, context);
  registerPull(models, context);
  registerList(models, context);
  registerUse(models, context);
}
