// The content schema's rows are several times their chunk: the simulated content run that
// broke the memory checker (rows held past the core's bound) now keeps within it, whether the
// worker states the schema's ratio or the data outgrow it.
import { describe, expect, it } from 'vitest';
import { simulate } from '../../sim/fleet-simulation.ts';
import { defaultModels, withModels } from '../../sim/models.ts';
import { defaultScenario, limitsForInstance } from '../../sim/scenario.ts';
import { findInstanceType, type InstanceType } from '../../sim/instance-types.ts';
import { contentDecodeOutputRatio } from '../../core/limits.ts';

function c6gn4xlarge(): InstanceType {
  const type = findInstanceType('c6gn.4xlarge');
  if (type === undefined) throw new Error('c6gn.4xlarge is not in the instance table');
  return type;
}

function contentRun(rowBytesPerInputByte: number) {
  return simulate({
    ...defaultScenario,
    instances: 1,
    instanceType: 'c6gn.4xlarge',
    files: 200,
    models: withModels(defaultModels, {
      schema: { output: 'content', contentRowBytesPerInputByte: rowBytesPerInputByte },
      crash: { crashesPerInstanceHour: 0 },
    }),
  });
}

describe('content rows under the memory checker', () => {
  it('states the content ratio in the limits of a content run', () => {
    const type = c6gn4xlarge();
    const models = withModels(defaultModels, { schema: { output: 'content' } });
    expect(limitsForInstance(type, { ...defaultScenario, models }).decodeOutputRatio).toBe(contentDecodeOutputRatio);
    expect(limitsForInstance(type, defaultScenario).decodeOutputRatio).toBeLessThan(1);
  });

  it.each([contentDecodeOutputRatio, 8])(
    'holds rows of %f times their chunk within the bound, and exports every file',
    (ratio) => {
      const result = contentRun(ratio);
      expect(result.violations).toEqual([]);
      expect(result.filesFailed).toBe(0);
      const budgetBytes = limitsForInstance(c6gn4xlarge(), defaultScenario).memoryBudgetBytes;
      expect(result.peakHeldBytes).toBeLessThanOrEqual(budgetBytes);
    },
  );
});
