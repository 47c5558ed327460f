/**
 * `npm run bench -- kafka`: messages per second through a Kafka-protocol broker (librdkafka's mock cluster,
 * started here; not Apache Kafka), 1 KB messages (a meta line and an HTTP request padded to 1,024 bytes):
 *  - produced: tapline's Kafka output (raw format, batches, keys by id) until every message is acknowledged;
 *  - consumed: tapline's Kafka input from the oldest offset until every message has been read and decoded;
 * each next to kcat's rate on the same broker (kcat -P from a file, kcat -C to /dev/null), with the ratio.
 * Each figure is the best of BENCH_RUNS (default 3); BENCH_KAFKA_MESSAGES (default 60,000; the mock keeps about
 * 5 MB per partition, so more needs more partitions) per run.
 * Target: ≥ 50,000 msg/s each way.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryLogger } from '../src/core/log.js';
import { type Message, makeMeta } from '../src/core/message.js';
import { kafkaInput } from '../src/inputs/kafka.js';
import { createConsumer, createProducer, type KafkaConnection } from '../src/kafka/client.js';
import { kafkaOutput } from '../src/outputs/kafka.js';
import { startKafkaBroker } from '../test/support/kafka-broker.js';
import { fmt, freshTmp, printTable } from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const COUNT = Number(process.env.BENCH_KAFKA_MESSAGES ?? 60_000);
const SIZE = 1024;
const TARGET = 50_000;
// The mock broker keeps about 5 MB per partition (older messages are dropped, like retention): 32
// partitions hold ~160 MB, room for the 60 MB written per run.
const PARTITIONS = 32;

function messages(count: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < count; i++) {
    const id = i.toString(16).padStart(24, '0');
    const meta = makeMeta({ type: '1', id, timestampNs: 1_700_000_000_000_000_000n + BigInt(i), latencyNs: 0n });
    const head = `GET /api/items/${i} HTTP/1.1\r\nHost: shop.example.test\r\nX-Pad: `;
    const pad = SIZE - meta.line.length - 1 - head.length - 4;
    out.push({ meta, data: Buffer.from(`${head}${'x'.repeat(pad)}\r\n\r\n`) });
  }
  return out;
}

const ctx = () => ({ log: memoryLogger(), signal: new AbortController().signal });
const connection = (bootstrap: string, name: string): KafkaConnection => ({
  brokers: bootstrap.split(','),
  clientId: 'tapline-bench',
  retries: 5,
  log: memoryLogger(),
  name,
});

async function produceTapline(bootstrap: string, topic: string, msgs: Message[], keyById = true): Promise<number> {
  const producer = createProducer(connection(bootstrap, 'bench-out'), { compression: 'none', acks: 1 });
  const out = kafkaOutput(
    producer,
    { topic, format: 'raw', keyById, batchSize: 2000, lingerMs: 5, maxInFlight: 8 },
    ctx(),
  );
  await producer.connect();
  const started = performance.now();
  for (const m of msgs) {
    const wait = out.write(m);
    if (wait) await wait;
  }
  await out.close();
  const ms = performance.now() - started;
  const stats = out.stats!();
  if (stats.acked !== msgs.length)
    throw new Error(`tapline produced ${stats.acked}/${msgs.length} (failed ${stats.failed})`);
  return (msgs.length / ms) * 1000;
}

async function consumeTapline(bootstrap: string, topic: string, expected: number): Promise<number> {
  const conn = connection(bootstrap, 'bench-in');
  const consumer = createConsumer(conn, { topic, start: 'earliest' });
  const input = kafkaInput(consumer, { topic, format: 'raw', capacity: 16384 }, ctx());
  let n = 0;
  let started = 0;
  const deadline = setTimeout(() => void input.close(), 120_000);
  for await (const batch of input.read()) {
    if (started === 0) started = performance.now(); // group join and first fetch are not throughput
    n += batch.length;
    if (n >= expected) break;
  }
  const ms = performance.now() - started;
  clearTimeout(deadline);
  await input.close();
  if (n < expected) {
    const lines = (conn.log as ReturnType<typeof memoryLogger>).lines.slice(-10).join('\n');
    throw new Error(`tapline consumed ${n}/${expected}: ${JSON.stringify(input.stats!())}\n${lines}`);
  }
  return (expected / ms) * 1000;
}

function timed(command: string, args: string[], stdinFile?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: [stdinFile ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    if (stdinFile) {
      import('node:fs').then((fs) => fs.createReadStream(stdinFile).pipe(child.stdin!));
    }
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`));
    });
  });
}

export async function main(): Promise<void> {
  const dir = freshTmp('kafka');
  const msgs = messages(COUNT);
  // kcat reads newline-delimited messages: the same size, one per line.
  const lines = join(dir, 'kcat.txt');
  const buf = Buffer.alloc(COUNT * SIZE, 0x79);
  for (let i = 1; i <= COUNT; i++) buf[i * SIZE - 1] = 0x0a;
  writeFileSync(lines, buf);

  const best = { tp: 0, tn: 0, tc: 0, kp: 0, kc: 0 };
  for (let run = 0; run < RUNS; run++) {
    // A fresh broker per run: the mock keeps everything in memory.
    const broker = await startKafkaBroker({ topics: { tapline: PARTITIONS, nokey: PARTITIONS, kcat: PARTITIONS } });
    try {
      best.tp = Math.max(best.tp, await produceTapline(broker.bootstrap, 'tapline', msgs));
      best.tn = Math.max(best.tn, await produceTapline(broker.bootstrap, 'nokey', msgs, false));
      best.tc = Math.max(best.tc, await consumeTapline(broker.bootstrap, 'tapline', COUNT));
      const kp = await timed('kcat', ['-P', '-b', broker.bootstrap, '-t', 'kcat', '-X', 'linger.ms=5'], lines);
      best.kp = Math.max(best.kp, (COUNT / kp) * 1000);
      const kc = await timed('kcat', [
        '-C',
        '-b',
        broker.bootstrap,
        '-t',
        'kcat',
        '-o',
        'beginning',
        '-e',
        '-q',
        '-c',
        String(COUNT),
      ]);
      best.kc = Math.max(best.kc, (COUNT / kc) * 1000);
    } finally {
      await broker.close();
    }
  }
  console.log(
    `${fmt(COUNT)} messages of ${SIZE} bytes, ${PARTITIONS} partitions, best of ${RUNS}; kcat times include its start-up`,
  );
  const row = (what: string, value: number, reference: string, against: number) => ({
    what,
    value: fmt(value),
    reference: `${reference} ${fmt(against)}`,
    ratio: `${fmt(value / against, 2)}×`,
    target: `≥ ${fmt(TARGET)}`,
    ok: value >= TARGET,
  });
  printTable([
    row('produced, msg/s (acknowledged)', best.tp, 'kcat -P', best.kp),
    row('produced, --output-kafka-key none', best.tn, 'kcat -P', best.kp),
    row('consumed, msg/s (decoded)', best.tc, 'kcat -C', best.kc),
  ]);
}
