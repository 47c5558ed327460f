/**
 * `npm run bench -- middleware`: messages per second through the pipeline (in-memory input of browser-sized
 * requests → null output) without middleware, through an in-process pass-through module, through an external
 * Node echo (the helper library: every line decoded and re-encoded) and through a bash `while read` echo.
 * Each figure is the best of BENCH_RUNS (default 3) interleaved rounds, printed next to the no-middleware
 * figure (ratio).
 * Rates are counted from the first message out to the end of the run (the same for every row), so a
 * middleware's start-up (node --import tsx: about a second here) is not counted as throughput.
 * Targets: ≥ 50,000 msg/s through the Node echo, ≥ 300,000 through the in-process module.
 */
import { join } from 'node:path';
import { memoryLogger } from '../src/core/log.js';
import { type Message, makeMeta } from '../src/core/message.js';
import { Pipeline, type PipelineOptions } from '../src/core/pipeline.js';
import type { Batch, Input, Output } from '../src/core/plugin.js';
import { ExternalMiddleware } from '../src/middleware/external.js';
import { ModuleMiddleware } from '../src/middleware/module.js';
import { ROOT } from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BATCH = 256;

function requests(count: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < count; i++) {
    const data = Buffer.from(
      `GET /api/items/${i}?page=${i % 7}&sort=desc HTTP/1.1\r\nHost: shop.example.test\r\n` +
        'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n' +
        'Accept: application/json\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: session=abcdef0123456789; theme=dark\r\n\r\n',
    );
    const meta = makeMeta({
      type: '1',
      id: i.toString(16).padStart(24, '0'),
      timestampNs: 1_700_000_000_000_000_000n + BigInt(i),
      latencyNs: 0n,
    });
    out.push({ meta, data });
  }
  return out;
}

function arrayInput(messages: Message[]): Input {
  return {
    name: 'memory',
    async *read(): AsyncGenerator<Batch> {
      for (let i = 0; i < messages.length; i += BATCH) yield messages.slice(i, i + BATCH);
    },
    close: async () => {},
  };
}

/** Counts messages and notes when the first one arrived (an external middleware's start-up is not throughput). */
function countingOutput(): Output & { count: number; firstAt: number } {
  const self = {
    name: 'count',
    count: 0,
    firstAt: 0,
    write() {
      if (self.count++ === 0) self.firstAt = performance.now();
    },
    close: async () => {},
  };
  return self;
}

type Stage = Pick<PipelineOptions, 'transform' | 'settle'>;

async function once(messages: Message[], stage: () => Stage): Promise<number> {
  const out = countingOutput();
  const pipeline = new Pipeline({ inputs: [arrayInput(messages)], outputs: [out], log: memoryLogger(), ...stage() });
  const summary = await pipeline.run();
  const ms = performance.now() - out.firstAt;
  if (summary.failures.length > 0 || out.count !== messages.length)
    throw new Error(`run failed: ${out.count}/${messages.length} messages; ${summary.failures.join('; ')}`);
  return (messages.length - 1) / (ms / 1000);
}

function external(command: string): () => Stage {
  return () => {
    const mw = new ExternalMiddleware({ command, log: memoryLogger() });
    return { transform: mw.transform, settle: mw.settle };
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(11);

export async function main(): Promise<void> {
  const many = requests(400_000);
  const bashCount = 20_000;
  const fixtures = join(ROOT, 'test', 'middleware', 'fixtures');
  const configs: [string, Message[], () => Stage, number | undefined][] = [
    ['no middleware', many, () => ({}), undefined],
    [
      '--middleware-module pass-through',
      many,
      () => ({ transform: new ModuleMiddleware('pass', (m) => m, memoryLogger()).transform }),
      300_000,
    ],
    [
      '--middleware Node echo (helper library)',
      many.slice(0, 200_000),
      external(`${process.execPath} --import tsx ${join(fixtures, 'echo-helper.ts')}`),
      50_000,
    ],
    ['--middleware bash while-read echo', many.slice(0, bashCount), external(join(fixtures, 'echo.sh')), undefined],
  ];
  // Rounds interleave the configurations, so that each sees the same background load; best of RUNS each.
  const bestRate = configs.map(() => 0);
  for (let r = 0; r < RUNS; r++) {
    for (let c = 0; c < configs.length; c++) {
      const [, messages, stage] = configs[c]!;
      bestRate[c] = Math.max(bestRate[c]!, await once(messages, stage));
    }
  }
  const base = bestRate[0]!;
  const rows = configs.map(([name, messages, , target], c) => [name, messages.length, bestRate[c]!, target] as const);
  const size = many[0]!.data.length;
  console.log(`messages: GET requests of ${size} bytes, batches of ${BATCH}, null output; best of ${RUNS}`);
  console.log(`${'pipeline'.padEnd(42)} ${'messages'.padStart(9)} ${'msg/s'.padStart(11)}  vs none  target`);
  for (const [name, count, rate, target] of rows) {
    const ratio = (rate / base).toFixed(3).padStart(7);
    const goal = target === undefined ? '' : `≥ ${target.toLocaleString('en-US')} ${rate >= target ? 'met' : 'MISSED'}`;
    console.log(`${name.padEnd(42)} ${String(count).padStart(9)} ${fmt(rate)}  ${ratio}  ${goal}`);
  }
  console.log('(figures taken on a shared 2-core machine are depressed when other work runs)');
}
