// Measures the Parquet encoder on 1,000,000 index-like rows in row groups of 20,000, as the worker
// uses it, for each compression parquetjs can write well (SNAPPY, GZIP, UNCOMPRESSED), against
// JSON.stringify of the same rows in the same run: a native, single-pass serialisation that any
// encoder should be compared with on this shared, noisy machine. Run: npx tsx test/bench/encode.ts
import { pathToFileURL } from 'node:url';
import { createParquetEncoder } from '../../adapters/parquet/parquet-encoder.ts';
import type { ParquetEncoderCompression } from '../../adapters/parquet/parquet-encoder.ts';
import type { CaptureRow } from '../../core/capture-row.ts';
import { piecesLength } from '../../core/sink.ts';
import { printFigures } from './bench-figure.ts';
import type { BenchFigure } from './bench-figure.ts';
import { nextUnit, seededRandom } from '../../core/seeded-random.ts';

const rowsTotal = 1_000_000;
const rowGroupRows = 20_000;
const seed = 20240522;

/** mulberry32: the same seed gives every measured variant the very same rows. */
function randomSource(start: number): () => number {
  const random = seededRandom(start);
  return () => nextUnit(random);
}

const words = [
  'news',
  'blog',
  'shop',
  'wiki',
  'forum',
  'video',
  'music',
  'sport',
  'travel',
  'food',
  'health',
  'tech',
  'games',
  'photo',
  'book',
  'home',
  'garden',
  'auto',
  'money',
  'science',
  'history',
  'weather',
  'movies',
  'recipes',
  'fashion',
  'kids',
  'pets',
  'art',
  'design',
  'code',
];
const tlds = [
  'com',
  'com',
  'com',
  'org',
  'net',
  'de',
  'co.uk',
  'fr',
  'ru',
  'jp',
  'it',
  'nl',
  'com.br',
  'pl',
  'es',
  'info',
];
const mimeTypes = [
  'text/html',
  'text/html',
  'text/html',
  'text/html',
  'application/xhtml+xml',
  'application/pdf',
  'text/plain',
  'image/jpeg',
];
const statuses = [200, 200, 200, 200, 200, 200, 200, 301, 302, 404];
const languages = ['eng', 'eng', 'deu', 'fra', 'rus', 'jpn', 'spa', 'eng,fra', 'ita', 'nld'];
const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Draws index-like rows: 50,000 hosts, mostly unique URLs, realistic mime types and statuses. */
class IndexLikeRows {
  private readonly random: () => number;
  private offset = 0;

  constructor(start: number) {
    this.random = randomSource(start);
  }

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)]!;
  }

  private digest(): string {
    let text = '';
    for (let index = 0; index < 32; index += 1) text += base32[Math.floor(this.random() * 32)];
    return text;
  }

  private host(): { labels: string[]; suffix: string } {
    const number = Math.floor(this.random() * 50_000);
    const suffix = tlds[number % tlds.length]!;
    const domain = `${words[number % words.length]}${words[(number >> 5) % words.length]}${number}`;
    const labels = number % 3 === 0 ? ['www', domain] : number % 7 === 0 ? ['en', 'm', domain] : [domain];
    return { labels, suffix };
  }

  next(): CaptureRow {
    const { labels, suffix } = this.host();
    const hostLabels = [...labels, ...suffix.split('.')];
    const hostName = hostLabels.join('.');
    const reversed = [...hostLabels].reverse();
    const path = `/${this.pick(words)}/${this.pick(words)}-${Math.floor(this.random() * 1e9)}.html`;
    const query =
      this.random() < 0.2 ? `id=${Math.floor(this.random() * 1e6)}&lang=${this.pick(languages).slice(0, 3)}` : null;
    const url = `https://${hostName}${path}${query === null ? '' : `?${query}`}`;
    const status = this.pick(statuses);
    const length = 1_000 + Math.floor(this.random() * 60_000);
    const mime = this.pick(mimeTypes);
    const row: CaptureRow = {
      url_surtkey: `${reversed.filter((label) => label !== 'www').join(',')})${path}${query === null ? '' : `?${query}`}`,
      url,
      url_host_name: hostName,
      url_host_tld: reversed[0] ?? null,
      url_host_2nd_last_part: reversed[1] ?? null,
      url_host_3rd_last_part: reversed[2] ?? null,
      url_host_4th_last_part: reversed[3] ?? null,
      url_host_5th_last_part: reversed[4] ?? null,
      url_host_registry_suffix: suffix,
      url_host_registered_domain: `${labels[labels.length - 1]}.${suffix}`,
      url_host_private_suffix: suffix,
      url_host_private_domain: `${labels[labels.length - 1]}.${suffix}`,
      url_host_name_reversed: reversed.join('.'),
      url_protocol: 'https',
      url_port: this.random() < 0.01 ? 8080 : null,
      url_path: path,
      url_query: query,
      fetch_time: Date.UTC(2024, 4, 17) + Math.floor(this.random() * 86_400_000),
      fetch_status: status,
      fetch_redirect: status === 301 || status === 302 ? `https://${hostName}/${this.pick(words)}/` : null,
      content_digest: this.digest(),
      content_mime_type: mime,
      content_mime_detected: mime,
      content_charset: mime.startsWith('text/') ? 'UTF-8' : null,
      content_languages: mime === 'text/html' ? this.pick(languages) : null,
      content_truncated: this.random() < 0.005 ? 'length' : null,
      warc_filename:
        'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/warc/CC-MAIN-20240517233122-20240518023122-00000.warc.gz',
      warc_record_offset: this.offset,
      warc_record_length: length,
      warc_segment: '1715971057216.39',
      crawl: 'CC-MAIN-2024-22',
      subset: 'warc',
    };
    this.offset += length;
    return row;
  }

  rowGroup(size: number): CaptureRow[] {
    return Array.from({ length: size }, () => this.next());
  }
}

const compressions = ['SNAPPY', 'GZIP', 'UNCOMPRESSED'] as const satisfies readonly ParquetEncoderCompression[];

interface Measured {
  seconds: number;
  bytes: number;
}

interface Contender {
  readonly name: string;
  readonly measured: Measured;
  readonly encode: (group: CaptureRow[]) => Promise<number>;
  readonly finish: () => Promise<number>;
}

function parquetContender(compression: ParquetEncoderCompression): Contender {
  const job = createParquetEncoder({ compression }).open();
  return {
    name: `parquet ${compression}`,
    measured: { seconds: 0, bytes: 0 },
    encode: async (group) => piecesLength(await job.writeRowGroup(group)),
    finish: async () => piecesLength(await job.finish()),
  };
}

function jsonContender(): Contender {
  return {
    name: 'JSON.stringify',
    measured: { seconds: 0, bytes: 0 },
    encode: async (group) => Buffer.byteLength(JSON.stringify(group)),
    finish: async () => 0,
  };
}

async function timed(contender: Contender, action: () => Promise<number>): Promise<void> {
  const started = process.hrtime.bigint();
  contender.measured.bytes += await action();
  contender.measured.seconds += Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * Row groups are drawn one at a time, outside the timing, and every contender encodes each one
 * in turn before the next is drawn: only one row group is alive at a time (as in the worker),
 * and a burst of load from other processes on this shared machine hits all contenders alike, so
 * the ratios hold even when the absolute rates move.
 */
async function measureAll(rows: number, contenders: readonly Contender[]): Promise<void> {
  const source = new IndexLikeRows(seed);
  for (let written = 0; written < rows; written += rowGroupRows) {
    const group = source.rowGroup(Math.min(rowGroupRows, rows - written));
    for (const contender of contenders) await timed(contender, () => contender.encode(group));
  }
  for (const contender of contenders) await timed(contender, contender.finish);
}

function figuresFor(rows: number, contender: Contender, json: Contender): BenchFigure[] {
  const rowsPerSecond = rows / contender.measured.seconds;
  const jsonRowsPerSecond = rows / json.measured.seconds;
  const bytesPerRow = contender.measured.bytes / rows;
  const jsonBytesPerRow = json.measured.bytes / rows;
  return [
    {
      name: `${contender.name} rows/s`,
      value: rowsPerSecond,
      unit: 'rows/s',
      baseline: { name: 'JSON.stringify rows/s', value: jsonRowsPerSecond },
      ratio: rowsPerSecond / jsonRowsPerSecond,
    },
    {
      name: `${contender.name} bytes/row`,
      value: bytesPerRow,
      unit: 'bytes/row',
      baseline: { name: 'JSON bytes/row', value: jsonBytesPerRow },
      ratio: bytesPerRow / jsonBytesPerRow,
    },
  ];
}

/** Encodes `rows` index-like rows once per compression, with JSON.stringify as the baseline. */
export async function run(rows: number = rowsTotal): Promise<BenchFigure[]> {
  const json = jsonContender();
  const parquet = compressions.map(parquetContender);
  await measureAll(rows, [json, ...parquet]);
  return parquet.flatMap((contender) => figuresFor(rows, contender, json));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = Number(process.argv[2] ?? rowsTotal);
  printFigures(`encode: ${rows} index-like rows, row groups of ${rowGroupRows}`, await run(rows));
}
