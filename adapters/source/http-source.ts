/**
 * HTTPS (and HTTP) inputs: one URL, or a remote manifest (`…/warc.paths.gz`) whose lines
 * are relative to the crawl base. Reads are ranged GETs through the polite client.
 */
import type { InputRef } from '../../core/input-ref.ts';
import type { ByteRange, Source } from '../../core/source.ts';
import { inputRefFor, isManifestName } from './input-naming.ts';
import { defaultListingRetry, withListingRetry, type ListingRetry } from './listing-retry.ts';
import { manifestBase, manifestLines, resolveManifestLine } from './manifest.ts';
import { PoliteHttpClient } from './polite-http-client.ts';

export interface HttpSourceOptions {
  readonly client?: PoliteHttpClient;
  readonly listingRetry?: ListingRetry;
}

export class HttpSource implements Source {
  readonly client: PoliteHttpClient;
  private readonly listingRetry: ListingRetry;

  constructor(options: HttpSourceOptions = {}) {
    this.client = options.client ?? new PoliteHttpClient();
    this.listingRetry = options.listingRetry ?? defaultListingRetry;
  }

  async *list(spec: string, signal?: AbortSignal): AsyncIterable<InputRef> {
    const url = new URL(spec);
    if (!isManifestName(url.pathname)) {
      yield inputRefFor(url.href, decodeURIComponent(url.pathname));
      return;
    }
    const bytes = await withListingRetry(this.listingRetry, () => this.client.getWhole(url.href, signal), signal);
    const base = manifestBase(`${url.origin}${url.pathname}`);
    for (const line of manifestLines(bytes, url.href)) {
      const { location, relativePath } = resolveManifestLine(line, base);
      yield inputRefFor(location, relativePath);
    }
  }

  /**
   * A manifest's files are sized when a worker claims them, one HEAD a file, outside the
   * core's limits: a 503 there is retried like a listing's, so that a throttled HEAD does not
   * fail its job at once.
   */
  async sizeOf(input: InputRef, signal?: AbortSignal): Promise<number> {
    return input.sizeBytes ?? withListingRetry(this.listingRetry, () => this.client.sizeOf(input.uri, signal), signal);
  }

  read(input: InputRef, range: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    return this.client.readRange(input.uri, range, signal);
  }
}
