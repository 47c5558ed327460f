/**
 * The native flow fast path (src/inputs/raw/native-flows.ts) on every capture of the shared corpus: the
 * same messages, in the same order, with the same counters as the TypeScript path, which capture.test.ts
 * checks against tshark's truth.
 *
 * Two ways in: the packets of each file (any format, any link type) fed to the raw input as batch views of a
 * few packets (connections leave the fast path at batch boundaries too), and the CLI's own run over each
 * classic pcap file (the reader's index views) with TAPLINE_FLOW_ADDON=off and on, byte for byte.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { readPcapBuffer } from '../../src/capture/engines/pcap-file.js';
import type { Message } from '../../src/core/message.js';
import { parseRawAddress } from '../../src/inputs/raw/address.js';
import { flowAddon } from '../../src/inputs/raw/native-flows.js';
import { capture } from '../../src/inputs/raw/testkit.js';
import { corpusFiles, readTruth } from '../support/corpus.js';
import { runCapture, serverPorts, type Truth } from './capture-run.js';

const CAPTURES = corpusFiles(['.pcap', '.pcapng', '.cap']);
const skip = flowAddon() === null ? 'the flow addon is not built (node scripts/build-native.mjs)' : false;

function lines(msgs: readonly Message[]): string[] {
  return msgs.map((m) => `${m.meta.line}\n${m.data.toString('latin1')}`);
}

async function withFlowAddon<T>(setting: string | undefined, run: () => Promise<T>): Promise<T> {
  const saved = process.env.TAPLINE_FLOW_ADDON;
  if (setting === undefined) delete process.env.TAPLINE_FLOW_ADDON;
  else process.env.TAPLINE_FLOW_ADDON = setting;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env.TAPLINE_FLOW_ADDON;
    else process.env.TAPLINE_FLOW_ADDON = saved;
  }
}

describe('corpus: the native fast path gives what the TypeScript path gives', { skip }, () => {
  for (const file of CAPTURES) {
    const name = basename(file);
    it(name, async () => {
      const ports = serverPorts(readTruth(file) as Truth);
      const { packets } = readPcapBuffer(readFileSync(file));
      const overrides = { address: parseRawAddress(`${file}:${ports.join(',')}`) };
      const reference = await capture(packets, overrides, false);
      const fast = await capture(packets, overrides, true);
      assert.deepEqual(lines(fast.msgs), lines(reference.msgs));
      assert.deepEqual(fast.stats, reference.stats);
      assert.ok(reference.msgs.length > 0 || Number(reference.stats.requests) === 0);
    });
  }

  for (const file of CAPTURES.filter((f) => !f.endsWith('.pcapng'))) {
    it(`CLI run, addon off and on: ${basename(file)}`, async () => {
      const ports = serverPorts(readTruth(file) as Truth);
      const off = await withFlowAddon('off', () => runCapture(file, ports));
      const on = await withFlowAddon(undefined, () => runCapture(file, ports));
      assert.deepEqual(on.stats, off.stats);
      assert.deepEqual(
        on.files.map((f) => f.name),
        off.files.map((f) => f.name),
      );
      for (let i = 0; i < on.files.length; i++)
        assert.ok(on.files[i]!.bytes.equals(off.files[i]!.bytes), on.files[i]!.name);
    });
  }
});
