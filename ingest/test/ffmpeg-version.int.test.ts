import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { binaryVersion } from '../src/adapters/ffmpeg.ts';

describe('binaryVersion (real ffmpeg)', () => {
  it('reads the installed ffmpeg and ffprobe versions', async () => {
    for (const binary of ['ffmpeg', 'ffprobe']) {
      const result = await binaryVersion(binary);
      expect(result).toMatchObject({ ok: true, binary, version: expect.stringMatching(/^n?\d+\.\d+/) });
      if (result.ok) expect(result.major).toBeGreaterThanOrEqual(4);
    }
  });

  it('says when a binary is not found, on PATH or at a path', async () => {
    expect(await binaryVersion('ffmpeg-that-does-not-exist')).toEqual({
      ok: false,
      binary: 'ffmpeg-that-does-not-exist',
      problem: 'ffmpeg-that-does-not-exist not found on PATH',
    });
    expect(await binaryVersion('/nowhere/ffmpeg')).toMatchObject({
      ok: false,
      problem: '/nowhere/ffmpeg not found',
    });
  });

  it('kills a binary that hangs and says so', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-ffmpeg-'));
    const hang = path.join(dir, 'ffmpeg');
    writeFileSync(hang, '#!/bin/sh\nsleep 30\n');
    chmodSync(hang, 0o755);
    const started = Date.now();
    const result = await binaryVersion(hang, 300);
    expect(result).toMatchObject({ ok: false, problem: `${hang} -version did not answer within 300 ms` });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses a program that is not ffmpeg', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-ffmpeg-'));
    const fake = path.join(dir, 'ffmpeg');
    writeFileSync(fake, '#!/bin/sh\necho hello\n');
    chmodSync(fake, 0o755);
    expect(await binaryVersion(fake)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('printed no version'),
    });
  });
});
