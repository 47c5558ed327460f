/**
 * Requests whose head ends its lines with a bare LF (a recording edited by hand or by a text tool, as the
 * corpus's python-goreplay-test.gor). gor replays them: Go's request parser accepts bare LF and its client
 * writes the request out again with CRLF. tapline sends stored bytes as they are, so it converts the head
 * the same way first; the body is never touched.
 */
import { CR, LF } from './bytes.js';

/**
 * The payload with every bare LF of its head (up to and including the blank line) turned into CRLF, or null
 * when the first line does not end with a bare LF (nothing to convert) or the head has no end.
 */
export function crlfHead(payload: Buffer): Buffer | null {
  const firstLf = payload.indexOf(LF);
  if (firstLf <= 0 || payload[firstLf - 1] === CR) return null;
  // The head ends at the first empty line: LF LF, or LF CR LF when some lines already had CR.
  let end = -1;
  let bare = 0;
  for (let i = firstLf; i !== -1; i = payload.indexOf(LF, i + 1)) {
    if (payload[i - 1] !== CR) bare++;
    if (payload[i + 1] === LF) {
      end = i + 1;
      bare++;
      break;
    }
    if (payload[i + 1] === CR && payload[i + 2] === LF) {
      end = i + 2;
      break;
    }
  }
  if (end === -1) return null;
  const out = Buffer.allocUnsafe(payload.length + bare);
  let o = 0;
  let from = 0;
  for (let i = firstLf; i !== -1 && i <= end; i = payload.indexOf(LF, i + 1)) {
    if (payload[i - 1] === CR) continue;
    o += payload.copy(out, o, from, i);
    out[o++] = CR;
    from = i;
  }
  o += payload.copy(out, o, from);
  return out.subarray(0, o);
}
