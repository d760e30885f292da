/**
 * Search for every front door (the API, `reel search`): a SearchService for the model searches
 * currently read, with the X-Pool head from config. That model is
 * named by the search-model pointer in Redis (it moves when a backfill finishes), but search must keep
 * answering when Redis is down: the pointer is re-read in the background with a short timeout, and the
 * last model known (or, on a cold start without Redis, the active model from config) keeps serving.
 */
import path from 'node:path';
import { loadXPoolHead, SearchService, type XPoolHead, xpoolHeadPairingWarning } from '@reel/index';
import { type Logger, withTimeout } from '@reel/infra';
import { ClipModel, createInferencePool, type InferencePool, referenceStills } from '@reel/models';
import type { ModelRef } from '../jobs.ts';
import { checkModelDir } from '../model-dirs.ts';
import type { Pipeline } from '../pipeline.ts';

interface Loaded {
  model: ModelRef;
  clip: ClipModel;
  service: SearchService;
}

export interface LiveSearchOptions {
  /** How often the pointer is re-read (default 2 s). */
  refreshMs?: number;
  /** Longest wait for Redis when reading the pointer (default 500 ms). */
  redisTimeoutMs?: number;
}

export class LiveSearch {
  readonly #pipeline: Pipeline;
  readonly #logger: Logger;
  readonly #pool: InferencePool;
  readonly #refreshMs: number;
  readonly #redisTimeoutMs: number;
  #head: XPoolHead | undefined;
  #current: Loaded | undefined;
  #loading: Promise<Loaded> | undefined;
  #checkedAt = 0;
  #closed = false;

  constructor(pipeline: Pipeline, logger: Logger, options: LiveSearchOptions = {}) {
    this.#pipeline = pipeline;
    this.#logger = logger;
    this.#pool = createInferencePool({ size: 1 });
    this.#refreshMs = options.refreshMs ?? 2000;
    this.#redisTimeoutMs = options.redisTimeoutMs ?? 500;
  }

  /** The model searches read now, per the pointer (or the last one known when Redis does not answer). */
  async #wantedModel(): Promise<ModelRef> {
    try {
      const pointer = await withTimeout(this.#pipeline.pointer.get(), this.#redisTimeoutMs, 'redis');
      // The pointer lives in Redis: its folder must be one this configuration may load.
      if (pointer)
        return { dir: checkModelDir(this.#pipeline.config, pointer.dir), fingerprint: pointer.fingerprint };
      return await withTimeout(this.#pipeline.searchModel(), this.#redisTimeoutMs, 'redis');
    } catch (error) {
      if (this.#current) return this.#current.model;
      this.#logger.warn(
        { err: (error as Error).message },
        'search model pointer unreadable (Redis down?): searching the active model',
      );
      return this.#pipeline.activeModel();
    }
  }

  async #load(model: ModelRef): Promise<Loaded> {
    if (this.#pipeline.config.xpoolHead && this.#head === undefined)
      this.#head = await loadXPoolHead(this.#pipeline.config.xpoolHead);
    const clip = await ClipModel.load(model.dir, { pool: this.#pool });
    if (clip.fingerprint !== model.fingerprint)
      this.#logger.warn(
        { expected: model.fingerprint, found: clip.fingerprint, dir: model.dir },
        'the search model folder changed since it was indexed',
      );
    const xpoolWarning = this.#head
      ? xpoolHeadPairingWarning(this.#head, { fingerprint: clip.fingerprint, name: path.basename(model.dir) })
      : undefined;
    if (xpoolWarning) this.#logger.warn({ head: this.#head?.source, model: model.dir }, xpoolWarning);
    const service = new SearchService({
      store: this.#pipeline.store,
      embedder: clip,
      // pictures of nothing: searches by example get a confidence too
      confidenceReferenceImages: await referenceStills(),
      ...(this.#head ? { xpoolHead: this.#head } : {}),
      ...(xpoolWarning ? { xpoolWarning } : {}),
    });
    return { model, clip, service };
  }

  /** The SearchService to use for one request. */
  async service(): Promise<SearchService> {
    if (this.#closed) throw new Error('LiveSearch is closed');
    const now = Date.now();
    if (this.#current && now - this.#checkedAt < this.#refreshMs) return this.#current.service;
    this.#checkedAt = now;
    if (!this.#loading) {
      this.#loading = (async () => {
        const wanted = await this.#wantedModel();
        if (this.#current?.model.fingerprint === wanted.fingerprint) return this.#current;
        const next = await this.#load(wanted);
        const previous = this.#current;
        this.#current = next;
        if (previous) {
          this.#logger.info(
            { from: previous.model.fingerprint, to: next.model.fingerprint },
            'searches moved to a new model',
          );
          // Searches already running on the old model finish first.
          setTimeout(() => void previous.clip.close(), 30_000).unref();
        }
        return next;
      })().finally(() => {
        this.#loading = undefined;
      });
    }
    // The first request waits for a model; later ones keep the current one while the pointer is read.
    if (this.#current) {
      void this.#loading.catch((error) =>
        this.#logger.warn({ err: (error as Error).message }, 'search model refresh failed'),
      );
      return this.#current.service;
    }
    return (await this.#loading).service;
  }

  /** The fingerprint searches read now (null before the first search loaded a model). */
  get fingerprint(): string | null {
    return this.#current?.model.fingerprint ?? null;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#loading?.catch(() => undefined);
    await this.#current?.clip.close();
    // Never exit while onnxruntime is inside run(): the pool waits for it.
    await this.#pool.close();
  }
}
