/**
 * A random X-Pool head as a safetensors file (F32, the reference parameter names), for tests that
 * configure REEL_XPOOL_HEAD or pass `--head`.
 */
import { writeFileSync } from 'node:fs';
import { xpoolHeadTensorShapes } from '@reel/index';

/** A seeded standard-normal generator. */
export function normals(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Writes a random head of embedding size `dim` (LayerNorm weights near 1, the rest small). `metadata`
 * goes into `__metadata__` (e.g. the model it belongs to).
 */
export function writeXPoolHead(
  file: string,
  dim: number,
  seed = 99,
  metadata?: Record<string, string>,
): void {
  const normal = normals(seed);
  const entries: [string, number[], Float32Array][] = [];
  for (const [name, shape] of xpoolHeadTensorShapes(dim)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const isNormWeight = /layer_norm\d\.weight$/.test(name);
    const scale = shape.length === 2 ? 1 / Math.sqrt(dim) : 0.1;
    entries.push([
      name,
      shape,
      Float32Array.from({ length: size }, () => (isNormWeight ? 1 : 0) + scale * normal()),
    ]);
  }
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, shape, data] of entries) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let at = 8 + json.length;
  for (const [, , data] of entries) {
    out.set(new Uint8Array(data.buffer), at);
    at += data.byteLength;
  }
  writeFileSync(file, out);
}
