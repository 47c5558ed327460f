/**
 * Chooses the outputs of each message.
 *  - copy (default): every output gets every message.
 *  - split (`--split-output`): requests go round-robin; a response goes to the output its request went to.
 *    gor counts responses in the rotation too, so with track-response all requests can land on one output
 *    (spec §3); tapline does not (docs/compat.md). A response whose request was not seen (or was
 *    forgotten: the id memory is bounded) goes to the output chosen by a hash of its id.
 */
import { BoundedMap } from './bounded-set.js';
import { type Message, REQUEST } from './message.js';

export class SplitRouter {
  private next = 0;
  private readonly byId = new BoundedMap<string, number>(200_000);

  constructor(private readonly outputs: number) {}

  pick(msg: Message): number {
    if (msg.meta.type === REQUEST) {
      const index = this.next;
      this.next = (this.next + 1) % this.outputs;
      this.byId.set(msg.meta.id, index);
      return index;
    }
    return this.byId.get(msg.meta.id) ?? fnv1a32(msg.meta.id) % this.outputs;
  }
}

/** FNV-1a 32-bit over the UTF-8 bytes of a string (gor uses it for sticky choices and limiters). */
export function fnv1a32(text: string | Buffer): number {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
