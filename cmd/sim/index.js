#!/usr/bin/env node
// `npx cc-sim` (package.json's bin): registers tsx so node runs the TypeScript sources, then
// starts the planner. Through the bin, only the planner's output reaches stdout: `npm run sim`
// prints npm's banner there first, which breaks `--json > plan.json` (`npm run -s sim` does not).
const { register } = await import('tsx/esm/api');

register();
await import('./main.ts');
