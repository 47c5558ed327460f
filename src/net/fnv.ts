/** FNV-1a, 32 bits, over a string's UTF-8 bytes: gor's `--output-tcp-sticky` worker choice (spec §9.1). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
