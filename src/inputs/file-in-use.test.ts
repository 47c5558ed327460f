/**
 * A run must not write the file it reads (file-in-use.ts): it would read its own output back without end,
 * as `cat f >> f`. Through the CLI, since the input and the output only meet there.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runTapline } from '../../test/support/cli.js';
import { SEPARATOR } from '../core/gor-format.js';
import {
  fileIdentity,
  isBeingRead,
  isBeingWritten,
  startReading,
  startWriting,
  wasWritten,
  watchOwnOutputs,
} from './file-in-use.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-in-use-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function recordsFile(path: string, n: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(Buffer.from(`1 ${i.toString(16).padStart(24, '0')} ${1_700_000_000_000_000_000n + BigInt(i)} 0\n`));
    parts.push(Buffer.from(`GET /in-use/${i} HTTP/1.1\r\nHost: x\r\n\r\n`), SEPARATOR);
  }
  const bytes = Buffer.concat(parts);
  writeFileSync(path, bytes);
  return bytes;
}

describe('reading and writing the same file', () => {
  it('an --output-file that is the --input-file (by another name too) is refused: exit 1, the file unchanged', async () => {
    const file = join(dir, 'same.gor');
    const bytes = recordsFile(file, 300);
    const link = join(dir, 'link.gor');
    symlinkSync(file, link);
    for (const [input, output] of [
      [`${file}|max`, file],
      [file, link],
    ]) {
      const r = await runTapline(['--input-file', input!, '--output-file', output!, '--output-file-append'], {
        timeoutMs: 20_000,
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot write to the file --input-file is reading/);
      assert.equal(statSync(file).size, bytes.length, 'the input file was written to');
    }
  });

  it('a glob read again by --input-file-loop that matches the chunk being written is refused', async () => {
    const sub = mkdtempSync(join(dir, 'loop-'));
    recordsFile(join(sub, 'out_0.gor'), 50);
    // Without the check each pass reads every chunk written so far: twice the records each time.
    const r = await runTapline(
      [
        '--input-file',
        `${join(sub, 'out*.gor')}|max`,
        '--input-file-loop',
        '--output-file',
        join(sub, 'out.gor'),
        '--output-file-queue-limit',
        '0',
        '--exit-after',
        '5s',
      ],
      { timeoutMs: 20_000 },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /out_1\.gor is the file --output-file is writing/);
    assert.deepEqual(readdirSync(sub).sort(), ['out_0.gor', 'out_1.gor']);
    // Passes before the output opened its chunk read out_0.gor alone (the output opens on its first write).
    const passes = statSync(join(sub, 'out_1.gor')).size / statSync(join(sub, 'out_0.gor')).size;
    assert.ok(Number.isInteger(passes) && passes >= 1 && passes <= 5, `out_1.gor holds ${passes} passes`);
  });

  it('a glob read again by --input-file-loop that matches a chunk this run has closed is refused', async () => {
    const sub = mkdtempSync(join(dir, 'closed-'));
    recordsFile(join(sub, 'in.gor'), 20);
    // A chunk a record: the chunk being written is seldom the one a pass lists. Without the check each pass read
    // every closed chunk again (20, 40, 80, … records a pass, no word, exit 0 at --exit-after).
    const r = await runTapline(
      [
        '--input-file',
        `${join(sub, '*.gor')}|max`,
        '--input-file-loop',
        '--output-file',
        join(sub, 'out.gor'),
        '--output-file-queue-limit',
        '1',
        '--exit-after',
        '3s',
      ],
      { timeoutMs: 20_000 },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /out_\d+\.gor was written by this run's --output-file: pass \d+ of --input-file-loop would replay the run's own output/,
    );
    const passes = Number(/passes (\d+)/.exec(r.stderr)?.[1]);
    const written = Number(/(\d+) written/.exec(r.stderr)?.[1]);
    assert.equal(written, 20 * passes, `each pass read in.gor alone: ${r.stderr}`);
  });

  it('an output file copied from the input (another inode) is written as usual', async () => {
    const file = join(dir, 'source.gor');
    const bytes = recordsFile(file, 20);
    const copy = join(dir, 'copy.gor');
    copyFileSync(file, copy);
    const r = await runTapline(['--input-file', file, '--output-file', copy, '--output-file-append'], {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(copy).size, 2 * bytes.length);
  });

  it('registrations are counted and undone once', () => {
    const key = fileIdentity({ dev: 1n, ino: 2n });
    const a = startReading(key);
    const b = startReading(key);
    a();
    a();
    assert.equal(isBeingRead(key), true);
    b();
    assert.equal(isBeingRead(key), false);
    const w = startWriting(key);
    assert.equal(isBeingWritten(key), true);
    w();
    assert.equal(isBeingWritten(key), false);
    assert.equal(wasWritten(key), false, 'remembered only while an input loops');
    const unwatch = watchOwnOutputs();
    startWriting(key, 7n)();
    assert.equal(wasWritten(key, 7n), true, "closed, still this run's output");
    assert.equal(wasWritten(key, 8n), false, 'the inode number given to a file born later');
    unwatch();
    assert.equal(wasWritten(key, 7n), false);
  });
});
