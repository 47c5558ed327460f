/**
 * `npm run bench -- kafka`: messages per second through a Kafka-protocol broker (librdkafka's mock cluster,
 * started here; not Apache Kafka), 1 KB messages (a meta line and an HTTP request padded to 1,024 bytes):
 *  - produced: tapline's Kafka output (raw format, batches, keys by id) until every message is acknowledged,
 *    with each producer client (librdkafka when its addon is built, kafkajs), interleaved within each run;
 *  - consumed: tapline's Kafka input from the oldest offset until every message has been read and decoded;
 * each next to kcat's rate on the same broker (kcat -P from a file, kcat -C to /dev/null), with the ratio.
 * Next to each rate, CPU time per message (user + system of the bench process for tapline, of the kcat
 * process through /usr/bin/time for kcat): on a shared, loaded machine it says more than the rate.
 * Each figure is the best of BENCH_RUNS (default 3); BENCH_KAFKA_MESSAGES (default 60,000; the mock keeps about
 * 5 MB per partition, so more needs more partitions) per run.
 * Target: ≥ 50,000 msg/s each way.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryLogger } from '../src/core/log.js';
import { type Message, makeMeta } from '../src/core/message.js';
import { kafkaInput } from '../src/inputs/kafka.js';
import { createConsumer, createProducer, type KafkaConnection } from '../src/kafka/client.js';
import { rdkafkaAddon } from '../src/kafka/rdkafka-producer.js';
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

/** Messages per second (wall) and CPU microseconds per message. */
interface Measured {
  rate: number;
  cpuUs: number;
}

const cpuUsSince = (from: NodeJS.CpuUsage, count: number) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / count;
};

type Client = 'librdkafka' | 'kafkajs';
const CLIENTS: Client[] = rdkafkaAddon() ? ['librdkafka', 'kafkajs'] : ['kafkajs'];

async function produceTapline(
  client: Client,
  bootstrap: string,
  topic: string,
  msgs: Message[],
  keyById = true,
): Promise<Measured> {
  const producer = createProducer(connection(bootstrap, 'bench-out'), { compression: 'none', acks: 1 }, client);
  const out = kafkaOutput(
    producer,
    { topic, format: 'raw', keyById, batchSize: 2000, lingerMs: 5, maxInFlight: 8 },
    ctx(),
  );
  await producer.connect();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const m of msgs) {
    const wait = out.write(m);
    if (wait) await wait;
  }
  await out.close();
  const ms = performance.now() - started;
  const cpuUs = cpuUsSince(cpu, msgs.length);
  const stats = out.stats!();
  if (stats.acked !== msgs.length)
    throw new Error(`tapline produced ${stats.acked}/${msgs.length} (failed ${stats.failed})`);
  return { rate: (msgs.length / ms) * 1000, cpuUs };
}

async function consumeTapline(bootstrap: string, topic: string, expected: number): Promise<Measured> {
  const conn = connection(bootstrap, 'bench-in');
  const consumer = createConsumer(conn, { topic, start: 'earliest' });
  const input = kafkaInput(consumer, { topic, format: 'raw', capacity: 16384 }, ctx());
  let n = 0;
  let started = 0;
  let cpu = process.cpuUsage();
  const deadline = setTimeout(() => void input.close(), 120_000);
  for await (const batch of input.read()) {
    if (started === 0) {
      started = performance.now(); // group join and first fetch are not throughput
      cpu = process.cpuUsage();
    }
    n += batch.length;
    if (n >= expected) break;
  }
  const ms = performance.now() - started;
  const cpuUs = cpuUsSince(cpu, expected);
  clearTimeout(deadline);
  await input.close();
  if (n < expected) {
    const lines = (conn.log as ReturnType<typeof memoryLogger>).lines.slice(-10).join('\n');
    throw new Error(`tapline consumed ${n}/${expected}: ${JSON.stringify(input.stats!())}\n${lines}`);
  }
  return { rate: (expected / ms) * 1000, cpuUs };
}

/** Runs `command` under /usr/bin/time: its rate for `count` messages (start-up included) and its CPU. */
function timed(count: number, command: string, args: string[], stdinFile?: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'BENCH_CPU %U %S', command, ...args], {
      stdio: [stdinFile ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    });
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
      const cpu = /BENCH_CPU ([\d.]+) ([\d.]+)/.exec(stderr);
      if (code === 0 && cpu) {
        const rate = (count / (performance.now() - started)) * 1000;
        resolve({ rate, cpuUs: ((Number(cpu[1]) + Number(cpu[2])) * 1e6) / count });
      } else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`));
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

  // tp/tn: produced keyed / unkeyed, per client; tc: consumed; kp/kc: kcat.
  const best: Record<string, Measured> = {};
  const keep = (which: string, m: Measured) => {
    const b = best[which] ?? { rate: 0, cpuUs: Infinity };
    best[which] = { rate: Math.max(b.rate, m.rate), cpuUs: Math.min(b.cpuUs, m.cpuUs) };
  };
  const topics: Record<string, number> = { kcat: PARTITIONS };
  for (const c of CLIENTS) {
    topics[`keyed-${c}`] = PARTITIONS;
    topics[`nokey-${c}`] = PARTITIONS;
  }
  for (let run = 0; run < RUNS; run++) {
    // A fresh broker per run: the mock keeps everything in memory.
    const broker = await startKafkaBroker({ topics });
    const b = broker.bootstrap;
    try {
      // Clients alternate (the first one changes per run), so load drifts hit both alike.
      const order = run % 2 === 0 ? CLIENTS : [...CLIENTS].reverse();
      for (const c of order) keep(`tp-${c}`, await produceTapline(c, b, `keyed-${c}`, msgs));
      for (const c of order) keep(`tn-${c}`, await produceTapline(c, b, `nokey-${c}`, msgs, false));
      keep('tc', await consumeTapline(b, `keyed-${CLIENTS[0]}`, COUNT));
      keep('kp', await timed(COUNT, 'kcat', ['-P', '-b', b, '-t', 'kcat', '-X', 'linger.ms=5'], lines));
      const consume = ['-C', '-b', b, '-t', 'kcat', '-o', 'beginning', '-e', '-q', '-c', String(COUNT)];
      keep('kc', await timed(COUNT, 'kcat', consume));
    } finally {
      await broker.close();
    }
  }
  console.log(
    `${fmt(COUNT)} messages of ${SIZE} bytes, ${PARTITIONS} partitions, best of ${RUNS}; kcat times include its start-up; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  const row = (what: string, value: Measured, reference: string, against: Measured) => ({
    what,
    value: fmt(value.rate),
    reference: `${reference} ${fmt(against.rate)}`,
    ratio: `${fmt(value.rate / against.rate, 2)}×`,
    target: `≥ ${fmt(TARGET)}`,
    ok: value.rate >= TARGET,
  });
  const [kp, kc, tc] = [best.kp!, best.kc!, best.tc!];
  printTable([
    ...CLIENTS.flatMap((c) => [
      row(`produced (${c}), msg/s (acknowledged)`, best[`tp-${c}`]!, 'kcat -P', kp),
      row(`produced (${c}), --output-kafka-key none`, best[`tn-${c}`]!, 'kcat -P', kp),
    ]),
    row('consumed, msg/s (decoded)', tc, 'kcat -C', kc),
  ]);
  const cpuRow = (what: string, value: Measured, reference: string, against: Measured) => ({
    what,
    value: `${fmt(value.cpuUs, 1)} µs`,
    reference: `${reference} ${fmt(against.cpuUs, 1)} µs`,
    ratio: `${fmt(value.cpuUs / against.cpuUs, 1)}×`,
  });
  printTable([
    ...CLIENTS.flatMap((c) => [
      cpuRow(`CPU per message produced (${c})`, best[`tp-${c}`]!, 'kcat -P', kp),
      cpuRow(`CPU per message, key none (${c})`, best[`tn-${c}`]!, 'kcat -P', kp),
    ]),
    cpuRow('CPU per message consumed', tc, 'kcat -C', kc),
  ]);
}
