/**
 * Views into a packet buffer, made as cheaply as Node allows. Node's own Buffer class for views
 * (`FastBuffer`, exposed as `Buffer[Symbol.species]`): constructing it directly skips TypedArray#subarray's
 * species lookup and is about twice as cheap — the view was the largest per-packet cost of decoding a
 * batch. Falls back to subarray where it is not available.
 */
type ViewCtor = new (ab: ArrayBufferLike, byteOffset: number, length: number) => Buffer;
const species = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species];
const FastBuffer: ViewCtor | undefined =
  typeof species === 'function' && species !== Buffer ? (species as ViewCtor) : undefined;

/** `buf[start, start + length)` without a copy. */
export function viewOf(buf: Buffer, start: number, length: number): Buffer {
  return FastBuffer ? new FastBuffer(buf.buffer, buf.byteOffset + start, length) : buf.subarray(start, start + length);
}
