/**
 * Frame embedders over @reel/models: one ClipModel per model folder per process, loaded on first use and
 * shared by every embed job, with a FrameBatcher in front so concurrent jobs fill the encoder's batches.
 * A model whose files changed since the job was submitted (another fingerprint) is refused: its
 * vectors would be filed under the wrong model.
 *
 * A vision encoder with a fixed batch of 1 (immich's current exports) gets one call per frame; on one
 * worker with every core those calls run one after another. Such a model is loaded instead in a pool of
 * one single-threaded worker per core, so frames run side by side (`npm run bench -- batch-one`
 * measures both against a dynamic-batch model of the same size). Each worker holds its own session, so
 * this is done only for models up to {@link PARALLEL_MODEL_BYTES}.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { ClipModel, createInferencePool, type InferencePool, type RawFrame } from '@reel/models';
import { FrameBatcher } from '../frame-batcher.ts';
import type { ModelRef } from '../jobs.ts';
import type { EmbedderProvider, Frame, FrameEmbedder } from '../pipeline-deps.ts';

/** Largest vision encoder (graph and external weights) copied into one session per core. */
export const PARALLEL_MODEL_BYTES = 1.5 * 1024 ** 3;

export class ClipEmbedders implements EmbedderProvider {
  readonly #pool: InferencePool;
  readonly #cores: number;
  #parallelPool: InferencePool | undefined;
  readonly #log: (message: string) => void;
  readonly #batchSize: number;
  readonly #loaded = new Map<string, Promise<{ model: ClipModel; embedder: FrameEmbedder }>>();
  readonly #checkDir: (dir: string) => void;

  /**
   * @param options.checkDir throws for a folder this process may not load (see model-dirs.ts): a job's
   *   payload names the folder, and is not to be trusted with paths.
   */
  constructor(
    pool: InferencePool,
    options: {
      batchSize?: number;
      checkDir?: (dir: string) => void;
      /** Cores to spread a batch-1 model over (default: the machine's); 1 turns it off. */
      cores?: number;
      log?: (message: string) => void;
    } = {},
  ) {
    this.#pool = pool;
    this.#cores = options.cores ?? availableParallelism();
    this.#log = options.log ?? (() => {});
    this.#batchSize = options.batchSize ?? 8;
    this.#checkDir = options.checkDir ?? (() => {});
  }

  async get(ref: ModelRef): Promise<FrameEmbedder> {
    this.#checkDir(ref.dir);
    let entry = this.#loaded.get(ref.dir);
    if (!entry) {
      entry = this.#load(ref.dir);
      this.#loaded.set(ref.dir, entry);
      entry.catch(() => this.#loaded.delete(ref.dir));
    }
    const { embedder } = await entry;
    if (embedder.fingerprint !== ref.fingerprint) {
      throw new ReelError(
        'MODEL_CHANGED',
        `model folder ${ref.dir} now has fingerprint ${embedder.fingerprint}, not ${ref.fingerprint} as when the video was submitted: run a reindex for the new model`,
      );
    }
    return embedder;
  }

  async #load(dir: string): Promise<{ model: ClipModel; embedder: FrameEmbedder }> {
    let model = await ClipModel.load(dir, { pool: this.#pool, maxImageBatch: this.#batchSize });
    if (model.imageEncoder.maxBatch === 1 && this.#cores > 1) {
      // Graph and external weights (of both encoders: an upper bound) that each session would copy.
      const bytes = [model.files.visionModel, ...model.externalFiles].reduce(
        (sum, file) => sum + statSync(path.join(dir, file)).size,
        0,
      );
      if (bytes <= PARALLEL_MODEL_BYTES) {
        await model.close();
        this.#parallelPool ??= createInferencePool({
          size: this.#cores,
          threadsPerSession: 1,
          allowSpinning: false,
        });
        model = await ClipModel.load(dir, { pool: this.#parallelPool, maxImageBatch: 1 });
        this.#log(
          `${dir}: its vision encoder takes one frame per call; running ${this.#cores} calls at once`,
        );
      }
    }
    const batcher = new FrameBatcher<RawFrame, Float32Array>(
      { encode: (frames) => model.encodeImages(frames) },
      { batchSize: this.#batchSize },
    );
    const embedder: FrameEmbedder = {
      fingerprint: model.fingerprint,
      dim: model.dim,
      embed: (frames: Frame[]) => batcher.encode(frames),
    };
    return { model, embedder };
  }

  async close(): Promise<void> {
    for (const entry of this.#loaded.values()) {
      const loaded = await entry.catch(() => undefined);
      await loaded?.model.close();
    }
    this.#loaded.clear();
    await this.#parallelPool?.close();
    this.#parallelPool = undefined;
  }
}
