import { ReelError } from '@reel/infra';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { failureReport, isFinalFailure, toJobError } from '../src/error-policy.ts';

describe('error policy', () => {
  it('never retries bad input and stops retrying at the cap', () => {
    const bad = new ReelError('NOT_A_VIDEO', 'notes.txt: not a video');
    const transient = new ReelError('FFMPEG_TIMEOUT', 'killed', { retryable: true });
    expect(isFinalFailure(bad, 0, 5)).toBe(true);
    expect(isFinalFailure(transient, 0, 5)).toBe(false);
    expect(isFinalFailure(transient, 4, 5)).toBe(true);
    expect(isFinalFailure(new Error('ECONNRESET'), 1, 5)).toBe(false);
  });

  it('keeps the code in the job error so a parent that only sees messages can report it', () => {
    const bad = toJobError(new ReelError('TOO_LONG', 'big.mp4: 5 h is longer than the 4 h limit'));
    expect(bad).toBeInstanceOf(UnrecoverableError);
    expect(bad.message).toBe('TOO_LONG: big.mp4: 5 h is longer than the 4 h limit');
    expect(failureReport(bad)).toEqual({
      code: 'TOO_LONG',
      message: 'big.mp4: 5 h is longer than the 4 h limit',
      retryable: false,
    });
    const transient = toJobError(new Error('connect ECONNREFUSED'));
    expect(transient).not.toBeInstanceOf(UnrecoverableError);
    expect(failureReport(transient)).toEqual({
      code: 'INTERNAL',
      message: 'connect ECONNREFUSED',
      retryable: true,
    });
  });

  it('records whether a failure may pass: the error’s own flag, or the catalogue’s for a code in a message', () => {
    // A LanceDB outage that outlasted the retries: recorded as retryable, so the sweep runs it again.
    expect(failureReport(new ReelError('INDEX_STORE_FAILED', 'LanceDB away')).retryable).toBe(true);
    expect(failureReport(toJobError(new ReelError('DOWNLOAD_TIMEOUT', 'slow'))).retryable).toBe(true);
    // One occurrence that says it will not pass wins over the catalogue.
    const notFound = new ReelError('MODEL_DOWNLOAD_FAILED', 'a 404', { retryable: false });
    expect(failureReport(notFound).retryable).toBe(false);
    expect(failureReport(toJobError(notFound)).retryable).toBe(false);
  });
});
