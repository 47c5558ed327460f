/** Bad Kafka flags are usage errors (exit 2) naming the flag, before anything connects. */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runTapline, waitForStderr } from '../support/cli.js';
import { makeCertificate } from '../support/tls.js';
import { withEnv } from './kafka-cli.js';

const cases: [string[], RegExp][] = [
  [
    ['--output-kafka-host', '127.0.0.1:9092', '--input-dummy', 'x'],
    /--output-kafka-host: --output-kafka-host needs --output-kafka-topic/,
  ],
  [
    ['--output-kafka-host', 'nohost', '--output-kafka-topic', 't', '--input-dummy', 'x'],
    /broker "nohost" is not host:port/,
  ],
  [['--output-kafka-host', 'h:1', '--output-kafka-topic', 'a b', '--input-dummy', 'x'], /not a valid Kafka topic name/],
  [
    ['--output-kafka-host', 'h:1', '--output-kafka-topic', '..', '--input-dummy', 'x'],
    /".." is not a valid Kafka topic/,
  ],
  [
    [
      '--input-kafka-host',
      'h:1',
      '--input-kafka-topic',
      't',
      '--input-kafka-offset',
      '9223372036854775808',
      '--output-null',
    ],
    /--input-kafka-offset: "9223372036854775808": beyond the largest Kafka offset, 9223372036854775807/,
  ],
  [
    ['--input-kafka-host', 'h:1', '--input-kafka-topic', 't', '--input-kafka-offset', '-3', '--output-null'],
    /--input-kafka-offset: "-3": offsets below -2/,
  ],
  [
    ['--input-kafka-host', 'h:1', '--input-kafka-topic', 't', '--input-kafka-offset', 'abc', '--output-null'],
    /--input-kafka-offset: "abc"/,
  ],
  [
    ['--input-kafka-host', 'h:1', '--input-kafka-topic', 't', '--input-kafka-offset', '-2|5', '--output-null'],
    /only a \|N% speed/,
  ],
  [
    // A percent on input-kafka is a speed, on the offset (gor); on the host it randomly dropped messages.
    ['--input-kafka-host', 'h:1|50%', '--input-kafka-topic', 't', '--output-null', '--exit-after', '1s'],
    /--input-kafka-host h:1\|50%: \|50% on input-kafka is a replay speed, given on the offset as in gor: --input-kafka-offset '-2\|50%'/,
  ],
  [
    ['--input-kafka-host', 'h:1', '--input-kafka-topic', 't', '--kafka-tls-client-cert', 'c.pem', '--output-null'],
    /--kafka-tls-client-cert: a client certificate needs its key/,
  ],
  [
    [
      '--output-kafka-host',
      'h:1',
      '--output-kafka-topic',
      't',
      '--output-kafka-use-sasl',
      '--output-kafka-mechanism',
      'GSSAPI',
      '--input-dummy',
      'x',
    ],
    /--output-kafka-mechanism: SASL mechanism "GSSAPI"/,
  ],
  [
    [
      '--output-kafka-host',
      'h:1',
      '--output-kafka-topic',
      't',
      '--output-kafka-compression',
      'snappy',
      '--input-dummy',
      'x',
    ],
    /--output-kafka-compression: expected none or gzip/,
  ],
];

for (const [args, message] of cases) {
  test(`usage error: ${args.join(' ')}`, async () => {
    const r = await runTapline(args, { timeoutMs: 15_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
}

test('a missing CA file names the file and the flag', async () => {
  const r = await runTapline([
    '--input-kafka-host',
    'h:1',
    '--input-kafka-topic',
    't',
    '--kafka-tls-ca-cert',
    '/nonexistent/ca.pem',
    '--output-null',
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--kafka-tls-ca-cert: cannot read \/nonexistent\/ca.pem/);
});

test('TLS files that are not what the flag needs are usage errors naming the flag and the file (every message failed at run time)', async () => {
  const one = makeCertificate();
  const other = makeCertificate();
  const garbage = join(one.dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  const kafka = ['--output-kafka-host', '127.0.0.1:1', '--output-kafka-topic', 't', '--input-dummy', 'x'];
  try {
    for (const [tls, message] of [
      [['--kafka-tls-ca-cert', garbage], /--kafka-tls-ca-cert: ".*garbage\.pem" holds no PEM certificate/],
      [['--kafka-tls-ca-cert', one.key], /--kafka-tls-ca-cert: ".*key\.pem" holds no PEM certificate/],
      [
        ['--kafka-tls-client-cert', garbage, '--kafka-tls-client-key', one.key],
        /--kafka-tls-client-cert: ".*garbage\.pem" holds no PEM certificate/,
      ],
      [
        ['--kafka-tls-client-cert', one.cert, '--kafka-tls-client-key', garbage],
        /--kafka-tls-client-key: ".*garbage\.pem" is not a PEM private key/,
      ],
      [
        ['--kafka-tls-client-cert', one.cert, '--kafka-tls-client-key', other.key],
        /--kafka-tls-client-key: ".*key\.pem" is not the key of the certificate in ".*cert\.pem"/,
      ],
    ] as const) {
      const r = await runTapline([...kafka, ...tls], { timeoutMs: 15_000 });
      assert.equal(r.code, 2, `${tls.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  } finally {
    rmSync(one.dir, { recursive: true, force: true });
    rmSync(other.dir, { recursive: true, force: true });
  }
});

test('TAPLINE_KAFKA_CLIENT: librdkafka required but its addon missing is a usage error saying why; unknown values too', async () => {
  const args = ['--output-kafka-host', '127.0.0.1:1', '--output-kafka-topic', 't', '--input-dummy', 'x'];
  const missing = await withEnv(
    { TAPLINE_KAFKA_CLIENT: 'librdkafka', TAPLINE_KAFKA_ADDON: '/nonexistent/tapline_kafka.node' },
    () => runTapline(args, { timeoutMs: 15_000 }),
  );
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(
    missing.stderr,
    /TAPLINE_KAFKA_CLIENT: librdkafka cannot be used: the addon tapline_kafka.node was not built/,
  );
  const unknown = await withEnv({ TAPLINE_KAFKA_CLIENT: 'rdkafka' }, () => runTapline(args, { timeoutMs: 15_000 }));
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /TAPLINE_KAFKA_CLIENT: expected auto, librdkafka or kafkajs, got "rdkafka"/);
});

test('--exit-after stops an input whose brokers never answer at once, not after the client gives up (~40 s)', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve())); // nothing listens there now
  const r = await runTapline(
    ['--input-kafka-host', `127.0.0.1:${port}`, '--input-kafka-topic', 't', '--output-null', '--exit-after', '1s'],
    { timeoutMs: 20_000 }, // killed there (exit code null) if the stop waits for the client to give up
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped after 1\.\d\ds/);
  assert.match(r.stderr, /ECONNREFUSED/, 'the unreachable broker is said');
});

test('SASL credentials without --input-kafka-use-sasl are ignored, as in gor, but said (they were ignored in silence)', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const r = await runTapline(
    [
      '--input-kafka-host',
      `127.0.0.1:${port}`,
      '--input-kafka-topic',
      't',
      '--input-kafka-username',
      'u',
      '--input-kafka-password',
      'p',
      '--output-null',
      '--exit-after',
      '1s',
    ],
    { timeoutMs: 20_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /warning: --input-kafka-username, --input-kafka-password ignored: SASL is off without --input-kafka-use-sasl/,
  );
});

test('--output-kafka-host at a port that takes the connection and never answers: the warning asks whether it is a Kafka port', async () => {
  // librdkafka said only 'Connection setup timed out in state APIVERSION_QUERY', and the stop then waited out
  // the delivery timeout (~60 s), with nothing pointing at the port. A real TCP server that reads and never writes.
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const r = await runTapline(
      ['--input-dummy', '127.0.0.1:1', '--output-kafka-host', `127.0.0.1:${port}`, '--output-kafka-topic', 't'],
      {
        timeoutMs: 30_000,
        onStart: (child) => {
          waitForStderr(child, /APIVERSION_QUERY/, 25_000).then(
            () => {
              child.kill('SIGINT');
              setTimeout(() => child.kill('SIGINT'), 800); // the second (500 ms on): exit at once, not after the timeout
            },
            () => child.kill('SIGKILL'),
          );
        },
      },
    );
    assert.match(
      r.stderr,
      /APIVERSION_QUERY[^\n]*: the port took the connection but never answered Kafka's first request \(is it a Kafka broker's port\?\)/,
      r.stderr,
    );
    assert.equal(r.code, 130, r.stderr);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
