// Entry of a CPU thread: registers tsx in this thread, then loads the TypeScript module.
import { register } from 'tsx/esm/api';

register();
await import('./cpu-thread.ts');
