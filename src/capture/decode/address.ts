/**
 * IP addresses as text, formatted like Go's `net.IP.String()` so that headers gor fills with a client IP
 * (`--input-raw-realip-header`) come out byte-identical: dotted IPv4, RFC 5952 IPv6 (lower-case, longest
 * run of two or more zero groups as `::`, first run on ties), and IPv4-mapped IPv6 printed as IPv4.
 * `AddressText` caches the strings, because a capture repeats the same few addresses millions of times.
 */

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function ipv6ToString(b: Uint8Array, off: number): string {
  let mapped = b[off + 10] === 0xff && b[off + 11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) mapped = b[off + i] === 0;
  if (mapped) return `${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[off + i]! << 8) | b[off + i + 1]!);
  // Longest run of zero groups; strictly longer wins, so the first of equal runs is kept.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.map((g) => g.toString(16)).join(':');
  const head = groups.slice(0, bestStart).map((g) => g.toString(16));
  const tail = groups.slice(bestStart + bestLen).map((g) => g.toString(16));
  return `${head.join(':')}::${tail.join(':')}`;
}

/** Bound on cached strings per family; past it the cache starts over (a scan of random addresses). */
const MAX_CACHED = 65_536;

interface V6Entry {
  readonly bytes: Buffer;
  readonly text: string;
}

export class AddressText {
  private v4 = new Map<number, string>();
  /** Keyed by the last 4 bytes (cheap to read), then compared in full. */
  private v6 = new Map<number, V6Entry[]>();
  private v6Count = 0;

  ipv4(a: number): string {
    // As int32 the key is a small integer to V8, which hashes much faster than a heap number.
    const key = a | 0;
    let s = this.v4.get(key);
    if (s === undefined) {
      if (this.v4.size >= MAX_CACHED) this.v4.clear();
      s = ipv4ToString(a);
      this.v4.set(key, s);
    }
    return s;
  }

  /** `last4` is the address's last 4 bytes as uint32, which the caller has already read. */
  ipv6(b: Uint8Array, off: number, last4: number): string {
    const key = last4 | 0;
    const list = this.v6.get(key);
    if (list !== undefined) {
      for (const e of list) if (sameBytes(e.bytes, b, off)) return e.text;
    }
    if (this.v6Count >= MAX_CACHED) {
      this.v6.clear();
      this.v6Count = 0;
    }
    const text = ipv6ToString(b, off);
    const entry = { bytes: Buffer.from(b.subarray(off, off + 16)), text };
    if (list !== undefined && this.v6.has(key)) list.push(entry);
    else this.v6.set(key, [entry]);
    this.v6Count++;
    return text;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 12; i++) if (a[i] !== b[off + i]) return false;
  return true;
}
