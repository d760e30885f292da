import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSafetensors, readSafetensorsFile, tensorToFloat32 } from '../src/xpool/safetensors.ts';
import {
  checkXPoolHeadDim,
  loadXPoolHead,
  parseXPoolHead,
  xpoolHeadPairingWarning,
} from '../src/xpool/xpool-head.ts';
import { clipLikeFrames, clipLikeText, randomVector, rng } from './helpers/pooling-fixtures.ts';
import { xpoolDirectScore } from './helpers/xpool-direct.ts';

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/**
 * Writes a safetensors file by hand, as huggingface/safetensors does: u64 LE header length, JSON header
 * (space-padded to a multiple of 8 unless `pad` is false), tensors back to back.
 */
function buildSafetensors(
  entries: Entry[],
  options: { pad?: boolean; metadata?: Record<string, string> } = {},
) {
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const { name, dtype, shape, data } of entries) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.length] };
    offset += data.length;
  }
  let json = JSON.stringify(header);
  if (options.pad !== false) json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const { data } of entries) {
    out.set(data, at);
    at += data.length;
  }
  return out;
}

function f32(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

function u16(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (const [i, v] of values.entries()) view.setUint16(2 * i, v, true);
  return out;
}

const NAMES = [
  ['pool_frames.layer_norm1', 'norm'],
  ['pool_frames.cross_attn.q_proj', 'linear'],
  ['pool_frames.cross_attn.k_proj', 'linear'],
  ['pool_frames.cross_attn.v_proj', 'linear'],
  ['pool_frames.cross_attn.out_proj', 'linear'],
  ['pool_frames.layer_norm2', 'norm'],
  ['pool_frames.linear_proj', 'linear'],
  ['pool_frames.layer_norm3', 'norm'],
] as const;

/** The 16 tensors of a random X-Pool head of size D, under the reference names. */
function headEntries(D: number, seed = 1): Entry[] {
  const r = rng(seed);
  return NAMES.flatMap(([prefix, kind]) => [
    {
      name: `${prefix}.weight`,
      dtype: 'F32',
      shape: kind === 'linear' ? [D, D] : [D],
      data: f32(kind === 'linear' ? randomVector(r, D * D, 1 / Math.sqrt(D)) : randomVector(r, D, 0.2, 1)),
    },
    { name: `${prefix}.bias`, dtype: 'F32', shape: [D], data: f32(randomVector(r, D, 0.1)) },
  ]);
}

function headError(
  bytes: Uint8Array,
  expectedDim?: number,
): { code: string; message: string; problems: string[] } {
  try {
    parseXPoolHead(bytes, 'xpool.safetensors', expectedDim);
  } catch (error) {
    if (!isReelError(error)) throw error;
    return { code: error.code, message: error.message, problems: error.details?.problems as string[] };
  }
  throw new Error('expected the head to be rejected');
}

function fileError(bytes: Uint8Array): { code: string; message: string } {
  try {
    parseSafetensors(bytes, 'broken.safetensors');
  } catch (error) {
    if (!isReelError(error)) throw error;
    return { code: error.code, message: error.message };
  }
  throw new Error('expected the file to be rejected');
}

const D = 512;
const entries = headEntries(D);
const good = buildSafetensors(entries, { metadata: { format: 'pt' } });

describe('parseSafetensors', () => {
  it('reads dtype, shape, metadata and F32 data, padded or unaligned', () => {
    const values = new Float32Array([1.5, -2, 3.25, 0, 1e-30, -7]);
    for (const pad of [true, false]) {
      const bytes = buildSafetensors([{ name: 'x', dtype: 'F32', shape: [2, 3], data: f32(values) }], {
        pad,
        metadata: { format: 'pt' },
      });
      const file = parseSafetensors(bytes, 'x.safetensors');
      expect(file.metadata).toEqual({ format: 'pt' });
      const x = file.tensors.get('x')!;
      expect(x.dtype).toBe('F32');
      expect(x.shape).toEqual([2, 3]);
      expect(Array.from(tensorToFloat32(x)!)).toEqual(Array.from(values));
    }
  });

  it('widens F16 and BF16 exactly (normal, negative, max, subnormal, infinity)', () => {
    const file = parseSafetensors(
      buildSafetensors([
        { name: 'h', dtype: 'F16', shape: [6], data: u16([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00]) },
        { name: 'b', dtype: 'BF16', shape: [4], data: u16([0x3f80, 0xc020, 0x4049, 0xff80]) },
      ]),
      'half.safetensors',
    );
    expect(Array.from(tensorToFloat32(file.tensors.get('h')!)!)).toEqual([
      1,
      -2,
      0.5,
      65504,
      2 ** -24,
      Infinity,
    ]);
    expect(Array.from(tensorToFloat32(file.tensors.get('b')!)!)).toEqual([1, -2.5, 3.140625, -Infinity]);
    expect(tensorToFloat32({ dtype: 'I32', shape: [1], bytes: new Uint8Array(4) })).toBeUndefined();
  });

  it('rejects a truncated file naming the tensor that runs past the end', () => {
    const e = fileError(good.subarray(0, good.length - 10));
    expect(e.code).toBe('SAFETENSORS_INVALID');
    const dataBytes = good.length - 10 - 8 - Number(new DataView(good.buffer).getBigUint64(0, true));
    expect(e.message).toBe(
      `broken.safetensors: pool_frames.layer_norm3.bias: data_offsets end at byte ${dataBytes + 10} but the file holds ${dataBytes} data bytes (truncated?)`,
    );
  });

  it('rejects a file cut inside the header, a tiny file, bad JSON, offsets not matching the shape, overlaps', () => {
    expect(fileError(good.subarray(0, 100)).message).toMatch(
      /^broken\.safetensors: header length says \d+ bytes but the file has 92 after the length field$/,
    );
    expect(fileError(new Uint8Array(5)).message).toBe(
      'broken.safetensors: expected at least 8 bytes (the header length), got 5',
    );
    const notJson = buildSafetensors([]);
    notJson[8] = 0x5b; // '[' makes '[}' out of '{}'
    expect(fileError(notJson).message).toMatch(/^broken\.safetensors: header is not valid UTF-8 JSON/);
    const wrongSize = buildSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Uint8Array(8) }]);
    expect(fileError(wrongSize).message).toBe(
      'broken.safetensors: x: F32 shape [3] needs 12 bytes, data_offsets [0,8] give 8',
    );
    const unknown = buildSafetensors([{ name: 'x', dtype: 'F128', shape: [1], data: new Uint8Array(16) }]);
    expect(fileError(unknown).message).toBe('broken.safetensors: x: unknown dtype "F128"');
    const json =
      '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}';
    const overlap = new Uint8Array(8 + json.length + 6);
    new DataView(overlap.buffer).setBigUint64(0, BigInt(json.length), true);
    overlap.set(new TextEncoder().encode(json), 8);
    expect(fileError(overlap).message).toBe('broken.safetensors: b: data overlaps a');
  });
});

describe('X-Pool head from safetensors', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reel-xpool-head-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips a correct head from disk: D read from the file, values exact, usable for scoring', async () => {
    const file = path.join(dir, 'xpool.safetensors');
    writeFileSync(file, good);
    const head = await loadXPoolHead(file);
    expect(head.dim).toBe(512);
    expect(head.eps).toBe(1e-5);
    expect(head.source).toBe('xpool.safetensors');
    expect(f32(head.qProj.weight)).toEqual(entries[2]!.data);
    expect(f32(head.layerNorm3.bias)).toEqual(entries[15]!.data);
    expect(f32(head.linearProj.weight)).toEqual(entries[12]!.data);
    expect((await loadXPoolHead(file, 512)).checksum).toBe(head.checksum);
    // a different value anywhere changes the checksum
    const changed = good.slice();
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 1;
    expect(parseXPoolHead(changed, 'x').checksum).not.toBe(head.checksum);
    const r = rng(3);
    const frames = clipLikeFrames(r, 12, D);
    expect(Number.isFinite(xpoolDirectScore(head, clipLikeText(r, frames, 12, D), frames, 12))).toBe(true);
    expect(() => checkXPoolHeadDim(head, 512)).not.toThrow();
  });

  it('accepts an F16 / BF16 head, widened to float32', () => {
    const small = headEntries(4).map((e, i) => {
      const values = new Float32Array(e.data.buffer.slice(0));
      const halves = Array.from(values, (v) => new Uint32Array(new Float32Array([v]).buffer)[0]! >>> 16);
      return {
        ...e,
        dtype: i % 2 ? 'BF16' : 'F16',
        data: u16(i % 2 ? halves : Array.from(values, () => 0x3c00)),
      };
    });
    const head = parseXPoolHead(buildSafetensors(small), 'half.safetensors');
    expect(head.dim).toBe(4);
    expect(Array.from(head.layerNorm1.weight)).toEqual([1, 1, 1, 1]);
    // the BF16 bias is the float32 value truncated to its top 16 bits
    const original = new Float32Array(headEntries(4)[1]!.data.buffer.slice(0));
    for (let i = 0; i < 4; i++)
      expect(Math.abs(head.layerNorm1.bias[i]! - original[i]!)).toBeLessThan(
        1e-2 * Math.abs(original[i]!) + 1e-6,
      );
  });

  it('reports a missing tensor', () => {
    const e = headError(buildSafetensors(entries.filter((t) => t.name !== 'pool_frames.layer_norm3.bias')));
    expect(e.code).toBe('XPOOL_HEAD_INVALID');
    expect(e.message).toBe(
      'xpool.safetensors: not a valid X-Pool head (1 problem): missing pool_frames.layer_norm3.bias',
    );
  });

  it('reports an extra pool_frames tensor', () => {
    const extra = {
      name: 'pool_frames.extra.weight',
      dtype: 'F32',
      shape: [1],
      data: f32(new Float32Array([4.6])),
    };
    expect(headError(buildSafetensors([...entries, extra])).message).toBe(
      'xpool.safetensors: not a valid X-Pool head (1 problem): unexpected tensor pool_frames.extra.weight',
    );
  });

  it("reads the head out of the reference's whole state_dict (module. prefixes, clip.* beside it)", async () => {
    // What the reference's model_best.pth holds under 'state_dict', saved as safetensors: the head
    // after DataParallel's module. prefix, next to every CLIP tensor (one big one stands in for them).
    const clip = [
      { name: 'module.clip.logit_scale', dtype: 'F32', shape: [1], data: f32(new Float32Array([4.6])) },
      {
        name: 'module.clip.visual.conv1.weight',
        dtype: 'F16',
        shape: [768, 3, 32, 32],
        data: new Uint8Array(768 * 3 * 32 * 32 * 2),
      },
    ];
    const checkpoint = buildSafetensors(
      [...clip, ...entries.map((e) => ({ ...e, name: `module.${e.name}` }))],
      { metadata: { 'reel.model_fingerprint': `sha256:${'a'.repeat(64)}`, 'reel.model': 'xpool msrvtt9k' } },
    );
    const file = path.join(dir, 'model_best.safetensors');
    writeFileSync(file, checkpoint);
    const head = await loadXPoolHead(file);
    expect(head.checksum).toBe(parseXPoolHead(good, 'x').checksum);
    expect(head.ignoredTensors).toBe(2);
    expect(head.pairedModel).toEqual({ fingerprint: `sha256:${'a'.repeat(64)}`, name: 'xpool msrvtt9k' });
    expect(parseXPoolHead(checkpoint, 'in-memory').checksum).toBe(head.checksum);

    expect(
      xpoolHeadPairingWarning(head, { fingerprint: `sha256:${'a'.repeat(64)}`, name: 'fine-tuned' }),
    ).toBeUndefined();
    expect(
      xpoolHeadPairingWarning(head, { fingerprint: `sha256:${'b'.repeat(64)}`, name: 'Xenova' }),
    ).toMatch(/was trained with xpool msrvtt9k .* but model Xenova/);
    expect(
      xpoolHeadPairingWarning(parseXPoolHead(good, 'plain.safetensors'), {
        fingerprint: 'sha256:x',
        name: 'm',
      }),
    ).toMatch(/plain\.safetensors does not say which CLIP/);

    // A checkpoint without the head says so.
    expect(headError(buildSafetensors(clip)).problems).toEqual([
      'no pool_frames.* tensors among its 2 (is it an X-Pool checkpoint?)',
    ]);
  });

  it('reports a mis-shaped tensor', () => {
    const bad = entries.map((e) =>
      e.name === 'pool_frames.cross_attn.q_proj.weight'
        ? { ...e, shape: [512, 256], data: e.data.subarray(0, 512 * 256 * 4) }
        : e,
    );
    expect(headError(buildSafetensors(bad)).message).toBe(
      'xpool.safetensors: not a valid X-Pool head (1 problem): pool_frames.cross_attn.q_proj.weight: expected shape [512,512], got [512,256]',
    );
  });

  it('reports a wrong dtype', () => {
    const bad = entries.map((e) => (e.name === 'pool_frames.layer_norm2.bias' ? { ...e, dtype: 'I32' } : e));
    expect(headError(buildSafetensors(bad)).message).toBe(
      'xpool.safetensors: not a valid X-Pool head (1 problem): pool_frames.layer_norm2.bias: expected dtype F32, F16, BF16, got I32',
    );
  });

  it('lists every problem at once, and every shape when the expected D differs', () => {
    const bad = [
      ...entries.filter((e) => e.name !== 'pool_frames.linear_proj.bias'),
      { name: 'pool_frames.temperature', dtype: 'F32', shape: [1], data: new Uint8Array(4) },
    ].map((e) => (e.name === 'pool_frames.layer_norm1.bias' ? { ...e, shape: [2, 256] } : e));
    const e = headError(buildSafetensors(bad));
    expect(e.problems).toEqual([
      'pool_frames.layer_norm1.bias: expected shape [512], got [2,256]',
      'missing pool_frames.linear_proj.bias',
      'unexpected tensor pool_frames.temperature',
    ]);
    expect(e.message).toBe(
      `xpool.safetensors: not a valid X-Pool head (3 problems): ${e.problems.join('; ')}`,
    );
    const wrongDim = headError(good, 768);
    expect(wrongDim.problems).toHaveLength(16);
    expect(wrongDim.problems[2]).toBe(
      'pool_frames.cross_attn.q_proj.weight: expected shape [768,768], got [512,512]',
    );
  });

  it('checkXPoolHeadDim rejects a model of another embedding size', () => {
    const head = parseXPoolHead(good, 'xpool.safetensors');
    try {
      checkXPoolHeadDim(head, 768, 'ViT-L/14');
      expect.unreachable();
    } catch (error) {
      expect(isReelError(error, 'XPOOL_DIM_MISMATCH')).toBe(true);
      expect((error as Error).message).toBe(
        'xpool.safetensors: X-Pool head is for embeddings of 512, but ViT-L/14 outputs 768',
      );
    }
  });

  it('reports an unreadable file as SAFETENSORS_INVALID with its path', async () => {
    const missing = path.join(dir, 'nope.safetensors');
    await expect(readSafetensorsFile(missing)).rejects.toMatchObject({
      code: 'SAFETENSORS_INVALID',
      message: expect.stringMatching(/^.*nope\.safetensors: cannot read the file \(ENOENT/),
    });
  });
});
