/**
 * How an --output-http replay stops (http-stop-bound.ts StopBound), under each client: a stop takes about one
 * --output-http-timeout whatever the queue. At the end of the input a target that still answers is waited for;
 * one that no longer answers is given up after one timeout, and on SIGINT what is not answered one timeout
 * after the stop is given up. What is given up is counted (not sent at stop, unanswered at stop), said, and the
 * run exits 1. Before, a target that never answered made the stop wait each queued request's timeout in turn.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import { httpOutput } from '../../src/outputs/http.js';
import { collect, startTapline, waitForStderr } from '../support/cli.js';
import { arrayInput, forEachClient, rawServer, requestMessage, runPipeline, writeGorFile } from './replay-support.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-replay-stop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const requests = (n: number) =>
  Array.from({ length: n }, (_, i) => requestMessage(`GET /s/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));

forEachClient(() => {
  test('end of input, a target that never answers: given up after one timeout, counted and said', async () => {
    const server = await rawServer(() => {});
    try {
      const log = memoryLogger();
      // One connection, 12 requests: waiting each one's timeout in turn would be 12 timeouts.
      const out = httpOutput(server.url, { workers: 1, timeoutMs: 300, log });
      const summary = await runPipeline([arrayInput(requests(12), 12)], [out]);
      const s = summary.outputs[0]!.stats!;
      const notSent = Number(s.not_sent_at_stop);
      const cutOff = Number(s.unanswered_at_stop);
      assert.ok(notSent >= 9, `not sent at stop ${notSent}: ${JSON.stringify(s)}`);
      assert.equal(Number(s.error_timeout) + cutOff + notSent, 12, 'every request accounted for');
      assert.ok(server.requests.length < 12, 'the queue was not sent');
      const said = log.lines.filter((l) => l.includes('given up'));
      assert.equal(said.length, 1, log.lines.join('\n'));
      assert.match(
        said[0]!,
        new RegExp(
          `no answer within --output-http-timeout 300ms after the end of the input, ${notSent + cutOff} requests ` +
            `given up \\(${notSent} never sent, ${cutOff} sent and not answered`,
        ),
      );
    } finally {
      await server.close();
    }
  });

  test('end of input, a slow target that answers: waited for past one timeout, nothing given up', async () => {
    // Each answer takes half the timeout; six in turn take three timeouts.
    const server = await rawServer((_req, socket) => {
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 150);
    });
    try {
      const out = httpOutput(server.url, { workers: 1, timeoutMs: 300 });
      const summary = await runPipeline([arrayInput(requests(6), 6)], [out]);
      const s = summary.outputs[0]!.stats!;
      assert.equal(s.responses, 6, JSON.stringify(s));
      assert.equal(s.not_sent_at_stop ?? 0, 0);
      assert.equal(s.unanswered_at_stop ?? 0, 0);
    } finally {
      await server.close();
    }
  });

  test('SIGINT with a target that never answers: the stop takes one timeout, the rest counted, exit 1', async () => {
    const server = await rawServer(() => {});
    try {
      const file = writeGorFile(join(dir, 'many.gor'), 3000);
      const http = { workers: '1', 'queue-len': '100', timeout: '1s' };
      const child = startTapline([
        ...['--input-file', `${file}|max`, '--output-http', server.url],
        ...Object.entries(http).flatMap(([k, v]) => [`--output-http-${k}`, v]),
        ...['--stats', '--stats-interval', '100ms'],
      ]);
      // Waiting each queued request's timeout in turn would take 100 s.
      const done = collect(child, 30_000);
      await waitForStderr(child, /output-http/);
      child.kill('SIGINT');
      const res = await done;
      assert.equal(res.signal, null, res.stderr);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /--output-http-timeout 1s has passed since the stop, \d+ requests given up/);
      const line = /output-http\([^)]*\): (\d+) written; requests (\d+).*?not sent at stop (\d+)/.exec(res.stderr);
      assert.ok(line, res.stderr);
      const [written, finished, notSent] = [Number(line[1]), Number(line[2]), Number(line[3])];
      assert.ok(notSent >= 90, `not sent at stop ${notSent}`);
      const cutOff = Number(/unanswered at stop (\d+)/.exec(res.stderr)?.[1] ?? 0);
      assert.equal(finished + notSent + cutOff, written, 'every request taken is accounted for');
      assert.match(
        res.stderr,
        new RegExp(`error: output-http\\([^)]*\\): ${notSent + cutOff} message\\(s\\) not delivered`),
      );
    } finally {
      await server.close();
    }
  });
});
