/**
 * Hands frames and embeddings from one stage to the next through the data folder, not Redis (12 frames
 * at 224 px are 1.8 MB per video). Layout: `<spool>/<videoId>/frames.bin` (rgb24 frames back to back)
 * with `frames.json`, then `embeddings-<fingerprint>.bin` (float32 rows) with its `.json`. Every file is
 * written under a temporary name and renamed, so a stage killed mid-write leaves nothing half-written
 * for the next attempt. The index stage removes the video's folder when it is done.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FrameSampling } from '../pipeline-deps.ts';

export interface SpooledFrames {
  width: number;
  height: number;
  /** Seconds, one per frame. */
  timestamps: number[];
  /** Thumbnail paths (relative to the thumbnails folder), one per frame. */
  thumbnails: string[];
  durationSeconds: number;
  warnings: string[];
  /** How the frames were sampled (absent in spools written before it was kept). */
  sampling?: FrameSampling;
  /** rgb24, `timestamps.length` frames of width × height × 3 bytes. */
  data: Uint8Array;
}

export interface SpooledEmbeddings {
  fingerprint: string;
  dim: number;
  /** Row-major `[frames, dim]`, L2-normalised rows. */
  vectors: Float32Array;
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

function fingerprintTag(fingerprint: string): string {
  return fingerprint.replace(/^sha256:/, '').slice(0, 16);
}

export class FrameSpool {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  videoDir(videoId: string): string {
    return path.join(this.dir, videoId);
  }

  async writeFrames(videoId: string, frames: SpooledFrames): Promise<void> {
    const dir = this.videoDir(videoId);
    await mkdir(dir, { recursive: true });
    const { data, ...meta } = frames;
    await writeAtomic(path.join(dir, 'frames.bin'), data);
    await writeAtomic(path.join(dir, 'frames.json'), JSON.stringify(meta));
  }

  /** Undefined when the frames are not there (the ingest stage must run again). */
  async readFrames(videoId: string): Promise<SpooledFrames | undefined> {
    const meta = await this.readFrameMeta(videoId);
    if (!meta) return undefined;
    try {
      // A view, not a copy: a file this size gets a buffer of its own (never a slice of Buffer's pool).
      const bytes = await readFile(path.join(this.videoDir(videoId), 'frames.bin'));
      const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (data.length !== meta.width * meta.height * 3 * meta.timestamps.length) return undefined;
      return { ...meta, data };
    } catch {
      return undefined;
    }
  }

  /**
   * What the frames file says of the frames, without their pixels (what the index stage needs);
   * undefined when it is not there or not readable.
   */
  async readFrameMeta(videoId: string): Promise<Omit<SpooledFrames, 'data'> | undefined> {
    try {
      const text = await readFile(path.join(this.videoDir(videoId), 'frames.json'), 'utf8');
      const meta = JSON.parse(text) as Omit<SpooledFrames, 'data'>;
      return Array.isArray(meta.timestamps) && Array.isArray(meta.thumbnails) ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  async writeEmbeddings(videoId: string, embeddings: SpooledEmbeddings): Promise<void> {
    const dir = this.videoDir(videoId);
    await mkdir(dir, { recursive: true });
    const tag = fingerprintTag(embeddings.fingerprint);
    const bytes = new Uint8Array(
      embeddings.vectors.buffer,
      embeddings.vectors.byteOffset,
      embeddings.vectors.byteLength,
    );
    await writeAtomic(path.join(dir, `embeddings-${tag}.bin`), bytes);
    await writeAtomic(
      path.join(dir, `embeddings-${tag}.json`),
      JSON.stringify({ fingerprint: embeddings.fingerprint, dim: embeddings.dim }),
    );
  }

  async readEmbeddings(videoId: string, fingerprint: string): Promise<SpooledEmbeddings | undefined> {
    const dir = this.videoDir(videoId);
    const tag = fingerprintTag(fingerprint);
    try {
      const meta = JSON.parse(await readFile(path.join(dir, `embeddings-${tag}.json`), 'utf8')) as {
        fingerprint: string;
        dim: number;
      };
      const bytes = await readFile(path.join(dir, `embeddings-${tag}.bin`));
      if (meta.fingerprint !== fingerprint || bytes.byteLength % (4 * meta.dim) !== 0) return undefined;
      // Copy into an aligned buffer: Buffer pool slices may start at any offset.
      const vectors = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(vectors.buffer).set(bytes);
      return { fingerprint: meta.fingerprint, dim: meta.dim, vectors };
    } catch {
      return undefined;
    }
  }

  async remove(videoId: string): Promise<void> {
    await rm(this.videoDir(videoId), { recursive: true, force: true });
  }
}
