/**
 * Golden tests for gor's command-line grammar (spec §1.1) and the flag list (§1.2): every gor flag is
 * known to tapline, either built or declared as not built yet.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgv } from '../../src/cli/argv.js';
import { allFlags } from '../../src/cli/main.js';
import { reportFlags } from '../../src/cli/report.js';
import { isTaplineError } from '../../src/core/errors.js';
import { parseFlagValue } from '../../src/core/flags.js';

const specs = allFlags();
const parse = (...argv: string[]) => parseArgv(argv, specs).flags;
const usageError = (argv: string[], pattern: RegExp) =>
  assert.throws(
    () => parseArgv(argv, specs),
    (err: unknown) => isTaplineError(err) && err.code === 'TAPLINE_ERR_USAGE' && pattern.test(err.describe()),
  );

describe('gor flag grammar', () => {
  it('accepts one or two dashes, = or a separate value', () => {
    for (const argv of [
      ['-output-file', 'a.gor'],
      ['--output-file', 'a.gor'],
      ['-output-file=a.gor'],
      ['--output-file=a.gor'],
    ]) {
      assert.deepEqual(parse(...argv).list('output-file'), ['a.gor'], argv.join(' '));
    }
  });

  it('bool flags take no separate value; =true|false|1|0|t|f work', () => {
    assert.equal(parse('--split-output').bool('split-output'), true);
    assert.equal(parse('--split-output=false').bool('split-output'), false);
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True'])
      assert.equal(parse(`-split-output=${t}`).bool('split-output'), true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) {
      assert.equal(parse(`-split-output=${f}`).bool('split-output'), false);
    }
  });

  it('a stray positional is an error, not a silent truncation (gor stops parsing there)', () => {
    usageError(['--split-output', 'true', '--output-stdout'], /unexpected argument "true".*--split-output=true/);
    // Any word Go's ParseBool takes, after a boolean flag only (a text flag's value starting with - is no flag).
    usageError(
      ['--prettify-http', '0', '--output-stdout'],
      /unexpected argument "0" \(boolean flags .*--prettify-http=0\)/,
    );
    usageError(['-split-output', 'F'], /write -split-output=f\)/);
    usageError(['--http-allow-url', '-admin', 'true'], /unexpected argument "true" \(flags start with - or --/);
  });

  it("--input-http (named by gor's FAQ, absent from gor 2.0) says so instead of suggesting --input-tcp", () => {
    for (const argv of [['--input-http', ':80'], ['-input-http=:80']]) {
      usageError(argv, /gor 2\.0 has no --input-http either.*--input-raw :PORT/);
      assert.throws(
        () => parseArgv(argv, specs),
        (err: unknown) => !String(err).includes('did you mean'),
      );
    }
  });

  it('non-bool flags consume the next argument, even one that looks like a flag', () => {
    // gor: `--verbose --input-raw :80` parses "--input-raw" as the int value and fails with exit 2; tapline fails
    // too, saying the value was left out.
    usageError(
      ['--verbose', '--input-raw', ':80'],
      /--verbose: needs a value, and the next argument is the flag --input-raw \(TAPLINE/,
    );
    usageError(
      ['--exit-after', '--stats'],
      /--exit-after: needs a value, and the next argument is the flag --stats \(TAPLINE/,
    );
    assert.deepEqual(parse('--input-raw-vxlan-vni', '-42').numbers('input-raw-vxlan-vni'), [-42]);
  });

  it('repeatable flags keep every occurrence in order; single flags: the last wins', () => {
    const f = parse('--output-file', 'a', '--exit-after', '1s', '--output-file', 'b', '-exit-after=2s');
    assert.deepEqual(f.list('output-file'), ['a', 'b']);
    assert.equal(f.number('exit-after'), 2000);
  });

  it('every flag with a range refuses a value just outside it, naming the bound, and takes the bound itself', () => {
    const ranged = [...specs, ...Object.entries(reportFlags)].filter(
      ([, s]) => s.min !== undefined || s.max !== undefined,
    );
    assert.ok(ranged.length >= 25, `${ranged.length} flags with a range`);
    for (const [name, spec] of ranged) {
      const argvFor = (value: string) => (name in reportFlags && !specs.has(name) ? [] : [`--${name}`, value]);
      const outside = (bound: string, step: number) => {
        const n = parseFlagValue({ ...spec, min: undefined, max: undefined }, bound) as number;
        return spec.kind === 'duration' ? `${n + step}ms` : String(n + step);
      };
      for (const [bound, step, word] of [
        [spec.min, -1, 'below the smallest'],
        [spec.max, 1, 'above the largest'],
      ] as const) {
        if (bound === undefined) continue;
        assert.doesNotThrow(() => parseFlagValue(spec, bound), `--${name} ${bound}`);
        const text = outside(bound, step);
        assert.throws(
          () => parseFlagValue(spec, text),
          new RegExp(`${word} value accepted, ${bound}$`),
          `--${name} ${text}`,
        );
        const argv = argvFor(text);
        if (argv.length > 0) usageError(argv, new RegExp(`^--${name}: "${text}" is ${word}`));
      }
    }
  });

  it('values gor gives a meaning below their range are still taken (drop-in: gor maps them to a default)', () => {
    const f = parse(
      '--output-http-queue-len=0',
      '--output-http-timeout=0',
      '--output-http-worker-timeout=-1s',
      '--output-file-size-limit=0',
      '--output-file-queue-limit=-1',
      '--output-kafka-acks=-1',
      '--input-raw-vxlan-vni=-42',
    );
    assert.equal(f.number('output-http-queue-len'), 0);
    assert.deepEqual(f.numbers('input-raw-vxlan-vni'), [-42]);
  });

  it('int flags detect the base like Go (0x10, 010, 0b1)', () => {
    assert.equal(parse('--verbose', '0x10').number('verbose'), 16);
    assert.equal(parse('--verbose', '010').number('verbose'), 8);
    assert.equal(parse('--verbose', '0b1').number('verbose'), 1);
  });

  it("gor's repeatable int flags read base 10 only, as gor's strconv.Atoi does (010 is ten); other forms are refused", () => {
    // They took 010 as 8 and 0x10 as 16, where gor takes ten and 0: another VLAN or VNI than gor's, without a word.
    const f = parse('--input-raw-vlan-vid', '010', '--input-raw-vlan-vid=+7', '--input-raw-vxlan-vni', '-010');
    assert.deepEqual(f.numbers('input-raw-vlan-vid'), [10, 7]);
    assert.deepEqual(f.numbers('input-raw-vxlan-vni'), [-10]);
    usageError(
      ['--input-raw-vlan-vid', '0x10'],
      /--input-raw-vlan-vid: invalid integer "0x10": this flag takes base-10 numbers only \(gor reads anything else as 0\); write 16/,
    );
    usageError(['--input-raw-vxlan-vni', '1_000'], /--input-raw-vxlan-vni: invalid integer "1_000": .*; write 1000/);
    usageError(['--input-raw-vxlan-vni', 'ten'], /--input-raw-vxlan-vni: invalid integer "ten": .*as 0\) \(TAPLINE/);
  });

  it('durations and sizes use Go and gor syntax', () => {
    assert.equal(parse('--exit-after', '1h30m').number('exit-after'), 5_400_000);
    assert.equal(parse('--output-file-size-limit', '42mb').number('output-file-size-limit'), 44040192);
    usageError(['--exit-after', '5'], /--exit-after: invalid duration "5"/);
    usageError(['--output-file-size-limit', '1.5mb'], /--output-file-size-limit: invalid size/);
  });

  it('unknown flags fail with a suggestion', () => {
    usageError(['--output-fiel', 'x'], /unknown flag \(did you mean --output-file\?\)/);
  });

  it('a flag without its value fails naming the flag', () => {
    usageError(['--output-file'], /--output-file: flag needs a value/);
  });

  it('a lone -- ends the flags', () => {
    const parsed = parseArgv(['--output-stdout', '--', '--input-file', 'x'], specs);
    assert.equal(parsed.flags.bool('output-stdout'), true);
    assert.deepEqual(parsed.rest, ['--input-file', 'x']);
  });

  it('-h, -help and --help ask for help', () => {
    for (const h of ['-h', '-help', '--help', '--h']) assert.equal(parseArgv([h], specs).help, true);
  });

  it('bad flag syntax', () => {
    usageError(['---x'], /bad flag syntax/);
    usageError(['-=x'], /bad flag syntax/);
  });
});

describe('gor flag reference (spec §1.2)', () => {
  // Every flag of gor's reference, copied from the spec's tables.
  const gorFlags =
    `verbose stats exit-after split-output recognize-tcp-sessions http-pprof copy-buffer-size prettify-http
    middleware cpuprofile memprofile input-dummy output-stdout output-null input-raw input-raw-track-response
    input-raw-engine input-raw-protocol input-raw-realip-header input-raw-expire input-raw-bpf-filter
    input-raw-timestamp-type input-raw-override-snaplen input-raw-buffer-timeout input-raw-buffer-size
    input-raw-promisc input-raw-monitor input-raw-stats input-raw-allow-incomplete input-raw-ignore-interface
    input-raw-vxlan-port input-raw-vxlan-vni input-raw-vlan input-raw-vlan-vid input-file input-file-loop
    input-file-read-depth input-file-dry-run input-file-max-wait output-file output-file-append
    output-file-flush-interval output-file-size-limit output-file-queue-limit output-file-max-size-limit
    output-file-buffer input-tcp input-tcp-secure input-tcp-certificate input-tcp-certificate-key output-tcp
    output-tcp-secure output-tcp-skip-verify output-tcp-sticky output-tcp-workers output-tcp-stats output-ws
    output-ws-skip-verify output-ws-sticky output-ws-workers output-ws-stats output-http output-http-workers-min
    output-http-workers output-http-queue-len output-http-worker-timeout output-http-timeout output-http-redirects
    output-http-track-response output-http-skip-verify output-http-response-buffer output-http-stats
    output-http-stats-ms http-original-host output-http-elasticsearch output-binary output-binary-workers
    output-binary-timeout output-binary-track-response output-binary-debug output-tcp-response-buffer
    output-kafka-host output-kafka-topic output-kafka-json-format output-kafka-use-sasl output-kafka-mechanism
    output-kafka-username output-kafka-password input-kafka-host input-kafka-topic input-kafka-json-format
    input-kafka-use-sasl input-kafka-mechanism input-kafka-username input-kafka-password input-kafka-offset
    kafka-tls-ca-cert kafka-tls-client-cert kafka-tls-client-key http-allow-method http-allow-url
    http-disallow-url http-allow-header http-disallow-header http-basic-auth-filter http-header-limiter
    http-param-limiter http-rewrite-url http-rewrite-header http-set-header http-set-param`
      .split(/\s+/)
      .filter(Boolean);

  it('knows every gor flag', () => {
    const missing = gorFlags.filter((f) => !specs.has(f));
    assert.deepEqual(missing, []);
  });

  it("gor's repeatable flags are repeatable", () => {
    for (const f of [
      'input-dummy',
      'input-raw',
      'input-file',
      'output-file',
      'output-http',
      'output-tcp',
      'input-tcp',
    ]) {
      assert.equal(specs.get(f)?.multi, true, f);
    }
    for (const f of gorFlags.filter((n) => n.startsWith('http-') && n !== 'http-pprof' && n !== 'http-original-host')) {
      assert.equal(specs.get(f)?.multi, true, f);
    }
  });
});
