/**
 * onnxruntime session options tuned for CPU throughput. Pure: no onnxruntime import, so the main thread
 * can compute options for its workers without loading the native binding.
 *
 * Why these values (measured on reel's 2-core machines, see BRIEF "Pitfalls"): `sequential` execution
 * beat `parallel`; one inter-op thread because sequential mode never uses more; intra-op threads split
 * the cores between the pool's workers so they don't oversubscribe the CPU.
 */
import { availableParallelism } from 'node:os';
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from '../errors.ts';

/** The subset of onnxruntime's `InferenceSession.SessionOptions` reel sets (structurally compatible). */
export interface CpuSessionOptions {
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential' | 'parallel';
  /** Threads one session uses inside one operator (MatMul, Conv, ...). */
  intraOpNumThreads: number;
  /** Threads running independent operators at once; only used by `parallel` execution. */
  interOpNumThreads: number;
  /** Session config entries (onnxruntime flattens the keys with dots: `session.intra_op.allow_spinning`). */
  extra?: { session: { intra_op: { allow_spinning: '0' | '1' } } };
}

/** Inputs to {@link cpuSessionOptions}. */
export interface CpuSessionTuning {
  /** Sessions that run at the same time (one per pool worker). Default 1. */
  poolSize?: number;
  /** Overrides the intra-op thread count computed from cores and pool size. */
  intraOpNumThreads?: number;
  /** CPU cores to share. Default `os.availableParallelism()`. */
  cores?: number;
  /**
   * Whether idle intra-op threads spin waiting for the next operator (onnxruntime's default, fastest on
   * cores of its own). Off where the cores are shared with other work (the pipeline's ffmpeg, sharp and
   * LanceDB): spinning threads then burn CPU those need. Default: onnxruntime's (on).
   */
  allowSpinning?: boolean;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ReelError(
      ModelErrorCode.INFERENCE_OPTIONS_INVALID,
      `${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

/** Intra-op threads per session when `poolSize` sessions share `cores`: max(1, floor(cores / poolSize)). */
export function defaultIntraOpThreads(poolSize: number, cores: number = availableParallelism()): number {
  return Math.max(1, Math.floor(positiveInt('cores', cores) / positiveInt('poolSize', poolSize)));
}

/**
 * Session options for CPU throughput: `graphOptimizationLevel: 'all'`, `executionMode: 'sequential'`,
 * `interOpNumThreads: 1` and `intraOpNumThreads` from {@link defaultIntraOpThreads} unless overridden.
 */
export function cpuSessionOptions(tuning: CpuSessionTuning = {}): CpuSessionOptions {
  const intra =
    tuning.intraOpNumThreads === undefined
      ? defaultIntraOpThreads(tuning.poolSize ?? 1, tuning.cores)
      : positiveInt('intraOpNumThreads', tuning.intraOpNumThreads);
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: intra,
    interOpNumThreads: 1,
    ...(tuning.allowSpinning === undefined
      ? {}
      : { extra: { session: { intra_op: { allow_spinning: tuning.allowSpinning ? '1' : '0' } } } }),
  };
}
