import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameSpool } from '../src/adapters/frame-spool.ts';

describe('FrameSpool', () => {
  it('round-trips frames and embeddings, per fingerprint, and removes them', async () => {
    const spool = new FrameSpool(mkdtempSync(path.join(tmpdir(), 'reel-spool-')));
    const data = Uint8Array.from({ length: 2 * 4 * 4 * 3 }, (_, i) => i % 251);
    await spool.writeFrames('v1', {
      width: 4,
      height: 4,
      timestamps: [0.5, 1.5],
      thumbnails: ['a', 'b'],
      durationSeconds: 2,
      warnings: [],
      data,
    });
    const frames = await spool.readFrames('v1');
    expect(frames?.timestamps).toEqual([0.5, 1.5]);
    expect(frames?.data).toEqual(data);

    const vectors = Float32Array.from({ length: 2 * 3 }, (_, i) => i / 10);
    await spool.writeEmbeddings('v1', { fingerprint: 'sha256:aaaa1111bbbb2222cccc', dim: 3, vectors });
    expect((await spool.readEmbeddings('v1', 'sha256:aaaa1111bbbb2222cccc'))?.vectors).toEqual(vectors);
    expect(await spool.readEmbeddings('v1', 'sha256:ffff1111bbbb2222cccc')).toBeUndefined();
    expect(readdirSync(spool.videoDir('v1')).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    await spool.remove('v1');
    expect(await spool.readFrames('v1')).toBeUndefined();
  });

  it('treats truncated frames as missing, so the stage runs again', async () => {
    const spool = new FrameSpool(mkdtempSync(path.join(tmpdir(), 'reel-spool-')));
    await spool.writeFrames('v2', {
      width: 2,
      height: 2,
      timestamps: [0],
      thumbnails: [''],
      durationSeconds: 1,
      warnings: [],
      data: new Uint8Array(12),
    });
    writeFileSync(path.join(spool.videoDir('v2'), 'frames.bin'), new Uint8Array(5));
    expect(await spool.readFrames('v2')).toBeUndefined();
  });

  it("reads the frames' metadata without their pixels, and treats a malformed one as missing", async () => {
    const spool = new FrameSpool(mkdtempSync(path.join(tmpdir(), 'reel-spool-')));
    const meta = {
      width: 2,
      height: 2,
      timestamps: [0, 1],
      thumbnails: ['t0', 't1'],
      durationSeconds: 2,
      warnings: ['w'],
    };
    await spool.writeFrames('v3', { ...meta, data: new Uint8Array(24) });
    rmSync(path.join(spool.videoDir('v3'), 'frames.bin'));
    expect(await spool.readFrames('v3')).toBeUndefined();
    expect(await spool.readFrameMeta('v3')).toEqual(meta);
    writeFileSync(path.join(spool.videoDir('v3'), 'frames.json'), '{"width":2}');
    expect(await spool.readFrameMeta('v3')).toBeUndefined();
    writeFileSync(path.join(spool.videoDir('v3'), 'frames.json'), '{"width":');
    expect(await spool.readFrameMeta('v3')).toBeUndefined();
  });
});
