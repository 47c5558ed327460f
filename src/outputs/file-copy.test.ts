/**
 * Kernel copies of raw runs (file-copy.ts, native/src/file_copy.cc): the addon's copyRange never throws or
 * crashes on any arguments, copies exactly the range asked for, and a copy to a file the kernel cannot copy
 * to (another file system, a device) falls back to writing, with the same bytes and errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { collect, startTapline } from '../../test/support/cli.js';
import { SEPARATOR } from '../core/gor-format.js';
import { fileAddon } from '../core/gor-format-native.js';
import { KernelCopy, markFileBytes } from './file-copy.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-file-copy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const addon = fileAddon();
const skip = addon?.copyRange ? false : 'the file addon (with copyRange) is not built';

function copyRange(inFd: unknown, inOffset: unknown, outFd: unknown, length: unknown): Promise<[number, number]> {
  return new Promise((resolve) =>
    (addon!.copyRange as (...a: unknown[]) => void)(inFd, inOffset, outFd, length, (e: number, n: number) =>
      resolve([e, n]),
    ),
  );
}

/** A `.gor` file of `n` records, ~1 KiB each. */
function gorFile(path: string, n: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(Buffer.from(`1 ${i.toString(16)} ${1_600_000_000_000_000_000n + BigInt(i) * 1000n}\n`, 'latin1'));
    parts.push(Buffer.alloc(600 + (i % 800), 0x61 + (i % 26)), SEPARATOR);
  }
  const bytes = Buffer.concat(parts);
  writeFileSync(path, bytes);
  return bytes;
}

describe('copyRange (native)', { skip }, () => {
  it('any arguments: a callback with numbers, never a throw or a crash (fast-check)', async () => {
    const src = join(dir, 'src.bin');
    writeFileSync(src, Buffer.alloc(10_000, 7));
    const inFd = openSync(src, 'r');
    const outPath = join(dir, 'dst.bin');
    const outFd = openSync(outPath, 'w');
    const anything = fc.oneof(
      fc.integer({ min: -5, max: 100_000 }),
      fc.constantFrom(inFd, outFd, 0, 1, 2, -1, 2 ** 31, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, 1.5),
      fc.double(),
      fc.string(),
      fc.constant(undefined),
      fc.constant(null),
      fc.object(),
    );
    try {
      await fc.assert(
        fc.asyncProperty(anything, anything, anything, anything, async (a, b, c, d) => {
          const [errno, copied] = await copyRange(a, b, c, d);
          assert.equal(typeof errno, 'number');
          assert.equal(typeof copied, 'number');
          assert.ok(copied >= 0 && copied <= 10_000);
        }),
        { numRuns: 300 },
      );
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
    assert.throws(() => (addon!.copyRange as (...a: unknown[]) => void)(1, 2, 3, 4), TypeError);
  });

  it('copies exactly [offset, offset + length) to the end of the output; short at the end of the input', async () => {
    const src = join(dir, 'ranges.bin');
    const bytes = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31) & 0xff));
    writeFileSync(src, bytes);
    const inFd = openSync(src, 'r');
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 0, max: 60_000 }), async (at, n) => {
          const out = join(dir, 'ranges.out');
          writeFileSync(out, 'head');
          const outFd = openSync(out, 'r+');
          try {
            const [errno, copied] = await copyRange(inFd, at, outFd, n);
            assert.equal(errno, 0);
            assert.equal(copied, Math.min(n, 50_000 - at));
            assert.ok(readFileSync(out).equals(Buffer.concat([Buffer.from('head'), bytes.subarray(at, at + n)])));
          } finally {
            closeSync(outFd);
          }
        }),
        { numRuns: 60 },
      );
    } finally {
      closeSync(inFd);
    }
  });

  it('copyQueueAdd: any arguments give true or false, never a throw or a crash (fast-check)', async () => {
    const src = join(dir, 'q.bin');
    writeFileSync(src, Buffer.alloc(5000, 9));
    const inFd = openSync(src, 'r');
    const outPath = join(dir, 'q.out');
    const outFd = openSync(outPath, 'w');
    const queue = addon!.copyQueue!();
    const reports: [number, number, number][] = [];
    const progress = (seq: number, errno: number, copied: number) => reports.push([seq, errno, copied]);
    const anything = fc.oneof(
      fc.integer({ min: -5, max: 6000 }),
      fc.constantFrom(inFd, outFd, -1, 2 ** 31, 2 ** 53, Number.NaN, 1.5),
      fc.string(),
      fc.constant(null),
      fc.constant(queue),
      fc.constant({}),
    );
    const add = addon!.copyQueueAdd as unknown as (...a: unknown[]) => unknown;
    try {
      fc.assert(
        fc.property(anything, anything, anything, anything, anything, anything, (q, s, a, b, c, d) => {
          assert.equal(typeof add(q, s, a, b, c, d, progress), 'boolean');
        }),
        { numRuns: 300 },
      );
      // Good arguments are queued and reported, each with its own sequence number.
      // (a fresh queue: a random copy above may have failed, and a queue stops at its first failure)
      assert.equal(add(addon!.copyQueue!(), 1_000_001, inFd, 0, outFd, 100, progress), true);
      const deadline = Date.now() + 5000;
      while (!reports.some((r) => r[0] === 1_000_001) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      assert.ok(
        reports.some((r) => r[0] === 1_000_001),
        'the copy was reported',
      );
    } finally {
      await new Promise((r) => setTimeout(r, 50));
      closeSync(inFd);
      closeSync(outFd);
    }
  });

  it('an O_APPEND descriptor is refused with EBADF (the output opens a second one)', async () => {
    const src = join(dir, 'a.bin');
    writeFileSync(src, 'abcdef');
    const inFd = openSync(src, 'r');
    const outFd = openSync(join(dir, 'a.out'), 'a');
    try {
      assert.deepEqual(await copyRange(inFd, 0, outFd, 3), [9, 0]); // EBADF
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
  });
});

describe('KernelCopy', { skip }, () => {
  const idOf = (path: string) => {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  };

  it('an input path replaced by another file between copies: each part comes from the file it was read from', async () => {
    const input = join(dir, 'replaced.gor');
    writeFileSync(input, 'A'.repeat(8192));
    const first = { path: input, id: idOf(input), offset: 0 };
    const outPath = join(dir, 'replaced.out');
    writeFileSync(outPath, '');
    const fd = openSync(outPath, 'a');
    const copy = new KernelCopy(outPath, fd);
    const writev = copy.fs().writev as (fd: number, bufs: Buffer[], pos: null, cb: (e: unknown) => void) => void;
    const write = (part: Buffer) => new Promise<unknown>((resolve) => writev(fd, [part], null, resolve));
    try {
      const a = Buffer.from('A'.repeat(4096));
      markFileBytes(a, first);
      assert.equal(await write(a), null); // the first copy, awaited: the next ones are queued
      // The path now names another file (as a file rewritten between two --input-file-loop passes).
      writeFileSync(`${input}.new`, 'B'.repeat(8192));
      renameSync(`${input}.new`, input);
      const b = Buffer.from('B'.repeat(4096));
      markFileBytes(b, { path: input, id: idOf(input), offset: 4096 });
      assert.equal(await write(b), null);
      await copy.close();
      assert.equal(readFileSync(outPath, 'latin1'), 'A'.repeat(4096) + 'B'.repeat(4096));
    } finally {
      closeSync(fd);
    }
  });
});

describe('copies through the CLI', { skip }, () => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return await collect(startTapline(args), 30_000);
    } finally {
      for (const k of Object.keys(env)) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  };

  it('a copy that appends: byte for byte with kernel copies and with TAPLINE_FILE_COPY=off', async () => {
    const src = join(dir, 'in.gor');
    // ~12 MiB: mapped reads, raw runs, several runs queued at once (contiguous ones become one copy)
    const bytes = gorFile(src, 12_000);
    for (const env of [{}, { TAPLINE_COPY_QUEUE: 'off' }, { TAPLINE_FILE_COPY: 'off' }] as Record<string, string>[]) {
      const out = join(dir, 'copy.gor');
      writeFileSync(out, 'existing\n');
      const res = await run(['--input-file', `${src}|max`, '--output-file', out, '--output-file-append'], env);
      assert.equal(res.code, 0, res.stderr);
      assert.ok(readFileSync(out).equals(Buffer.concat([Buffer.from('existing\n'), bytes])), JSON.stringify(env));
    }
  });

  it('to another file system (/dev/shm) the bytes are the same (copied or written)', async (t) => {
    if (!existsSync('/dev/shm')) return t.skip('no /dev/shm');
    const src = join(dir, 'in2.gor');
    const bytes = gorFile(src, 3000);
    const shm = mkdtempSync('/dev/shm/tapline-copy-');
    try {
      const out = join(shm, 'copy.gor');
      const res = await run(['--input-file', `${src}|max`, '--output-file', out, '--output-file-append']);
      assert.equal(res.code, 0, res.stderr);
      assert.ok(readFileSync(out).equals(bytes));
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('a disk that fills up while runs are queued for the copy: the error names the output, ENOSPC and what was not written', async (t) => {
    // A small tmpfs of our own, so that the input and the output share a file system the kernel copies within
    // and that fills up after the first copies (needs root, as the capture tests do).
    const mnt = mkdtempSync(join(tmpdir(), 'tapline-small-fs-'));
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt]).status !== 0) {
      rmSync(mnt, { recursive: true, force: true });
      return t.skip('cannot mount a tmpfs here (needs root)');
    }
    try {
      const src = join(mnt, 'in.gor');
      const bytes = gorFile(src, 12_000); // ~12 MiB: the 20 MiB file system fills up part-way through the copy
      const out = join(mnt, 'copy.gor');
      const res = await run(['--input-file', `${src}|max`, '--output-file', out, '--output-file-append']);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, new RegExp(`${out}.*no space left on device \\(ENOSPC\\)`));
      assert.match(res.stderr, /\d+ bytes of records handed to the file were not written/);
      const written = statSync(out).size;
      assert.ok(written > 2 * 1024 * 1024 && written < bytes.length, `${written} of ${bytes.length} bytes written`);
      // What is in the file is the input's beginning, byte for byte.
      assert.ok(readFileSync(out).equals(bytes.subarray(0, written)));
    } finally {
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('a full device: the error names the output and ENOSPC', async () => {
    const src = join(dir, 'in3.gor');
    gorFile(src, 3000);
    const res = await run(['--input-file', `${src}|max`, '--output-file', '/dev/full', '--output-file-append']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /\/dev\/full/);
    assert.match(res.stderr, /ENOSPC|no space/i);
  });
});
