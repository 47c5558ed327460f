/**
 * The raw capture input's public entry: the plugin for the CLI, and `openLiveInput` for code that wants a
 * live capture with gor's defaults (the demo, tests).
 */

import { DEFAULT_SNAPLEN } from '../../capture/engines/af-packet.js';
import { createLogger, type Logger } from '../../core/log.js';
import type { Input } from '../../core/plugin.js';
import { parseRawAddress } from './address.js';
import { RAW_INPUT_DEFAULTS, rawInput } from './raw-input.js';
import { openAfPacketSource } from './sources.js';

export { parseRawAddress, type RawAddress } from './address.js';
export { rawInputPlugin } from './plugin.js';
export { type RawInputOptions, rawInput } from './raw-input.js';

export interface LiveInputOptions {
  trackResponse?: boolean;
  log?: Logger;
  /** `--input-raw-memory-budget` in bytes (default: RAW_INPUT_DEFAULTS'). */
  memoryBudget?: number;
  /** `--input-raw-expire` in ns (default: RAW_INPUT_DEFAULTS'). */
  expireNs?: bigint;
}

/**
 * Opens a live af_packet capture of `address` (`lo:8080`) now — it is capturing when this returns — and
 * returns it as an input with gor's defaults. Throws a TaplineError (permissions, no such interface, addon
 * not built) when live capture is not possible here.
 */
export function openLiveInput(address: string, options: LiveInputOptions = {}): Input {
  const parsed = parseRawAddress(address);
  const trackResponse = options.trackResponse ?? true;
  const source = openAfPacketSource(parsed, {
    trackResponse,
    promiscuous: false,
    snaplen: DEFAULT_SNAPLEN,
    bufferSize: undefined,
    timeoutMs: undefined,
    ignoreInterfaces: [],
    vlan: false,
    vlanIds: [],
    bpfFilter: '',
  });
  return rawInput({
    ...RAW_INPUT_DEFAULTS,
    address: parsed,
    open: async () => source,
    trackResponse,
    ...(options.memoryBudget !== undefined ? { memoryBudget: options.memoryBudget } : {}),
    ...(options.expireNs !== undefined ? { expireNs: options.expireNs } : {}),
    log: options.log ?? createLogger(),
    name: `input-raw(${address})`,
  });
}
