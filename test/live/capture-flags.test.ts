/**
 * `--input-raw` flags as a user meets them on the command line (root, `lo`, a local server on an ephemeral
 * port): what the engines warn about, how long a stop takes, and which mistakes are usage errors (exit 2).
 * Every child is bounded by collect()'s kill timer.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { libpcapAvailable } from '../../src/capture/engines/libpcap.js';
import { parseRawAddress } from '../../src/inputs/raw/address.js';
import { resolveLiveAddress } from '../../src/inputs/raw/sources.js';
import { collect, runTapline, startTapline, waitForStderr } from '../support/cli.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'live capture needs root (CAP_NET_RAW); run the suite as root';
const noLibpcap = libpcapAvailable() ? false : 'libpcap cannot be loaded here';
const IFF_PROMISC = 0x100;

function loPromiscuous(): boolean {
  return (Number(readFileSync('/sys/class/net/lo/flags', 'utf8').trim()) & IFF_PROMISC) !== 0;
}

describe('--input-raw flags on the command line', { skip, timeout: 60_000 }, () => {
  let server: http.Server;
  let port = 0;
  before(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const get = (path: string) =>
    new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });

  /** Runs the CLI with `args` until it is capturing, does `during`, stops it with SIGINT; exit 0 asserted. */
  async function captureWhile(args: string[], during: () => Promise<void>) {
    const child = startTapline([...args, '--verbose', '1']);
    const done = collect(child, 20_000);
    await waitForStderr(child, /BPF Filter:/);
    await during();
    const stopped = Date.now();
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    return { ...result, stopMs: Date.now() - stopped };
  }

  it('libpcap: a stop does not wait out an hour-long --input-raw-buffer-timeout, and says what it may leave', {
    skip: noLibpcap,
  }, async () => {
    const args = ['--input-raw', `lo:${port}`, '--input-raw-engine', 'libpcap', '--input-raw-buffer-timeout', '1h'];
    const result = await captureWhile([...args, '--input-raw-monitor', '--output-null'], () => get('/held'));
    assert.ok(result.stopMs < 10_000, `the stop took ${result.stopMs} ms`);
    // What libpcap said when it opened was collected and never shown before.
    assert.match(result.stderr, /libpcap on lo: monitor mode is not available on lo, ignored/);
    assert.match(result.stderr, /--input-raw-buffer-timeout \(1h0m0s\); the stop waits 2s for the last block/);
  });

  it('libpcap on every interface leaves out what --input-raw-ignore-interface names', {
    skip: noLibpcap,
  }, async () => {
    const run = async (ignore: string) => {
      const args = ['--input-raw', `:${port}`, '--input-raw-engine', 'libpcap', '--input-raw-ignore-interface', ignore];
      const result = await captureWhile([...args, '--output-stdout'], async () => {
        await get(`/ignore-${ignore}`);
        await new Promise((r) => setTimeout(r, 200));
      });
      return result.stdout.toString('latin1');
    };
    // It was accepted and did nothing: the request on lo was captured anyway.
    assert.doesNotMatch(await run('lo'), /GET \/ignore-lo /);
    assert.match(await run('tapline-none0'), /GET \/ignore-tapline-none0 /, 'an interface not there leaves none out');
  });

  it("an interface's alternative name (ip link property … altname) is that interface, as for tcpdump -i", (t) => {
    const alt = `tlalt${process.pid}`;
    const add = spawnSync('ip', ['link', 'property', 'add', 'dev', 'lo', 'altname', alt], { encoding: 'utf8' });
    if (add.status !== 0) {
      t.skip(`cannot add an altname here: ${add.stderr.trim() || add.error?.message}`);
      return;
    }
    try {
      // It was '"tlalt…" is neither an interface (have: …, lo) nor an IP address'.
      const { iface, hosts } = resolveLiveAddress(parseRawAddress(`${alt}:${port}`));
      assert.equal(iface, 'lo');
      assert.ok(hosts.includes('127.0.0.1'));
    } finally {
      spawnSync('ip', ['link', 'property', 'del', 'dev', 'lo', 'altname', alt]);
    }
  });

  it('af_packet and capture files say they ignore --input-raw-monitor and a libpcap time stamp type', async () => {
    const result = await runTapline(
      [
        '--input-raw',
        `lo:${port}`,
        '--input-raw-monitor',
        '--input-raw-timestamp-type',
        'adapter',
        '--output-null',
        '--exit-after',
        '200ms',
      ],
      { timeoutMs: 20_000 },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /--input-raw-monitor is ignored: only the libpcap engine .* \(this input is af_packet\)/,
    );
    assert.match(result.stderr, /--input-raw-timestamp-type adapter is ignored: the af_packet engine stamps/);
  });

  it('libpcap: VLAN filtering on every interface is a usage error naming the VLAN flag, not --input-raw-bpf-filter', {
    skip: noLibpcap,
  }, async () => {
    for (const vlan of [['--input-raw-vlan'], ['--input-raw-vlan-vid', '5']]) {
      const args = ['--input-raw', `:${port}`, '--input-raw-engine', 'libpcap', ...vlan, '--output-null'];
      const result = await runTapline(args, { timeoutMs: 20_000 });
      // It was exit 1 at open: '--input-raw-bpf-filter: invalid BPF filter expression "vlan 5 and …"'.
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`${vlan[0]}: with the libpcap engine, VLAN filtering needs one interface`),
      );
      assert.doesNotMatch(result.stderr, /--input-raw-bpf-filter/);
    }
  });

  it("libpcap: an interface that goes away mid-capture is said in libpcap's words, not as a bad descriptor", {
    skip: noLibpcap,
  }, async (t) => {
    const name = `tlgone${process.pid % 100000}`;
    const add = spawnSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`], {
      encoding: 'utf8',
    });
    if (add.status !== 0) {
      t.skip(`cannot add a veth pair here: ${add.stderr.trim() || add.error?.message}`);
      return;
    }
    try {
      spawnSync('ip', ['link', 'set', name, 'up']);
      const child = startTapline([
        '--input-raw',
        `${name}:80`,
        '--input-raw-engine',
        'libpcap',
        '--output-null',
        '--verbose',
        '1',
      ]);
      const done = collect(child, 20_000);
      await waitForStderr(child, /BPF Filter:/);
      spawnSync('ip', ['link', 'del', name]);
      const result = await done;
      assert.equal(result.code, 1, result.stderr);
      // It was 'polling the capture descriptor: bad file descriptor' (libuv's name for the socket's POLLERR).
      assert.match(result.stderr, new RegExp(`capturing on "${name}" failed: The interface disappeared`));
      assert.doesNotMatch(result.stderr, /bad file descriptor|Generic error/);
    } finally {
      spawnSync('ip', ['link', 'del', name]);
    }
  });

  it('libpcap: a link-local address with its zone captures on that interface (the filter was a syntax error)', {
    skip: noLibpcap,
  }, async () => {
    const args = ['--input-raw', `[fe80::1%lo]:${port}`, '--input-raw-engine', 'libpcap', '--output-null'];
    const result = await runTapline([...args, '--exit-after', '300ms', '--verbose', '1'], { timeoutMs: 20_000 });
    // It was exit 1: '--input-raw-bpf-filter: invalid BPF filter expression "… dst host fe80::1%lo …"'.
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`Interface: lo \\. BPF Filter: \\(\\(tcp dst port ${port}\\) and \\(dst host fe80::1\\)\\)`),
    );
  });

  it('--input-raw-snaplen beside --input-raw-override-snaplen is said to be overridden', async () => {
    const args = ['--input-raw', `lo:${port}`, '--input-raw-override-snaplen', '--input-raw-snaplen', '64'];
    const result = await runTapline([...args, '--output-null', '--exit-after', '200ms'], { timeoutMs: 20_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /--input-raw-snaplen 64 is ignored: --input-raw-override-snaplen sets the snaplen to 65736/,
    );
  });

  for (const engine of ['af_packet', 'libpcap']) {
    it(`${engine}: --input-raw :PORT --input-raw-promisc makes the interfaces promiscuous`, {
      skip: engine === 'libpcap' ? noLibpcap : false,
    }, async (t) => {
      if (loPromiscuous()) {
        t.skip('lo is promiscuous already (another capture?)');
        return;
      }
      // af_packet refused it ('promiscuous mode needs a named interface', exit 1); libpcap's `any` device
      // is never promiscuous, and nothing said so. gor, one handle per interface, has each promiscuous.
      let during = false;
      const args = ['--input-raw', `:${port}`, '--input-raw-engine', engine, '--input-raw-promisc', '--output-null'];
      await captureWhile(args, async () => {
        during = loPromiscuous();
      });
      assert.equal(during, true, 'lo was promiscuous during the capture');
      assert.equal(loPromiscuous(), false, 'and is not after it');
    });

    it(`${engine}: a filter that cannot apply on every interface is a usage error before the run`, {
      skip: noLibpcap,
    }, async () => {
      // Valid for Ethernet, so it passed the start-up check; the capture on `any` refused it (exit 1).
      const result = await runTapline(
        [
          '--input-raw',
          `:${port}`,
          '--input-raw-engine',
          engine,
          '--input-raw-bpf-filter',
          'vlan and tcp',
          '--output-null',
        ],
        { timeoutMs: 20_000 },
      );
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /invalid BPF filter expression "vlan and tcp": no VLAN support for/);
      assert.match(result.stderr, /capturing on every interface .* name one interface \(eth0:80\)/);
      assert.doesNotMatch(result.stderr, /stopped after|done after/, 'the run never started');
    });
  }
});
