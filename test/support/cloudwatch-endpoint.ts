/**
 * A loopback endpoint that stands in for CloudWatch: it decodes each PutMetricData request
 * the real SDK sends (the awsJson1_0 protocol of @aws-sdk/client-cloudwatch 3.11xx, gzip
 * when the body is large; the older form-encoded query protocol too), records it, and can
 * fail the next requests to exercise retries.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface DecodedDatum {
  readonly name: string;
  readonly value: number;
  readonly unit: string | undefined;
  readonly dimensions: Record<string, string>;
  readonly timestampMs: number | undefined;
}

export interface DecodedPut {
  readonly namespace: string;
  readonly data: DecodedDatum[];
  readonly bodyBytes: number;
  readonly rawText: string;
  readonly headers: IncomingMessage['headers'];
}

export interface CloudWatchEndpoint {
  readonly url: string;
  readonly puts: DecodedPut[];
  /** The next this many requests fail with a 500. */
  failNext: number;
  stop(): Promise<void>;
}

interface JsonDatum {
  MetricName: string;
  Value: number;
  Unit?: string;
  Timestamp?: number | string;
  Dimensions?: { Name: string; Value: string }[];
}

function fromJson(text: string): { namespace: string; data: DecodedDatum[] } {
  const body = JSON.parse(text) as { Namespace: string; MetricData: JsonDatum[] };
  const data = body.MetricData.map((datum) => ({
    name: datum.MetricName,
    value: datum.Value,
    unit: datum.Unit,
    dimensions: Object.fromEntries((datum.Dimensions ?? []).map((dimension) => [dimension.Name, dimension.Value])),
    timestampMs:
      datum.Timestamp === undefined
        ? undefined
        : typeof datum.Timestamp === 'number'
          ? datum.Timestamp * 1000
          : Date.parse(datum.Timestamp),
  }));
  return { namespace: body.Namespace, data };
}

function fromQuery(text: string): { namespace: string; data: DecodedDatum[] } {
  const form = new URLSearchParams(text);
  const data: DecodedDatum[] = [];
  for (let index = 1; form.has(`MetricData.member.${index}.MetricName`); index += 1) {
    const field = (name: string): string | null => form.get(`MetricData.member.${index}.${name}`);
    const dimensions: Record<string, string> = {};
    for (
      let dimension = 1;
      form.has(`MetricData.member.${index}.Dimensions.member.${dimension}.Name`);
      dimension += 1
    ) {
      dimensions[field(`Dimensions.member.${dimension}.Name`) as string] = field(
        `Dimensions.member.${dimension}.Value`,
      ) as string;
    }
    const timestamp = field('Timestamp');
    data.push({
      name: field('MetricName') as string,
      value: Number(field('Value')),
      unit: field('Unit') ?? undefined,
      dimensions,
      timestampMs: timestamp === null ? undefined : Date.parse(timestamp),
    });
  }
  return { namespace: form.get('Namespace') ?? '', data };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolveBody(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export async function startCloudWatchEndpoint(): Promise<CloudWatchEndpoint> {
  const puts: DecodedPut[] = [];
  const state = { failNext: 0 };
  const server: Server = createServer(async (request, response) => {
    const raw = await readBody(request);
    const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    const text = body.toString('utf8');
    const isJson = (request.headers['content-type'] ?? '').includes('json');
    if (state.failNext > 0) {
      state.failNext -= 1;
      const error = { __type: 'InternalServiceError', message: 'Injected failure' };
      response.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(error));
      return;
    }
    const decoded = isJson ? fromJson(text) : fromQuery(text);
    puts.push({ ...decoded, bodyBytes: raw.length, rawText: text, headers: request.headers });
    if (isJson) response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
    else
      response
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          '<PutMetricDataResponse><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></PutMetricDataResponse>',
        );
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    puts,
    get failNext() {
      return state.failNext;
    },
    set failNext(count: number) {
      state.failNext = count;
    },
    stop: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
