/**
 * gor's message ids for raw capture (spec §2.5): 12 bytes, lowercase hex, 24 characters.
 *
 *   bytes 0–1 client port │ 2–3 server port │ 4–7 client IPv4 (or last 4 bytes of IPv6) │ 8–11 number
 *
 * The number is the request's ACK (request id) or the response's SEQ (response id). The server's first
 * response byte has SEQ equal to the ACK the request carried, so a request and its response share an id
 * with no state. Both formulas are the same layout; two names keep call sites honest about which is meant.
 */

/** Length of `HTTP/1.1 100 Continue\r\n\r\n`: the server's interim reply advances the client's ACK by this much. */
export const CONTINUE_ACK_SHIFT = 25;

function hex4(n: number): string {
  return (n & 0xffff).toString(16).padStart(4, '0');
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function gorId(clientPort: number, serverPort: number, clientIp4: number, number: number): string {
  return connectionIdPrefix(clientPort, serverPort, clientIp4) + hex8(number);
}

/** The first 16 characters of every id of one connection (ports and client address): made once per connection. */
export function connectionIdPrefix(clientPort: number, serverPort: number, clientIp4: number): string {
  return hex4(clientPort) + hex4(serverPort) + hex8(clientIp4);
}

/** A whole id from its connection's prefix and the ACK (request) or SEQ (response) of its last 4 bytes. */
export function idFromPrefix(prefix: string, number: number): string {
  return prefix + hex8(number);
}

/** Id of a request: `ack` is the ACK of the segment that carried the request's first byte. */
export function requestId(clientPort: number, serverPort: number, clientIp4: number, ack: number): string {
  return gorId(clientPort, serverPort, clientIp4, ack);
}

/** Id of a response (and of messages of unknown direction): `seq` is the SEQ of the response's first byte. */
export function responseId(clientPort: number, serverPort: number, clientIp4: number, seq: number): string {
  return gorId(clientPort, serverPort, clientIp4, seq);
}

/**
 * The ACK to use in the id of an `Expect: 100-continue` request (§8.6): gor shifts it by 25 so the final
 * response, which follows the 25-byte interim `100 Continue`, gets the request's id.
 */
export function continueAck(ack: number): number {
  return (ack + CONTINUE_ACK_SHIFT) >>> 0;
}
