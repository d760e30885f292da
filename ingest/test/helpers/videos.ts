/**
 * Test videos made on the spot with ffmpeg's lavfi sources: never downloaded, a few KB each. The "ramp"
 * videos encode their frame number as a grey level (8 × n), so a sampled frame's pixels say which frame
 * it really is.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SampledFrame } from '../../src/sample-frames.ts';

/** Runs the real ffmpeg (quiet, overwrite, no stdin); throws with its stderr on failure. */
export function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-nostdin', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `reel-ingest-${prefix}-`));
}

/** lavfi source whose frame n is uniformly grey at level 8·n (mod 256). */
export function rampSource(size: string, rate: number, seconds: number): string {
  const level = 'mod(N*8,256)';
  return `color=black:size=${size}:rate=${rate}:duration=${seconds},format=rgb24,geq=r='${level}':g='${level}':b='${level}',format=yuv420p`;
}

/** Grey level frame n of a ramp video has. */
export function rampLevel(n: number): number {
  return (n * 8) % 256;
}

/** Mean of all bytes of a frame. */
export function mean(frame: Pick<SampledFrame, 'data'>): number {
  let sum = 0;
  for (const v of frame.data) sum += v;
  return sum / frame.data.length;
}

/** The [r, g, b] of pixel (x, y) of a frame. */
export function pixel(frame: SampledFrame, x: number, y: number): [number, number, number] {
  const i = (y * frame.width + x) * 3;
  return [frame.data[i]!, frame.data[i + 1]!, frame.data[i + 2]!];
}

/**
 * lavfi source with four coloured quadrants when upright: red top-left, green top-right, magenta
 * bottom-left, white bottom-right.
 */
export function quadrantSource(size: string, rate: number, seconds: number): string {
  return (
    `color=black:size=${size}:rate=${rate}:duration=${seconds},format=rgb24,` +
    `geq=r='if(lt(X,W/2),255,if(lt(Y,H/2),0,255))':g='if(lt(X,W/2),0,255)':b='if(lt(Y,H/2),0,255)'`
  );
}

/**
 * Writes a one-second H.264 video (yuv444p, so colours stay sharp at the edges) in vertical thirds: red,
 * green, blue. `sar` 2 stores pixels twice as wide as tall (anamorphic).
 */
export function thirdsVideo(file: string, size: string, sar = 1): void {
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `color=black:size=${size}:rate=10:duration=1,format=rgb24,geq=r='if(lt(X,W/3),255,0)':g='if(between(X,W/3,2*W/3-1),255,0)':b='if(gte(X,2*W/3),255,0)',setsar=${sar}`,
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv444p',
    file,
  ]);
}

/** A pseudo-random but reproducible byte string (xorshift32). */
export function noise(bytes: number, seed = 0x2545f491): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
