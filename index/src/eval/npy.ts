/**
 * Reads and writes NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), the way retrieval research
 * ships pre-computed CLIP features and similarity matrices.
 *
 * Layout (numpy/lib/format.py): the magic `\x93NUMPY`, a major and minor version byte, the header length
 * (u16 little-endian in 1.0, u32 in 2.0 and 3.0), then the header: a Python dict literal
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and ended by `\n`
 * so the data starts on a 64-byte boundary (latin-1 in 1.0/2.0, UTF-8 in 3.0). The raw array follows.
 *
 * Why hand-written: the format is this small, and reading it takes fewer lines than adapting a
 * dependency's types. Only what evaluation needs is supported: little-endian float16/32/64 (all
 * returned as float32), C order. Anything else (ints, structured dtypes, big-endian, Fortran order) is
 * refused with a message saying what was found, rather than read wrongly.
 *
 * Parsing and encoding are pure; {@link readNpyFile} and {@link writeNpyFile} are the only functions here
 * that touch the file system.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';

/** A float array read from a `.npy` file. */
export interface NpyArray {
  /** Dimensions, outermost first (C order); `[]` for a scalar. */
  shape: number[];
  /** The values in C (row-major) order, converted to float32 whatever the stored dtype. */
  data: Float32Array;
  /** The dtype as stored (`'<f4'`, `'<f8'` or `'<f2'`). */
  dtype: NpyFloatDtype;
}

/** The dtypes {@link parseNpy} accepts: little-endian float32, float64 and float16. */
export const NPY_FLOAT_DTYPES = ['<f4', '<f8', '<f2'] as const;
export type NpyFloatDtype = (typeof NPY_FLOAT_DTYPES)[number];

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAGIC_LENGTH = 6;
const ARRAY_ALIGN = 64;
/** numpy ≥ 1.23 leaves room in the header for the first axis to grow to this many digits. */
const GROWTH_AXIS_MAX_DIGITS = 21;
const ITEM_SIZE: Record<NpyFloatDtype, number> = { '<f4': 4, '<f8': 8, '<f2': 2 };

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function npyError(fileName: string, message: string): ReelError {
  return new ReelError(IndexErrorCode.NPY_INVALID, `${fileName}: ${message}`);
}

/** The three header fields, from a Python dict literal as numpy writes it. */
function parseHeader(
  header: string,
  fileName: string,
): { descr: string; fortranOrder: boolean; shape: number[] } {
  const text = header.trim();
  if (!text.startsWith('{') || !text.endsWith('}'))
    throw npyError(fileName, `header: expected a Python dict literal {...}, got ${JSON.stringify(text)}`);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  if (descr === undefined)
    throw npyError(
      fileName,
      `header: expected 'descr' to be a simple dtype string such as '<f4' (structured dtypes are not supported), got ${text}`,
    );
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)\b/.exec(text)?.[1];
  if (fortran === undefined)
    throw npyError(fileName, `header: expected 'fortran_order': True|False, got ${text}`);
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (shapeText === undefined)
    throw npyError(fileName, `header: expected 'shape': (d0, d1, ...), got ${text}`);
  const parts = shapeText.split(',').map((part) => part.trim());
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // (3,) and (2, 3, )
  const shape: number[] = [];
  for (const part of parts) {
    if (part === '' && parts.length === 1) break; // () is a scalar
    if (!/^\d+L?$/.test(part))
      throw npyError(fileName, `header: expected non-negative integer dimensions, got shape (${shapeText})`);
    shape.push(Number.parseInt(part, 10));
  }
  return { descr, fortranOrder: fortran === 'True', shape };
}

/**
 * Parses `.npy` bytes into float32 values and a shape.
 *
 * @param fileName used in error messages only.
 * @throws ReelError NPY_INVALID for a wrong magic or version, a malformed header, a dtype other than
 *   little-endian float16/32/64, `fortran_order: True`, or data shorter or longer than the shape needs.
 */
export function parseNpy(bytes: Uint8Array, fileName = 'array.npy'): NpyArray {
  if (bytes.length < MAGIC_LENGTH + 4 || MAGIC.some((b, i) => bytes[i] !== b))
    throw npyError(fileName, 'not a NumPy .npy file: expected the magic bytes \\x93NUMPY at the start');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0)
    throw npyError(fileName, `expected .npy format version 1.0, 2.0 or 3.0, got ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw npyError(fileName, 'truncated before the header length');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length)
    throw npyError(
      fileName,
      `header length says ${headerLength} bytes but only ${bytes.length - headerStart} follow`,
    );
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  );
  const { descr, fortranOrder, shape } = parseHeader(header, fileName);
  if (!(NPY_FLOAT_DTYPES as readonly string[]).includes(descr))
    throw npyError(
      fileName,
      `expected dtype ${NPY_FLOAT_DTYPES.map((d) => `'${d}'`).join(', ')} (little-endian float), got '${descr}' (convert with arr.astype('<f4'))`,
    );
  if (fortranOrder)
    throw npyError(
      fileName,
      'expected C order (fortran_order False), got fortran_order True (save np.ascontiguousarray(arr) instead)',
    );
  const dtype = descr as NpyFloatDtype;
  const count = shape.reduce((product, d) => product * d, 1);
  const itemSize = ITEM_SIZE[dtype];
  const dataLength = bytes.length - dataStart;
  if (dataLength !== count * itemSize)
    throw npyError(
      fileName,
      `shape (${shape.join(', ')}) of '${dtype}' needs ${count * itemSize} data bytes, got ${dataLength}${dataLength < count * itemSize ? ' (truncated file?)' : ''}`,
    );
  const data = new Float32Array(count);
  if (dtype === '<f4' && littleEndianHost) {
    // one copy into an aligned buffer (the data may start at any offset of `bytes`)
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + 4 * count));
  } else if (dtype === '<f4') {
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataStart + 4 * i, true);
  } else if (dtype === '<f8') {
    for (let i = 0; i < count; i++) data[i] = view.getFloat64(dataStart + 8 * i, true);
  } else {
    for (let i = 0; i < count; i++) data[i] = view.getFloat16(dataStart + 2 * i, true);
  }
  return { shape, data, dtype };
}

/**
 * Encodes float32 values as a `.npy` file, byte for byte as `numpy.save` writes a C-order `<f4` array:
 * version 1.0 (2.0 only if the header outgrows 65535 bytes), the dict with keys in sorted order, growth
 * padding for the first axis, data aligned to 64 bytes.
 *
 * @param shape dimensions whose product must equal `data.length`.
 * @throws ReelError NPY_INVALID when the shape does not match the data.
 */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  if (shape.some((d) => !Number.isInteger(d) || d < 0))
    throw npyError('encodeNpy', `expected non-negative integer dimensions, got (${shape.join(', ')})`);
  const count = shape.reduce((product, d) => product * d, 1);
  if (count !== data.length)
    throw npyError('encodeNpy', `shape (${shape.join(', ')}) holds ${count} values, got ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  let lengthBytes = 2;
  let padding = ARRAY_ALIGN - ((MAGIC_LENGTH + 2 + lengthBytes + header.length + 1) % ARRAY_ALIGN);
  if (header.length + 1 + padding > 0xffff) {
    lengthBytes = 4;
    padding = ARRAY_ALIGN - ((MAGIC_LENGTH + 2 + lengthBytes + header.length + 1) % ARRAY_ALIGN);
  }
  header += `${' '.repeat(padding)}\n`;
  const headerBytes = new TextEncoder().encode(header); // ASCII: latin-1 and UTF-8 agree
  const dataStart = MAGIC_LENGTH + 2 + lengthBytes + headerBytes.length;
  const out = new Uint8Array(dataStart + 4 * count);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[6] = lengthBytes === 2 ? 1 : 2;
  out[7] = 0;
  if (lengthBytes === 2) view.setUint16(8, headerBytes.length, true);
  else view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, MAGIC_LENGTH + 2 + lengthBytes);
  if (littleEndianHost) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart);
  else for (let i = 0; i < count; i++) view.setFloat32(dataStart + 4 * i, data[i]!, true);
  return out;
}

/**
 * Reads a `.npy` file (see {@link parseNpy}).
 *
 * @throws ReelError NPY_INVALID for a malformed or unsupported file; the file system's error when it
 *   cannot be read.
 */
export async function readNpyFile(filePath: string): Promise<NpyArray> {
  return parseNpy(await readFile(filePath), path.basename(filePath));
}

/** Writes float32 values with their shape as a `.npy` file (see {@link encodeNpy}). */
export async function writeNpyFile(
  filePath: string,
  data: Float32Array,
  shape: readonly number[],
): Promise<void> {
  await writeFile(filePath, encodeNpy(data, shape));
}
