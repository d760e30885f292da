/**
 * A small reader for the `.safetensors` format (huggingface/safetensors): an 8-byte little-endian
 * unsigned header length N, N bytes of UTF-8 JSON mapping each tensor name to
 * `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the data that follows the header,
 * plus an optional `__metadata__` string map), then the raw little-endian tensor bytes.
 *
 * Why hand-written: the format is about 40 lines to read, and no well-kept zero-dependency JS reader
 * exists. Checked against the npm package list on this machine (~227k most-downloaded packages): no
 * package has "safetensors" in its name or description; `@huggingface/hub` only parses remote headers
 * (metadata, no tensor data) and brings the hub client along. Reading the X-Pool head (≈ 6 MB) needs
 * nothing more than this file.
 *
 * Parsing is pure (bytes in, typed tensors out); {@link readSafetensorsFile} is the one function here
 * that touches the file system, and reads only the tensors asked for.
 */
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';

/** Bytes per element of each dtype the format defines. */
const DTYPE_SIZE: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The float dtypes {@link tensorToFloat32} converts. */
export const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** One tensor of a safetensors file; `bytes` is a view into the file's buffer (not copied). */
export interface SafetensorsTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** Tensors by name, in header order. */
  tensors: Map<string, SafetensorsTensor>;
  /** The optional `__metadata__` string map ({} when absent). */
  metadata: Record<string, string>;
  /** Every tensor name in the header, read or not, in header order. */
  names: string[];
}

/** A header this large is not a tensor index but a corrupt or hostile length field. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * Parses safetensors bytes. Checks everything the format promises: the header fits in the file, is a
 * JSON object, each entry has a known dtype, a shape of non-negative integers and offsets that lie
 * inside the data and span exactly dtype size × element count, and no two tensors overlap.
 *
 * @param fileName used in error messages only.
 * @throws ReelError SAFETENSORS_INVALID naming the file and the first problem found.
 */
export function parseSafetensors(bytes: Uint8Array, fileName: string): SafetensorsFile {
  const fail = failWith(fileName);
  if (bytes.length < 8) fail(`expected at least 8 bytes (the header length), got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataStart = headerEnd(view.getBigUint64(0, true), bytes.length, fail);
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, fileName);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, { dtype, shape, begin, end }] of entries) {
    tensors.set(name, { dtype, shape, bytes: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  return { tensors, metadata, names: [...entries.keys()] };
}

/** Where a tensor's bytes lie, relative to the data after the header. */
interface HeaderEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function failWith(fileName: string): (message: string) => never {
  return (message: string): never => {
    throw new ReelError(IndexErrorCode.SAFETENSORS_INVALID, `${fileName}: ${message}`);
  };
}

/** Offset of the first data byte, after checking the header length fits in a file of `fileSize` bytes. */
function headerEnd(headerLength: bigint, fileSize: number, fail: (message: string) => never): number {
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, fileSize - 8)))
    fail(`header length says ${headerLength} bytes but the file has ${fileSize - 8} after the length field`);
  return 8 + Number(headerLength);
}

/**
 * Parses and checks the JSON header: each entry has a known dtype, a shape of non-negative integers
 * and offsets that lie inside `dataLength` bytes and span exactly dtype size × element count, and no
 * two tensors overlap.
 */
function parseHeader(
  headerBytes: Uint8Array,
  dataLength: number,
  fileName: string,
): { entries: Map<string, HeaderEntry>; metadata: Record<string, string> } {
  const fail = failWith(fileName);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    fail(`header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail('header: expected a JSON object of tensors');
  const entries = new Map<string, HeaderEntry>();
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
        fail('__metadata__: expected an object of strings');
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string' || DTYPE_SIZE[dtype] === undefined)
      fail(`${name}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`${name}: expected shape as an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    )
      fail(
        `${name}: expected data_offsets [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`,
      );
    const [begin, end] = offsets as [number, number];
    const dims = shape as number[];
    const expectedBytes = dims.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype as string]!;
    if (end - begin !== expectedBytes)
      fail(
        `${name}: ${dtype} shape [${dims.join(',')}] needs ${expectedBytes} bytes, data_offsets [${begin},${end}] give ${end - begin}`,
      );
    if (end > dataLength)
      fail(
        `${name}: data_offsets end at byte ${end} but the file holds ${dataLength} data bytes (truncated?)`,
      );
    spans.push([begin, end, name]);
    entries.set(name, { dtype: dtype as string, shape: dims, begin, end });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    const [begin, , name] = spans[i]!;
    const [, previousEnd, previousName] = spans[i - 1]!;
    if (begin < previousEnd) fail(`${name}: data overlaps ${previousName}`);
  }
  return { entries, metadata };
}

/**
 * Reads a safetensors file: the header, then the bytes of the tensors `select` keeps (all by default),
 * each with one positioned read. A full training checkpoint (the X-Pool head beside a whole CLIP, about
 * 600 MB) costs only the head's bytes. The only file-system access of the pooling code.
 */
export async function readSafetensorsFile(
  filePath: string,
  select: (name: string) => boolean = () => true,
): Promise<SafetensorsFile> {
  const fileName = path.basename(filePath);
  const fail = failWith(fileName);
  let handle: FileHandle | undefined;
  try {
    try {
      handle = await open(filePath, 'r');
    } catch (error) {
      throw new ReelError(
        IndexErrorCode.SAFETENSORS_INVALID,
        `${filePath}: cannot read the file (${(error as Error).message})`,
        { cause: error },
      );
    }
    const { size } = await handle.stat();
    if (size < 8) fail(`expected at least 8 bytes (the header length), got ${size}`);
    const lengthBytes = Buffer.alloc(8);
    await handle.read(lengthBytes, 0, 8, 0);
    const dataStart = headerEnd(lengthBytes.readBigUInt64LE(0), size, fail);
    const headerBytes = Buffer.alloc(dataStart - 8);
    await handle.read(headerBytes, 0, headerBytes.length, 8);
    const { entries, metadata } = parseHeader(headerBytes, size - dataStart, fileName);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, { dtype, shape, begin, end }] of entries) {
      if (!select(name)) continue;
      const bytes = Buffer.alloc(end - begin);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, dataStart + begin);
      if (bytesRead !== bytes.length) fail(`${name}: the file ended before its data (truncated?)`);
      tensors.set(name, {
        dtype,
        shape,
        bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
      });
    }
    return { tensors, metadata, names: [...entries.keys()] };
  } finally {
    await handle?.close();
  }
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The tensor's values as a new Float32Array (row-major, as stored). F32 is copied as is; F16 and BF16
 * are widened exactly (every half and bfloat16 value is a float32 value).
 *
 * @returns undefined for any other dtype (the caller reports it with the tensor's name).
 */
export function tensorToFloat32(tensor: SafetensorsTensor): Float32Array | undefined {
  const { bytes, dtype } = tensor;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') {
    const out = new Float32Array(bytes.length / 4);
    // data need not be 4-byte aligned in the file, so copy bytes rather than view them
    if (littleEndianHost) new Uint8Array(out.buffer).set(bytes);
    else for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  if (dtype === 'F16') {
    const out = new Float32Array(bytes.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat16(i * 2, true);
    return out;
  }
  if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32
    const out = new Float32Array(bytes.length / 2);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) bits[i] = view.getUint16(i * 2, true) << 16;
    return out;
  }
  return undefined;
}
