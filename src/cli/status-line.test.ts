import assert from 'node:assert/strict';
import { it } from 'node:test';
import { StatusLine } from './status-line.js';

function fakeTty(): NodeJS.WriteStream & { text: string } {
  const s = {
    text: '',
    columns: 120,
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

/** A status line on a terminal of type `term`, a few redraws, a log line, the end: what the terminal got. */
async function drawOn(term: string): Promise<string> {
  const tty = fakeTty();
  const line = new StatusLine(tty, () => ({ records: 5000, bytesRead: 1 << 20, bytesTotal: 4 << 20 }), 10, term);
  line.start();
  await new Promise((r) => setTimeout(r, 40));
  line.write('tapline: warning: something');
  line.stop();
  return tty.text;
}

it('draws records, bytes, rate and ETA in place, and prints log lines above it', async () => {
  const text = await drawOn('xterm');
  assert.match(text, /\r\x1b\[Ktapline: 25% 5,000 records, 1\.00 MiB, [\d,]+ rec\/s, ETA \d+:\d\d/);
  assert.match(text, /\r\x1b\[Ktapline: warning: something\n/);
  assert.ok(text.endsWith('\r\x1b[K'), 'the line is cleared at the end');
});

it('draws nothing on a terminal that cannot erase a line (TERM=dumb): log lines pass as they are', async () => {
  assert.equal(await drawOn('dumb'), 'tapline: warning: something\n');
});
