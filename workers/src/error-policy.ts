/**
 * Which failures are retried: what the error says (`ReelError.retryable`, by default what the error
 * catalogue says of its code, see @reel/infra error-catalogue.ts). Bad input (not a video, too long, ...)
 * fails at once and is recorded on the video; system faults that may pass (Redis hiccups, an ffmpeg
 * killed on timeout, a store or bucket outage, a worker that died) retry with exponential backoff, up to
 * a cap, and are recorded as retryable, so the sweep runs them again later.
 */
import { errorInfo, isReelError } from '@reel/infra';
import { UnrecoverableError } from 'bullmq';

/** What a person sees about a failed video: a stable code and one line, and whether it may pass. */
export interface FailureReport {
  code: string;
  message: string;
  retryable: boolean;
}

/** Retries per job and their backoff (ms, doubled each time). */
export const RETRY_POLICY = { attempts: 5, backoffMs: 2_000 } as const;

/** A failure is final when it is bad input or the retries are used up. */
export function isFinalFailure(error: unknown, attemptsMade: number, attempts: number): boolean {
  return (
    error instanceof UnrecoverableError ||
    (isReelError(error) && !error.retryable) ||
    attemptsMade + 1 >= attempts
  );
}

export function failureReport(error: unknown): FailureReport {
  if (isReelError(error)) return { code: error.code, message: error.message, retryable: error.retryable };
  // BullMQ gives failures back as "CODE: message" strings (see toJobError); an UnrecoverableError never
  // passes, whatever its code.
  const final = error instanceof UnrecoverableError;
  const text = error instanceof Error ? error.message : String(error);
  const coded = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(text);
  if (coded)
    return { code: coded[1]!, message: coded[2]!, retryable: !final && errorInfo(coded[1]!).retryable };
  return { code: 'INTERNAL', message: text.split('\n')[0] ?? text, retryable: !final };
}

/**
 * The error a job throws: bad input becomes BullMQ's UnrecoverableError (no retries); the message always
 * starts with the code so a parent job, which only sees messages, can recover it.
 */
export function toJobError(error: unknown): Error {
  const { code, message } = failureReport(error);
  const text = `${code}: ${message}`;
  if (error instanceof UnrecoverableError || (isReelError(error) && !error.retryable))
    return new UnrecoverableError(text);
  const wrapped = new Error(text);
  if (error instanceof Error && error.stack) wrapped.stack = error.stack;
  return wrapped;
}
