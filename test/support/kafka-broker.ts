/**
 * Starts librdkafka's mock cluster (test/support/kafka-broker.c) for a test: a real Kafka-protocol server on
 * 127.0.0.1 with ephemeral ports, not Apache Kafka. The C helper is compiled once per source version into a
 * cache directory (gcc + Debian librdkafka-dev) and started per test; it dies with its stdin, so a crashed
 * test leaves no broker behind.
 *
 *   test ──stdin "down all" / "up all" / "topic t 4" / "missing t"──▶ kafka-broker ──stdout "ok"──▶ test
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { REPO_ROOT } from './corpus.js';

const SOURCE = join(REPO_ROOT, 'test', 'support', 'kafka-broker.c');
const HEADER = '/usr/include/librdkafka/rdkafka_mock.h';

export interface KafkaBroker {
  /** `127.0.0.1:port,127.0.0.1:port`: what --output-kafka-host takes. */
  readonly bootstrap: string;
  /** Make brokers unavailable (connections closed and refused), all of them by default. */
  down(broker?: number | 'all'): Promise<void>;
  up(broker?: number | 'all'): Promise<void>;
  createTopic(name: string, partitions: number): Promise<void>;
  /** The next request of API `apiKey` (Kafka's numbering: 14 SyncGroup, 0 Produce...) fails with `errorCode`. */
  failNext(apiKey: number, errorCode: number): Promise<void>;
  /**
   * The topic does not exist and is not created on demand (a Kafka with auto.create.topics.enable=false):
   * Metadata answers UNKNOWN_TOPIC_OR_PARTITION (3) for it. Produce/Fetch errors: `failNext(0 or 1, 3)`.
   */
  missingTopic(name: string): Promise<void>;
  /**
   * The next request of API `apiKey` (on each broker) is handled as usual, a Produce appended, and answered `ms`
   * later: a client whose request times out meanwhile sends it again (a lost acknowledgement).
   */
  delayNext(apiKey: number, ms: number): Promise<void>;
  close(): Promise<void>;
}

let built: Promise<string> | undefined;

/** Compiles the helper once per source version (cached across runs in the temp directory). */
export function buildKafkaBroker(): Promise<string> {
  built ??= (async () => {
    if (!existsSync(HEADER)) {
      throw new Error(`${HEADER} is missing: install Debian's librdkafka-dev (apt-get install librdkafka-dev kcat)`);
    }
    const source = await readFile(SOURCE);
    const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
    const dir = join(tmpdir(), 'tapline-kafka-broker');
    const binary = join(dir, `kafka-broker-${hash}`);
    if (existsSync(binary)) return binary;
    await mkdir(dir, { recursive: true });
    const partial = `${binary}.${process.pid}.tmp`;
    await promisify(execFile)('gcc', ['-O2', '-Wall', '-o', partial, SOURCE, '-lrdkafka'], { timeout: 60_000 });
    await rename(partial, binary); // atomic: parallel test files never run a half-written binary
    return binary;
  })();
  return built;
}

export async function startKafkaBroker(
  options: { brokers?: number; topics?: Record<string, number> } = {},
): Promise<KafkaBroker> {
  const binary = await buildKafkaBroker();
  const topics = Object.entries(options.topics ?? {}).map(([t, n]) => `${t}:${n}`);
  const child = spawn(binary, [String(options.brokers ?? 1), ...topics], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const nextLine = (what: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`kafka-broker: no answer to ${what}; stderr: ${stderr}`)),
        10_000,
      );
      const onExit = () => reject(new Error(`kafka-broker exited during ${what}; stderr: ${stderr}`));
      child.once('exit', onExit);
      waiting.push((line) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(line);
      });
    });
  const bootstrap = await nextLine('start');
  let queue = Promise.resolve();
  const command = (text: string) => {
    const run = queue.then(async () => {
      const answer = nextLine(text);
      child.stdin!.write(`${text}\n`);
      const line = await answer;
      if (line !== 'ok') throw new Error(`kafka-broker: ${text}: ${line}`);
    });
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    bootstrap,
    down: (b = 'all') => command(`down ${b}`),
    up: (b = 'all') => command(`up ${b}`),
    createTopic: (name, partitions) => command(`topic ${name} ${partitions}`),
    failNext: (apiKey, errorCode) => command(`fail ${apiKey} ${errorCode}`),
    missingTopic: (name) => command(`missing ${name}`),
    delayNext: (apiKey, ms) => command(`delay ${apiKey} ${ms}`),
    close: () => stop(child),
  };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin!.end();
  });
}
