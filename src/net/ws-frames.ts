/**
 * WebSocket frames (RFC 6455 §5.2), just what `--output-ws` needs: encode one binary frame (masked, as a
 * client must), and a sans-IO decoder for the frames a server sends back (close, ping) and for test servers.
 *
 *   byte 0: FIN | opcode     byte 1: MASK | len7     [len16 | len64]     [mask key ×4]     payload
 */
import { randomBytes } from 'node:crypto';

export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** One final frame with `opcode`, masked with a fresh random key when `mask` (client → server). */
export function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = 2 + lenBytes + (mask ? 4 : 0);
  const frame = Buffer.allocUnsafe(head + len);
  frame[0] = 0x80 | opcode;
  frame[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (lenBytes === 2) frame.writeUInt16BE(len, 2);
  else if (lenBytes === 8) frame.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) {
    payload.copy(frame, head);
    return frame;
  }
  const key = randomBytes(4);
  key.copy(frame, head - 4);
  for (let i = 0; i < len; i++) frame[head + i] = payload[i]! ^ key[i & 3]!;
  return frame;
}

export interface Frame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * Push bytes, get whole frames (unmasked). Throws on frames no peer may send (over 1 GiB; a control frame over
 * 125 bytes). With `controlOnly` (the sender's side of --output-ws, which acts on close and ping alone), the
 * payload of a data frame is passed over as it comes and never kept: a server that sends data back (an echo
 * server, one that pushes) was buffered whole, each chunk copying all before it (800 MiB pushed: 20 s of CPU
 * that held a SIGINT, and memory to match).
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes of a data frame's payload still to pass over (controlOnly). */
  private skipping = 0;

  constructor(private readonly options: { controlOnly?: boolean } = {}) {}

  push(chunk: Buffer): Frame[] {
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, chunk.length);
      this.skipping -= n;
      chunk = chunk.subarray(n);
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        const big = b.readBigUInt64BE(2);
        if (big > 1n << 30n) throw new Error(`WebSocket frame of ${big} bytes refused`);
        len = Number(big);
        at = 10;
      }
      if (opcode >= 0x8 && len > 125) throw new Error(`WebSocket control frame of ${len} bytes (at most 125)`);
      const keyAt = at;
      if (masked) at += 4;
      if (this.options.controlOnly && opcode < 0x8 && b.length >= at) {
        const here = Math.min(len, b.length - at);
        this.skipping = len - here;
        this.buf = b.subarray(at + here);
        continue;
      }
      if (b.length < at + len) break;
      const payload = Buffer.from(b.subarray(at, at + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ b[keyAt + (i & 3)]!;
      out.push({ fin: (b[0]! & 0x80) !== 0, opcode, payload });
      this.buf = b.subarray(at + len);
    }
    return out;
  }
}
