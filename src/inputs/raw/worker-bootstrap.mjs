// Entry of a capture worker when tapline runs from its TypeScript sources (tests, benchmarks, `node --import
// tsx`): Node 20 does not apply the parent's `--import tsx` to worker threads, so the worker registers tsx's
// loader itself, then loads the real entry (workerData.entry). Installed builds start dist/*.js directly.
import { workerData } from 'node:worker_threads';

const { register } = await import('tsx/esm/api');
register();
await import(workerData.entry);
