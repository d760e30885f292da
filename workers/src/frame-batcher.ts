/**
 * Keeps the image encoder's batches full across videos. Each embed job asks for its frames (12 per
 * video by default); with a batch size of 8 a lone video makes one full batch and one of 4. The batcher
 * holds requests that arrive together for up to `maxWaitMs` and cuts the combined frames into batches of
 * `batchSize`, so two videos' 24 frames become three full batches. A failed batch fails only the
 * requests that had frames in it.
 */

export interface BatchEncoder<I, O> {
  /** Encodes one batch (at most `batchSize` items), outputs in input order. */
  encode(items: readonly I[]): Promise<O[]>;
}

interface Pending<I, O> {
  items: readonly I[];
  results: O[];
  remaining: number;
  failed: boolean;
  resolve: (value: O[]) => void;
  reject: (error: unknown) => void;
}

export class FrameBatcher<I, O> {
  readonly #encoder: BatchEncoder<I, O>;
  readonly #batchSize: number;
  readonly #maxWaitMs: number;
  #queue: { request: Pending<I, O>; index: number }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(encoder: BatchEncoder<I, O>, options: { batchSize: number; maxWaitMs?: number }) {
    this.#encoder = encoder;
    this.#batchSize = options.batchSize;
    this.#maxWaitMs = options.maxWaitMs ?? 5;
  }

  /** Encodes `items`; resolves with their outputs in order once every batch holding them is done. */
  encode(items: readonly I[]): Promise<O[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<O[]>((resolve, reject) => {
      const request: Pending<I, O> = {
        items,
        results: new Array(items.length),
        remaining: items.length,
        failed: false,
        resolve,
        reject,
      };
      for (let index = 0; index < items.length; index++) this.#queue.push({ request, index });
      while (this.#queue.length >= this.#batchSize) this.#flush(this.#batchSize);
      if (this.#queue.length > 0 && this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          while (this.#queue.length > 0) this.#flush(this.#batchSize);
        }, this.#maxWaitMs);
      }
    });
  }

  #flush(size: number): void {
    const slots = this.#queue.splice(0, size);
    if (this.#queue.length === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#encoder.encode(slots.map((slot) => slot.request.items[slot.index]!)).then(
      (outputs) => {
        slots.forEach((slot, i) => {
          const { request } = slot;
          if (request.failed) return;
          request.results[slot.index] = outputs[i]!;
          if (--request.remaining === 0) request.resolve(request.results);
        });
      },
      (error: unknown) => {
        for (const { request } of slots) {
          if (request.failed) continue;
          request.failed = true;
          request.reject(error);
        }
      },
    );
  }
}
