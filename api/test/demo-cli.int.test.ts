import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';

interface Ranking {
  query: string;
  results: { frame: string; score: number }[];
}

describe('reel demo (the README main command, real onnxruntime)', () => {
  it('installs the synthetic model on first run and ranks frames by text', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'reel-demo-'));
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), REEL_DATA_DIR: dataDir };
    const run = await runCli(['demo', '--json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { model, rankings } = JSON.parse(run.stdout) as { model: string; rankings: Ranking[] };
    expect(model).toBe('reel-synthetic-clip');
    const top = (query: string) => rankings.find((r) => r.query === query)!.results.map((r) => r.frame);
    expect(top('red')[0]).toBe('all red');
    expect(top('something dark')[0]).toBe('all black');
    expect(top('green')[0]).toBe('green left, white right');
    const blueLeft = top('a blue square on the left');
    expect(blueLeft.indexOf('blue left, red right')).toBeLessThan(blueLeft.indexOf('red left, blue right'));

    const again = await runCli(['demo'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('writing the synthetic model');
    expect(again.stdout).toMatch(/"red"\nrank +frame +cosine\n1 +all red/);
  });
});
