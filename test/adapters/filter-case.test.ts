/**
 * lower() and upper() of `--where` against DuckDB's on every code point outside ASCII (and on
 * ASCII, and on mixed text, once): JavaScript's own case mapping differs from DuckDB's on about
 * two hundred of them (duckdb-case.ts), so this comparison is the table's proof.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { expect, it } from 'vitest';
import { duckdbLower, duckdbUpper } from '../../adapters/filter/duckdb-case.ts';

/** Code points compared in one query. */
const batchSize = 8_000;

it('maps every code point as DuckDB does', async () => {
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const texts: string[] = ['Hello, World! 123', 'İSTANBUL straße ΣΑΣ ﬀ ᾀ', 'MiXeD €😀'];
    for (let codePoint = 0x20; codePoint < 0x110000; codePoint++) {
      // Surrogates are no characters; a BOM that opens a SQL literal is dropped by DuckDB's parser.
      if ((codePoint >= 0xd800 && codePoint < 0xe000) || codePoint === 0xfeff) continue;
      texts.push(String.fromCodePoint(codePoint));
    }
    const mismatches: string[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = texts.slice(start, start + batchSize);
      const values = batch.map((text, index) => `(${index}, '${text.replaceAll("'", "''")}')`).join(',');
      const reader = await connection.runAndReadAll(`SELECT k, lower(s), upper(s) FROM (VALUES ${values}) t(k, s)`);
      for (const [index, lower, upper] of reader.getRowsJS()) {
        const text = batch[Number(index)] as string;
        if (duckdbLower(text) !== lower || duckdbUpper(text) !== upper)
          mismatches.push(`${text} (U+${(text.codePointAt(0) ?? 0).toString(16)}): ${String(lower)} ${String(upper)}`);
      }
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
    expect(texts.length).toBeGreaterThan(1_100_000);
  } finally {
    connection.closeSync();
  }
}, 300_000);
