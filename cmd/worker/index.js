// `node cmd/worker`: registers tsx so node runs the TypeScript sources directly, then starts.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
