/** Shared by the modifier tests: a request message, and one payload through a chain built from flag values. */
import { type Message, makeMeta } from '../core/message.js';
import { buildModifierChain, type ModifierValues } from './index.js';

export function requestMessage(payload: string): Message {
  return { meta: makeMeta({ type: '1', id: 'c'.repeat(24), timestampNs: 1n }), data: Buffer.from(payload, 'latin1') };
}

/** The payload after the chain (latin1 both ways, so every byte shows), or null when it was dropped. */
export function runChain(values: ModifierValues, payload: string): string | null {
  const out = buildModifierChain(values)!.process(requestMessage(payload));
  return out === null ? null : out.data.toString('latin1');
}
