/**
 * Trying an operation again when it failed for a moment: a commit that lost a race, a lock another
 * process holds, a network blip, a folder removed under us. One helper over p-retry, so every retry in
 * reel counts tries the same way (`attempts` is tries in all, the first included), waits the same way
 * (exponential from `firstDelayMs`, capped, optional jitter) and stops at once on an abort.
 *
 * p-retry never retries a TypeError other than a network error (it means the code is wrong, not the
 * thing it reached); the last failure is thrown as it was, for the caller to wrap.
 */
import pRetry from 'p-retry';

export interface RetryPolicy {
  /** Tries in all, the first included (an integer ≥ 1). */
  attempts: number;
  /** Wait before the second try, ms; 0 retries at once. */
  firstDelayMs: number;
  /** The longest wait between two tries, ms (default: no cap). */
  maxDelayMs?: number;
  /** Each wait is this many times the one before (default 2; 1 keeps waits constant). */
  factor?: number;
  /** Multiplies each wait by a random number in [1, 2), so processes that collided do not collide again. */
  jitter?: boolean;
}

export interface RetryOptions extends RetryPolicy {
  /** Whether this failure may pass on another try (default: any failure). */
  retryIf?: (error: Error) => boolean;
  /**
   * Whether this failure uses up one of `attempts` (default: yes). One that does not (a stale lock just
   * broken, a download that made progress) is tried again at once.
   */
  counts?: (error: Error) => boolean;
  /** Stops waiting and trying; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Runs `run` until it resolves, a failure may not be retried, or `attempts` tries have failed. */
export function retrying<T>(run: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  if (!Number.isInteger(options.attempts) || options.attempts < 1)
    throw new RangeError(`retry attempts: expected an integer ≥ 1, got ${options.attempts}`);
  const { retryIf, counts } = options;
  return pRetry(run, {
    retries: options.attempts - 1,
    minTimeout: options.firstDelayMs,
    maxTimeout: options.maxDelayMs ?? Number.POSITIVE_INFINITY,
    factor: options.factor ?? 2,
    randomize: options.jitter ?? false,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(retryIf ? { shouldRetry: ({ error }) => retryIf(error) } : {}),
    ...(counts ? { shouldConsumeRetry: ({ error }) => counts(error) } : {}),
  });
}
