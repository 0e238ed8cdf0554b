/**
 * Proves the deployment files stay in step with the code: every metric the CloudWatch
 * dashboard charts is one the worker sends, every environment variable the Kubernetes and
 * EC2 examples set is one the worker reads, and the manifests are valid YAML.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { metricDataFromSnapshot } from '../../adapters/metrics/metric-data.ts';
import { createWorkerState } from '../../core/worker-state.ts';
import { defaultLimits } from '../../core/limits.ts';
import { metricsSnapshot } from '../../core/metrics-snapshot.ts';
import { optionSpecs } from '../../cmd/worker/worker-config.ts';

const deploy = resolve(import.meta.dirname, '../../deploy');
const sdkVariables = new Set(['AWS_REGION', 'WORKER_COUNT', 'WORKER_INDEX', 'JOB_COMPLETION_INDEX', 'LOG_LEVEL']);
const workerVariables = new Set([...Object.values(optionSpecs).map((spec) => spec.environment), ...sdkVariables]);

describe('deployment files', () => {
  it('chart only metrics the worker sends, under the dimensions it sends them with', () => {
    const state = createWorkerState(defaultLimits);
    const before = metricsSnapshot(state, 0);
    // A run that met every kind of reason, so that the data by Reason go out too.
    state.counters.records = {
      byType: { response: 3 },
      badByReason: { truncated_record: 1 },
      skippedByReason: { not_http_capture: 1 },
      warningByReason: { unreadable_warc_date: 1 },
    };
    const data = metricDataFromSnapshot(metricsSnapshot(state, 1), before, { dimensions: { RunId: 'run' } });
    const sent = new Set(
      data.map(
        (datum) =>
          `${Object.keys(datum.dimensions ?? {})
            .sort()
            .join(',')} ${datum.name}`,
      ),
    );
    const dashboard = readFileSync(resolve(deploy, 'cloudwatch/dashboard.json'), 'utf8');
    JSON.parse(dashboard);
    const charted = [...dashboard.matchAll(/SEARCH\('\{CommonCrawlWorker,([\w,]+)\} MetricName=\\"(\w+)\\"/g)].map(
      (match) => `${(match[1] as string).split(',').sort().join(',')} ${match[2] as string}`,
    );
    expect(charted.length).toBeGreaterThan(5);
    expect(charted).toContain('Reason,RunId BadRecords');
    for (const metric of charted) expect(sent.has(metric), `dashboard charts ${metric}`).toBe(true);
  });

  it('set only variables the worker reads, in valid manifests', () => {
    for (const file of ['kubernetes/fleet-deployment.yaml', 'kubernetes/sharded-indexed-job.yaml']) {
      const documents = parseAllDocuments(readFileSync(resolve(deploy, file), 'utf8'));
      for (const document of documents) expect(document.errors, file).toEqual([]);
      const names = [
        ...readFileSync(resolve(deploy, file), 'utf8').matchAll(/name: (\w+)(?:, value|\n\s+valueFrom)/g),
      ].map((match) => match[1] as string);
      expect(names.length).toBeGreaterThan(3);
      for (const name of names) expect(workerVariables.has(name), `${file} sets ${name}`).toBe(true);
    }
    const settings =
      /SETTINGS'\n([\s\S]*?)\nSETTINGS/.exec(readFileSync(resolve(deploy, 'ec2/user-data.sh'), 'utf8'))?.[1] ?? '';
    const names = settings.split('\n').map((line) => line.split('=')[0] as string);
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) expect(workerVariables.has(name), `user-data sets ${name}`).toBe(true);
  });

  it('has the Indexed Job end a shard that exits 3 (inputs failed for good) or 2 (configuration) instead of retrying it', () => {
    const job = parseAllDocuments(
      readFileSync(resolve(deploy, 'kubernetes/sharded-indexed-job.yaml'), 'utf8'),
    )[0]!.toJS() as {
      spec: {
        backoffLimitPerIndex?: number;
        podFailurePolicy?: {
          rules: { action: string; onExitCodes?: { containerName?: string; operator: string; values: number[] } }[];
        };
        template: { spec: { restartPolicy: string; containers: { name: string }[] } };
      };
    };
    // A pod failure policy needs pods that are not restarted in place, and FailIndex a per-index limit.
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.backoffLimitPerIndex).toBeGreaterThan(0);
    const container = job.spec.template.spec.containers[0]!.name;
    const actionOn = (code: number) =>
      job.spec.podFailurePolicy?.rules.find(
        (rule) =>
          rule.onExitCodes?.operator === 'In' &&
          rule.onExitCodes.values.includes(code) &&
          rule.onExitCodes.containerName === container,
      )?.action;
    expect(actionOn(3)).toBe('FailIndex');
    expect(actionOn(2)).toBe('FailJob');
    expect(actionOn(1)).toBeUndefined();
  });
});
