import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { makeMeta } from '../core/message.js';
import { globSync } from '../inputs/file-glob.js';
import {
  ChunkNamer,
  chunkName,
  chunksBesideSpecialFile,
  cleanPath,
  compileTemplate,
  fileExt,
  getFileIndex,
  INSTANCE_ID,
  placeholderLostToChunkNumber,
  setFileIndex,
  sortByFileIndex,
  unknownPlaceholders,
} from './file-naming.js';

const msg = (type: string, id: string) => ({
  meta: makeMeta({ type, id, timestampNs: 1n, latencyNs: 0n }),
  data: Buffer.from('x'),
});

describe('chunk index rules (gor output_file_test)', () => {
  it('getFileIndex', () => {
    const table: [string, number][] = [
      ['/tmp/logs', -1],
      ['/tmp/logs_1', 1],
      ['/tmp/logs_2.gz', 2],
      ['/tmp/logs_0.gz', 0],
      ['/tmp/logs_underscores.gz', -1],
      ['/tmp/x.gor_7.gz', 7],
      ['/tmp/logs_+3.gor', 3], // strconv.Atoi accepts a sign
    ];
    for (const [name, want] of table) assert.equal(getFileIndex(name), want, name);
  });

  it('setFileIndex', () => {
    const table: [string, number, string][] = [
      ['/tmp/logs', 0, '/tmp/logs_0'],
      ['/tmp/logs.gz', 1, '/tmp/logs_1.gz'],
      ['/tmp/logs_1.gz', 0, '/tmp/logs_0.gz'],
      ['/tmp/logs_0', 10, '/tmp/logs_10'],
      ['/tmp/logs_0.gz', 10, '/tmp/logs_10.gz'],
      ['/tmp/logs_underscores.gz', 10, '/tmp/logs_underscores_10.gz'],
      ['/tmp/requests.gor.gz', 0, '/tmp/requests.gor_0.gz'],
      ['/tmp/a.b/logs', 2, '/tmp/a.b/logs_2'],
    ];
    for (const [name, idx, want] of table) assert.equal(setFileIndex(name, idx), want, name);
  });

  it('sorts names by their index when they are equal without it', () => {
    assert.deepEqual(sortByFileIndex(['2016_0', '2014_10', '2015_0', '2015_10', '2015_2']), [
      '2014_10',
      '2015_0',
      '2015_2',
      '2015_10',
      '2016_0',
    ]);
  });

  it('Go filepath.Ext', () => {
    assert.equal(fileExt('/tmp/x.gor.gz'), '.gz');
    assert.equal(fileExt('/tmp/a.b/logs'), '');
    assert.equal(fileExt('logs.'), '.');
  });
});

describe('chunkName (spec §6.2)', () => {
  const lister = (existing: string[]) => (pattern: string) => {
    const star = pattern.indexOf('*');
    const [pre, post] = [pattern.slice(0, star), pattern.slice(star + 1)];
    return existing.filter((f) => f.startsWith(pre) && f.endsWith(post) && f.length >= pre.length + post.length).sort();
  };

  it('starts at _0 when nothing exists', () => {
    assert.equal(chunkName('/tmp/logs', true, lister([])), '/tmp/logs_0');
    assert.equal(chunkName('/tmp/requests.gor', true, lister([])), '/tmp/requests_0.gor');
    assert.equal(chunkName('/tmp/requests.gz', true, lister([])), '/tmp/requests_0.gz');
  });

  it('continues at highest + 1 on a new chunk, stays on the highest otherwise', () => {
    const existing = ['/tmp/r_0.gor', '/tmp/r_1.gor', '/tmp/r_10.gor', '/tmp/r_2.gor'];
    assert.equal(chunkName('/tmp/r.gor', true, lister(existing)), '/tmp/r_11.gor');
    assert.equal(chunkName('/tmp/r.gor', false, lister(existing)), '/tmp/r_10.gor');
  });

  it('uses index 0 when the last match has no index (gor quirk)', () => {
    assert.equal(chunkName('/tmp/r.gor', true, lister(['/tmp/r.gor'])), '/tmp/r_0.gor');
  });

  it('unrelated files matching S*E do not take part (gor would write to rz_6.gor)', () => {
    assert.equal(chunkName('/tmp/r.gor', true, lister(['/tmp/r_0.gor', '/tmp/rz_5.gor'])), '/tmp/r_1.gor');
    assert.equal(chunkName('/tmp/r.gor', true, lister(['/tmp/r-old.gor', '/tmp/r_old.gor'])), '/tmp/r_0.gor');
    assert.equal(chunkName('/tmp/r.gor.gz', true, lister(['/tmp/r.gor_3.gz', '/tmp/r.gor.x_9.gz'])), '/tmp/r.gor_4.gz');
    // A glob's results are cleaned (./r.gor → r.gor): matched by the last path element.
    assert.equal(
      chunkName('./r.gor', false, () => ['r_2.gor']),
      'r_2.gor',
    );
  });
});

describe("ChunkNamer: gor's chunk names without listing the directory at every chunk", () => {
  const root = mkdtempSync(join(tmpdir(), 'tapline-chunk-namer-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let dirs = 0;
  type Op = { kind: 'chunk'; next: boolean } | { kind: 'add'; name: string } | { kind: 'remove'; pick: number };
  // Names around the path's own chunks: gor's index forms (signs, leading zeros, -1), unrelated look-alikes.
  const foreign = (base: string, ext: string) =>
    fc.oneof(
      fc.integer({ min: -2, max: 40 }).map((n) => `${base}_${n}${ext}`),
      fc.constantFrom(`${base}${ext}`, `${base}_+3${ext}`, `${base}_007${ext}`, `${base}_x${ext}`, `${base}z_50${ext}`),
      fc.constantFrom(`${base}-old${ext}`, `${base}_9${ext}.tmp`, 'other.txt'),
    );
  const cases: [string, string][] = [
    ['r', '.gor'],
    ['r.gor', '.gz'],
    ['a_b', '.gor'],
    ['logs', ''],
    ['requests_20261124', '.gor'], // gor reads _20261124 as a chunk number: the chunks are requests_<n>.gor
    ['o[1]', '.gor'], // glob characters, taken literally
    ['a\\b?', '.gor'],
  ];

  /**
   * Runs `ops` in a new directory: each chunk name must be the one gor's rule gives at that moment (chunkName(),
   * which lists the directory). `visible`: another process's changes move the directory's stamp (else only the
   * lstat of the next name can tell).
   */
  function check(base: string, ext: string, existing: string[], ops: Op[], visible: boolean): void {
    const dir = join(root, String(dirs++));
    mkdirSync(dir);
    for (const f of existing) writeFileSync(join(dir, f), '');
    const path = join(dir, `${base}${ext}`);
    const namer = visible ? new ChunkNamer() : new ChunkNamer(undefined, () => 'same');
    let tick = 1_000_000;
    const touched = () => {
      tick += 10; // a time of its own: a change in the same clock tick as the last chunk would not show
      utimesSync(dir, tick, tick);
    };
    for (const op of ops) {
      if (op.kind === 'chunk') {
        const want = chunkName(path, op.next);
        const got = namer.name(path, op.next);
        assert.equal(got, want, `${base}${ext}: next ${op.next}, directory ${readdirSync(dir).sort().join(' ')}`);
        writeFileSync(got, 'x', { flag: 'a' });
        namer.created(path, got);
      } else if (op.kind === 'add') {
        writeFileSync(join(dir, op.name), '', { flag: 'a' });
        if (visible) touched();
      } else {
        const names = readdirSync(dir);
        if (names.length === 0) continue;
        unlinkSync(join(dir, names[op.pick % names.length]!));
        if (visible) touched();
      }
    }
  }

  it('names every chunk as listing the directory would, whatever else is there or comes (fast-check)', () => {
    for (const [base, ext] of cases) {
      fc.assert(
        fc.property(
          fc.array(foreign(base, ext), { maxLength: 6 }),
          fc.array(
            fc.oneof(
              { weight: 6, arbitrary: fc.boolean().map((next): Op => ({ kind: 'chunk', next })) },
              { weight: 1, arbitrary: foreign(base, ext).map((name): Op => ({ kind: 'add', name })) },
              { weight: 1, arbitrary: fc.nat().map((pick): Op => ({ kind: 'remove', pick })) },
            ),
            { maxLength: 30 },
          ),
          (existing, ops) => check(base, ext, existing, [{ kind: 'chunk', next: true }, ...ops], true),
        ),
        { numRuns: 60 },
      );
    }
  });

  it('a new name at every record (%r, %NS): named as listing would, without listing the directory for each', () => {
    const dir = join(root, String(dirs++));
    mkdirSync(dir);
    // Chunks of some names are there already, and look-alikes that are none of theirs.
    for (const f of ['id5_0.gor', 'id5_3.gor', 'id7.gor', 'id9_x.gor', 'id12_1.gor.tmp', 'id1_2.gor']) {
      writeFileSync(join(dir, f), '');
    }
    let listings = 0;
    const namer = new ChunkNamer((pattern) => {
      listings++;
      return globSync(pattern);
    });
    for (let i = 0; i < 300; i++) {
      const path = join(dir, `id${i % 150}.gor`); // each name twice: the second time from what is known
      const want = chunkName(path, true);
      const got = namer.name(path, true);
      assert.equal(got, want, `${path}, directory ${readdirSync(dir).sort().join(' ')}`);
      writeFileSync(got, 'x', { flag: 'a' });
      namer.created(path, got);
      if (i === 100) {
        writeFileSync(join(dir, 'id120_7.gor'), ''); // another process: the directory is listed again
        utimesSync(dir, 2_000_000, 2_000_000);
      }
    }
    assert.ok(listings < 10, `listed ${listings} times`); // it listed for every new name: 150+
    assert.ok(readdirSync(dir).includes('id120_8.gor'));
  });

  it('a chunk another process made under the next name is seen even when the directory looks unchanged', () => {
    // The directory's clock ticks every few ms: a file made in the tick this run opened its chunk in does not
    // move the stamp. The next name is checked on its own (lstat), and the directory listed again when taken.
    check(
      'r',
      '.gor',
      ['r_0.gor', 'r_1.gor'],
      [
        { kind: 'chunk', next: true },
        { kind: 'add', name: 'r_3.gor' },
        { kind: 'chunk', next: true },
        { kind: 'add', name: 'r_5.gor' },
        { kind: 'add', name: 'r_6.gor' },
        { kind: 'chunk', next: true },
      ],
      false,
    );
  });
});

describe('placeholders gor reads as a chunk number', () => {
  it('names _ followed only by digit placeholders before the extension', () => {
    for (const [template, file, fix] of [
      ['requests_%Y%m%d.gor', 'requests_0.gor', 'requests-%Y%m%d.gor'],
      ['/var/log/gor/r_%H.gz', 'r_0.gz', 'r-%H.gz'],
      ['x_1_%t', 'x_1_0', 'x_1-%t'],
      ['capture_20%NS.gor', 'capture_0.gor', 'capture-20%NS.gor'],
    ]) {
      const text = placeholderLostToChunkNumber(template!);
      assert.ok(text?.includes(` goes to ${file},`), `${template}: ${text}`);
      assert.ok(text?.includes(`Write ${fix} `), `${template}: ${text}`);
    }
    assert.match(placeholderLostToChunkNumber('r_%t.gor')!, /no new file per type/);
  });

  it('leaves names whose templated tail is not a number alone', () => {
    for (const template of [
      'requests.gor',
      'requests-%Y%m%d.gor',
      '%Y%m%d.gor',
      'requests_%Y-%m-%d.gor',
      'rr_%r.gor',
      'a_%i.gor',
      'dir_x/%Y.gor',
      'requests_2024.gor',
      'r_%H.gor.gz',
      '%Y_%m/requests.gor',
    ]) {
      assert.equal(placeholderLostToChunkNumber(template), undefined, template);
    }
  });
});

describe('path templates (spec §6.1)', () => {
  const when = new Date(2024, 0, 2, 3, 4, 5, 6); // local time

  it('expands date parts, payload type, id and instance', () => {
    const t = compileTemplate('/tmp/log-%Y-%m-%d-%H-%M-%S-%t-%r-%i.gor', 'AbCdEfGh');
    assert.equal(t.dynamic, true);
    assert.equal(t.render(msg('2', 'abc'), when, 7), '/tmp/log-2024-01-02-03-04-05-2-abc-AbCdEfGh.gor');
  });

  it('%NS is the nanosecond of the second, not padded', () => {
    const t = compileTemplate('x-%NS-%S');
    assert.equal(t.render(msg('1', 'a'), when, 6000123), 'x-6000123-05');
  });

  it('a template without time, id or type placeholders is static', () => {
    const t = compileTemplate('/tmp/%i.gor');
    assert.equal(t.dynamic, false);
    assert.equal(t.render(msg('1', 'a')), `/tmp/${INSTANCE_ID}.gor`);
    assert.match(INSTANCE_ID, /^[a-zA-Z]{8}$/);
  });

  it('paths are cleaned like Go', () => {
    assert.equal(cleanPath('./test_requests_0.gor'), 'test_requests_0.gor');
  });

  it('an id or type holding / or NUL, or filling a path element with . or .., stays one name in the directory', () => {
    const told: string[][] = [];
    const t = compileTemplate('out/%r/x-%r.gor', 'AbCdEfGh', (value, written) => told.push([value, written]));
    const render = (id: string) => cleanPath(t.render(msg('1', id)));
    // gor: out/../../../pwned/x-../../../pwned.gor, cleaned to ../../pwned.gor — out of the directory.
    assert.equal(render('../../../pwned'), 'out/..%2F..%2F..%2Fpwned/x-..%2F..%2F..%2Fpwned.gor');
    assert.equal(render('a/b'), 'out/a%2Fb/x-a%2Fb.gor');
    assert.equal(render('a\0b'), 'out/a%00b/x-a%00b.gor');
    assert.equal(render('..'), 'out/%2E%2E/x-...gor'); // "x-..": no element of its own, kept
    assert.equal(render('.'), 'out/%2E/x-..gor');
    assert.equal(render('abc.def'), 'out/abc.def/x-abc.def.gor');
    assert.equal(render('..x'), 'out/..x/x-..x.gor');
    assert.deepEqual(told, [
      ['../../../pwned', '..%2F..%2F..%2Fpwned'],
      ['../../../pwned', '..%2F..%2F..%2Fpwned'],
      ['a/b', 'a%2Fb'],
      ['a/b', 'a%2Fb'],
      ['a\0b', 'a%00b'],
      ['a\0b', 'a%00b'],
      ['..', '%2E%2E'],
      ['.', '%2E'],
    ]);
    // Longer than 128 bytes (a file name holds 255: the open failed with ENAMETOOLONG and the output stopped):
    // its first 96 bytes, ~ and a hash of the whole, so two long ids stay apart.
    const long = compileTemplate('r-%r.gor', 'AbCdEfGh');
    const a = long.render(msg('1', 'z'.repeat(300)));
    const b = long.render(msg('1', `${'z'.repeat(299)}y`));
    assert.match(a, /^r-z{96}~[0-9a-f]{16}\.gor$/);
    assert.notEqual(a, b);
    assert.equal(long.render(msg('1', 'é'.repeat(64))), `r-${'é'.repeat(64)}.gor`); // 128 bytes: whole
    assert.match(long.render(msg('1', 'é'.repeat(65))), /^r-é{48}~[0-9a-f]{16}\.gor$/);
    const byType = compileTemplate('out/%t', 'AbCdEfGh');
    assert.equal(byType.render(msg('..', 'id')), 'out/%2E%2E');
    assert.equal(byType.render(msg('1/2', 'id')), 'out/1%2F2');
  });
});

describe('a % that is no placeholder', () => {
  it("is named, kept as written (gor keeps it): %n, strftime's %y %s %F, a lone %N", () => {
    assert.match(unknownPlaceholders('r-%n.gor')!, /^"r-%n\.gor": %n is no placeholder and is kept as written/);
    assert.match(unknownPlaceholders('%y-%s-%F-%N-%y.gor')!, /: %y, %s, %F, %N are no placeholders/);
    for (const ok of ['r.gor', 'r-%Y%m%d-%H%M%S-%NS-%r-%t-%i.gor', 'a%20b.gor', '100%.gor']) {
      assert.equal(unknownPlaceholders(ok), undefined, ok);
    }
  });
});

describe('chunksBesideSpecialFile', () => {
  it('names the chunk files and the fix for a pipe, a device or a device path', () => {
    const text = chunksBesideSpecialFile('/dev/stdout', 'a pipe (FIFO)')!;
    assert.match(text, /"\/dev\/stdout" is a pipe \(FIFO\)/);
    assert.match(text, /\/dev\/stdout_0, \/dev\/stdout_1/);
    assert.match(text, /--output-file-append/);
    assert.match(chunksBesideSpecialFile('/tmp/x.gor', 'a character device')!, /\/tmp\/x_0\.gor/);
    assert.equal(chunksBesideSpecialFile('/tmp/x.gor', undefined), undefined);
  });
});
