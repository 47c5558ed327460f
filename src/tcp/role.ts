/**
 * Which end of a new flow is the client, decided from the segment that opened it (strongest evidence
 * first): the handshake flags, then the caller's port predicate, then the caller's content hint, then a
 * guess (the lower port belongs to the server, as ephemeral ports are high).
 */

import type { TcpSegment } from '../capture/types.js';
import { TcpFlag } from '../capture/types.js';
import type { RoleSource, StreamSide } from './types.js';

export interface SenderRole {
  /** What the sender of `seg` is. */
  readonly side: StreamSide;
  readonly source: RoleSource;
}

export function senderRole(
  seg: TcpSegment,
  classify: ((seg: TcpSegment) => StreamSide | undefined) | undefined,
  contentHint: ((payload: Buffer) => StreamSide | undefined) | undefined,
): SenderRole {
  if (seg.flags & TcpFlag.SYN) {
    return seg.flags & TcpFlag.ACK ? { side: 'server', source: 'synack' } : { side: 'client', source: 'syn' };
  }
  const byPort = classify?.(seg);
  if (byPort !== undefined) return { side: byPort, source: 'classify' };
  if (seg.payload.length > 0) {
    const byContent = contentHint?.(seg.payload);
    if (byContent !== undefined) return { side: byContent, source: 'content' };
  }
  return { side: seg.srcPort < seg.dstPort ? 'server' : 'client', source: 'guess' };
}
