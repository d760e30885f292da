import { existsSync, readdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ReelConfig } from '@reel/infra';
import {
  type Calibration,
  ClipModel,
  createInferencePool,
  DEFAULT_MODEL_ID,
  describeCosines,
  generatedCalibrationImages,
  hubToken,
  isHubOffline,
  listInstalledModels,
  MODEL_VARIANTS,
  type ModelVariant,
  type PreprocessInput,
  pullModel,
  QUANTIZED_FORMATS,
  type QuantizedFormat,
  quantizeModel,
  resolveActiveModel,
  resolveModelDir,
  resolvePrecision,
  SYNTHETIC_MULTILINGUAL_ID,
  saveActiveModel,
  writeSyntheticClip,
  writeSyntheticMultilingual,
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

/** The precision settings from config, as @reel/models takes them. */
export function precisionSettings(config: ReelConfig): {
  image: ReelConfig['imagePrecision'];
  text: ReelConfig['textPrecision'];
} {
  return { image: config.imagePrecision, text: config.textPrecision };
}

/** `image int8 (p1 0.9991) · text fp32 · top-10 0.98`: a quantized copy's calibration in one cell. */
function calibrationCell(calibration: Calibration | undefined): string {
  if (!calibration) return '';
  const encoder = (name: 'image' | 'text') =>
    calibration.precision[name] === 'int8'
      ? `${name} int8 (p1 ${calibration[name].p1.toFixed(4)})`
      : `${name} fp32`;
  return `${encoder('image')} · ${encoder('text')} · top-10 ${calibration.retrieval.agreement.toFixed(2)}`;
}

const CALIBRATION_IMAGES = 64;

/**
 * Calibration images: thumbnails of the user's indexed videos (spread over videos, up to 64), topped
 * up with generated frames when there are fewer than 32.
 */
function calibrationImages(thumbnailsDir: string): { images: PreprocessInput[]; source: string } {
  const files: string[] = [];
  if (existsSync(thumbnailsDir)) {
    for (const video of readdirSync(thumbnailsDir, { withFileTypes: true })) {
      if (!video.isDirectory()) continue;
      const dir = path.join(thumbnailsDir, video.name);
      for (const file of readdirSync(dir).sort()) {
        if (/\.(webp|jpe?g|png)$/i.test(file)) files.push(path.join(dir, file));
      }
    }
  }
  const step = Math.max(1, files.length / CALIBRATION_IMAGES);
  const picked = Array.from(
    { length: Math.min(files.length, CALIBRATION_IMAGES) },
    (_, i) => files[Math.floor(i * step)]!,
  );
  if (picked.length >= CALIBRATION_IMAGES / 2) {
    return { images: picked, source: `${picked.length} frames (thumbnails) of indexed videos` };
  }
  const generated = generatedCalibrationImages(CALIBRATION_IMAGES - picked.length);
  return {
    images: [...picked, ...generated],
    source:
      picked.length > 0
        ? `${picked.length} frames (thumbnails) of indexed videos and ${generated.length} generated images`
        : `${generated.length} generated images (no indexed videos yet)`,
  };
}

function registerQuantize(models: Command, context: () => CliContext): void {
  models
    .command('quantize')
    .description('write int8 copies of a model (own fingerprints) and measure what they lose')
    .argument('<id>', 'an fp32 model id under <data dir>/models, or a model folder path')
    .addOption(
      new Option('--format <format>', 'how int8 layers are written')
        .choices(QUANTIZED_FORMATS)
        .default('matmul-integer'),
    )
    .option('--force', 'redo it even if the int8 copies exist')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nWrites <id>-int8 (both encoders int8), <id>-int8-image and <id>-int8-text beside the model, each with a\n' +
        'calibration.json: cosine of int8 to fp32 embeddings (mean, 1st percentile, min) over frames of your\n' +
        'indexed videos (else generated images) and texts, and the top-10 agreement of a retrieval over them.\n' +
        'REEL_IMAGE_PRECISION / REEL_TEXT_PRECISION (auto, fp32, int8) then choose which copy is active.\n\n' +
        'Example:\n  $ npx reel models quantize Xenova__clip-vit-base-patch32',
    )
    .action(async (id: string, options: { format: QuantizedFormat; force?: boolean; json?: boolean }) => {
      const { config, logger } = context();
      const dir = resolveModelDir(id, config.paths.models);
      const { images, source } = calibrationImages(config.paths.thumbnails);
      const activeBefore = resolveActiveModel(config.model, config.paths.models, precisionSettings(config));
      const pool = createInferencePool({ size: 1 });
      const result = await quantizeModel(dir, {
        pool,
        modelsDir: config.paths.models,
        images,
        imageSource: source,
        format: options.format,
        force: Boolean(options.force),
        log: (message) => logger.info(message),
      }).finally(() => pool.close());
      const chosen = resolvePrecision(dir, config.paths.models, precisionSettings(config));
      // A new copy may become the active model (precision auto): the next sweep then re-embeds every
      // video with it. Said here, where it happens, not discovered later.
      const activeAfter = resolveActiveModel(config.model, config.paths.models, precisionSettings(config));
      const activeModel = {
        before: path.basename(activeBefore.dir),
        after: path.basename(activeAfter.dir),
        changed: activeBefore.dir !== activeAfter.dir,
      };
      if (options.json) {
        printJson({ ...result, chosen, activeModel });
        return;
      }
      const calibration = result.folders[0]!.calibration;
      const encoder = (name: 'image' | 'text') => {
        const c = calibration[name];
        const kept = c.keptLayers.length > 0 ? `, ${c.keptLayers.length} kept in fp32` : '';
        return `  ${name}: ${describeCosines(c)} (${c.count} items; ${c.quantizedLayers} int8 layers${kept})`;
      };
      process.stdout.write(
        `${result.written ? 'quantized' : 'already quantized:'} ${result.source.id} (${calibration.format}); calibrated on ${calibration.items.imageSource} and ${calibration.items.texts} texts\n` +
          `${encoder('image')}\n${encoder('text')}\n` +
          `${formatTable(
            ['id', 'calibration', 'fingerprint'],
            result.folders.map((f) => [
              f.id,
              calibrationCell(f.calibration),
              `${f.fingerprint.slice(0, 19)}…`,
            ]),
          )}\n` +
          `with the current settings ${result.source.id} runs as ${path.basename(chosen.dir)}: image ${chosen.image.precision} (${chosen.image.reason}), text ${chosen.text.precision} (${chosen.text.reason})\n` +
          `${modelChangeLine(activeModel.before, activeModel.after, config.sweepCron)}\n`,
      );
    });
}

/** What a change of the active model sets off, for the commands that make one. */
export function modelChangeLine(before: string, after: string, sweepCron: string): string {
  if (before === after) return `the active model stays ${before}: nothing is re-embedded`;
  return `the active model is now ${after} (was ${before}): the next sweep (REEL_SWEEP_CRON "${sweepCron}") re-embeds every indexed video with it, or now: npx reel reindex --model; searches read ${before} until that ends`;
}

function registerSynth(models: Command, context: () => CliContext): void {
  models
    .command('synth')
    .description(
      `write the small synthetic CLIP model used by the demo and tests into <data dir>/models/${DEFAULT_MODEL_ID}`,
    )
    .option('--force', 'rewrite it even if it is already there')
    .option(
      '--multilingual',
      `write the multilingual one instead (immich layout, its words in English, German, French, Spanish and Chinese) into <data dir>/models/${SYNTHETIC_MULTILINGUAL_ID}`,
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nThe synthetic model understands colours, light/dark and coarse positions only.\n\nExample:\n  $ npx reel models synth\n  $ npx reel models synth --multilingual && npx reel models use reel-synthetic-multilingual',
    )
    .action(async (options: { force?: boolean; json?: boolean; multilingual?: boolean }) => {
      const { config } = context();
      const id = options.multilingual ? SYNTHETIC_MULTILINGUAL_ID : DEFAULT_MODEL_ID;
      const dir = path.join(config.paths.models, id);
      const existed = existsSync(dir);
      if (!existed || options.force) {
        // Written beside the final folder, then renamed: a crash never leaves a half-written model.
        const tmp = path.join(config.paths.models, `.${id}.${process.pid}.tmp`);
        await rm(tmp, { recursive: true, force: true });
        await (options.multilingual ? writeSyntheticMultilingual(tmp) : writeSyntheticClip(tmp));
        await rm(dir, { recursive: true, force: true });
        await rename(tmp, dir);
      }
      const checked = await validateModel(dir);
      const result = { id, dir, written: !existed || Boolean(options.force), ...checked };
      if (options.json) printJson(result);
      else
        process.stdout.write(
          `${result.written ? 'wrote' : 'already present:'} ${id} (${checked.layout}, ${checked.dim}-d, ${checked.fingerprint.slice(0, 19)}…) at ${dir}\n`,
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
      "\nResumable: run it again after an interruption. Set HF_TOKEN (or log in with `hf auth login`) for gated models, HF_ENDPOINT for a mirror; with HF_HUB_OFFLINE=1 the model is installed from the Hugging Face cache (HF_HOME) or immich's (MACHINE_LEARNING_CACHE_FOLDER) without network.\n\nExample:\n  $ npx reel models pull Xenova/clip-vit-base-patch32 --variant quantized\n  $ npx reel models use Xenova__clip-vit-base-patch32",
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
        // HF_TOKEN, else the token file `hf auth login` writes ($HF_HOME/token, HF_TOKEN_PATH).
        token: config.hfToken || hubToken(),
        // HF_HUB_OFFLINE: no network; installed from the Hugging Face or immich cache.
        offline: isHubOffline(),
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
        const how = result.upToDate
          ? 'up to date:'
          : result.fromCache
            ? `installed from the local cache ${result.fromCache} (HF_HUB_OFFLINE):`
            : 'pulled';
        process.stdout.write(
          `${how} ${repo}@${result.revision} (${result.layout}, ${result.variant}, ${humanBytes(size)}) into ${result.dir}\n` +
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
      const active = resolveActiveModel(config.model, config.paths.models, precisionSettings(config));
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
        calibration: m.calibration,
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
            ['', 'id', 'layout', 'status', 'fingerprint', 'int8 calibration'],
            rows.map((r) => [
              r.active ? '*' : '',
              r.id,
              r.layout ? `${r.layout} ${r.calibration ? 'int8 copy' : r.variant}` : '-',
              r.complete ? 'complete' : `incomplete: ${r.problem}`,
              r.fingerprint ? `${r.fingerprint.slice(0, 19)}…` : '(not loaded yet)',
              calibrationCell(r.calibration),
            ]),
          )}\n`,
        );
      const runsAs = active.dir === active.configuredDir ? '' : `runs as ${path.basename(active.dir)}: `;
      process.stdout.write(
        `active: ${active.name} (from ${active.source})\n` +
          `  ${runsAs}image ${active.precision.image.precision} (${active.precision.image.reason}), text ${active.precision.text.precision} (${active.precision.text.reason})\n`,
      );
    });
}

function registerUse(models: Command, context: () => CliContext): void {
  models
    .command('use')
    .description('make a model the active one (checked by loading it first)')
    .argument('<id>', 'a model id under <data dir>/models, or a model folder path')
    .option('--json', 'print the model now active as JSON')
    .addHelpText(
      'after',
      '\nREEL_MODEL, when set, still wins over this choice.\n\nExample:\n  $ npx reel models use Xenova__clip-vit-base-patch32',
    )
    .action(async (id: string, options: { json?: boolean }) => {
      const { config } = context();
      const dir = resolveModelDir(id, config.paths.models);
      const checked = await validateModel(dir);
      const settings = precisionSettings(config);
      const before = path.basename(resolveActiveModel(config.model, config.paths.models, settings).dir);
      await saveActiveModel(config.paths.models, id);
      const after = path.basename(resolveActiveModel(config.model, config.paths.models, settings).dir);
      const overridden = config.model !== undefined && config.model !== id;
      if (options.json)
        printJson({
          id,
          dir,
          ...checked,
          activeModel: { before, after, changed: before !== after },
          ...(overridden ? { overriddenBy: { REEL_MODEL: config.model } } : {}),
        });
      else
        process.stdout.write(
          `active model: ${id} (${checked.layout} ${checked.variant}, ${checked.dim}-d, ${checked.fingerprint})\n` +
            `${modelChangeLine(before, after, config.sweepCron)}\n`,
        );
      if (overridden) {
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
  registerQuantize(models, context);
}
