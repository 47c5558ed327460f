import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Message, makeMeta } from '../core/message.js';
import { encodeHexLines, formatHexLine, HexLineDecoder } from './hex-lines.js';

const msg = (type: string, id: string, data: Buffer | string, extra: string[] = []): Message => ({
  meta: makeMeta({ type, id, timestampNs: 1_700_000_000_123_456_789n, latencyNs: 42n, extra }),
  data: typeof data === 'string' ? Buffer.from(data) : data,
});

const sample: Message[] = [
  msg('1', 'ab', 'GET / HTTP/1.1\r\n\r\n'),
  msg('2', 'ab', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'),
  msg('3', '0123456789abcdef01234567', Buffer.from([0, 10, 13, 10, 255, 0x0a, 0x30]), ['x', 'y']),
];

const flat = (ms: readonly Message[]) => ms.map((m) => [m.meta.line, m.data.toString('hex')]);

function decodeIn(chunks: Buffer[], max = 0) {
  const d = new HexLineDecoder(max);
  const messages: Message[] = [];
  const problems: string[] = [];
  let empty = 0;
  for (const r of [...chunks.map((c) => d.push(c)), d.end()]) {
    messages.push(...r.messages);
    problems.push(...r.problems.map((p) => `${p.kind}@${p.line}: ${p.message}`));
    empty += r.empty;
  }
  return { messages, problems, empty };
}

describe('hex lines', () => {
  it('encodes as gor does (spec §4.2 example)', () => {
    const m = {
      meta: makeMeta({ type: '1', id: 'ab', timestampNs: 5n, latencyNs: -1n }),
      data: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
    };
    assert.equal(formatHexLine(m), '312061622035202d310a474554202f20485454502f312e310d0a0d0a\n');
  });

  it('round-trips messages split at every offset', () => {
    const wire = Buffer.concat(encodeHexLines(sample));
    for (let cut = 0; cut <= wire.length; cut++) {
      const got = decodeIn([wire.subarray(0, cut), wire.subarray(cut)]);
      assert.deepEqual(got.problems, [], `cut ${cut}`);
      assert.deepEqual(flat(got.messages), flat(sample), `cut ${cut}`);
    }
  });

  it('round-trips a 3 MB message fed in odd-sized chunks, and groups writes near 1 MB', () => {
    const big = msg('1', 'big', Buffer.alloc(3_000_001, 0x61));
    const bufs = encodeHexLines([sample[0]!, big, sample[1]!]);
    assert.equal(bufs.length, 3, 'the big line gets a write of its own');
    const wire = Buffer.concat(bufs);
    const chunks: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 65_537) chunks.push(wire.subarray(i, i + 65_537));
    const got = decodeIn(chunks);
    assert.deepEqual(got.problems, []);
    assert.deepEqual(flat(got.messages), flat([sample[0]!, big, sample[1]!]));
  });

  it('accepts upper-case hex and skips empty lines (counted)', () => {
    const line = formatHexLine(sample[0]!).toUpperCase();
    const got = decodeIn([Buffer.from(`\n${line}\n`)]);
    assert.deepEqual(flat(got.messages), flat([sample[0]!]));
    assert.equal(got.empty, 2);
  });

  it('reports each bad line with its number and keeps the good ones', () => {
    const good = formatHexLine(sample[0]!);
    const lines = [
      good,
      'zz11\n', // 2 not hex
      '313\n', // 3 odd length
      `${good.slice(0, -1)}\r\n`, // 4 CRLF
      `${Buffer.from('GET / HTTP/1.1').toString('hex')}\n`, // 5 no meta line
      `${Buffer.from('1 a 2\n').toString('hex')}\n`, // 6 meta but no payload
      `${Buffer.from('1 a\nGET / HTTP/1.1\r\n\r\n').toString('hex')}\n`, // 7 meta with 2 fields
      good,
      '3120', // 9 truncated (no LF at the end)
    ].join('');
    const wire = Buffer.from(lines);
    for (const size of [wire.length, 7, 3, 1]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < wire.length; i += size) chunks.push(wire.subarray(i, i + size));
      const got = decodeIn(chunks);
      assert.equal(got.messages.length, 2, `chunk ${size}`);
      assert.deepEqual(
        got.problems.map((p) => p.split(':')[0]),
        ['not-hex@2', 'odd-length@3', 'crlf@4', 'no-meta@5', 'no-payload@6', 'bad-meta@7', 'odd-length@9'],
        `chunk ${size}: ${got.problems.join('\n')}`,
      );
      assert.match(got.problems[6]!, /line 9 is truncated: the output ended after 4 hex digits/);
    }
    assert.match(decodeIn([wire]).problems[0]!, /line 2 is not hex at column 1: "zz11"/);
  });

  it('names whitespace around a line, at its column, rather than an odd number of digits (short and long lines)', () => {
    const hex = formatHexLine(sample[0]!).slice(0, -1);
    const long = formatHexLine(msg('1', 'x', Buffer.alloc(100_000, 0x62))).slice(0, -1);
    const wire = Buffer.from(`  ${hex} \n${hex} \n${hex}3 \n${long} \n`);
    for (const size of [wire.length, 65_536, 7]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < wire.length; i += size) chunks.push(wire.subarray(i, i + size));
      const got = decodeIn(chunks);
      assert.equal(got.messages.length, 0);
      const whitespace = /whitespace is not allowed anywhere in a line, as in gor/;
      assert.deepEqual(
        got.problems.map((p) => p.match(/line \d+ is not hex at column \d+/)?.[0]),
        [
          'line 1 is not hex at column 1',
          `line 2 is not hex at column ${hex.length + 1}`,
          `line 3 is not hex at column ${hex.length + 2}`,
          `line 4 is not hex at column ${long.length + 1}`,
        ],
        `chunk ${size}: ${got.problems.join('\n')}`,
      );
      for (const p of got.problems) assert.match(p, whitespace);
    }
  });

  it('names the column of a bad digit inside a long line', () => {
    const hex = formatHexLine(msg('1', 'x', Buffer.alloc(100_000, 0x62)));
    const broken = Buffer.from(`${hex.slice(0, 150_000)}qq${hex.slice(150_002)}`);
    const got = decodeIn([broken.subarray(0, 70_000), broken.subarray(70_000)]);
    assert.equal(got.messages.length, 0);
    assert.match(got.problems[0]!, /line 1 is not hex at column 150001: "qq/);
  });

  it('passes on a message whose timestamp is not a number, naming its line (short and long lines alike)', () => {
    const odd = `${Buffer.from('1 ab zz -1\nGET / HTTP/1.1\r\n\r\n').toString('hex')}\n`;
    const long = `${Buffer.from(`9 cd ts\n${'x'.repeat(50_000)}`).toString('hex')}\n`;
    const wire = Buffer.from(formatHexLine(sample[0]!) + odd + formatHexLine(sample[1]!) + long);
    const d = new HexLineDecoder();
    const results = [d.push(wire.subarray(0, 300)), d.push(wire.subarray(300)), d.end()];
    assert.equal(results.flatMap((r) => r.messages).length, 4);
    assert.deepEqual(
      results.flatMap((r) => r.badTimestamps),
      [
        { line: 2, meta: '1 ab zz -1' },
        { line: 4, meta: '9 cd ts' },
      ],
    );
  });

  it('refuses a message over the size limit without keeping it in memory', () => {
    const wire = Buffer.from(formatHexLine(msg('1', 'x', Buffer.alloc(5000))) + formatHexLine(sample[0]!));
    const got = decodeIn([wire.subarray(0, 4000), wire.subarray(4000)], 1000);
    assert.deepEqual(flat(got.messages), flat([sample[0]!]));
    assert.match(
      got.problems[0]!,
      /too-large@1: line 1 decodes to more than \d+ bytes, over --middleware-max-size \(1000\)/,
    );
  });
});
