/**
 * EC2 instance types a fleet can be made of: us-east-1 on-demand Linux prices and network
 * bandwidth from the EC2 instance-type and pricing pages (2024). Check them before a large
 * purchase: prices change, and "up to" bandwidth is a burst.
 *
 * `baselineGbps` is what the simulator uses: a crawl export runs for hours, and the "up to"
 * bandwidth of the smaller sizes lasts only while burst credits do (minutes), after which
 * the instance gets its baseline. Where AWS states no "up to", the baseline is the headline.
 */
/**
 * S3 Standard's charge for a PUT, COPY, POST or LIST request, us-east-1 (2024): $0.005 per
 * 1,000. Every request the sink makes is of that class (PutObject, CreateMultipartUpload,
 * UploadPart, CompleteMultipartUpload); reading CommonCrawl's bucket is paid by its sponsor.
 */
export const s3PutClassDollarsPerRequest = 0.005 / 1000;

export interface InstanceType {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryGibibytes: number;
  /** Headline figure, "up to" for the smaller sizes. */
  readonly networkGbps: number;
  /** Sustained bandwidth. */
  readonly baselineGbps: number;
  readonly dollarsPerHour: number;
}

const row = (
  name: string,
  vcpus: number,
  memoryGibibytes: number,
  networkGbps: number,
  baselineGbps: number,
  dollarsPerHour: number,
): InstanceType => ({ name, vcpus, memoryGibibytes, networkGbps, baselineGbps, dollarsPerHour });

export const instanceTypes: readonly InstanceType[] = [
  // Graviton2, network optimised.
  row('c6gn.large', 2, 4, 25, 3.0, 0.0864),
  row('c6gn.xlarge', 4, 8, 25, 6.3, 0.1728),
  row('c6gn.2xlarge', 8, 16, 25, 12.5, 0.3456),
  row('c6gn.4xlarge', 16, 32, 25, 25, 0.6912),
  row('c6gn.8xlarge', 32, 64, 50, 50, 1.3824),
  row('c6gn.16xlarge', 64, 128, 100, 100, 2.7648),
  // Graviton3E, network optimised.
  row('c7gn.large', 2, 4, 30, 6.25, 0.1248),
  row('c7gn.xlarge', 4, 8, 40, 12.5, 0.2496),
  row('c7gn.2xlarge', 8, 16, 50, 25, 0.4992),
  row('c7gn.4xlarge', 16, 32, 50, 50, 0.9984),
  row('c7gn.8xlarge', 32, 64, 100, 100, 1.9968),
  row('c7gn.16xlarge', 64, 128, 200, 200, 3.9936),
  // Ice Lake, compute optimised.
  row('c6i.large', 2, 4, 12.5, 0.781, 0.085),
  row('c6i.xlarge', 4, 8, 12.5, 1.562, 0.17),
  row('c6i.2xlarge', 8, 16, 12.5, 3.125, 0.34),
  row('c6i.4xlarge', 16, 32, 12.5, 6.25, 0.68),
  row('c6i.8xlarge', 32, 64, 12.5, 12.5, 1.36),
  row('c6i.16xlarge', 64, 128, 25, 25, 2.72),
  // Ice Lake, general purpose (more memory per vCPU).
  row('m6i.large', 2, 8, 12.5, 0.781, 0.096),
  row('m6i.xlarge', 4, 16, 12.5, 1.562, 0.192),
  row('m6i.2xlarge', 8, 32, 12.5, 3.125, 0.384),
  row('m6i.4xlarge', 16, 64, 12.5, 6.25, 0.768),
  row('m6i.8xlarge', 32, 128, 12.5, 12.5, 1.536),
  row('m6i.16xlarge', 64, 256, 25, 25, 3.072),
];

export function findInstanceType(name: string): InstanceType | undefined {
  return instanceTypes.find((type) => type.name === name);
}
