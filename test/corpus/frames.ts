/**
 * A minimal, independent pcap/pcapng frame reader for the corpus test: the TCP header fields of frame N
 * (1-based, as tshark numbers frames), so request ids can be checked against gor's formula (spec §2.5) with
 * numbers read straight from the file rather than from the code under test. Only what the plain captures use:
 * Ethernet (with 802.1Q/QinQ tags), BSD loopback, raw IP, Linux SLL v1/v2; IPv4 and IPv6 without extension
 * headers. Anything else yields null and the caller skips the check for that frame.
 */
import { readFileSync } from 'node:fs';

export interface TcpFrame {
  srcIp: Buffer;
  dstIp: Buffer;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  payload: Buffer;
}

interface RawFrame {
  linkType: number;
  data: Buffer;
}

function classicFrames(buf: Buffer): RawFrame[] {
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const linkType = u32(20) & 0xffff;
  const out: RawFrame[] = [];
  for (let at = 24; at + 16 <= buf.length; ) {
    const incl = u32(at + 8);
    out.push({ linkType, data: buf.subarray(at + 16, at + 16 + incl) });
    at += 16 + incl;
  }
  return out;
}

function pcapngFrames(buf: Buffer): RawFrame[] {
  const out: RawFrame[] = [];
  let le = true;
  let links: number[] = [];
  for (let at = 0; at + 12 <= buf.length; ) {
    const type = le ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
    if (type === 0x0a0d0d0a) {
      le = buf.readUInt32LE(at + 8) === 0x1a2b3c4d;
      links = [];
    }
    const u32 = (o: number) => (le ? buf.readUInt32LE(at + o) : buf.readUInt32BE(at + o));
    const u16 = (o: number) => (le ? buf.readUInt16LE(at + o) : buf.readUInt16BE(at + o));
    const len = u32(4);
    if (type === 1) links.push(u16(8));
    else if (type === 6) out.push({ linkType: links[u32(8)]!, data: buf.subarray(at + 28, at + 28 + u32(20)) });
    else if (type === 3)
      out.push({ linkType: links[0]!, data: buf.subarray(at + 16, at + 16 + Math.min(u32(8), len - 16)) });
    at += len;
  }
  return out;
}

/** The network-layer packet (and its ethertype) inside a link-layer frame. */
function network(f: RawFrame): { type: number; ip: Buffer } | null {
  const d = f.data;
  switch (f.linkType) {
    case 1: {
      let at = 12;
      let type = d.readUInt16BE(at);
      while (type === 0x8100 || type === 0x88a8) {
        at += 4;
        type = d.readUInt16BE(at);
      }
      return { type, ip: d.subarray(at + 2) };
    }
    case 0: {
      const family = d.readUInt32LE(0) > 0xffff ? d.readUInt32BE(0) : d.readUInt32LE(0);
      return { type: family === 2 ? 0x0800 : 0x86dd, ip: d.subarray(4) };
    }
    case 12:
    case 101:
      return { type: d[0]! >> 4 === 4 ? 0x0800 : 0x86dd, ip: d };
    case 113:
      return { type: d.readUInt16BE(14), ip: d.subarray(16) };
    case 276:
      return { type: d.readUInt16BE(0), ip: d.subarray(20) };
    default:
      return null;
  }
}

function tcp(f: RawFrame): TcpFrame | null {
  const n = network(f);
  if (!n) return null;
  let srcIp: Buffer;
  let dstIp: Buffer;
  let t: Buffer;
  if (n.type === 0x0800) {
    const ihl = (n.ip[0]! & 15) * 4;
    if (n.ip[9] !== 6) return null;
    srcIp = n.ip.subarray(12, 16);
    dstIp = n.ip.subarray(16, 20);
    t = n.ip.subarray(ihl, n.ip.readUInt16BE(2));
  } else if (n.type === 0x86dd) {
    if (n.ip[6] !== 6) return null;
    srcIp = n.ip.subarray(8, 24);
    dstIp = n.ip.subarray(24, 40);
    t = n.ip.subarray(40, 40 + n.ip.readUInt16BE(4));
  } else {
    return null;
  }
  return {
    srcIp,
    dstIp,
    srcPort: t.readUInt16BE(0),
    dstPort: t.readUInt16BE(2),
    seq: t.readUInt32BE(4),
    ack: t.readUInt32BE(8),
    payload: t.subarray((t[12]! >> 4) * 4),
  };
}

/** Frame N (1-based) of a capture as TCP, or null when it is not a plain TCP frame this reader knows. */
export function tcpFrames(file: string): (frame: number) => TcpFrame | null {
  const buf = readFileSync(file);
  const frames = buf.readUInt32LE(0) === 0x0a0d0d0a ? pcapngFrames(buf) : classicFrames(buf);
  return (frame) => {
    const f = frames[frame - 1];
    return f ? tcp(f) : null;
  };
}
