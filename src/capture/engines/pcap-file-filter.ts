/**
 * `--input-raw-bpf-filter` on a capture file. gor reads files through libpcap and sets the filter on them, so
 * the expression picks packets out of a file as it would on an interface; tapline does the same:
 *
 *   record ──▶ program for its link type (libpcap compiles it the first time that link type is seen:
 *              a pcapng file may mix them) ──▶ bpf-interpreter ──▶ delivered, or counted in stats.filtered
 *
 * The programs are compiled for a capture file (pcap_open_dead), so they read only the packet's bytes, never
 * the kernel's ancillary fields; the interpreter's out-of-bounds rule (drop) is libpcap's too.
 */
import { isTaplineError, TaplineError } from '../../core/errors.js';
import type { BpfInstruction } from '../bpf.js';
import { runBpf } from '../bpf-interpreter.js';
import { compileBpfExpression } from './libpcap.js';
import { DEFAULT_MAX_PACKET, type PacketFilter } from './pcap-file-common.js';

/**
 * A filter for `PcapReadOptions.filter`. Throws nothing itself: an expression libpcap refuses for a link type
 * (`ether host …` on raw IP) fails the read at the first packet of that link type, as a `TAPLINE_ERR_USAGE`
 * naming the link type. Check the syntax before the run with `compileBpfExpression(text)`.
 */
export function bpfFileFilter(text: string): PacketFilter {
  const programs = new Map<number, readonly BpfInstruction[]>();
  const programFor = (linkType: number): readonly BpfInstruction[] => {
    let program = programs.get(linkType);
    if (program === undefined) {
      try {
        program = compileBpfExpression(text, linkType, DEFAULT_MAX_PACKET);
      } catch (err) {
        if (!isTaplineError(err)) throw err;
        throw new TaplineError(err.code, `${err.message} (for the capture's link type ${linkType})`, {
          where: err.where ?? '--input-raw-bpf-filter',
          cause: err,
        });
      }
      programs.set(linkType, program);
    }
    return program;
  };
  return (linkType, data, origLen) => runBpf(programFor(linkType), data, { wireLen: origLen }) !== 0;
}
