import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes structured JSON lines and honours the level', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'warn', name: 'test', destination: stream });
    logger.info('hidden');
    logger.warn({ videoId: 'v1' }, 'shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, name: 'test', msg: 'shown', videoId: 'v1' });
  });
});
