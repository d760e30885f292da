/**
 * A pool of `worker_threads` workers, each holding its own onnxruntime-node sessions, so inference never
 * blocks the main event loop (onnxruntime's `run()` returns a promise but computes synchronously on the
 * calling thread: a 150 ms inference on the main thread is a 150 ms stall).
 *
 * Contract:
 * - `load()` loads a model in every worker and returns a handle with the session's declared inputs and
 *   outputs; `run()` goes to the worker with the fewest calls in flight. Tensor buffers are transferred
 *   both ways (see {@link RunOptions.transfer} for what the caller gives up).
 * - A worker that exits or throws an uncaught error rejects its in-flight calls with `INFERENCE_WORKER_DIED`
 *   (retryable) and is replaced by a fresh worker that reloads every model; a slot whose worker dies
 *   {@link MAX_CONSECUTIVE_CRASHES} times without answering anything is given up.
 * - Workers are never `terminate()`d: doing so while onnxruntime-node is inside `run()` aborts the whole
 *   process (a C++ `Napi::Error` escapes). `close()` asks each worker to finish and exit instead.
 * - The worker file is `inference-worker.ts`, run by Node's own type stripping (no build step). It also
 *   works under vitest: vitest transforms only the test's module graph, the worker is a plain Node thread
 *   that inherits the parent's `execArgv` and loads the `.ts` file itself.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from '../errors.ts';
import type { RunReply, WorkerInit, WorkerReply, WorkerRequest } from './inference-worker.ts';
import { describeTensors, type TensorInfo, type TensorMap, type TypedArray } from './onnx-session.ts';
import { type CpuSessionOptions, cpuSessionOptions } from './session-options.ts';

/** Options of {@link createInferencePool}. */
export interface InferencePoolOptions {
  /** Worker threads, each with its own copy of every loaded session. Default 1. */
  size?: number;
  /** Intra-op threads per session. Default max(1, floor(cores / size)). */
  threadsPerSession?: number;
  /** See {@link CpuSessionTuning.allowSpinning}. Default: onnxruntime's (spinning). */
  allowSpinning?: boolean;
  /**
   * Worker entry to start instead of `inference-worker.ts`; it must speak the same protocol. For tests
   * that wrap the real worker to inject crashes.
   */
  workerUrl?: URL;
}

/** A model loaded in every worker of a pool, with what its session declares. */
export interface ModelHandle {
  /** Pool-unique id of this load. */
  readonly id: string;
  /** Absolute path of the `.onnx` file. */
  readonly file: string;
  /** Declared inputs, e.g. `{ name: 'pixel_values', type: 'float32', dims: ['batch', 3, 224, 224] }`. */
  readonly inputs: readonly TensorInfo[];
  /** Declared outputs, e.g. `{ name: 'image_embeds', type: 'float32', dims: ['batch', 512] }`. */
  readonly outputs: readonly TensorInfo[];
}

/** Options of {@link InferencePool.run}. */
export interface RunOptions {
  /**
   * `true`: the caller gives up the feeds' buffers; a typed array spanning its whole `ArrayBuffer` is
   * transferred without a copy and is left detached (length 0). Default `false`: each feed is copied
   * once (only the view's bytes, never the whole underlying buffer) and the copy is transferred.
   */
  transfer?: boolean;
  /** Output names to fetch; default all. Outputs not asked for are not sent back. */
  outputs?: readonly string[];
}

/** Per-slot counters from {@link InferencePool.stats}. */
export interface WorkerStats {
  /** Slot index, 0..size-1. */
  index: number;
  /** `threadId` of the slot's current worker, or -1 once the slot was given up. */
  threadId: number;
  /** Calls sent to the current worker and not answered yet. */
  inFlight: number;
  /** Runs completed by the current worker. */
  runs: number;
  /** Milliseconds the current worker spent inside onnxruntime `run()`. */
  busyMs: number;
  /** When the current worker's last completed run started and ended inside onnxruntime (Unix epoch ms). */
  lastRun: { start: number; end: number } | undefined;
  /** Workers of this slot that died and were replaced. */
  restarts: number;
}

/** A pool of inference worker threads. */
export interface InferencePool {
  /** Number of worker slots. */
  readonly size: number;
  /** Session options every worker uses. */
  readonly sessionOptions: CpuSessionOptions;
  /** Loads `modelFile` in every worker. `MODEL_NOT_FOUND` / `MODEL_INVALID` when it can't be loaded. */
  load(modelFile: string): Promise<ModelHandle>;
  /**
   * Runs a loaded model in the least-busy worker. `feeds` maps input names to tensors
   * (`{ type: 'float32', data: Float32Array, dims: [n, 3, h, w] }`). Rejects with `INFERENCE_FAILED`
   * (model file and input dims in the message) when the inputs don't fit or onnxruntime fails, and with
   * `INFERENCE_WORKER_DIED` when the worker dies during the call.
   */
  run(handle: ModelHandle, feeds: TensorMap, options?: RunOptions): Promise<TensorMap>;
  /** Releases a model's sessions in every worker. */
  unload(handle: ModelHandle): Promise<void>;
  /** Counters per worker slot. */
  stats(): WorkerStats[];
  /**
   * Rejects calls in flight with `INFERENCE_POOL_CLOSED` at once, then lets each worker finish the run it
   * is inside, release its sessions and exit; resolves when every worker has exited.
   */
  close(): Promise<void>;
}

/** Crashes in a row (no reply in between) after which a slot stops respawning its worker. */
export const MAX_CONSECUTIVE_CRASHES = 3;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** What the call was doing, for the crash message: "running /m/vision.onnx with inputs ...". */
  what: string;
}

interface WorkerState {
  worker: Worker;
  threadId: number;
  pending: Map<number, Pending>;
  inFlight: number;
  runs: number;
  busyMs: number;
  lastRun: { start: number; end: number } | undefined;
  lastError: Error | undefined;
}

interface Slot {
  index: number;
  restarts: number;
  crashesInARow: number;
  current: WorkerState | undefined;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ReelError(
      ModelErrorCode.INFERENCE_OPTIONS_INVALID,
      `inference pool ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

function isWholeArrayBuffer(data: TypedArray): boolean {
  return (
    Object.prototype.toString.call(data.buffer) === '[object ArrayBuffer]' &&
    data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength
  );
}

/** Feeds ready to post, and the buffers to transfer with them. */
function prepareFeeds(feeds: TensorMap, transfer: boolean): { feeds: TensorMap; buffers: ArrayBuffer[] } {
  const out: TensorMap = {};
  const used = new Set<ArrayBufferLike>();
  for (const [name, t] of Object.entries(feeds)) {
    if (!ArrayBuffer.isView(t?.data) || t.data instanceof DataView) {
      throw new ReelError(ModelErrorCode.INFERENCE_FAILED, `input '${name}' has no typed-array data`);
    }
    let data = t.data;
    if (!transfer || !isWholeArrayBuffer(data) || used.has(data.buffer)) data = data.slice();
    used.add(data.buffer);
    out[name] = { type: t.type, data, dims: [...t.dims] };
  }
  return { feeds: out, buffers: [...used] as ArrayBuffer[] };
}

function workerEntry(): URL {
  // Under Node (and vitest) this module is the .ts source; a compiled copy would sit next to a .js worker.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./inference-worker.${ext}`, import.meta.url);
}

/**
 * Starts `size` inference workers (default 1), each creating onnxruntime sessions with
 * {@link cpuSessionOptions} for that pool size. Idle workers don't keep the process alive, but call
 * {@link InferencePool.close} when done.
 */
export function createInferencePool(options: InferencePoolOptions = {}): InferencePool {
  const size = positiveInt('size', options.size ?? 1);
  const sessionOptions = cpuSessionOptions({
    poolSize: size,
    ...(options.threadsPerSession === undefined
      ? {}
      : { intraOpNumThreads: positiveInt('threadsPerSession', options.threadsPerSession) }),
    ...(options.allowSpinning === undefined ? {} : { allowSpinning: options.allowSpinning }),
  });
  const entry = options.workerUrl ?? workerEntry();
  const models = new Map<string, string>();
  const slots: Slot[] = [];
  let closed = false;
  let nextRequest = 0;
  let nextModel = 0;
  let roundRobin = 0;

  function closedError(): ReelError {
    return new ReelError(ModelErrorCode.INFERENCE_POOL_CLOSED, 'inference pool is closed');
  }

  function refresh(state: WorkerState): void {
    // Busy workers keep the process alive; idle ones must not (a forgotten close() would hang exit).
    if (state.inFlight > 0) state.worker.ref();
    else state.worker.unref();
  }

  function post(state: WorkerState, request: WorkerRequest, what: string, transfer: ArrayBuffer[] = []) {
    return new Promise<unknown>((resolve, reject) => {
      state.pending.set(request.id, { resolve, reject, what });
      state.inFlight++;
      refresh(state);
      try {
        state.worker.postMessage(request, transfer);
      } catch (error) {
        state.pending.delete(request.id);
        state.inFlight--;
        refresh(state);
        reject(
          new ReelError(ModelErrorCode.INFERENCE_FAILED, `cannot send to inference worker while ${what}`, {
            cause: error,
          }),
        );
      }
    });
  }

  function onReply(slot: Slot, state: WorkerState, reply: WorkerReply): void {
    const pending = state.pending.get(reply.id);
    if (!pending) return;
    state.pending.delete(reply.id);
    state.inFlight--;
    slot.crashesInARow = 0;
    refresh(state);
    if (reply.ok) pending.resolve(reply.value);
    else
      pending.reject(new ReelError(reply.error.code, reply.error.message, { details: reply.error.details }));
  }

  function onExit(slot: Slot, state: WorkerState, code: number): void {
    if (slot.current !== state) return;
    slot.current = undefined;
    if (closed) return;
    const reason = state.lastError ? `uncaught ${state.lastError.message}` : `exit code ${code}`;
    for (const pending of state.pending.values()) {
      pending.reject(
        new ReelError(
          ModelErrorCode.INFERENCE_WORKER_DIED,
          `inference worker ${state.threadId} died (${reason}) while ${pending.what}; it is being replaced, retry the call`,
          { retryable: true, details: { threadId: state.threadId, exitCode: code }, cause: state.lastError },
        ),
      );
    }
    state.pending.clear();
    slot.crashesInARow++;
    if (slot.crashesInARow >= MAX_CONSECUTIVE_CRASHES) return;
    slot.restarts++;
    spawn(slot);
  }

  function spawn(slot: Slot): void {
    const worker = new Worker(entry, {
      workerData: { sessionOptions } satisfies WorkerInit,
      name: `reel-inference-${slot.index}`,
    });
    const state: WorkerState = {
      worker,
      threadId: worker.threadId,
      pending: new Map(),
      inFlight: 0,
      runs: 0,
      busyMs: 0,
      lastRun: undefined,
      lastError: undefined,
    };
    slot.current = state;
    worker.on('message', (reply: WorkerReply) => onReply(slot, state, reply));
    worker.on('error', (error: Error) => {
      state.lastError = error;
    });
    worker.on('exit', (code: number) => onExit(slot, state, code));
    refresh(state);
    // A replacement reloads every model before any run reaches it: the worker handles messages in order.
    for (const [model, file] of models) {
      post(state, { kind: 'load', id: ++nextRequest, model, file }, `reloading ${file}`).catch(() => {});
    }
  }

  function live(): { slot: Slot; state: WorkerState }[] {
    const result: { slot: Slot; state: WorkerState }[] = [];
    for (const slot of slots) if (slot.current) result.push({ slot, state: slot.current });
    return result;
  }

  function noWorkers(): ReelError {
    return new ReelError(
      ModelErrorCode.INFERENCE_WORKER_DIED,
      `every inference worker crashed ${MAX_CONSECUTIVE_CRASHES} times in a row; the pool gave up`,
    );
  }

  function leastBusy(): WorkerState | undefined {
    const candidates = live();
    if (candidates.length === 0) return undefined;
    let best: WorkerState | undefined;
    // Start at a rotating index so ties spread over the workers instead of always hitting slot 0.
    roundRobin = (roundRobin + 1) % candidates.length;
    for (let i = 0; i < candidates.length; i++) {
      const { state } = candidates[(roundRobin + i) % candidates.length]!;
      if (!best || state.inFlight < best.inFlight) best = state;
    }
    return best;
  }

  for (let index = 0; index < size; index++) {
    const slot: Slot = { index, restarts: 0, crashesInARow: 0, current: undefined };
    slots.push(slot);
    spawn(slot);
  }

  async function unloadEverywhere(model: string): Promise<void> {
    models.delete(model);
    await Promise.allSettled(
      live().map(({ state }) =>
        post(state, { kind: 'unload', id: ++nextRequest, model }, `unloading ${model}`),
      ),
    );
  }

  return {
    size,
    sessionOptions,

    async load(modelFile) {
      if (closed) throw closedError();
      const file = path.resolve(modelFile);
      const model = `model-${++nextModel}`;
      const targets = live();
      if (targets.length === 0) throw noWorkers();
      models.set(model, file);
      const replies = await Promise.allSettled(
        targets.map(({ state }) =>
          post(state, { kind: 'load', id: ++nextRequest, model, file }, `loading ${file}`),
        ),
      );
      const failed = replies.find((r) => r.status === 'rejected');
      if (failed) {
        await unloadEverywhere(model);
        throw failed.reason;
      }
      const first = (replies[0] as PromiseFulfilledResult<unknown>).value as {
        inputs: TensorInfo[];
        outputs: TensorInfo[];
      };
      return Object.freeze({ id: model, file, inputs: first.inputs, outputs: first.outputs });
    },

    async run(handle, feeds, runOptions = {}) {
      if (closed) throw closedError();
      if (models.get(handle.id) !== handle.file) {
        throw new ReelError(
          ModelErrorCode.INFERENCE_FAILED,
          `model ${handle.file} (handle ${handle.id}) is not loaded in this pool (unloaded, or loaded by another pool)`,
        );
      }
      const state = leastBusy();
      if (!state) throw noWorkers();
      const prepared = prepareFeeds(feeds, runOptions.transfer ?? false);
      const request: WorkerRequest = {
        kind: 'run',
        id: ++nextRequest,
        model: handle.id,
        feeds: prepared.feeds,
        ...(runOptions.outputs ? { outputs: [...runOptions.outputs] } : {}),
      };
      const what = `running ${handle.file} with inputs ${describeTensors(prepared.feeds)}`;
      const reply = (await post(state, request, what, prepared.buffers)) as RunReply;
      state.runs++;
      state.busyMs += reply.end - reply.start;
      state.lastRun = { start: reply.start, end: reply.end };
      return reply.outputs;
    },

    async unload(handle) {
      if (closed) return;
      await unloadEverywhere(handle.id);
    },

    stats() {
      return slots.map((slot) => ({
        index: slot.index,
        threadId: slot.current?.threadId ?? -1,
        inFlight: slot.current?.inFlight ?? 0,
        runs: slot.current?.runs ?? 0,
        busyMs: slot.current?.busyMs ?? 0,
        lastRun: slot.current?.lastRun,
        restarts: slot.restarts,
      }));
    },

    async close() {
      if (closed) return;
      closed = true;
      const states = live().map(({ state }) => state);
      const exits = states.map((state) => {
        for (const pending of state.pending.values()) pending.reject(closedError());
        state.pending.clear();
        // Ask, don't terminate(): terminating a worker inside onnxruntime's run() aborts the process.
        const exited = new Promise<void>((resolve) => state.worker.once('exit', () => resolve()));
        state.worker.ref();
        state.worker.postMessage({ kind: 'close', id: ++nextRequest } satisfies WorkerRequest);
        return exited;
      });
      await Promise.all(exits);
    },
  };
}
