/**
 * The external-data files an ONNX model names: models over protobuf's 2 GB limit (immich's ViT-H-14,
 * ViT-g-14, SO400M, …) keep their weights beside `model.onnx`, each tensor saying in `external_data`
 * which file (`location`, relative to the model file's folder) holds its bytes. `reel models pull`
 * fetches them, the fingerprint covers them, and loading checks they are there.
 *
 * Written by hand rather than with `onnx-proto`'s decoder because that decoder needs the whole file in
 * memory (a 1.7 GB vision tower without external data would be read twice: here and by onnxruntime).
 * This walks the protobuf wire format through a file handle and seeks over every field it does not
 * need, so it reads a few kilobytes of tags and names however large the weights are. It descends only
 * where tensors live: ModelProto.graph → GraphProto.{initializer, sparse_initializer, node} →
 * NodeProto.attribute → AttributeProto.{t, g, tensors, graphs, sparse_tensor(s)}.
 *
 * Locations are hostile input: one that is absolute or climbs out of the model's folder (`..`) would make
 * onnxruntime read any file on the machine, so it is refused.
 */
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { ReelError } from '@reel/infra';
import { ModelErrorCode } from '../errors.ts';

const CHUNK = 64 * 1024;
/** Nesting limit (graphs inside attributes inside graphs): real models nest a few levels. */
const MAX_DEPTH = 32;

type Kind = 'model' | 'graph' | 'node' | 'attribute' | 'tensor' | 'sparse' | 'entry';

/** Which fields of each message to descend into, and as what. */
const CHILDREN: Record<Kind, Readonly<Record<number, Kind>>> = {
  model: { 7: 'graph' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { 1: 'tensor', 2: 'tensor' },
  tensor: { 13: 'entry' },
  entry: {},
};

/** Buffered reads at a position of a file, with seeking past what is not needed. */
class FileReader {
  readonly #handle: FileHandle;
  readonly size: number;
  position = 0;
  #buffer = Buffer.alloc(0);
  #bufferStart = 0;

  constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.size = size;
  }

  async #byte(): Promise<number> {
    const offset = this.position - this.#bufferStart;
    if (offset < 0 || offset >= this.#buffer.length) {
      const buffer = Buffer.alloc(Math.min(CHUNK, this.size - this.position));
      if (buffer.length === 0) throw new Error('unexpected end of file');
      const { bytesRead } = await this.#handle.read(buffer, 0, buffer.length, this.position);
      if (bytesRead === 0) throw new Error('unexpected end of file');
      this.#buffer = buffer.subarray(0, bytesRead);
      this.#bufferStart = this.position;
    }
    const value = this.#buffer[this.position - this.#bufferStart]!;
    this.position++;
    return value;
  }

  async varint(): Promise<number> {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const byte = await this.#byte();
      value += (byte & 0x7f) * scale;
      // Negative int64 values (attribute ints of -1) take ten bytes and exceed 2^53: they are only
      // compared or skipped here, so the imprecise value is fine; lengths are checked by `length()`.
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new Error('malformed varint');
  }

  /** A length prefix: a varint that must fit in the file. */
  async length(): Promise<number> {
    const value = await this.varint();
    if (!Number.isSafeInteger(value) || this.position + value > this.size) {
      throw new Error('field runs past the end of the file');
    }
    return value;
  }

  async bytes(length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = await this.#byte();
    return out;
  }

  skip(length: number): void {
    if (this.position + length > this.size) throw new Error('field runs past the end of the file');
    this.position += length;
  }
}

interface Found {
  locations: Set<string>;
}

interface Entry {
  key?: string;
  value?: string;
}

/**
 * Reads one message of `kind` from the reader's position up to `end`, adding the locations of external
 * tensors to `found`. Returns the key and value when the message is a `StringStringEntryProto`.
 */
async function walk(
  reader: FileReader,
  kind: Kind,
  end: number,
  found: Found,
  depth: number,
): Promise<Entry> {
  if (depth > MAX_DEPTH) throw new Error('messages nested too deeply');
  let external = false;
  const entries: Entry[] = [];
  const entry: Entry = {};
  while (reader.position < end) {
    const tag = await reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const value = await reader.varint();
      if (kind === 'tensor' && field === 14) external = value === 1; // data_location: EXTERNAL
    } else if (wire === 1) {
      reader.skip(8);
    } else if (wire === 5) {
      reader.skip(4);
    } else if (wire === 2) {
      const length = await reader.length();
      const fieldEnd = reader.position + length;
      if (fieldEnd > end) throw new Error('field runs past its message');
      const child = CHILDREN[kind][field];
      if (kind === 'entry' && (field === 1 || field === 2) && length <= 4096) {
        const text = (await reader.bytes(length)).toString('utf8');
        if (field === 1) entry.key = text;
        else entry.value = text;
      } else if (child === 'entry') {
        entries.push(await walk(reader, 'entry', fieldEnd, found, depth + 1));
      } else if (child) {
        await walk(reader, child, fieldEnd, found, depth + 1);
      } else {
        reader.skip(length);
      }
      reader.position = fieldEnd;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  if (kind === 'tensor' && external) {
    const location = entries.find((e) => e.key === 'location')?.value;
    if (location === undefined) throw new Error('a tensor stored externally names no location');
    found.locations.add(location);
  }
  return entry;
}

/** A location no model may name (the one error never tolerated). */
class UnsafeLocation extends Error {}

/** `location` as a normalised POSIX path inside the model file's folder; throws when it is not one. */
function safeLocation(location: string): string {
  if (location === '' || location.includes('\0') || location.includes('\\')) {
    throw new UnsafeLocation(
      `external data location ${JSON.stringify(location)} is not a plain relative path`,
    );
  }
  const normal = path.posix.normalize(location);
  if (path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw new UnsafeLocation(
      `external data location ${JSON.stringify(location)} points outside the model's folder`,
    );
  }
  return normal;
}

/**
 * The external-data files `file` (an .onnx model) names, as paths relative to `relativeTo` (POSIX
 * separators), sorted. Empty for a model that keeps its weights inside.
 * @throws ReelError `MODEL_INVALID` naming the file: unreadable, not a protobuf model (unless
 *   `tolerateMalformed`, which gives []), or a location that is absolute or leaves the folder (always).
 */
export async function externalDataFiles(
  file: string,
  relativeTo = path.dirname(file),
  options: { tolerateMalformed?: boolean } = {},
): Promise<string[]> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    const reader = new FileReader(handle, size);
    const found: Found = { locations: new Set() };
    await walk(reader, 'model', size, found, 0);
    const folder = path.relative(relativeTo, path.dirname(file)).split(path.sep).join('/');
    return [...found.locations].map((location) => path.posix.join(folder, safeLocation(location))).sort();
  } catch (error) {
    // A file that is no ONNX model names no weights onnxruntime could read; the loader reports it.
    if (options.tolerateMalformed && !(error instanceof UnsafeLocation)) return [];
    throw new ReelError(
      ModelErrorCode.MODEL_INVALID,
      `${file}: cannot list its external data (${(error as Error).message})`,
      { details: { file }, cause: error },
    );
  } finally {
    await handle?.close();
  }
}
