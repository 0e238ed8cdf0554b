import type { ParquetSchema } from '@dsnp/parquetjs';
import parquetTypes from '@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js';
import type { FileMetaData, RowGroup, SchemaElement } from '@dsnp/parquetjs/dist/gen-nodejs/parquet_types.js';
import { int64, serializeCompact } from './compact-thrift.ts';

/** What parquetjs's writer puts in a footer's `version` and `created_by`, kept so files do not depend on which wrote them. */
const parquetVersion = 1;
const createdBy = '@dsnp/parquetjs';

/** Parquet's magic: a file's first four bytes, and its last four, after the footer's metadata. */
export const parquetMagic: Uint8Array = Buffer.from('PAR1', 'ascii');

function schemaElements(schema: ParquetSchema): SchemaElement[] {
  const root = new parquetTypes.SchemaElement({ name: 'root', num_children: Object.keys(schema.fields).length });
  const fields = schema.fieldList.map((field) => {
    const element = new parquetTypes.SchemaElement({ name: field.name });
    element.repetition_type = parquetTypes.FieldRepetitionType[field.repetitionType];
    if (field.isNested) element.num_children = field.fieldCount ?? 0;
    else element.type = parquetTypes.Type[field.primitiveType as keyof typeof parquetTypes.Type];
    if (field.originalType !== undefined) {
      element.converted_type = parquetTypes.ConvertedType[field.originalType];
      if (element.converted_type === parquetTypes.ConvertedType.DECIMAL) {
        element.precision = field.precision ?? 0;
        element.scale = field.scale ?? 0;
      }
    }
    if (field.typeLength !== undefined) element.type_length = field.typeLength;
    return element;
  });
  return [root, ...fields];
}

/**
 * A file's last bytes: its metadata (the schema, `rowGroups` in order, no key-value pairs),
 * the metadata's length and the magic, as parquetjs's `encodeFooter` writes them, serialized
 * with `serializeCompact`: through the thrift package, the footer of a 300 MB content export
 * (about 200 row groups of 40 columns) took 190 ms of its CPU thread.
 */
export function fileFooter(schema: ParquetSchema, rowGroups: readonly RowGroup[], rowCount: number): Buffer {
  if (schema.fieldList.length === 0) throw new Error('parquet footer: a file needs at least one column');
  // Assigned, not given to the constructor, which copies every row group it is given.
  const metadata: FileMetaData = Object.assign(new parquetTypes.FileMetaData(), {
    version: parquetVersion,
    schema: schemaElements(schema),
    num_rows: int64(rowCount),
    row_groups: [...rowGroups],
    key_value_metadata: [],
    created_by: createdBy,
  });
  const encoded = serializeCompact(metadata);
  const footer = Buffer.allocUnsafe(encoded.byteLength + 8);
  encoded.copy(footer, 0);
  footer.writeUInt32LE(encoded.byteLength, encoded.byteLength);
  footer.set(parquetMagic, encoded.byteLength + 4);
  return footer;
}
