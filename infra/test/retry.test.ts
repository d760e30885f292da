import { describe, expect, it } from 'vitest';
import { retrying } from '../src/retry.ts';

/** An operation failing with `errors` in turn, then answering `value`; records when each try ran. */
function flaky<T>(errors: Error[], value: T) {
  const at: number[] = [];
  const run = async (attempt: number) => {
    at.push(performance.now());
    expect(attempt).toBe(at.length);
    const error = errors[at.length - 1];
    if (error) throw error;
    return value;
  };
  return { run, at };
}

const busy = () => Object.assign(new Error('busy'), { code: 'BUSY' });

describe('retrying', () => {
  it('tries again until the operation answers', async () => {
    const op = flaky([busy(), busy()], 'done');
    await expect(retrying(op.run, { attempts: 3, firstDelayMs: 1 })).resolves.toBe('done');
    expect(op.at).toHaveLength(3);
  });

  it('gives up after `attempts` tries in all, throwing the last failure as it was', async () => {
    const last = busy();
    const op = flaky([busy(), busy(), last], 'never');
    await expect(retrying(op.run, { attempts: 3, firstDelayMs: 1 })).rejects.toBe(last);
    expect(op.at).toHaveLength(3);
    const once = flaky([busy()], 'never');
    await expect(retrying(once.run, { attempts: 1, firstDelayMs: 1 })).rejects.toThrow('busy');
    expect(once.at).toHaveLength(1);
  });

  it('stops at once on a failure `retryIf` refuses', async () => {
    const fatal = new Error('fatal');
    const op = flaky([busy(), fatal], 'never');
    const retryIf = (error: Error) => (error as { code?: string }).code === 'BUSY';
    await expect(retrying(op.run, { attempts: 5, firstDelayMs: 1, retryIf })).rejects.toBe(fatal);
    expect(op.at).toHaveLength(2);
  });

  it('waits exponentially from firstDelayMs, capped at maxDelayMs', async () => {
    const op = flaky([busy(), busy(), busy(), busy()], 'done');
    await retrying(op.run, { attempts: 5, firstDelayMs: 20, maxDelayMs: 50 });
    const waits = op.at.slice(1).map((t, i) => t - op.at[i]!);
    // 20, 40, then 80 capped to 50 (timers never fire early; allow for a slow machine late)
    expect(waits[0]).toBeGreaterThanOrEqual(19);
    expect(waits[1]).toBeGreaterThanOrEqual(39);
    expect(waits[2]).toBeGreaterThanOrEqual(49);
    expect(waits[3]).toBeGreaterThanOrEqual(49);
    expect(waits[1]! - waits[0]!).toBeGreaterThan(10);
  });

  it('does not count a failure `counts` declines, and retries it without waiting', async () => {
    const stale = Object.assign(new Error('stale'), { code: 'STALE' });
    const op = flaky([stale, stale, stale, busy()], 'done');
    const counts = (error: Error) => (error as { code?: string }).code !== 'STALE';
    // 2 tries allowed, but the three stale failures are free
    await expect(retrying(op.run, { attempts: 2, firstDelayMs: 200, counts })).resolves.toBe('done');
    expect(op.at).toHaveLength(5);
    expect(op.at[3]! - op.at[0]!).toBeLessThan(150);
  });

  it('an abort stops the wait and rejects with the signal’s reason', async () => {
    const controller = new AbortController();
    const op = flaky([busy(), busy()], 'never');
    const started = performance.now();
    setTimeout(() => controller.abort(new Error('cancelled')), 30);
    await expect(
      retrying(op.run, { attempts: 3, firstDelayMs: 5000, signal: controller.signal }),
    ).rejects.toThrow('cancelled');
    expect(op.at).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses an attempts count below 1', () => {
    expect(() => retrying(async () => 1, { attempts: 0, firstDelayMs: 0 })).toThrow(
      'retry attempts: expected an integer ≥ 1, got 0',
    );
  });
});
