/**
 * What an export left in an S3 bucket, read back independently of the worker: the objects
 * under a prefix, the incomplete multipart uploads, and each object's rows counted by DuckDB
 * over a downloaded copy (so a partial or doubled object shows as a wrong count).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';

/** Listing pages read at most: far more than any test writes. */
const pagesMax = 1_000;

export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < pagesMax; page++) {
    const answer = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of answer.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    if (answer.IsTruncated !== true) return keys.sort();
    token = answer.NextContinuationToken;
  }
  throw new Error(`listing s3://${bucket}/${prefix} took more than ${pagesMax} pages`);
}

export interface OpenUpload {
  readonly key: string;
  readonly uploadId: string;
}

/**
 * Retries a listing of uploads a few times: the ListMultipartUploads that s3rver-main.mjs adds
 * answers 500 when an upload is aborted or completed while it is being listed (its folder
 * vanishes between reading the key and reading the folder's time).
 */
export async function listIncompleteUploads(client: S3Client, bucket: string, prefix: string): Promise<OpenUpload[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await listUploadsOnce(client, bucket, prefix);
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 500 || attempt >= 5) throw error;
      await new Promise((resolveWait) => setTimeout(resolveWait, 100 * attempt));
    }
  }
}

async function listUploadsOnce(client: S3Client, bucket: string, prefix: string): Promise<OpenUpload[]> {
  const uploads: OpenUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (let page = 0; page < pagesMax; page++) {
    const answer = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    );
    for (const upload of answer.Uploads ?? []) {
      if (upload.Key !== undefined && upload.UploadId !== undefined)
        uploads.push({ key: upload.Key, uploadId: upload.UploadId });
    }
    if (answer.IsTruncated !== true) return uploads;
    keyMarker = answer.NextKeyMarker;
    uploadIdMarker = answer.NextUploadIdMarker;
  }
  throw new Error(`listing uploads under s3://${bucket}/${prefix} took more than ${pagesMax} pages`);
}

/** Downloads each key to `folder` as one flat file; returns key → local path. */
export async function downloadObjects(
  client: S3Client,
  bucket: string,
  keys: readonly string[],
  folder: string,
): Promise<Map<string, string>> {
  mkdirSync(folder, { recursive: true });
  const paths = new Map<string, string>();
  for (const [index, key] of keys.entries()) {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const path = join(folder, `${String(index).padStart(6, '0')}.parquet`);
    writeFileSync(path, (await object.Body?.transformToByteArray()) ?? new Uint8Array(0));
    paths.set(key, path);
  }
  return paths;
}

export interface ObjectRows {
  /** NaN when DuckDB cannot read the object. */
  readonly rows: number;
  /** The distinct `warc_filename` values of the object's rows. */
  readonly warcFilenames: readonly string[];
}

/** Runs `use` on a fresh in-memory DuckDB connection, closed after. */
async function withDuckDb<T>(use: (run: <R>(sql: string) => Promise<R[]>) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return await use(async <R>(sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS() as R[]);
  } finally {
    connection.closeSync();
  }
}

/** Rows and source file names of each downloaded object, read by DuckDB one object at a time. */
export function rowsOfObjects(paths: ReadonlyMap<string, string>): Promise<Map<string, ObjectRows>> {
  return withDuckDb(async (run) => {
    const byKey = new Map<string, ObjectRows>();
    for (const [key, path] of paths) {
      try {
        const [row] = await run<{ n: number; names: string[] | null }>(
          `SELECT count(*)::INTEGER AS n, list(DISTINCT warc_filename ORDER BY warc_filename) AS names FROM read_parquet('${path}')`,
        );
        byKey.set(key, { rows: Number(row?.n ?? 0), warcFilenames: [...(row?.names ?? [])] });
      } catch (error) {
        // A truncated or garbled object: reported against its input, not as a crash of the check.
        byKey.set(key, { rows: Number.NaN, warcFilenames: [`unreadable: ${String(error)}`] });
      }
    }
    return byKey;
  });
}

/** Rows over every downloaded object, and how many distinct (warc_filename, warc_record_offset) they hold. */
export function captureTotals(folder: string): Promise<{ rows: number; distinctCaptures: number }> {
  return withDuckDb(async (run) => {
    const [row] = await run<{ n: number; distinct_captures: number }>(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT (warc_filename, warc_record_offset))::INTEGER AS distinct_captures
       FROM read_parquet('${join(folder, '*.parquet')}')`,
    );
    return { rows: Number(row?.n ?? 0), distinctCaptures: Number(row?.distinct_captures ?? 0) };
  });
}

export interface ReadExport {
  readonly keys: readonly string[];
  readonly rowsByKey: ReadonlyMap<string, ObjectRows>;
  readonly totals: { rows: number; distinctCaptures: number };
}

/** Lists, downloads to `folder` and reads every object under the prefix. */
export async function readExport(
  client: S3Client,
  bucket: string,
  prefix: string,
  folder: string,
): Promise<ReadExport> {
  const keys = await listKeys(client, bucket, prefix);
  const paths = await downloadObjects(client, bucket, keys, folder);
  const rowsByKey = await rowsOfObjects(paths);
  const readable = [...rowsByKey.values()].every((object) => !Number.isNaN(object.rows));
  const totals =
    keys.length === 0
      ? { rows: 0, distinctCaptures: 0 }
      : readable
        ? await captureTotals(folder)
        : { rows: Number.NaN, distinctCaptures: Number.NaN };
  return { keys, rowsByKey, totals };
}
