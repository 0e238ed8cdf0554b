/**
 * `s3://bucket/prefix` inputs: a paginated ListObjectsV2 listing (`.warc[.gz]`, `.arc[.gz]`
 * keys, in key order) or a manifest object, and ranged GetObject reads checked against
 * Content-Range so a store that ignored Range never hands back the wrong bytes.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { FailureError, inputFault, remoteFault } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { ByteRange, ReadMemory, Source } from '../../core/source.ts';
import { classified } from '../aws/aws-failure.ts';
import { parseS3Uri, s3Uri } from '../aws/s3-location.ts';
import { sendOptions } from '../aws/send-options.ts';
import { readExactBody, shortBody } from './bounded-body.ts';
import { parseContentRange } from './http-status.ts';
import { globRoot, globToRegExp, isGlob } from './glob-pattern.ts';
import type { IndexFileStore } from './index-listing.ts';
import { inputRefFor, isManifestName, isWarcName } from './input-naming.ts';
import { defaultListingRetry, withListingRetry, type ListingRetry } from './listing-retry.ts';
import { manifestBase, manifestLines, resolveManifestLine } from './manifest.ts';

export interface S3SourceOptions {
  readonly client: S3Client;
  /** Keys a listing page asks for (S3's maximum is 1,000; tests use fewer to paginate). */
  readonly pageKeys?: number;
  /** A listing stops with an error past this many pages: 10,000 pages is 10 million keys. */
  readonly pagesMax?: number;
  readonly listingRetry?: ListingRetry;
  readonly manifestBytesMax?: number;
}

interface ObjectBody {
  transformToByteArray(): Promise<Uint8Array>;
  destroy?: () => void;
}

/** A GetObject body in Node: the SDK's stream of the response, read piece by piece. */
type RangeBody = ObjectBody & AsyncIterable<Uint8Array>;

/** Largest index file read whole (`--input index:s3://…`): ten million rows of Parquet are about 300 MiB. */
const indexFileBytesMax = 1024 * 1024 * 1024;

export class S3Source implements Source, IndexFileStore {
  private readonly client: S3Client;
  private readonly pageKeys: number;
  private readonly pagesMax: number;
  private readonly listingRetry: ListingRetry;
  private readonly manifestBytesMax: number;

  constructor(options: S3SourceOptions) {
    this.client = options.client;
    this.pageKeys = options.pageKeys ?? 1000;
    this.pagesMax = options.pagesMax ?? 10_000;
    this.listingRetry = options.listingRetry ?? defaultListingRetry;
    this.manifestBytesMax = options.manifestBytesMax ?? 64 * 1024 * 1024;
  }

  async *list(spec: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    const location = parseS3Uri(spec);
    if (isManifestName(location.key)) yield* this.listManifest(location.bucket, location.key, signal);
    else yield* this.listPrefix(location.bucket, location.key, signal);
  }

  async sizeOf(input: InputRef, signal?: AbortSignal): Promise<number> {
    if (input.sizeBytes !== undefined) return input.sizeBytes;
    const { bucket, key } = parseS3Uri(input.uri);
    // One HEAD: the core retries a throttled one (a `sizeInput` task, core/job-lifecycle.ts).
    const head = await classified(`HEAD ${input.uri}`, () =>
      this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), sendOptions(signal)),
    );
    if (head.ContentLength === undefined) throw new FailureError(remoteFault(`HEAD ${input.uri} gave no size`));
    return head.ContentLength;
  }

  /**
   * The range, read from the body stream into `memory` where given (no copy of the SDK's whole
   * body). The body must hold exactly what its Content-Range names: one that ends early, or
   * runs past it, is the remote's fault, retried.
   */
  async read(input: InputRef, range: ByteRange, signal?: AbortSignal, memory?: ReadMemory): Promise<Uint8Array> {
    if (range.lengthBytes === 0) return new Uint8Array(0);
    const { bucket, key } = parseS3Uri(input.uri);
    const lastByte = range.offsetBytes + range.lengthBytes - 1;
    const command = new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${range.offsetBytes}-${lastByte}` });
    try {
      const answer = await classified(`GET ${input.uri}`, () => this.client.send(command, sendOptions(signal)));
      const body = answer.Body as RangeBody | undefined;
      return await this.checkedRange(input.uri, range, answer.ContentRange, body, memory);
    } catch (error) {
      // Past the end of the object: S3 answers 416 InvalidRange; the port wants no bytes.
      if (error instanceof FailureError && /InvalidRange|HTTP 416/.test(error.failure.reason)) return new Uint8Array(0);
      throw error;
    }
  }

  private async checkedRange(
    uri: string,
    range: ByteRange,
    contentRange: string | undefined,
    body: RangeBody | undefined,
    memory: ReadMemory | undefined,
  ): Promise<Uint8Array> {
    const served = parseContentRange(contentRange ?? null);
    if (served === null || served.firstByte !== range.offsetBytes || body === undefined) {
      body?.destroy?.();
      throw new FailureError(
        remoteFault(`GET ${uri} answered Content-Range ${contentRange ?? 'none'} for bytes from ${range.offsetBytes}`, {
          retryable: false,
        }),
      );
    }
    const servedBytes = served.lastByte - served.firstByte + 1;
    const expected = Math.min(range.lengthBytes, servedBytes);
    // A body served past the range is cut at its end; one served within it must end where Content-Range says.
    const endsThere = servedBytes <= range.lengthBytes;
    // Leaving the body's loop early (readExactBody) closes the stream: nothing past the range is read.
    const read = await classified(`GET ${uri} body`, () => readExactBody(body, expected, endsThere, memory));
    if (read.bytes.length < expected) throw shortBody(uri, read.bytes.length, expected);
    if (read.longer && endsThere)
      throw new FailureError(remoteFault(`GET ${uri} sent more than the ${servedBytes} bytes of its Content-Range`));
    return read.bytes;
  }

  /** An index key, or a glob's matching keys in key order (its root, the part before the first glob character, is listed). */
  async *indexFiles(path: string, signal?: AbortSignal): AsyncIterable<string> {
    const location = parseS3Uri(path);
    if (!isGlob(location.key)) {
      yield path;
      return;
    }
    const { root, rest } = globRoot(location.key);
    const prefix = root === '.' ? '' : `${root.replace(/\/+$/, '')}/`;
    const matcher = globToRegExp(rest);
    for await (const key of this.keysUnder(location.bucket, prefix, signal))
      if (matcher.test(key.slice(prefix.length))) yield s3Uri({ bucket: location.bucket, key });
  }

  async readIndexFile(location: string, signal?: AbortSignal): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(location);
    return withListingRetry(this.listingRetry, () => this.getWhole(bucket, key, signal, indexFileBytesMax), signal);
  }

  private async *keysUnder(bucket: string, prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    for await (const object of this.objectsUnder(bucket, prefix, signal)) yield object.key;
  }

  private async *listPrefix(bucket: string, prefix: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    const root = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    for await (const object of this.objectsUnder(bucket, prefix, signal)) {
      if (!isWarcName(object.key)) continue;
      yield inputRefFor(s3Uri({ bucket, key: object.key }), object.key.slice(root.length), object.sizeBytes);
    }
  }

  /** Every object under the prefix, a page at a time, each page's LIST retried; at most `pagesMax` pages. */
  private async *objectsUnder(
    bucket: string,
    prefix: string,
    signal?: AbortSignal,
  ): AsyncIterable<{ readonly key: string; readonly sizeBytes: number | undefined }> {
    let continuationToken: string | undefined;
    for (let page = 0; page < this.pagesMax; page += 1) {
      const command = new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        MaxKeys: this.pageKeys,
        ContinuationToken: continuationToken,
      });
      const answer = await withListingRetry(
        this.listingRetry,
        () => classified(`LIST s3://${bucket}/${prefix}`, () => this.client.send(command, sendOptions(signal))),
        signal,
      );
      for (const object of answer.Contents ?? [])
        if (object.Key !== undefined) yield { key: object.Key, sizeBytes: object.Size };
      continuationToken = answer.IsTruncated === true ? answer.NextContinuationToken : undefined;
      if (continuationToken === undefined) return;
    }
    throw new FailureError(inputFault(`listing s3://${bucket}/${prefix} runs past ${this.pagesMax} pages`));
  }

  private async *listManifest(bucket: string, key: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    const uri = s3Uri({ bucket, key });
    const bytes = await withListingRetry(this.listingRetry, () => this.getWhole(bucket, key, signal), signal);
    const base = manifestBase(key);
    for (const line of manifestLines(bytes, uri)) {
      const { location, relativePath } = resolveManifestLine(line, base);
      yield inputRefFor(
        /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : s3Uri({ bucket, key: location }),
        relativePath,
      );
    }
  }

  private async getWhole(
    bucket: string,
    key: string,
    signal?: AbortSignal,
    bytesMax = this.manifestBytesMax,
  ): Promise<Uint8Array> {
    const uri = s3Uri({ bucket, key });
    const answer = await classified(`GET ${uri}`, () =>
      this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), sendOptions(signal)),
    );
    const body = answer.Body as ObjectBody | undefined;
    if ((answer.ContentLength ?? 0) > bytesMax || body === undefined) {
      body?.destroy?.();
      throw new FailureError(inputFault(`${uri} is missing or larger than ${bytesMax} bytes`));
    }
    return classified(`GET ${uri} body`, () => body.transformToByteArray());
  }
}
