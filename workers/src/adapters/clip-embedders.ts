/**
 * Frame embedders over @reel/models: one ClipModel per model folder per process, loaded on first use and
 * shared by every embed job, with a FrameBatcher in front so concurrent jobs fill the encoder's batches.
 * A model whose files changed since the job was submitted (another fingerprint) is refused: its
 * vectors would be filed under the wrong model.
 */
import { ReelError } from '@reel/infra';
import { ClipModel, type InferencePool, type RawFrame } from '@reel/models';
import { FrameBatcher } from '../frame-batcher.ts';
import type { ModelRef } from '../jobs.ts';
import type { EmbedderProvider, Frame, FrameEmbedder } from '../pipeline-deps.ts';

export class ClipEmbedders implements EmbedderProvider {
  readonly #pool: InferencePool;
  readonly #batchSize: number;
  readonly #loaded = new Map<string, Promise<{ model: ClipModel; embedder: FrameEmbedder }>>();
  readonly #checkDir: (dir: string) => void;

  /**
   * @param options.checkDir throws for a folder this process may not load (see model-dirs.ts): a job's
   *   payload names the folder, and is not to be trusted with paths.
   */
  constructor(pool: InferencePool, options: { batchSize?: number; checkDir?: (dir: string) => void } = {}) {
    this.#pool = pool;
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
    const model = await ClipModel.load(dir, { pool: this.#pool, maxImageBatch: this.#batchSize });
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
  }
}
