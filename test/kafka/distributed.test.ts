/**
 * Scale-out through Kafka (librdkafka's mock cluster, a real Kafka-protocol server, not Apache Kafka):
 * two tapline producers → one topic → two tapline replayers in one consumer group → a local HTTP target that
 * must receive every request exactly once, although the broker goes down mid-run and comes back. Run once
 * per producer client (librdkafka, kafkajs).
 *
 *   producer A (file) ─┐                       ┌─▶ replayer 1 (group "replay") ─┐
 *                      ├─▶ topic (4 partitions) ┤                               ├─▶ HTTP target
 *   producer B (file) ─┘     broker down/up     └─▶ replayer 2 (group "replay") ─┘
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sleep } from '../../src/core/async.js';
import { collect, runTapline, startTapline } from '../support/cli.js';
import { startKafkaBroker } from '../support/kafka-broker.js';
import { exchange, PRODUCER_CLIENTS, withKafkaClient, writeGor } from './kafka-cli.js';

const PER_PRODUCER = 150;

/** Resolves when `check()` holds, polling; fails after `ms` with `what`. */
async function until(check: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await sleep(50);
  }
}

for (const { client, skip } of PRODUCER_CLIENTS) {
  test(
    `two producers (${client}) → one topic → two replayers in a group: every request reaches the target exactly once across a broker outage`,
    { skip },
    () => withKafkaClient(client, () => distributedRun(client)),
  );
}

async function distributedRun(client: string): Promise<void> {
  const broker = await startKafkaBroker({ topics: { traffic: 4 } });
  const dir = await mkdtemp(join(tmpdir(), 'tapline-kafka-dist-'));
  const received = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const key = String(req.headers['x-req']);
    received.set(key, (received.get(key) ?? 0) + 1);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const replayers: ChildProcess[] = [];
  const ended: Promise<unknown>[] = [];
  const exited = ['running', 'running'];
  try {
    // Distinct X-Req values per producer, so the target can tell every request apart.
    const batch = (offset: number) =>
      Array.from({ length: PER_PRODUCER }, (_, i) =>
        exchange(offset + i, (offset + i).toString(16).padStart(24, '0')),
      ).flat();
    await writeGor(join(dir, 'a.gor'), batch(0));
    await writeGor(join(dir, 'b.gor'), batch(10_000));

    const stderr = ['', ''];
    const assignment: number[][] = [[], []];
    for (const i of [0, 1]) {
      const child = startTapline([
        '--input-kafka-host',
        broker.bootstrap,
        '--input-kafka-topic',
        'traffic',
        '--input-kafka-group',
        'replay',
        '--output-http',
        target,
        '--verbose',
        '1',
      ]);
      child.stderr!.on('data', (d: Buffer) => {
        stderr[i] += d.toString();
        for (const m of d.toString().matchAll(/joined group replay: partitions \[([\d,]*)\]/g)) {
          assignment[i] = m[1] ? m[1].split(',').map(Number) : [];
        }
      });
      replayers.push(child);
      // Collected from the start: a replayer that exits early is seen, and the cleanup never waits for a
      // 'close' event that already happened.
      ended.push(
        collect(child, 150_000).then((r) => {
          exited[i] = `exited ${r.code ?? r.signal}`;
          return r;
        }),
      );
    }
    // Both members hold partitions and together all 4, once: the group is stable.
    await until(
      () =>
        assignment[0]!.length > 0 &&
        assignment[1]!.length > 0 &&
        new Set(assignment.flat()).size === 4 &&
        assignment.flat().length === 4,
      // The mock answers a follower's SyncGroup that arrives after the leader's with INVALID_REQUEST (real
      // Kafka hands it its assignment): the replayer starts a fresh client and the crashed member holds the
      // next join up until its 10 s session expires, once or twice under load.
      60_000,
      () => `a stable group: ${JSON.stringify(assignment)} (replayers ${exited.join(', ')})\n${stderr.join('\n---\n')}`,
    );

    const produce = (file: string) =>
      runTapline(
        [
          '--input-file',
          `${join(dir, file)}|max`,
          '--output-kafka-host',
          broker.bootstrap,
          '--output-kafka-topic',
          'traffic',
          '--stats',
        ],
        {
          timeoutMs: 60_000,
        },
      );
    // The broker goes away as soon as replaying has started (A may still be producing, the replayers are
    // mid-stream) and while producer B starts; the clients retry and reconnect.
    const a = produce('a.gor');
    await until(
      () => received.size > 0,
      20_000,
      () => `the first replayed request\n${stderr.join('\n---\n')}`,
    );
    await broker.down();
    const b = produce('b.gor');
    await sleep(2_000);
    await broker.up();
    for (const r of await Promise.all([a, b])) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /"acked":300,"failed":0/, 'every message acknowledged');
      assert.match(r.stderr, new RegExp(`"client":"${client}"`));
    }

    await until(
      () => received.size === 2 * PER_PRODUCER,
      45_000,
      () => `all ${2 * PER_PRODUCER} requests (got ${received.size})\n${stderr.join('\n---\n')}`,
    );
    await sleep(1_000); // late duplicates would show up here
    const duplicates = [...received].filter(([, n]) => n > 1);
    assert.deepEqual(duplicates, [], 'requests replayed more than once');
    for (let i = 0; i < PER_PRODUCER; i++) {
      assert.equal(received.get(String(i)), 1);
      assert.equal(received.get(String(10_000 + i)), 1);
    }
  } finally {
    for (const c of replayers) c.kill('SIGINT');
    const killer = setTimeout(() => {
      for (const c of replayers) c.kill('SIGKILL');
    }, 15_000);
    await Promise.all(ended);
    clearTimeout(killer);
    await broker.close();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  }
}
