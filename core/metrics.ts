/** One data point, in CloudWatch's terms. */
export interface MetricDatum {
  readonly name: string;
  readonly value: number;
  readonly unit: 'Count' | 'Bytes' | 'Percent' | 'Milliseconds' | 'None';
  readonly dimensions?: Readonly<Record<string, string>>;
  readonly timestampMs: number;
}

/** Where metrics go: CloudWatch, JSON lines on stdout, or nowhere. */
export interface Metrics {
  put(batch: readonly MetricDatum[]): Promise<void>;
}
