import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isReelError } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy, readNpyFile, writeNpyFile } from '../src/eval/npy.ts';

const MAGIC = [0x93, ...new TextEncoder().encode('NUMPY')];

/**
 * A .npy file built byte by byte as `numpy.save` (numpy 2.x) writes it: version 1.0, u16 header length,
 * the dict in sorted key order, 21 − len(str(shape[0])) growth spaces, spaces up to a 64-byte boundary,
 * then '\n'. (Checked once against numpy 2.4: `np.save(f, np.arange(6, dtype='<f4').reshape(2, 3))`
 * gives a 128-byte header.)
 */
function numpyStyleFile(
  dict: string,
  firstAxis: number | undefined,
  data: Uint8Array,
  version: [number, number] = [1, 0],
): Uint8Array {
  let header = dict;
  if (firstAxis !== undefined) header += ' '.repeat(21 - String(firstAxis).length);
  const lengthBytes = version[0] === 1 ? 2 : 4;
  const prefix = 6 + 2 + lengthBytes;
  header += `${' '.repeat(64 - ((prefix + header.length + 1) % 64))}\n`;
  const out = new Uint8Array(prefix + header.length + data.length);
  out.set(MAGIC, 0);
  out[6] = version[0];
  out[7] = version[1];
  const view = new DataView(out.buffer);
  if (lengthBytes === 2) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(data, prefix + header.length);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function expectNpyError(bytes: Uint8Array, message: RegExp) {
  try {
    parseNpy(bytes, 'x.npy');
  } catch (error) {
    expect(isReelError(error, 'NPY_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/^x\.npy: /);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected NPY_INVALID');
}

describe('npy', () => {
  it('reads a file written byte by byte the way numpy writes a (2, 3) float32 array', () => {
    const bytes = numpyStyleFile(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      2,
      f32Bytes([0, 1, 2, 3, 4, 5]),
    );
    expect(bytes.length).toBe(128 + 24);
    expect(bytes[127]).toBe(0x0a);
    const array = parseNpy(bytes);
    expect(array.shape).toEqual([2, 3]);
    expect(array.dtype).toBe('<f4');
    expect([...array.data]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('encodes byte for byte as numpy does (2-D, 1-D and scalar headers)', () => {
    const expected = numpyStyleFile(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      2,
      f32Bytes([0, 1, 2, 3, 4, 5]),
    );
    expect(encodeNpy(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3])).toEqual(expected);
    expect(encodeNpy(Float32Array.from([7, 8, 9]), [3])).toEqual(
      numpyStyleFile("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 3, f32Bytes([7, 8, 9])),
    );
    expect(encodeNpy(Float32Array.from([1.5]), [])).toEqual(
      numpyStyleFile("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", undefined, f32Bytes([1.5])),
    );
  });

  it('round-trips a 3-D array through a file, data 64-byte aligned', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-npy-'));
    const data = Float32Array.from({ length: 4 * 3 * 5 }, (_, i) => Math.sin(i) * 1e3);
    const file = path.join(dir, 'frames.npy');
    await writeNpyFile(file, data, [4, 3, 5]);
    const back = await readNpyFile(file);
    expect(back.shape).toEqual([4, 3, 5]);
    expect(back.data).toEqual(data);
    const encoded = encodeNpy(data, [4, 3, 5]);
    expect((encoded.length - data.byteLength) % 64).toBe(0);
  });

  it('reads version 2.0 and 3.0 headers and a header not padded to 64 bytes', () => {
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    for (const version of [
      [2, 0],
      [3, 0],
    ] as [number, number][]) {
      expect([...parseNpy(numpyStyleFile(dict, 2, f32Bytes([3, 4]), version)).data]).toEqual([3, 4]);
    }
    // an old-numpy (16-byte aligned) header: data starts at an offset that is not a multiple of 4
    const header = `${dict} \n`;
    const bytes = new Uint8Array(10 + header.length + 8);
    bytes.set(MAGIC, 0);
    bytes[6] = 1;
    new DataView(bytes.buffer).setUint16(8, header.length, true);
    for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
    bytes.set(f32Bytes([-1, 0.25]), 10 + header.length);
    expect((10 + header.length) % 4).not.toBe(0);
    expect([...parseNpy(bytes).data]).toEqual([-1, 0.25]);
  });

  it('converts <f8 and <f2 to float32', () => {
    const f8 = new Uint8Array(Float64Array.from([1, 2.25, -1e-3]).buffer);
    const a = parseNpy(numpyStyleFile("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 3, f8));
    expect(a.dtype).toBe('<f8');
    expect([...a.data]).toEqual([1, 2.25, Math.fround(-1e-3)]);
    // half bits: 1.0 = 0x3c00, -2.5 = 0xc100, 65504 = 0x7bff, smallest subnormal = 0x0001, -0 = 0x8000
    const f2 = new Uint8Array(new Uint16Array([0x3c00, 0xc100, 0x7bff, 0x0001, 0x7c00, 0x8000]).buffer);
    const b = parseNpy(numpyStyleFile("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", 2, f2));
    expect(b.shape).toEqual([2, 3]);
    expect([...b.data]).toEqual([1, -2.5, 65504, 2 ** -24, Number.POSITIVE_INFINITY, -0]);
  });

  it('rejects a bad magic, an unknown version, fortran order, wrong dtypes and wrong data lengths', () => {
    const good = numpyStyleFile(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
      2,
      f32Bytes([1, 2]),
    );
    const badMagic = good.slice();
    badMagic[1] = 0x4f;
    expectNpyError(badMagic, /not a NumPy \.npy file: expected the magic bytes/);
    expectNpyError(new TextEncoder().encode('video_id,sentence\n'), /magic/);
    const badVersion = good.slice();
    badVersion[6] = 4;
    expectNpyError(badVersion, /expected \.npy format version 1\.0, 2\.0 or 3\.0, got 4\.0/);
    expectNpyError(
      numpyStyleFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }", 2, f32Bytes([1, 2])),
      /expected C order \(fortran_order False\), got fortran_order True/,
    );
    expectNpyError(
      numpyStyleFile("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 2, f32Bytes([1, 2])),
      /expected dtype '<f4', '<f8', '<f2' \(little-endian float\), got '<i4'/,
    );
    expectNpyError(
      numpyStyleFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 2, f32Bytes([1, 2])),
      /got '>f4'/,
    );
    expectNpyError(
      numpyStyleFile(
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
        2,
        f32Bytes([1, 2]),
      ),
      /structured dtypes are not supported/,
    );
    expectNpyError(good.subarray(0, good.length - 1), /needs 8 data bytes, got 7 \(truncated file\?\)/);
    const longer = new Uint8Array(good.length + 4);
    longer.set(good);
    expectNpyError(longer, /needs 8 data bytes, got 12$/);
    const shortHeader = good.slice(0, 40);
    expectNpyError(shortHeader, /header length says 118 bytes but only 30 follow/);
  });

  it('refuses to encode values that do not fill the shape', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/shape \(2, 3\) holds 6 values, got 5/);
  });
});
