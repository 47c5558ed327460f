import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTaplineError } from '../core/errors.js';
import type { FlagSpec } from '../core/flags.js';
import { parseArgv } from './argv.js';

const flag: FlagSpec = { kind: 'string', help: '', section: 'General' };
const specs = new Map<string, FlagSpec>([
  ['input-dummy', flag],
  ['exit-after', flag],
  ['output-file-size-limit', flag],
  ['output-file-max-size-limit', flag],
  ['http-allow-url', flag],
  ['http-allow-method', flag],
  ['http-allow-header', flag],
  ['http-allow-host', flag],
  ['stats', { kind: 'bool', help: '', section: 'General' }],
  ['verbose', { kind: 'int', help: '', section: 'General' }],
]);
const unknown = (name: string) => {
  try {
    parseArgv([name, 'x'], specs);
  } catch (err) {
    return isTaplineError(err) ? err.describe() : String(err);
  }
  return 'accepted';
};

test('--version among other arguments says it works alone, not that it is unknown', () => {
  for (const arg of ['--version', '-version']) {
    assert.throws(
      () => parseArgv(['--input-dummy', 'x', arg], specs),
      (err: unknown) =>
        isTaplineError(err) &&
        err.code === 'TAPLINE_ERR_USAGE' &&
        /prints the version on its own: run tapline --version/.test(err.describe()) &&
        !/unknown flag/.test(err.describe()),
    );
  }
});

test('a flag name cut short suggests the flags it begins, when they are few', () => {
  assert.match(unknown('--exit'), /--exit: unknown flag \(did you mean --exit-after\?\)/);
  assert.match(unknown('-output-file-size'), /did you mean --output-file-size-limit\?/);
  assert.doesNotMatch(unknown('--http-allow'), /did you mean/, 'four flags begin it: no guess');
  assert.match(unknown('--input-dumy'), /did you mean --input-dummy\?/, 'near misses as before');
});

test('a flag followed by another flag is a value left out, not the value (gor takes it as the value)', () => {
  for (const [argv, shown] of [
    [['--output-file-size-limit', '--stats'], '--stats'],
    [['-http-allow-url', '-stats=true'], '-stats=true'],
    [['--input-dummy', '--help'], '--help'],
  ] as const) {
    assert.throws(
      () => parseArgv(argv, specs),
      (err: unknown) =>
        isTaplineError(err) &&
        err.code === 'TAPLINE_ERR_USAGE' &&
        err.describe().includes(`needs a value, and the next argument is the flag ${shown}`),
      argv.join(' '),
    );
  }
  // Written with '=', the value is taken as given; so is a dash value that names no flag.
  assert.deepEqual(parseArgv(['--input-dummy=--stats'], specs).flags.list('input-dummy'), ['--stats']);
  assert.deepEqual(parseArgv(['--input-dummy', '-x'], specs).flags.list('input-dummy'), ['-x']);
  // A number, duration or size likewise (it said 'invalid integer "--stats"'), without the '=' hint.
  for (const argv of [
    ['--verbose', '--stats'],
    ['-verbose', '--http-allow-url', 'x'],
  ]) {
    assert.throws(
      () => parseArgv(argv, specs),
      (err: unknown) =>
        isTaplineError(err) &&
        err.describe() === `--verbose: needs a value, and the next argument is the flag ${argv[1]} (TAPLINE_ERR_USAGE)`,
      argv.join(' '),
    );
  }
  assert.equal(parseArgv(['--verbose', '-1'], specs).flags.number('verbose'), -1, 'a negative number is a value');
});

test('`tapline help` and `tapline version` point to the flags', () => {
  assert.throws(() => parseArgv(['help'], specs), /unexpected argument "help" \(did you mean --help\?\)/);
  assert.throws(() => parseArgv(['version'], specs), /unexpected argument "version" \(did you mean --version\?\)/);
});

test('a flag pasted with a typographic dash says so, with the flag as it must be typed', () => {
  for (const arg of ['\u2014input-dummy', '\u2013input-dummy', '\u2212\u2212input-dummy']) {
    assert.throws(
      () => parseArgv(['--exit-after', '1s', arg, 'x'], specs),
      /unexpected argument ".*input-dummy" \(it starts with ".*" \(U\+(2014|2013|2212)\), not "-": type it as --input-dummy\)/,
      arg,
    );
  }
});

test("gor's file-server subcommand is named as not built, not as a stray argument", () => {
  assert.throws(
    () => parseArgv(['file-server', ':80'], specs),
    (err: unknown) =>
      isTaplineError(err) &&
      err.code === 'TAPLINE_ERR_NOT_IMPLEMENTED' &&
      /file-server: gor's file-server subcommand is not built in tapline/.test(err.describe()),
  );
});

test('a flag and its value in one argument (a Kubernetes args item "--input-raw :80") says so, with the fix', () => {
  // It said '--input-dummy x: unknown flag', which reads as a typo in the name.
  assert.throws(
    () => parseArgv(['--input-dummy x=1'], specs),
    (err: unknown) =>
      isTaplineError(err) &&
      err.describe() ===
        '--input-dummy x=1: unknown flag: the flag --input-dummy and its value are one argument here (quoted ' +
          'together, or one item of a Docker or Kubernetes args list): give them as two arguments, or write ' +
          '--input-dummy=x=1 (TAPLINE_ERR_USAGE)',
  );
  // A bool flag takes no separate value: only the = form is offered.
  assert.throws(() => parseArgv(['-stats true'], specs), /args list\): write --stats=true$/);
  assert.throws(
    () => parseArgv(['--bogus x'], specs),
    (err: unknown) => isTaplineError(err) && err.describe() === '--bogus x: unknown flag (TAPLINE_ERR_USAGE)',
  );
});

test('a flag declared once: the same value twice is taken, two values are a usage error; others keep the last', () => {
  const once = new Map<string, FlagSpec>([
    ['hook', { kind: 'string', help: '', section: 'General', once: 'one receiver' }],
    ['exit-after', flag],
  ]);
  assert.equal(parseArgv(['--hook', 'a', '--hook=a'], once).flags.string('hook'), 'a');
  assert.equal(parseArgv(['--exit-after', '1s', '--exit-after', '2s'], once).flags.string('exit-after'), '2s');
  assert.throws(
    () => parseArgv(['--hook', 'a', '--hook', 'b'], once),
    (err: unknown) =>
      isTaplineError(err) && err.describe() === '--hook: given twice ("a", then "b"): one receiver (TAPLINE_ERR_USAGE)',
  );
});
