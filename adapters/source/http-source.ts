/**
 * HTTPS (and HTTP) inputs: one URL, named below its folder as a single local file is, or a
 * remote manifest (`…/warc.paths.gz`) whose lines are relative to the crawl base. Reads are
 * ranged GETs through the polite client.
 */
import type { InputRef } from '../../core/input-ref.ts';
import type { ByteRange, ReadMemory, Source } from '../../core/source.ts';
import { baseName, inputRefFor, isManifestName, urlPath } from './input-naming.ts';
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
      yield inputRefFor(url.href, baseName(urlPath(url)));
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
   * One lookup (a HEAD, or a one-byte GET where HEAD is refused). A manifest's files are
   * sized when a worker claims them, and the core retries a throttled lookup by its rules for
   * a chunk (a `sizeInput` task, core/job-lifecycle.ts): retrying here too would multiply them.
   */
  async sizeOf(input: InputRef, signal?: AbortSignal): Promise<number> {
    return input.sizeBytes ?? this.client.sizeOf(input.uri, signal);
  }

  /** The body goes straight into `memory` where given (a split job's shared memory, cmd/worker/shared-chunk-pool.ts). */
  read(input: InputRef, range: ByteRange, signal?: AbortSignal, memory?: ReadMemory): Promise<Uint8Array> {
    return this.client.readRange(input.uri, range, signal, memory);
  }
}
