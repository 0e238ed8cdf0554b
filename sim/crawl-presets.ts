/**
 * Crawls to plan for. A CommonCrawl main crawl is ~90,000–100,000 WARC files of ~1 GiB
 * (the `warc.paths.gz` listings of recent crawls, e.g. CC-MAIN-2024-22 has
 * 100,000 files); the data model in models.ts turns bytes into rows and Parquet bytes.
 */
export interface CrawlPreset {
  readonly name: string;
  readonly files: number;
  readonly fileBytes: number;
  /** Sizes vary around the mean: uniform in [mean × (1 − spread), mean × (1 + spread)]. */
  readonly fileBytesSpread: number;
}

const gibibyte = 1024 ** 3;
const mebibyte = 1024 ** 2;

export const crawlPresets: readonly CrawlPreset[] = [
  { name: 'commoncrawl', files: 100_000, fileBytes: gibibyte, fileBytesSpread: 0.15 },
  { name: 'commoncrawl-segment', files: 1_000, fileBytes: gibibyte, fileBytesSpread: 0.15 },
  { name: 'small', files: 200, fileBytes: 64 * mebibyte, fileBytesSpread: 0.5 },
];

export function findCrawlPreset(name: string): CrawlPreset | undefined {
  return crawlPresets.find((preset) => preset.name === name);
}
