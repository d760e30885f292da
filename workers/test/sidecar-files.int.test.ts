/**
 * Caption files beside a server-side path, on a real folder: only the video's own, only regular files,
 * no symlink followed (a link to a secret, a FIFO that would block the reader), each skip said.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSidecarOf, sidecarsBeside } from '../src/adapters/sidecar-files.ts';

describe('caption files beside a video', () => {
  it('reads the video’s regular caption files and skips links, FIFOs, folders and other names', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-sidecars-'));
    const secret = path.join(mkdtempSync(path.join(tmpdir(), 'reel-secret-')), 'secret.srt');
    writeFileSync(secret, '1\n00:00:00,000 --> 00:00:01,000\nsecret\n');
    writeFileSync(path.join(dir, 'talk.mp4'), 'video');
    writeFileSync(path.join(dir, 'talk.srt'), '1\n00:00:00,000 --> 00:00:01,000\nhello\n');
    writeFileSync(path.join(dir, 'talk.en.sdh.vtt'), 'WEBVTT\n');
    symlinkSync(secret, path.join(dir, 'talk.de.srt'));
    execFileSync('mkfifo', [path.join(dir, 'talk.fr.srt')]);
    mkdirSync(path.join(dir, 'talk.it.srt'));
    writeFileSync(path.join(dir, 'talkative.srt'), 'not talk’s');
    writeFileSync(path.join(dir, 'talk.srt.bak'), 'not a caption file');
    const found = await sidecarsBeside(path.join(dir, 'talk.mp4'));
    expect(found.files.map((f) => f.name)).toEqual(['talk.en.sdh.vtt', 'talk.srt']);
    expect(Buffer.from(found.files[1]!.bytes).toString()).toContain('hello');
    expect(found.skipped).toHaveLength(3);
    expect(found.skipped.join('\n')).toMatch(/talk\.de\.srt: a symbolic link/);
    expect(found.skipped.join('\n')).toMatch(/talk\.fr\.srt: a FIFO/);
    expect(found.skipped.join('\n')).toMatch(/talk\.it\.srt: a folder/);
    expect(found.skipped.join('\n')).not.toContain('secret');
  });

  it('names a video’s caption files by its name: talk.srt, talk.fr.vtt, not talkative.srt', () => {
    expect(isSidecarOf('talk', 'talk.srt')).toBe(true);
    expect(isSidecarOf('talk', 'talk.pt-BR.forced.ass')).toBe(true);
    expect(isSidecarOf('talk', 'talkative.srt')).toBe(false);
    expect(isSidecarOf('talk', 'talk.mp4')).toBe(false);
    expect(isSidecarOf('talk', 'talk.srt.bak')).toBe(false);
  });
});
