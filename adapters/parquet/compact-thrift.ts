import Int64 from 'node-int64';

/**
 * An Int64 of the generated structs, from a safe integer. node-int64's constructor allocates
 * with the deprecated `new Buffer`, whose check walks the stack on each of a thread's first
 * 10,000 calls (0.4-0.8 % of an export's CPU thread in its profile); given a Buffer, it keeps it.
 */
export function int64(value: number): Int64 {
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeBigInt64BE(BigInt(value));
  return new Int64(bytes);
}

/** A struct of parquetjs's generated Thrift classes: it writes itself through a protocol's calls. */
export interface ThriftStruct {
  [write: symbol]: (protocol: CompactThriftWriter) => void;
}

/** The generated classes' write method (the key parquetjs's own serializer calls). */
const writeStruct = Symbol.for('write');

/** Thrift's type ids (thrift's `Thrift.Type`), as the generated code passes them. */
const thriftType = {
  bool: 2,
  byte: 3,
  double: 4,
  i16: 6,
  i32: 8,
  i64: 10,
  string: 11,
  struct: 12,
  map: 13,
  set: 14,
  list: 15,
};

/** The compact protocol's types of a boolean field: its value is its type. */
const compactTrue = 1;
const compactFalse = 2;

/** The compact protocol's type of each Thrift type id (its `TTypeToCType`); booleans are 1 (true) or 2 (false). */
const compactTypeOf: Readonly<Record<number, number>> = {
  [thriftType.bool]: compactTrue,
  [thriftType.byte]: 3,
  [thriftType.i16]: 4,
  [thriftType.i32]: 5,
  [thriftType.i64]: 6,
  [thriftType.double]: 7,
  [thriftType.string]: 8,
  [thriftType.list]: 9,
  [thriftType.set]: 10,
  [thriftType.map]: 11,
  [thriftType.struct]: 12,
};

/** Bytes the writer starts with; a page header is 30–60, a column's metadata 60–300. */
const initialBytes = 512;
/** Nesting of structs a footer has (file, row group, column chunk, metadata, statistics), with room. */
const structDepthMax = 64;

function compactType(type: number): number {
  const compact = compactTypeOf[type];
  if (compact === undefined) throw new Error(`compact thrift: type ${type} is not one this writer knows (a bug here)`);
  return compact;
}

/** A 64-bit value as the thrift package takes one: node-int64's Int64, a number, or a decimal string. */
function signed64(value: unknown): bigint {
  if (value instanceof Int64) return value.buffer.readBigInt64BE(0);
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string') return BigInt(Number.parseInt(value, 10));
  throw new Error(`compact thrift: expected an Int64 or an integer, found ${String(value)}`);
}

/**
 * Thrift's compact protocol, writing only, for parquetjs's generated structs: the calls they
 * make of the `thrift` package's `TCompactProtocol`, with the bytes it writes. That one
 * allocates a Buffer for every byte it writes and copies each into its transport; serializing
 * the page headers, column metadata and footer of a file through it took 7 % of a content
 * export's CPU thread, more than building its rows (docs/figures.md, "Parquet metadata without
 * the thrift package"). This one writes into one growing Buffer. The tests check its bytes
 * against the package's.
 */
export class CompactThriftWriter {
  private bytes = Buffer.allocUnsafe(initialBytes);
  private length = 0;
  private lastFieldId = 0;
  private readonly lastFieldIds: number[] = [];
  /** A boolean field's header waits for its value: compact thrift puts the value in the header. */
  private pendingBoolFieldId: number | null = null;

  /** The bytes written, copied out. */
  written(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.length));
  }

  writeStructBegin(): void {
    if (this.lastFieldIds.length === structDepthMax) throw new Error('compact thrift: structs nested too deep');
    this.lastFieldIds.push(this.lastFieldId);
    this.lastFieldId = 0;
  }

  writeStructEnd(): void {
    this.lastFieldId = this.lastFieldIds.pop() ?? 0;
  }

  writeFieldBegin(_name: string, type: number, id: number): void {
    if (type === thriftType.bool) this.pendingBoolFieldId = id;
    else this.fieldHeader(compactType(type), id);
  }

  writeFieldEnd(): void {}

  writeFieldStop(): void {
    this.writeByte(0);
  }

  writeListBegin(elementType: number, size: number): void {
    this.collectionHeader(elementType, size);
  }

  writeListEnd(): void {}

  writeSetBegin(elementType: number, size: number): void {
    this.collectionHeader(elementType, size);
  }

  writeSetEnd(): void {}

  writeMapBegin(keyType: number, valueType: number, size: number): void {
    if (size === 0) return this.writeByte(0);
    this.varint32(size);
    this.writeByte((compactType(keyType) << 4) | compactType(valueType));
  }

  writeMapEnd(): void {}

  writeBool(value: boolean): void {
    const compact = value ? compactTrue : compactFalse;
    if (this.pendingBoolFieldId === null) return this.writeByte(compact);
    this.fieldHeader(compact, this.pendingBoolFieldId);
    this.pendingBoolFieldId = null;
  }

  writeByte(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value & 0xff;
  }

  writeI16(value: number): void {
    this.writeI32(value);
  }

  writeI32(value: number): void {
    this.varint32((value << 1) ^ (value >> 31));
  }

  writeI64(value: unknown): void {
    const signed = signed64(value);
    let zigzag = BigInt.asUintN(64, (signed << 1n) ^ (signed >> 63n));
    this.reserve(10);
    // At most 10 bytes of 7 bits for 64 bits.
    for (let turn = 0; turn < 10 && zigzag >= 0x80n; turn++) {
      this.bytes[this.length++] = Number(zigzag & 0x7fn) | 0x80;
      zigzag >>= 7n;
    }
    this.bytes[this.length++] = Number(zigzag);
  }

  writeDouble(value: number): void {
    this.reserve(8);
    this.length = this.bytes.writeDoubleLE(value, this.length);
  }

  writeString(value: string | Uint8Array): void {
    this.stringOrBinary(value, 'utf8');
  }

  /** Binary fields: a string given for one is written as latin1, as the thrift package does. */
  writeBinary(value: string | Uint8Array): void {
    this.stringOrBinary(value, 'latin1');
  }

  private stringOrBinary(value: string | Uint8Array, encoding: 'utf8' | 'latin1'): void {
    if (typeof value === 'string') {
      const byteLength = Buffer.byteLength(value, encoding);
      this.varint32(byteLength);
      this.reserve(byteLength);
      this.length += this.bytes.write(value, this.length, encoding);
      return;
    }
    if (!(value instanceof Uint8Array))
      throw new Error(`compact thrift: expected a string or bytes, found ${String(value)}`);
    this.varint32(value.byteLength);
    this.reserve(value.byteLength);
    this.bytes.set(value, this.length);
    this.length += value.byteLength;
  }

  /** A field's id as a delta from the last one (4 bits) with its type, or the type and the id in full. */
  private fieldHeader(compact: number, id: number): void {
    const delta = id - this.lastFieldId;
    if (delta > 0 && delta <= 15) this.writeByte((delta << 4) | compact);
    else {
      this.writeByte(compact);
      this.writeI16(id);
    }
    this.lastFieldId = id;
  }

  private collectionHeader(elementType: number, size: number): void {
    if (size <= 14) return this.writeByte((size << 4) | compactType(elementType));
    this.writeByte(0xf0 | compactType(elementType));
    this.varint32(size);
  }

  /** An unsigned 32-bit varint; `value` may arrive as a negative int32 (a zigzag of a large one). */
  private varint32(value: number): void {
    this.reserve(5);
    let rest = value >>> 0;
    // At most 5 bytes of 7 bits for 32 bits.
    for (let turn = 0; turn < 5 && rest >= 0x80; turn++) {
      this.bytes[this.length++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.bytes[this.length++] = rest;
  }

  private reserve(count: number): void {
    if (this.length + count <= this.bytes.byteLength) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.byteLength * 2, this.length + count));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}

/** A generated struct's compact Thrift bytes: what parquetjs's `serializeThrift` gives, written faster. */
export function serializeCompact(struct: object): Buffer {
  const write = (struct as Partial<ThriftStruct>)[writeStruct];
  if (write === undefined) throw new Error('compact thrift: not a generated Thrift struct (a bug here)');
  const writer = new CompactThriftWriter();
  write.call(struct, writer);
  return writer.written();
}
