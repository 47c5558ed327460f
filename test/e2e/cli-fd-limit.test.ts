/**
 * A low open-file limit (`ulimit -n 30`) makes node's loader fail to open tapline's own modules: before the
 * CLI's handlers exist (bin/tapline.js) or when a run loads the code its flags need (main.ts). Either is said in
 * one line naming the limit, exit 1, never as node's loader stack trace or an "unexpected failure" to report.
 *
 * The child is bin/tapline.js's code: the test build's copy under `npm test`, else bin/tapline.js over dist/.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { collect } from '../support/cli.js';
import { REPO_ROOT } from '../support/corpus.js';

const BUILD = process.env.TAPLINE_TEST_BUILD;
const ENTRY = BUILD ? join(BUILD, 'tapline.js') : join(REPO_ROOT, 'bin', 'tapline.js');
const skip = !BUILD && !existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')) ? 'needs dist/ (npm run build)' : false;

const dir = mkdtempSync(join(tmpdir(), 'tapline-fd-limit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A pcap file with its header only: reading it loads the capture code, which a .gor run does not need. */
const pcap = join(dir, 'empty.pcap');
writeFileSync(pcap, Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex'));

async function runAtLimit(limit: number, args: string[]) {
  const words = [process.execPath, ENTRY, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('bash', ['-c', `ulimit -n ${limit}; exec ${words}`], {
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return collect(child, 30_000);
}

const LINE = (limit: number, when: string) =>
  new RegExp(
    `^tapline: error: cannot open \\S+\\.js: too many open files \\(EMFILE\\): the open-file limit \\(ulimit -n\\) ` +
      `is ${limit}, too low for ${when}; raise it \\(ulimit -n 4096\\) \\(TAPLINE_ERR_FILE_IO\\)\\n$`,
  );

describe('an open-file limit too low to load tapline', { skip }, () => {
  it('before the CLI is loaded: one line naming the limit, exit 1, no loader stack trace', async () => {
    const r = await runAtLimit(26, ['--input-file', 'x.gor', '--output-null']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, LINE(26, 'tapline to load its own code'));
  });

  it('while a run loads the code its flags need: the same line, not an unexpected failure', async () => {
    // Where the CLI is loaded but the code a command needs is not depends on the module graph: limits are tried
    // upwards until one fails that way; below it, only the first line is met. Two commands, in case one's code
    // loads in one go (report's pcap reading, then --input-raw's capture code).
    let seen = false;
    for (const args of [
      ['report', pcap],
      ['--input-raw', `${pcap}:80`, '--output-null'],
    ]) {
      for (let limit = 30; limit <= 80 && !seen; limit++) {
        const r = await runAtLimit(limit, args);
        if (r.code === 0) break;
        assert.equal(r.code, 1, `ulimit -n ${limit}: ${r.stderr}`);
        seen = LINE(limit, 'this run').test(r.stderr);
        if (!seen) assert.match(r.stderr, LINE(limit, 'tapline to load its own code'), `ulimit -n ${limit}`);
      }
    }
    assert.ok(seen, 'no limit from 30 to 80 failed while a run loaded its own code');
  });
});

describe('bin/tapline.js in a checkout that is not built', () => {
  it("says to build it, in one line (was: node's ERR_MODULE_NOT_FOUND stack trace)", async () => {
    const checkout = join(dir, 'checkout');
    mkdirSync(join(checkout, 'bin'), { recursive: true });
    copyFileSync(join(REPO_ROOT, 'bin', 'tapline.js'), join(checkout, 'bin', 'tapline.js'));
    const r = await collect(
      spawn(process.execPath, [join(checkout, 'bin', 'tapline.js'), '--help'], { stdio: ['pipe', 'pipe', 'pipe'] }),
      30_000,
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      'tapline: error: tapline is not built here (no dist/cli/main.js): run npm ci, or npm run build after an npm ' +
        'install (TAPLINE_ERR_FILE_IO)\n',
    );
  });
});
