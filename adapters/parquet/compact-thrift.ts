import Int64 from 'node-int64';

/**
 * An Int64 of the generated structs, from a safe integer. node-int64's constructor allocates
 * with the deprecated `new Buffer`, whose check walks the stack on each of a thread's first
 * 10,000 calls (0.4-0.8 % of an export's CPU thread in its profile); given a Buffer, it keeps it.
 */
export function int64(value: number | bigint): Int64 {
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeBigInt64BE(BigInt(value));
  return new Int64(bytes);
}

/** A struct of parquetjs's generated Thrift classes: it writes and reads itself through a protocol's calls. */
interface ThriftStruct {
  [method: symbol]: (protocol: CompactThriftWriter | CompactThriftReader) => void;
}

/** The generated classes' write and read methods (the keys parquetjs's own serializer calls). */
const writeStruct = Symbol.for('write');
const readStruct = Symbol.for('read');

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

/** The Thrift type id of each compact type: the inverse of `compactTypeOf`, both booleans included. */
const thriftTypeOf: Readonly<Record<number, number>> = {
  ...Object.fromEntries(Object.entries(compactTypeOf).map(([type, compact]) => [compact, Number(type)])),
  [compactFalse]: thriftType.bool,
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
 * The last field id of each struct being written or read, innermost last: compact thrift writes
 * a field's id as its distance from the one before in the same struct.
 */
class FieldIds {
  last = 0;
  private readonly outer: number[] = [];

  enterStruct(): void {
    if (this.outer.length === structDepthMax) throw new Error('compact thrift: structs nested too deep');
    this.outer.push(this.last);
    this.last = 0;
  }

  leaveStruct(): void {
    this.last = this.outer.pop() ?? 0;
  }
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
  private readonly fieldIds = new FieldIds();
  /** A boolean field's header waits for its value: compact thrift puts the value in the header. */
  private pendingBoolFieldId: number | null = null;

  /** The bytes written, copied out. */
  written(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.length));
  }

  writeStructBegin(): void {
    this.fieldIds.enterStruct();
  }

  writeStructEnd(): void {
    this.fieldIds.leaveStruct();
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
    const delta = id - this.fieldIds.last;
    if (delta > 0 && delta <= 15) this.writeByte((delta << 4) | compact);
    else {
      this.writeByte(compact);
      this.writeI16(id);
    }
    this.fieldIds.last = id;
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

/** A field as the generated read methods take it from `readFieldBegin`. */
interface FieldBegin {
  readonly fname: null;
  readonly ftype: number;
  readonly fid: number;
}

/** Thrift's type id for the end of a struct's fields. */
const stopType = 0;

/**
 * Thrift's compact protocol, reading only, for parquetjs's generated structs: what the `thrift`
 * package's `TCompactProtocol` over a `TFramedTransport` gives them, read from one Buffer with
 * every read checked against its end (an entry cut short or not this encoder's throws). The
 * package allocates through `new Buffer`, which node checks, and reads through a transport:
 * the footer entries of a 300 MB split content export took 166 ms of the main thread through
 * it, 101 ms through this one.
 */
export class CompactThriftReader {
  private readonly fieldIds = new FieldIds();
  /** A boolean field's value, which compact thrift keeps in its header. */
  private pendingBool: boolean | null = null;

  constructor(
    private readonly bytes: Buffer,
    private offset: number,
  ) {}

  /** Where the next read starts. */
  get position(): number {
    return this.offset;
  }

  readStructBegin(): void {
    this.fieldIds.enterStruct();
  }

  readStructEnd(): void {
    this.fieldIds.leaveStruct();
  }

  readFieldBegin(): FieldBegin {
    const header = this.readUnsignedByte();
    const compact = header & 0x0f;
    if (compact === 0) return { fname: null, ftype: stopType, fid: 0 };
    const delta = header >>> 4;
    const fid = delta === 0 ? this.readI16() : this.fieldIds.last + delta;
    if (compact === compactTrue || compact === compactFalse) this.pendingBool = compact === compactTrue;
    this.fieldIds.last = fid;
    return { fname: null, ftype: this.thriftType(compact), fid };
  }

  readFieldEnd(): void {}

  readListBegin(): { readonly etype: number; readonly size: number } {
    const header = this.readUnsignedByte();
    const short = header >>> 4;
    const size = short === 15 ? this.readVarint32() : short;
    return { etype: this.thriftType(header & 0x0f), size: this.checkedSize(size) };
  }

  readListEnd(): void {}

  readSetBegin(): { readonly etype: number; readonly size: number } {
    return this.readListBegin();
  }

  readSetEnd(): void {}

  readMapBegin(): { readonly ktype: number; readonly vtype: number; readonly size: number } {
    const size = this.checkedSize(this.readVarint32());
    const types = size === 0 ? 0 : this.readUnsignedByte();
    return { ktype: this.thriftType(types >>> 4), vtype: this.thriftType(types & 0x0f), size };
  }

  readMapEnd(): void {}

  readBool(): boolean {
    const pending = this.pendingBool;
    this.pendingBool = null;
    return pending ?? this.readUnsignedByte() === compactTrue;
  }

  readByte(): number {
    const value = this.readUnsignedByte();
    return value > 127 ? value - 256 : value;
  }

  readI16(): number {
    return this.readI32();
  }

  readI32(): number {
    const zigzag = this.readVarint32();
    return (zigzag >>> 1) ^ -(zigzag & 1);
  }

  /** A node-int64 `Int64`, as the package gives (the structs' offsets are moved with its `setValue`). */
  readI64(): Int64 {
    let zigzag = 0n;
    // At most 10 bytes of 7 bits for 64 bits.
    for (let shift = 0n; ; shift += 7n) {
      if (shift > 63n) throw new Error('compact thrift: a varint longer than 10 bytes');
      const byte = this.readUnsignedByte();
      zigzag |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    return int64(BigInt.asIntN(64, (zigzag >> 1n) ^ -(zigzag & 1n)));
  }

  readDouble(): number {
    this.need(8);
    const value = this.bytes.readDoubleLE(this.offset);
    this.offset += 8;
    return value;
  }

  /** Bytes of their own, not a view of the entries. */
  readBinary(): Buffer {
    const size = this.readVarint32();
    this.need(size);
    const value = Buffer.from(this.bytes.subarray(this.offset, this.offset + size));
    this.offset += size;
    return value;
  }

  readString(): string {
    const size = this.readVarint32();
    this.need(size);
    const value = this.bytes.toString('utf8', this.offset, this.offset + size);
    this.offset += size;
    return value;
  }

  /** Reads past a value of a field the struct does not know; nesting is bounded by `structDepthMax`. */
  skip(type: number, depth = 0): void {
    if (depth > structDepthMax) throw new Error('compact thrift: values nested too deep');
    if (type === thriftType.bool) this.readBool();
    else if (type === thriftType.byte) this.readByte();
    else if (type === thriftType.i16 || type === thriftType.i32) this.readI32();
    else if (type === thriftType.i64) this.readI64();
    else if (type === thriftType.double) this.readDouble();
    else if (type === thriftType.string) this.readBinary();
    else if (type === thriftType.struct) this.skipStruct(depth);
    else if (type === thriftType.map) {
      const { ktype, vtype, size } = this.readMapBegin();
      for (let index = 0; index < size; index++) {
        this.skip(ktype, depth + 1);
        this.skip(vtype, depth + 1);
      }
    } else if (type === thriftType.list || type === thriftType.set) {
      const { etype, size } = this.readListBegin();
      for (let index = 0; index < size; index++) this.skip(etype, depth + 1);
    } else throw new Error(`compact thrift: cannot skip a value of type ${type}`);
  }

  private skipStruct(depth: number): void {
    this.readStructBegin();
    // Each field takes at least a byte: bounded by the bytes left.
    for (let fields = this.bytes.length - this.offset + 1; fields > 0; fields -= 1) {
      const field = this.readFieldBegin();
      if (field.ftype === stopType) break;
      this.skip(field.ftype, depth + 1);
    }
    this.readStructEnd();
  }

  private thriftType(compact: number): number {
    const type = thriftTypeOf[compact];
    if (type === undefined) throw new Error(`compact thrift: unknown type ${compact}`);
    return type;
  }

  /** A collection's size: each element takes at least a byte, so one past the bytes left is not this encoder's. */
  private checkedSize(size: number): number {
    if (size > this.bytes.length - this.offset) throw new Error(`compact thrift: ${size} elements in fewer bytes`);
    return size;
  }

  private readVarint32(): number {
    let value = 0;
    // At most 5 bytes of 7 bits for 32 bits.
    for (let shift = 0; ; shift += 7) {
      if (shift > 28) throw new Error('compact thrift: a varint longer than 5 bytes');
      const byte = this.readUnsignedByte();
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
  }

  private readUnsignedByte(): number {
    this.need(1);
    return this.bytes[this.offset++] ?? 0;
  }

  private need(count: number): void {
    if (this.offset + count > this.bytes.length)
      throw new Error(`read(${count}) at byte ${this.offset} failed - not enough data`);
  }
}

/** Reads a generated struct from `bytes` at `offset` with the compact protocol; gives the bytes it took. */
export function deserializeCompact(struct: object, bytes: Buffer, offset: number): number {
  const read = (struct as Partial<ThriftStruct>)[readStruct];
  if (read === undefined) throw new Error('compact thrift: not a generated Thrift struct (a bug here)');
  const reader = new CompactThriftReader(bytes, offset);
  read.call(struct, reader);
  return reader.position - offset;
}
