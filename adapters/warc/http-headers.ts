import type { HeaderFields } from './line-reader.ts';

/**
 * The `http_headers` column: the response's header fields as one JSON object, names lower-cased
 * and values as sent (read as UTF-8, folded lines joined by a space). A repeated field's values
 * are joined with `, `, which RFC 9110 (5.3) makes equal to the repeats, except `set-cookie`,
 * whose values may hold commas themselves: it is always an array, one entry a field. JSON
 * rather than a MAP column because every reader we target parses JSON text (DuckDB's `->>`,
 * Athena's `json_extract_scalar`, Spark's `get_json_object`) and it round-trips any name.
 */
export function httpHeadersJson(fields: HeaderFields): string {
  // No prototype: a field named `__proto__` is a field like any other.
  const object: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of fields.entries()) {
    const before = object[name];
    if (name === 'set-cookie') {
      if (Array.isArray(before)) before.push(value);
      else object[name] = [value];
    } else object[name] = before === undefined ? value : `${before as string}, ${value}`;
  }
  return JSON.stringify(object);
}
