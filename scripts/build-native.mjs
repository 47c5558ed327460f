#!/usr/bin/env node
// Builds the live-capture addon (native/, Linux AF_PACKET) with node-gyp.
//
// Never fails the install: if the build cannot run (no compiler, not Linux, no Node headers) it prints
// a warning and exits 0. Reading pcap/pcapng files needs no addon; live capture then reports a clear
// error that says how to build it.
//
// Usage: node scripts/build-native.mjs [--strict]    (--strict: exit 1 when the build fails)
// Env:   TAPLINE_SKIP_NATIVE=1  skip the build;   TAPLINE_NODE_GYP=<path to node-gyp.js>
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const strict = process.argv.includes('--strict');

function warn(lines) {
  const bar = '-'.repeat(72);
  console.warn([bar, 'the live-capture addon was NOT built.', ...lines, bar].map((l) => `tapline: ${l}`).join('\n'));
  console.warn(
    'tapline: reading pcap files still works; live capture (--input-raw on an interface) will report ' +
      'TAPLINE_ERR_CAPTURE_FAILED until the addon is built with `node scripts/build-native.mjs`.',
  );
  process.exit(strict ? 1 : 0);
}

if (process.env.TAPLINE_SKIP_NATIVE) {
  console.log('tapline: TAPLINE_SKIP_NATIVE is set; not building the capture addon.');
  process.exit(0);
}
if (process.platform !== 'linux') {
  console.log(`tapline: the AF_PACKET capture addon is Linux-only; skipping on ${process.platform}.`);
  process.exit(0);
}

// node-gyp: an explicit path, the one npm tells its lifecycle scripts about, one installed in the
// project, or the copy bundled with npm next to this node binary.
function findNodeGyp() {
  const candidates = [process.env.TAPLINE_NODE_GYP, process.env.npm_config_node_gyp];
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(
    join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(prefix, 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  );
  return candidates.find((c) => c && existsSync(c));
}

const gyp = findNodeGyp();
if (!gyp) warn(['node-gyp was not found (it ships with npm). Set TAPLINE_NODE_GYP=/path/to/node-gyp.js.']);

// Build against the headers of the running node when they are installed (Debian's nodejs puts them
// in /usr/include/node), so node-gyp downloads nothing.
const args = [gyp, 'rebuild'];
const prefix = resolve(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}

console.log(`tapline: building the capture addon: ${process.execPath} ${args.join(' ')}  (in native/)`);
const started = Date.now();
const result = spawnSync(process.execPath, args, { cwd: nativeDir, stdio: 'inherit', env: process.env });
if (result.error || result.status !== 0) {
  warn([
    `node-gyp failed (${result.error ? result.error.message : `exit ${result.status}`}).`,
    'It needs a C++17 compiler and make (Debian: apt-get install -y g++ make python3) and the Node headers',
    `(found in ${join(prefix, 'include/node')}? ${existsSync(join(prefix, 'include/node/node_api.h')) ? 'yes' : 'no'}).`,
    'No libpcap or other -dev package is needed.',
  ]);
}
const built = join(nativeDir, 'build/Release/tapline_capture.node');
if (!existsSync(built)) warn([`node-gyp reported success but ${built} is missing.`]);
console.log(`tapline: capture addon built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${built}`);
// The Kafka producer addon is built only where librdkafka's header is (binding.gyp checks); never an error.
if (!existsSync(join(nativeDir, 'build/Release/tapline_kafka.node'))) {
  console.warn(
    'tapline: warning: the Kafka producer addon (librdkafka) was not built: /usr/include/librdkafka/rdkafka.h ' +
      'is missing (Debian: apt-get install librdkafka-dev). --output-kafka-host produces with kafkajs instead.',
  );
}
