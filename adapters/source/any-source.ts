/**
 * One Source for every kind of input the command line names: it picks the local, HTTP or
 * S3 source by the specification or URI, and resolves `cc:CC-MAIN-…` against the crawl base
 * (`https://data.commoncrawl.org/` by default, `s3://commoncrawl/` inside AWS) to the manifest
 * of the subset asked for (`warc.paths.gz`, `wet.paths.gz` or `wat.paths.gz`). The S3
 * source is built only when an `s3://` input appears, so local runs need no AWS setup and
 * never load the SDK.
 */
import { FailureError, inputFault } from '../../core/failure.ts';
import type { InputRef } from '../../core/input-ref.ts';
import type { ByteRange, ReadMemory, Source } from '../../core/source.ts';
import { HttpSource } from './http-source.ts';
import { LocalSource } from './local-source.ts';
import { pickedBytes } from '../../core/request-plan.ts';
import { type IndexFileStore, indexPrefix, isIndexFileStore, listIndex, localIndexFiles } from './index-listing.ts';
import { type CommonCrawlSubset, commonCrawlManifest } from './manifest.ts';

export { commonCrawlManifest } from './manifest.ts';

export const defaultCommonCrawlBase = 'https://data.commoncrawl.org/';

export interface AnySourceOptions {
  /** `--cc-base`: where `crawl-data/` of CommonCrawl is served. */
  readonly commonCrawlBase?: string;
  /** `--cc-subset`: which of a crawl's manifests a `cc:` input reads (default `warc`). */
  readonly commonCrawlSubset?: CommonCrawlSubset;
  readonly local?: LocalSource;
  readonly http?: HttpSource;
  /** Builds the S3 source on first use. */
  readonly s3Source?: () => Promise<Source>;
}

export class AnySource implements Source {
  private readonly commonCrawlBase: string;
  private readonly local: LocalSource;
  private readonly http: HttpSource;
  private s3: Promise<Source> | null = null;

  constructor(private readonly options: AnySourceOptions = {}) {
    this.commonCrawlBase = options.commonCrawlBase ?? defaultCommonCrawlBase;
    this.local = options.local ?? new LocalSource();
    this.http = options.http ?? new HttpSource();
  }

  async *list(spec: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    if (spec.startsWith(indexPrefix)) {
      const path = spec.slice(indexPrefix.length);
      yield* listIndex(await this.indexStoreFor(path), path, this.commonCrawlBase, signal);
      return;
    }
    const resolved = spec.startsWith('cc:')
      ? commonCrawlManifest(spec, this.commonCrawlBase, this.options.commonCrawlSubset)
      : spec;
    yield* (await this.sourceFor(resolved)).list(resolved, signal);
  }

  async sizeOf(input: InputRef, signal?: AbortSignal): Promise<number> {
    return (await this.sourceFor(input.uri)).sizeOf(input, signal);
  }

  /** A subset's read hands on only its picked bytes (request-plan.ts), the gaps dropped. */
  async read(input: InputRef, range: ByteRange, signal?: AbortSignal, memory?: ReadMemory): Promise<Uint8Array> {
    // A subset's bytes are gathered from its picks, not read in place: no memory given then.
    const into = input.picks === undefined ? memory : undefined;
    const bytes = await (await this.sourceFor(input.uri)).read(input, range, signal, into);
    return input.picks === undefined ? bytes : pickedBytes(input.picks, range, bytes);
  }

  private async indexStoreFor(path: string): Promise<IndexFileStore> {
    if (/^https?:\/\//i.test(path)) {
      const client = this.http.client;
      return {
        indexFiles: async function* (location) {
          yield location;
        },
        readIndexFile: (location, signal) => client.getWhole(location, signal),
      };
    }
    if (path.startsWith('s3://')) {
      const s3 = await this.s3Source();
      if (!isIndexFileStore(s3)) throw new FailureError(inputFault('this S3 source cannot read index files'));
      return s3;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) throw new FailureError(inputFault(`unsupported index address: ${path}`));
    return localIndexFiles(this.local);
  }

  private async sourceFor(location: string): Promise<Source> {
    if (/^https?:\/\//i.test(location)) return this.http;
    if (location.startsWith('s3://')) return this.s3Source();
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location))
      throw new FailureError(inputFault(`unsupported input address: ${location}`));
    return this.local;
  }

  private s3Source(): Promise<Source> {
    if (this.s3 === null) {
      const build = this.options.s3Source;
      if (build === undefined)
        throw new FailureError(inputFault('s3:// inputs need an S3 source, and none was configured'));
      this.s3 = build();
    }
    return this.s3;
  }
}
