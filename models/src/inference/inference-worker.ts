/**
 * Entry of an inference worker thread (started by `inference-pool.ts`). Holds onnxruntime sessions by
 * model id and runs them here, so onnxruntime's blocking `run()` never stalls the main event loop.
 *
 * Protocol (structured clone over the worker port; tensor buffers are transferred, not copied):
 * - in:  `{ kind: 'load', id, model, file }`, `{ kind: 'run', id, model, feeds, outputs? }`,
 *        `{ kind: 'unload', id, model }`, `{ kind: 'close', id }` (finish what is running, release every
 *        session, exit with code 0)
 * - out: `{ id, ok: true, value }` (load: `{ inputs, outputs }`; run: `{ outputs, start, end }`; unload: null) or
 *        `{ id, ok: false, error: { code, message, details? } }`; the pool rebuilds the `ReelError`.
 * Messages are handled in arrival order per model: a run posted right after its load waits for it.
 *
 * Never `terminate()` this worker while it may be inside onnxruntime: onnxruntime-node 1.30 then throws a
 * C++ `Napi::Error` from the terminating thread and the whole process aborts (SIGABRT). Hence `close`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isReelError } from '@reel/infra';
import { ModelErrorCode } from '../errors.ts';
import { OnnxSession, type TensorInfo, type TensorMap } from './onnx-session.ts';
import type { CpuSessionOptions } from './session-options.ts';

/** Data the pool passes to each worker at start. */
export interface WorkerInit {
  sessionOptions: CpuSessionOptions;
}

/** A request from the pool; `id` pairs it with its reply. */
export type WorkerRequest =
  | { kind: 'load'; id: number; model: string; file: string }
  | { kind: 'run'; id: number; model: string; feeds: TensorMap; outputs?: string[] }
  | { kind: 'unload'; id: number; model: string }
  | { kind: 'close'; id: number };

/** Result of a load: the session's declared inputs and outputs. */
export interface LoadReply {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/**
 * Result of a run: outputs plus when onnxruntime started and finished, in Unix epoch milliseconds
 * (`performance.timeOrigin + performance.now()`, comparable across threads).
 */
export interface RunReply {
  outputs: TensorMap;
  start: number;
  end: number;
}

/** A serialisable error: `ReelError` does not survive structured clone as a class. */
export interface WorkerError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** A reply to the pool. */
export type WorkerReply =
  | { id: number; ok: true; value: LoadReply | RunReply | null }
  | { id: number; ok: false; error: WorkerError };

const port = parentPort;
if (!port) throw new Error('inference-worker.ts must run as a worker_threads Worker');
const { sessionOptions } = workerData as WorkerInit;

/** Sessions by model id; a promise so runs queued behind a load wait for it. */
const sessions = new Map<string, Promise<OnnxSession>>();
/** Requests being handled, so `close` can let them finish first. */
const active = new Set<Promise<unknown>>();

async function closeWorker(): Promise<never> {
  await Promise.allSettled([...active]);
  const loaded = await Promise.allSettled([...sessions.values()]);
  await Promise.allSettled(loaded.map((r) => (r.status === 'fulfilled' ? r.value.release() : undefined)));
  process.exit(0);
}

function toWorkerError(error: unknown): WorkerError {
  if (isReelError(error)) return { code: error.code, message: error.message, details: error.details };
  const message = error instanceof Error ? error.message : String(error);
  return { code: ModelErrorCode.INFERENCE_FAILED, message: `inference worker failed: ${message}` };
}

function session(model: string): Promise<OnnxSession> {
  const found = sessions.get(model);
  if (!found) {
    return Promise.reject({
      code: ModelErrorCode.INFERENCE_FAILED,
      message: `model ${model} is not loaded in this inference worker`,
    } satisfies WorkerError);
  }
  return found;
}

/** Buffers to transfer back: each output's own buffer, copying views that share or don't span one. */
function transferables(outputs: TensorMap): ArrayBuffer[] {
  const seen = new Set<ArrayBufferLike>();
  for (const t of Object.values(outputs)) {
    const whole = t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength;
    if (!whole || seen.has(t.data.buffer) || !(t.data.buffer instanceof ArrayBuffer)) t.data = t.data.slice();
    seen.add(t.data.buffer);
  }
  return [...seen] as ArrayBuffer[];
}

async function handle(
  request: WorkerRequest,
): Promise<{ value: LoadReply | RunReply | null; transfer: ArrayBuffer[] }> {
  switch (request.kind) {
    case 'load': {
      const loading = OnnxSession.load(request.file, sessionOptions);
      // A failed load is reported by this request; later runs of the model get the same rejection.
      loading.catch(() => {});
      sessions.set(request.model, loading);
      const s = await loading;
      return { value: { inputs: [...s.inputs], outputs: [...s.outputs] }, transfer: [] };
    }
    case 'run': {
      const s = await session(request.model);
      const start = performance.timeOrigin + performance.now();
      const outputs = await s.run(request.feeds, request.outputs);
      const end = performance.timeOrigin + performance.now();
      return { value: { outputs, start, end }, transfer: transferables(outputs) };
    }
    case 'unload': {
      const loading = sessions.get(request.model);
      sessions.delete(request.model);
      const s = await loading?.catch(() => undefined);
      await s?.release();
      return { value: null, transfer: [] };
    }
    case 'close':
      return closeWorker();
    default:
      throw new Error(`unknown request kind ${String((request as { kind: unknown }).kind)}`);
  }
}

port.on('message', (request: WorkerRequest) => {
  if (typeof request !== 'object' || request === null || typeof request.id !== 'number') return;
  if (request.kind === 'close') {
    void closeWorker();
    return;
  }
  const done = handle(request);
  active.add(done);
  done.finally(() => active.delete(done)).catch(() => {});
  done.then(
    ({ value, transfer }) =>
      port.postMessage({ id: request.id, ok: true, value } satisfies WorkerReply, transfer),
    (error: unknown) => {
      const reply: WorkerReply = {
        id: request.id,
        ok: false,
        error: isWorkerError(error) ? error : toWorkerError(error),
      };
      port.postMessage(reply);
    },
  );
});

function isWorkerError(error: unknown): error is WorkerError {
  return (
    typeof error === 'object' &&
    error !== null &&
    !(error instanceof Error) &&
    typeof (error as WorkerError).code === 'string' &&
    typeof (error as WorkerError).message === 'string'
  );
}
