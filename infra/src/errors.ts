/**
 * reel's one error type. Every failure a person can act on carries a stable `code` (for programs: API
 * clients, job retry logic) and a one-line message that says what was expected and what was found (for
 * people). `retryable` defaults to what the error catalogue says of the code (error-catalogue.ts): bad
 * input is never retried; a thrower that knows better for one occurrence says so.
 */
import { errorInfo } from './error-catalogue.ts';

export class ReelError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    options: { retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReelError';
    this.code = code;
    this.retryable = options.retryable ?? errorInfo(code).retryable;
    this.details = options.details;
  }
}

/** True for a {@link ReelError}, optionally with the given code. */
export function isReelError(error: unknown, code?: string): error is ReelError {
  return error instanceof ReelError && (code === undefined || error.code === code);
}
