import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';

interface DemoSearch {
  query: string;
  results: { title: string; score: number; moment: { start: number; end: number } }[];
}

describe('reel demo (the README main command: real ffmpeg, onnxruntime, Redis, LanceDB)', () => {
  it('installs the synthetic model, ingests generated videos and finds each query at its moment', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-demo-'));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmpdir(),
      REEL_DATA_DIR: dataDir,
      REEL_QUEUE_PREFIX: `{demo-${randomUUID().slice(0, 8)}}`,
      REEL_LOG_LEVEL: 'error',
    };
    const run = await runCli(['demo', '--json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { batch, searches } = JSON.parse(run.stdout) as {
      batch: Record<string, number>;
      searches: DemoSearch[];
    };
    expect(batch).toMatchObject({ indexed: 5, failed: 0 });
    const top = (query: string) => searches.find((s) => s.query === query)!.results[0]!;
    // Each query's video comes first, and its moment covers the segment that shows it.
    expect(top('yellow')).toMatchObject({ title: 'traffic-light' });
    expect(top('yellow').moment.start).toBeGreaterThanOrEqual(1.5);
    expect(top('yellow').moment.end).toBeLessThanOrEqual(4.5);
    expect(top('a white flash')).toMatchObject({ title: 'night-flash' });
    expect(top('a white flash').moment.start).toBeGreaterThanOrEqual(3.5);
    expect(top('a white flash').moment.end).toBeLessThanOrEqual(5.5);
    expect(top('red on the left, blue on the right')).toMatchObject({ title: 'split-screen' });
    expect(top('brown')).toMatchObject({ title: 'forest' });
    expect(top('cyan')).toMatchObject({ title: 'ocean' });

    // Running it again indexes nothing twice.
    const again = await runCli(['demo'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('0 indexed, 5 already there, 0 failed');
    expect(again.stdout).not.toContain('writing the synthetic model');
  });
});
