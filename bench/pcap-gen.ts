/**
 * Writes a synthetic classic pcap (Ethernet, IPv4, microsecond stamps) of HTTP/1.1 keep-alive traffic for
 * the capture benchmark: `connections` client connections to 127.0.0.1:`port`, each opened with a
 * handshake, then request/response exchanges spread round-robin over the connections, then closed with
 * FIN/FIN/ACK. Requests and responses are one segment each (like small requests on loopback); a response
 * is written `lag` exchanges after its request, so several connections are in flight at once.
 *
 * Checksums (IP and TCP) are correct, so tshark and the kernel accept every packet. Timestamps advance
 * by 1/`rate` per exchange: replayed at recorded speed (tcpreplay without --pps/--topspeed) the file
 * puts `rate` requests a second on the wire.
 *
 * `dstMac` is the destination MAC of every frame. Replayed onto `lo` with a MAC other than lo's own
 * (00:00:00:00:00:00) the kernel marks the frames PACKET_OTHERHOST and drops them before IP, so no RST
 * answers them and the wire holds exactly the file's packets; packet sockets still see every frame.
 */
import { createWriteStream } from 'node:fs';

export interface PcapGenOptions {
  exchanges: number;
  connections: number;
  /** Server port (the captured one). */
  port: number;
  /** First client port; connection i uses clientPortBase + i. */
  clientPortBase: number;
  /** Requests a second, for the timestamps. */
  rate: number;
  /** Responses trail their requests by this many exchanges (≥ 0). */
  lag?: number;
  dstMac?: readonly number[];
  /** Start of the capture, Unix seconds. */
  startSec?: number;
}

export interface PcapGenResult {
  bytes: number;
  packets: number;
  requests: number;
  responses: number;
  /** Seconds covered by the timestamps. */
  seconds: number;
}

const ETH = 14;
const IP = 20;
const TCP = 20;
const HDR = ETH + IP + TCP;
const REC = 16;
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const LOCALHOST = 0x7f000001;
const CHUNK = 4 * 1024 * 1024;

const PATHS = ['/api/items', '/api/users', '/static/app.js', '/search', '/health', '/api/orders'];
const BODY = Buffer.from('x'.repeat(2048));

function requestBytes(n: number, port: number): Buffer {
  const path = `${PATHS[n % PATHS.length]}/${n}?page=${n % 17}`;
  const common = `Host: 127.0.0.1:${port}\r\nUser-Agent: tapline-bench/1.0\r\nAccept: */*\r\n`;
  if (n % 10 === 3) {
    const body = `{"id":${n},"name":"item-${n}","tags":["a","b","c"]}`;
    return Buffer.from(
      `POST ${path} HTTP/1.1\r\n${common}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  }
  return Buffer.from(`GET ${path} HTTP/1.1\r\n${common}\r\n`);
}

function responseBytes(n: number): Buffer {
  const len = 12 + ((n * 37) % 400);
  const head = Buffer.from(
    `HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 23 Nov 2026 10:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: ${len}\r\nConnection: keep-alive\r\n\r\n`,
  );
  return Buffer.concat([head, BODY.subarray(0, len)]);
}

interface Conn {
  clientPort: number;
  /** Next sequence number each side sends. */
  cseq: number;
  sseq: number;
  /** Requests sent whose responses are still due. */
  pending: number[];
  opened: boolean;
}

export async function writeHttpPcap(file: string, o: PcapGenOptions): Promise<PcapGenResult> {
  const lag = o.lag ?? 4;
  const mac = o.dstMac ?? [0, 0, 0, 0, 0, 0];
  const out = createWriteStream(file);
  let buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  let bytes = 0;
  let packets = 0;
  let requests = 0;
  let responses = 0;
  let ipId = 1;
  const startUs = (o.startSec ?? 1_795_000_000) * 1_000_000;
  let nowUs = startUs;

  const flush = async (): Promise<void> => {
    if (pos === 0) return;
    const full = buf.subarray(0, pos);
    bytes += pos;
    buf = Buffer.allocUnsafe(CHUNK);
    pos = 0;
    if (!out.write(full)) await new Promise<void>((r) => out.once('drain', () => r()));
  };

  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  header.copy(buf, 0);
  pos = 24;

  /** One TCP segment; `toServer` picks the direction. */
  const segment = async (
    c: Conn,
    toServer: boolean,
    flags: number,
    payload: Buffer | null,
    seq: number,
    ack: number,
  ): Promise<void> => {
    const plen = payload ? payload.length : 0;
    const frame = HDR + plen;
    if (pos + REC + frame > buf.length) await flush();
    const b = buf;
    const sec = Math.floor(nowUs / 1_000_000);
    b.writeUInt32LE(sec, pos);
    b.writeUInt32LE(nowUs - sec * 1_000_000, pos + 4);
    b.writeUInt32LE(frame, pos + 8);
    b.writeUInt32LE(frame, pos + 12);
    const f = pos + REC;
    for (let i = 0; i < 6; i++) b[f + i] = mac[i]!;
    b.fill(0, f + 6, f + 12); // source MAC: lo's
    b.writeUInt16BE(0x0800, f + 12);
    const ip = f + ETH;
    b.writeUInt16BE(0x4500, ip);
    b.writeUInt16BE(IP + TCP + plen, ip + 2);
    b.writeUInt16BE(ipId, ip + 4);
    ipId = (ipId + 1) & 0xffff;
    b.writeUInt16BE(0x4000, ip + 6); // DF
    b[ip + 8] = 64;
    b[ip + 9] = 6;
    b.writeUInt16BE(0, ip + 10);
    b.writeUInt32BE(LOCALHOST, ip + 12);
    b.writeUInt32BE(LOCALHOST, ip + 16);
    b.writeUInt16BE(checksum(b, ip, IP, 0), ip + 10);
    const t = ip + IP;
    b.writeUInt16BE(toServer ? c.clientPort : o.port, t);
    b.writeUInt16BE(toServer ? o.port : c.clientPort, t + 2);
    b.writeUInt32BE(seq >>> 0, t + 4);
    b.writeUInt32BE(ack >>> 0, t + 8);
    b[t + 12] = (TCP / 4) << 4;
    b[t + 13] = flags;
    b.writeUInt16BE(65535, t + 14);
    b.writeUInt32BE(0, t + 16); // checksum, urgent pointer
    if (payload) payload.copy(b, t + TCP);
    // Pseudo-header: src + dst (both 127.0.0.1), protocol 6, TCP length.
    const pseudo = 2 * (0x7f00 + 0x0001) + 6 + TCP + plen;
    b.writeUInt16BE(checksum(b, t, TCP + plen, pseudo), t + 16);
    pos = f + frame;
    packets++;
  };

  const conns: Conn[] = [];
  for (let i = 0; i < o.connections; i++) {
    conns.push({
      clientPort: o.clientPortBase + i,
      cseq: (0x10000000 + i * 7919) >>> 0,
      sseq: (0x70000000 + i * 104729) >>> 0,
      pending: [],
      opened: false,
    });
  }
  const stepUs = 1_000_000 / o.rate;
  const open = async (c: Conn): Promise<void> => {
    await segment(c, true, SYN, null, c.cseq, 0);
    await segment(c, false, SYN | ACK, null, c.sseq, c.cseq + 1);
    c.cseq = (c.cseq + 1) >>> 0;
    c.sseq = (c.sseq + 1) >>> 0;
    await segment(c, true, ACK, null, c.cseq, c.sseq);
    c.opened = true;
  };
  const respond = async (c: Conn): Promise<void> => {
    const n = c.pending.shift();
    if (n === undefined) return;
    const body = responseBytes(n);
    await segment(c, false, PSH | ACK, body, c.sseq, c.cseq);
    c.sseq = (c.sseq + body.length) >>> 0;
    responses++;
  };
  // Exchanges issued, in order, so that response n goes out `lag` exchanges after request n.
  const due: Conn[] = [];
  for (let n = 0; n < o.exchanges; n++) {
    const c = conns[n % conns.length]!;
    if (!c.opened) await open(c);
    // Keep-alive: a connection's next request waits for its previous response.
    while (c.pending.length > 0) {
      const first = due.shift()!;
      await respond(first);
    }
    const req = requestBytes(n, o.port);
    await segment(c, true, PSH | ACK, req, c.cseq, c.sseq);
    c.cseq = (c.cseq + req.length) >>> 0;
    c.pending.push(n);
    due.push(c);
    requests++;
    if (due.length > lag) await respond(due.shift()!);
    nowUs += stepUs;
  }
  while (due.length > 0) await respond(due.shift()!);
  for (const c of conns) {
    if (!c.opened) continue;
    await segment(c, true, FIN | ACK, null, c.cseq, c.sseq);
    await segment(c, false, FIN | ACK, null, c.sseq, c.cseq + 1);
    await segment(c, true, ACK, null, c.cseq + 1, c.sseq + 1);
  }
  await flush();
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
  return { bytes, packets, requests, responses, seconds: (nowUs - startUs) / 1_000_000 };
}

/** Internet checksum of b[off, off+len) plus `initial` (already-summed 16-bit words). */
function checksum(b: Buffer, off: number, len: number, initial: number): number {
  let sum = initial;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (len & 1) sum += b[off + len - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
