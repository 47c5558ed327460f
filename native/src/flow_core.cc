// tapline flow addon: the native fast path of `--input-raw` (src/inputs/raw/native-flows.ts).
//
// One call per packet batch. For the common case — Ethernet or Linux cooked (the `any` interface), IPv4
// without fragments, TCP, a connection opened by a captured SYN, every segment in order, HTTP/1 messages
// with a Content-Length body or none whose head is whole inside one segment (the body may go on in the next
// ones) — it decodes the packet, finds the flow in a C++ hash table, cuts the messages and writes one record
// per message into a typed array (payload as offsets into the batch, or into the call's arena for a message
// that spanned segments).
// Everything else goes back to JavaScript, which runs the TypeScript path (decoder, TcpAssembler, HTTP/1
// splitter) on it:
//
//   batch ──▶ decode ──not the common case──────────────────────────────────────────▶ fallback[] (TS path)
//               │
//               ▼ flow table: tuple ─▶ native flow | "TS owns it" mark | none
//           native flow ─▶ every check passes? ──yes──▶ commit: seq, pending requests, messages[]
//                                 │ no
//                                 ▼ hand-off[]: the flow's state (TS adopts it, then runs this packet)
//                                   the tuple is marked: its packets go to TS from now on
//
// A packet is handled here only when every check passes; checks read, commits write, so a flow is handed
// off in the state it had before the packet (at a message boundary in both directions but for at most one
// message whose body is still coming, see Pending). The
// TypeScript path is the reference: a check fails for anything it would treat in a way this code does
// not reproduce exactly (gaps, retransmissions, reordering, FIN/RST, chunked bodies, heads across
// segments, Upgrade, Expect, HEAD/CONNECT, 1xx, bare LF, obs-fold, unmatched responses, ...). A flow with
// a message half-way through its body is handed off with that part, which the TS path gets as one segment.
//
// Input layouts (`kind`):
//   0  af_packet batch records (native/src/af_packet.h): 24-byte header (tsNs u64 at 0, caplen u32 at 12),
//      packet bytes, padding to 8; the addon walks them.
//   1  an index built by JavaScript: index[5i..5i+4] = byte offset of the packet in the buffer, caplen,
//      origLen, seconds, nanoseconds of the capture time (classic pcap records, src/capture/engines/
//      pcap-file-index.ts);
//   2  the same with microseconds instead of nanoseconds.
//
// Outputs (Uint32Arrays passed in, sized by the caller; counts come back in `counts`):
//   messages  12 words a message: packet index, type (1 request, 2 response), id number (ACK or SEQ),
//             client IPv4, client port << 16 | server port, payload offset, payload length, start ts high,
//             start ts low, end ts high, end ts low, 1 when the payload is in the call's arena (a message
//             that spanned segments, copied) instead of the batch
//   fallback  2 words a packet: packet index, record offset (kind 0; the index entry's offset for kind 1)
//   handoffs  16 words a flow (see WriteHandoff), waits: 2 words (id number, ack) a pending request
//   counts    [messages, fallback, handoffs, waits, latest ts high, latest ts low, error, next record offset,
//             arena bytes (then `arena()` gives them as one Buffer)]
//
// Memory: a pending message's copy is the only thing kept between calls that grows with the traffic. Their
// total is reported (counters()[11]); when --input-raw-memory-budget is spent and the largest message in
// progress is one of these, JavaScript asks for it with handOffLargest(): its flow is handed over like any
// other, and the TypeScript path cuts the message as its own (src/inputs/raw/memory-budget.ts).
//
// Never trusts the bytes: every read is bounds-checked; a malformed batch is reported (counts[6] = 1)
// before anything was processed, and JavaScript decodes it the old way (which reports the error).

#include <napi.h>

#include <cstdint>
#include <cstring>
#include <cstddef>
#include <vector>

namespace tapline {
namespace {

constexpr int kAbiVersion = 2;

constexpr uint32_t kRecordHeader = 24;
constexpr uint32_t kIndexWords = 5;
constexpr uint32_t kMessageWords = 12;
constexpr uint32_t kFallbackWords = 2;
constexpr uint32_t kHandoffWords = 24;

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kUrg = 0x20;

constexpr int32_t kWindow = 0x40000000;  // the assembler's WINDOW (src/tcp/stream.ts)
constexpr size_t kMaxHeaderSize = 64 * 1024;  // the splitter's default maxHeaderSize
// Requests waiting for responses a native flow may have (a capture of one direction only, gor's default
// without --input-raw-track-response, never sees them answered). Beyond, the flow is handed over.
constexpr size_t kMaxWaiting = 1024;
constexpr uint32_t kMark = 0xffffffffu;

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
inline uint32_t Le32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;  // Linux targets here are little-endian (as the af_packet addon assumes)
}
inline uint64_t Le64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

// ── decode ────────────────────────────────────────────────────────────────────────────────────────────

struct Segment {
  uint32_t src, dst;
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t flags;
  const uint8_t* payload;
  uint32_t len;
};

// What a packet is to the fast path. The TS decoder is the reference for what becomes a TCP segment:
//   kSegment     Ethernet II or Linux cooked (SLL, SLL2), IPv4 without fragments and complete, TCP: decoded
//                into `s`;
//   kTuple       a TCP segment the TS decoder makes too but this code does not (snaplen cut, TSO zero
//                length): its tuple is in `s`, its connection must be the TypeScript path's;
//   kIrrelevant  something the TS decoder drops, or a segment that cannot belong to an IPv4 flow (IPv6);
//   kUnknown     may become a segment of any IPv4 connection in the TS decoder (VLAN tags, VXLAN, IPv4
//                fragments, IP in IP, 4in6 and GRE tunnels, PPPoE, MPLS, another link type): every connection
//                must be the TypeScript path's first.
// Ethernet frames shorter than 60 bytes carry padding after the IP packet; the IP total length says where it
// ends, as in the TS decoder.
enum Kind { kSegment, kTuple, kIrrelevant, kUnknown };

Kind Classify(const uint8_t* p, uint32_t caplen, uint32_t linkType, uint32_t vxlanPort, Segment* s) {
  // The link header's length and where its EtherType is: Ethernet, Linux cooked v1 ('any' interface) and v2.
  uint32_t header;
  uint32_t typeAt;
  switch (linkType) {
    case 1:
      header = 14;
      typeAt = 12;
      break;
    case 113:
      header = 16;
      typeAt = 14;
      break;
    case 276:
      header = 20;
      typeAt = 0;
      break;
    default:
      return kUnknown;
  }
  if (caplen < header) return kIrrelevant;  // 'link-truncated'
  uint16_t type = Be16(p + typeAt);
  if (type == 0x8100 || type == 0x88a8 || type == 0x9100) return kUnknown;
  if (type == 0x8864) return kUnknown;  // PPPoE session: IP inside, decoded by the TS path
  if (type == 0x8847 || type == 0x8848) return kUnknown;  // MPLS: IP or an Ethernet pseudowire inside
  if (type == 0x86dd) {
    // IPv6 is never the same flow as IPv4, unless it carries IPv4 (4in6, GRE). Not looked for behind extension
    // headers or in 6in4 below: a hop-by-hop MLD report would hand every connection over, for a tunnel
    // nobody runs that way.
    return caplen - header >= 40 && (p[header + 6] == 4 || p[header + 6] == 47) ? kUnknown : kIrrelevant;
  }
  if (type != 0x0800) return kIrrelevant;  // ARP, 802.3 lengths, ...
  const uint8_t* ip = p + header;
  uint32_t avail = caplen - header;
  if (avail < 20 || (ip[0] >> 4) != 4) return kIrrelevant;
  uint32_t ihl = (ip[0] & 0x0f) * 4u;
  if (ihl < 20 || ihl > avail) return kIrrelevant;
  uint32_t total = Be16(ip + 2);
  bool strict = total != 0 && total <= avail;  // not TSO's zero length, not cut by the snaplen
  if (total == 0) total = avail;
  if (total < ihl) return kIrrelevant;
  uint8_t proto = ip[9];
  if ((Be16(ip + 6) & 0x3fff) != 0) return kUnknown;  // a fragment: reassembled, it may be TCP or VXLAN
  if (proto == 4) return kUnknown;  // IP in IP (LVS-TUN requests; their answers come direct): any flow
  if (proto == 47) return kUnknown;  // GRE (tunnels, ERSPAN mirrors): any flow
  if (proto == 17) {
    // VXLAN (the TS decoder unwraps UDP to its port): the inner frame may be any connection.
    uint32_t end = total < avail ? total : avail;
    if (end - ihl < 8) return kIrrelevant;
    return Be16(ip + ihl + 2) == vxlanPort ? kUnknown : kIrrelevant;
  }
  if (proto != 6) return kIrrelevant;
  const uint8_t* tcp = ip + ihl;
  uint32_t end = total < avail ? total : avail;
  uint32_t tcpAvail = end - ihl;
  if (tcpAvail < 20) return kIrrelevant;
  uint32_t doff = (tcp[12] >> 4) * 4u;
  if (doff < 20 || doff > tcpAvail) return kIrrelevant;
  s->src = Be32(ip + 12);
  s->dst = Be32(ip + 16);
  s->sport = Be16(tcp);
  s->dport = Be16(tcp + 2);
  s->seq = Be32(tcp + 4);
  s->ack = Be32(tcp + 8);
  s->flags = tcp[13];
  s->payload = tcp + doff;
  s->len = tcpAvail - doff;
  return strict ? kSegment : kTuple;
}

// ── HTTP/1 heads (strict subset of src/protocol/http1/splitter.ts) ────────────────────────────────────

// Byte classes as tables (the head scan is the hot loop): 1 = token character, 2 = header value or reason
// phrase byte the TS splitter reads the same whatever it is (HTAB, SP..~, obs-text; no CR, LF, CTL, DEL).
struct ByteClasses {
  uint8_t c[256];
  constexpr ByteClasses() : c() {
    for (int b = 0; b < 256; b++) {
      bool tchar = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '!' ||
                   b == '#' || b == '$' || b == '%' || b == '&' || b == '\'' || b == '*' || b == '+' || b == '-' ||
                   b == '.' || b == '^' || b == '_' || b == '`' || b == '|' || b == '~';
      bool text = b == '\t' || (b >= 0x20 && b != 0x7f);
      c[b] = static_cast<uint8_t>((tchar ? 1 : 0) | (text ? 2 : 0));
    }
  }
};
constexpr ByteClasses kClasses;
inline bool IsTchar(uint8_t c) { return (kClasses.c[c] & 1) != 0; }
inline bool IsTextByte(uint8_t c) { return (kClasses.c[c] & 2) != 0; }

bool EqualsLower(const uint8_t* p, size_t n, const char* lower) {
  size_t m = strlen(lower);
  if (n != m) return false;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c >= 'A' && c <= 'Z') c |= 0x20;
    if (c != static_cast<uint8_t>(lower[i])) return false;
  }
  return true;
}

struct Head {
  size_t end;             // offset just past the blank line
  int64_t contentLength;  // -1: none
  int status;             // responses
};

// `HTTP/1.0` or `HTTP/1.1` at p (8 bytes available checked by the caller).
inline bool IsVersion(const uint8_t* p) {
  return memcmp(p, "HTTP/1.", 7) == 0 && (p[7] == '0' || p[7] == '1');
}

// Header lines from `pos` up to and including the blank line. False: not in the strict subset, or not
// complete inside [0, len). Content-Length: one header, digits with optional spaces/tabs around them.
bool ParseFields(const uint8_t* b, size_t len, size_t pos, size_t start, size_t limit, Head* h) {
  h->contentLength = -1;
  for (;;) {
    if (pos + 2 > len) return false;
    if (b[pos] == '\r') {
      if (b[pos + 1] != '\n') return false;
      h->end = pos + 2;
      return h->end - start <= limit;
    }
    size_t ns = pos;
    while (pos < len && IsTchar(b[pos])) pos++;
    if (pos == ns || pos >= len || b[pos] != ':') return false;  // obs-fold, space before colon, no colon
    size_t ne = pos;
    pos++;
    size_t vs = pos;
    while (pos < len && b[pos] != '\r') {
      if (!IsTextByte(b[pos])) return false;  // bare LF, control bytes
      pos++;
    }
    if (pos + 1 >= len || b[pos + 1] != '\n') return false;
    size_t ve = pos;
    pos += 2;
    if (pos - start > limit) return false;
    const uint8_t* name = b + ns;
    size_t nlen = ne - ns;
    if (nlen == 14 && EqualsLower(name, nlen, "content-length")) {
      if (h->contentLength >= 0) return false;
      size_t i = vs;
      while (i < ve && (b[i] == ' ' || b[i] == '\t')) i++;
      size_t ds = i;
      int64_t v = 0;
      while (i < ve && b[i] >= '0' && b[i] <= '9' && i - ds < 15) v = v * 10 + (b[i++] - '0');
      if (i == ds) return false;
      while (i < ve && (b[i] == ' ' || b[i] == '\t')) i++;
      if (i != ve) return false;
      h->contentLength = v;
    } else if ((nlen == 17 && EqualsLower(name, nlen, "transfer-encoding")) ||
               (nlen == 7 && EqualsLower(name, nlen, "upgrade")) ||
               (nlen == 6 && EqualsLower(name, nlen, "expect"))) {
      return false;
    }
  }
}

// A method that is bytes left over from the message before glued to the next request line (`LOOOGET`): the
// TS splitter reads it as after a gap (src/protocol/http1/start-line.ts REGISTERED_METHODS, KNOWN_METHODS),
// so the flow is handed off. True when it is not a registered method and ends with a known one. Only
// `[A-Z]+` methods reach here, so the lists hold those only.
bool IsLeftOverMethod(const uint8_t* m, size_t n) {
  static const char* const kRegistered[] = {
      "GET",     "HEAD",     "POST",       "PUT",        "DELETE",      "CONNECT",   "OPTIONS",    "TRACE",
      "PATCH",   "PRI",      "QUERY",      "PURGE",      "PROPFIND",    "PROPPATCH", "MKCOL",      "COPY",
      "MOVE",    "LOCK",     "UNLOCK",     "SEARCH",     "REPORT",      "ACL",       "BIND",       "UNBIND",
      "REBIND",  "LINK",     "UNLINK",     "MKCALENDAR", "MKACTIVITY",  "MKWORKSPACE", "LABEL",    "CHECKIN",
      "CHECKOUT", "UNCHECKOUT", "MERGE",   "UPDATE",     "ORDERPATCH",  "MKREDIRECTREF", "UPDATEREDIRECTREF",
      "BMOVE",   "BCOPY",    "BDELETE",    "BPROPFIND",  "BPROPPATCH"};
  static const char* const kKnown[] = {"PROPPATCH", "PROPFIND", "OPTIONS", "CONNECT", "DELETE", "TRACE", "PATCH",
                                       "POST",      "HEAD",     "MKCOL",   "LOCK",    "MOVE",   "COPY",  "GET",
                                       "PUT"};
  if (n <= 3) return false;  // GET, PUT: the common case costs one compare
  bool suffix = false;
  for (const char* k : kKnown) {
    size_t kn = strlen(k);
    if (n > kn && memcmp(m + n - kn, k, kn) == 0) {
      suffix = true;
      break;
    }
  }
  if (!suffix) return false;
  for (const char* r : kRegistered) {
    if (strlen(r) == n && memcmp(m, r, n) == 0) return false;
  }
  return true;
}

// A request starting at `start`: `METHOD SP target SP HTTP/1.x CRLF` fields CRLF [body]. Returns the end
// of the message (beyond `len` when its head is here but its body goes on in later segments), or 0 when it
// is not in the subset, its head is not whole inside [start, len), or it is longer than `maxSize`.
uint64_t ParseRequest(const uint8_t* b, size_t len, size_t start, size_t maxSize) {
  size_t limit = maxSize < kMaxHeaderSize ? maxSize : kMaxHeaderSize;
  size_t p = start;
  while (p < len && b[p] >= 'A' && b[p] <= 'Z' && p - start < 20) p++;
  size_t mlen = p - start;
  if (mlen == 0 || p >= len || b[p] != ' ') return 0;
  const uint8_t* m = b + start;
  // Framing of the response depends on these; PRI is the HTTP/2 preface.
  if ((mlen == 4 && memcmp(m, "HEAD", 4) == 0) || (mlen == 7 && memcmp(m, "CONNECT", 7) == 0) ||
      (mlen == 3 && memcmp(m, "PRI", 3) == 0) || IsLeftOverMethod(m, mlen)) {
    return 0;
  }
  p++;
  size_t ts = p;
  while (p < len && b[p] > 0x20 && b[p] != 0x7f) p++;
  if (p == ts || p + 10 > len || b[p] != ' ') return 0;
  p++;
  if (!IsVersion(b + p) || b[p + 8] != '\r' || b[p + 9] != '\n') return 0;
  p += 10;
  if (p - start > limit) return 0;
  Head h;
  if (!ParseFields(b, len, p, start, limit, &h)) return 0;
  uint64_t end = h.end + static_cast<uint64_t>(h.contentLength > 0 ? h.contentLength : 0);
  if (end - start > maxSize) return 0;
  return end;
}

// A final response (status 200..999): `HTTP/1.x SP ddd [SP reason] CRLF` fields CRLF [body]. 204 and 304
// have no body; any other needs a Content-Length (a close-delimited body is the TS path's). Returns as
// ParseRequest does.
uint64_t ParseResponse(const uint8_t* b, size_t len, size_t start, size_t maxSize) {
  size_t limit = maxSize < kMaxHeaderSize ? maxSize : kMaxHeaderSize;
  size_t p = start;
  if (p + 14 > len || !IsVersion(b + p) || b[p + 8] != ' ') return 0;
  p += 9;
  int status = 0;
  for (int i = 0; i < 3; i++) {
    uint8_t c = b[p + i];
    if (c < '0' || c > '9') return 0;
    status = status * 10 + (c - '0');
  }
  if (status < 200) return 0;
  p += 3;
  if (b[p] == ' ') {
    p++;
    while (p < len && b[p] != '\r') {
      if (!IsTextByte(b[p])) return 0;
      p++;
    }
  }
  if (p + 1 >= len || b[p] != '\r' || b[p + 1] != '\n') return 0;
  p += 2;
  if (p - start > limit) return 0;
  Head h;
  if (!ParseFields(b, len, p, start, limit, &h)) return 0;
  uint64_t end;
  if (status == 204 || status == 304) {
    end = h.end;
  } else {
    if (h.contentLength < 0) return 0;
    end = h.end + static_cast<uint64_t>(h.contentLength);
  }
  if (end - start > maxSize) return 0;
  return end;
}

// ── flows ─────────────────────────────────────────────────────────────────────────────────────────────

struct Direction {
  bool started = false;
  bool synSeen = false;
  uint32_t isn = 0;
  uint32_t nextSeq = 0;
};

struct Waiting {
  uint32_t id;
  uint32_t ack;
};

// A message whose head came whole in one segment and whose Content-Length body goes on in the next ones
// (one a connection at a time). Kept as a copy; handed to the TS path as one segment if the flow leaves.
struct Pending {
  bool active = false;
  bool fromClient = false;
  uint32_t startSeq = 0;  // SEQ of its first byte
  uint32_t ack = 0;       // ACK of the segment that carried its first byte (its id, for a request)
  uint64_t tsNs = 0;      // that segment's capture time (its timestamp)
  uint64_t remaining = 0;
  std::vector<uint8_t> bytes;
};

struct Flow {
  uint32_t clientIp, serverIp;
  uint16_t clientPort, serverPort;
  Direction client, server;
  uint64_t openedNs = 0, lastSeenNs = 0;
  std::vector<Waiting> waiting;
  Pending pending;
  bool live = false;
};

// The tuple of a connection, the same for both directions: the lower (ip, port) end first.
struct Key {
  uint64_t a, b;
  bool operator==(const Key& o) const { return a == o.a && b == o.b; }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = k.a * 0x9e3779b97f4a7c15ull ^ (k.b + 0x632be59bd9b4e019ull + (k.a << 6) + (k.a >> 2));
    return static_cast<size_t>(h ^ (h >> 29));
  }
};
inline Key KeyOf(uint32_t ip1, uint16_t port1, uint32_t ip2, uint16_t port2) {
  uint64_t x = (static_cast<uint64_t>(ip1) << 16) | port1;
  uint64_t y = (static_cast<uint64_t>(ip2) << 16) | port2;
  return x < y ? Key{x, y} : Key{y, x};
}

// Tuple -> value, open addressing with linear probing in one array (std::unordered_map's node per entry
// and prime modulo were 4% of a live capture's CPU). Erased entries are tombstones until the next rehash.
class FlowMap {
 public:
  FlowMap() { Rehash(64); }

  // The value of `k`, or nullptr. The pointer is valid until the next Insert.
  uint32_t* Find(const Key& k) {
    for (size_t i = KeyHash()(k) & mask_;; i = (i + 1) & mask_) {
      Entry& e = e_[i];
      if (e.state == kEmpty) return nullptr;
      if (e.state == kFull && e.key == k) return &e.value;
    }
  }

  // `k` must be absent.
  void Insert(const Key& k, uint32_t value) {
    if ((used_ + 1) * 2 > e_.size()) Rehash(full_ * 4 > e_.size() ? e_.size() * 2 : e_.size());
    for (size_t i = KeyHash()(k) & mask_;; i = (i + 1) & mask_) {
      Entry& e = e_[i];
      if (e.state != kFull) {
        if (e.state == kEmpty) used_++;
        e = Entry{k, value, kFull};
        full_++;
        return;
      }
    }
  }

  void Erase(const Key& k) {
    uint32_t* v = Find(k);
    if (v == nullptr) return;
    Entry* e = reinterpret_cast<Entry*>(reinterpret_cast<uint8_t*>(v) - offsetof(Entry, value));
    e->state = kDeleted;
    full_--;
  }

  void Clear() { Rehash(64); }

 private:
  static constexpr uint8_t kEmpty = 0, kFull = 1, kDeleted = 2;
  struct Entry {
    Key key;
    uint32_t value;
    uint8_t state;
  };
  std::vector<Entry> e_;
  size_t mask_ = 0;
  size_t full_ = 0;
  size_t used_ = 0;  // full and deleted

  // A table of `size` (a power of 2) entries holding the full ones.
  void Rehash(size_t size) {
    std::vector<Entry> old;
    old.swap(e_);
    e_.assign(size, Entry{Key{0, 0}, 0, kEmpty});
    mask_ = size - 1;
    full_ = 0;
    used_ = 0;
    for (const Entry& e : old)
      if (e.state == kFull) Insert(e.key, e.value);
  }
};

struct Outputs {
  uint32_t* msg;
  size_t msgCap;
  size_t nMsg = 0;
  uint32_t* fb;
  size_t fbCap;
  size_t nFb = 0;
  uint32_t* ho;
  size_t hoCap;
  size_t nHo = 0;
  uint32_t* waits;
  size_t waitsCap;
  size_t nWaits = 0;
};

// A message found by the checks, written only if the whole packet passes. `pending`: it completes the
// flow's pending message (its bytes are that copy plus the first `len` bytes of this payload).
struct Found {
  uint32_t type, id, ack, off, len;
  bool pending;
};

class FlowCore : public Napi::ObjectWrap<FlowCore> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FlowCore",
                       {
                           InstanceMethod("process", &FlowCore::Process),
                           InstanceMethod("expire", &FlowCore::Expire),
                           InstanceMethod("release", &FlowCore::Release),
                           InstanceMethod("counters", &FlowCore::Counters),
                           InstanceMethod("clear", &FlowCore::Clear),
                           InstanceMethod("arena", &FlowCore::Arena),
                           InstanceMethod("largestPending", &FlowCore::LargestPending),
                           InstanceMethod("handOffLargest", &FlowCore::HandOffLargest),
                       });
  }

  explicit FlowCore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FlowCore>(info) {
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Array ports = o.Get("ports").As<Napi::Array>();
    for (uint32_t i = 0; i < ports.Length(); i++) {
      uint32_t port = ports.Get(i).As<Napi::Number>().Uint32Value();
      if (port < 65536) ports_.push_back(static_cast<uint16_t>(port));
    }
    double maxSize = o.Get("maxSize").As<Napi::Number>().DoubleValue();
    maxSize_ = maxSize >= 1 && maxSize < 1e15 ? static_cast<size_t>(maxSize) : 0;
    trackResponse_ = o.Get("trackResponse").As<Napi::Boolean>().Value();
    expireNs_ = static_cast<uint64_t>(o.Get("expireNs").As<Napi::Number>().DoubleValue());
    maxFlows_ = o.Get("maxFlows").As<Napi::Number>().Uint32Value();
    vxlanPort_ = o.Get("vxlanPort").As<Napi::Number>().Uint32Value();
    allowIncomplete_ = o.Get("allowIncomplete").As<Napi::Boolean>().Value();
  }

 private:
  std::vector<uint16_t> ports_;
  size_t maxSize_ = 0;
  bool trackResponse_ = true;
  uint64_t expireNs_ = 2000000000ull;
  uint32_t maxFlows_ = 100000;
  uint32_t vxlanPort_ = 4789;
  FlowMap table_;
  std::vector<Flow> flows_;
  std::vector<uint32_t> free_;
  size_t liveFlows_ = 0;
  size_t marks_ = 0;
  // Bytes of pending messages (their copies so far), all flows: what --input-raw-memory-budget counts here.
  uint64_t pendingBytes_ = 0;
  // Counters of what was handled here (the TS path counts the rest).
  double segments_ = 0, flowsOpened_ = 0, requests_ = 0, responses_ = 0;
  // What the HTTP layer counts for a pending message when its flow expires or the input ends.
  double incompleteExpired_ = 0, incompleteEof_ = 0, incompleteDropped_ = 0, unmatched_ = 0, unanswered_ = 0;
  // Requests (all emitted here) still waiting for their responses when their flow expired or the input ended,
  // with trackResponse: ConnectionState.close() (FIN and RST hand the flow to the TS path, which counts there).
  double unansweredAtClose_ = 0;
  bool allowIncomplete_ = false;
  // Bytes of messages that spanned segments (and of pending messages handed over), for the current call.
  std::vector<uint8_t> arena_;
  std::vector<Found> found_;

  bool PortMatch(uint16_t p) const {
    for (uint16_t q : ports_)
      if (q == p) return true;
    return false;
  }

  void Mark(const Key& k, bool existed) {
    if (!existed) {
      table_.Insert(k, kMark);
      marks_++;
    }
  }

  void Drop(uint32_t slot) {
    Flow& f = flows_[slot];
    f.live = false;
    f.waiting.clear();
    ClearPending(f.pending);
    free_.push_back(slot);
    liveFlows_--;
  }

  bool Fallback(Outputs& out, uint32_t index, uint32_t recordOffset) {
    if (out.nFb >= out.fbCap) return false;
    uint32_t* w = out.fb + out.nFb * kFallbackWords;
    w[0] = index;
    w[1] = recordOffset;
    out.nFb++;
    return true;
  }

  // The flow's state as the TS path would hold it, for the packet `index` (which then goes to TS).
  bool WriteHandoff(Outputs& out, const Flow& f, uint32_t index) {
    if (out.nHo >= out.hoCap || out.nWaits + f.waiting.size() > out.waitsCap) return false;
    uint32_t* w = out.ho + out.nHo * kHandoffWords;
    w[0] = index;
    w[1] = f.clientIp;
    w[2] = f.serverIp;
    w[3] = (static_cast<uint32_t>(f.clientPort) << 16) | f.serverPort;
    w[4] = (f.client.started ? 1u : 0u) | (f.client.synSeen ? 2u : 0u) | (f.server.started ? 4u : 0u) |
           (f.server.synSeen ? 8u : 0u);
    w[5] = f.client.isn;
    w[6] = f.client.nextSeq;
    w[7] = f.server.isn;
    w[8] = f.server.nextSeq;
    w[9] = static_cast<uint32_t>(f.openedNs >> 32);
    w[10] = static_cast<uint32_t>(f.openedNs);
    w[11] = static_cast<uint32_t>(f.lastSeenNs >> 32);
    w[12] = static_cast<uint32_t>(f.lastSeenNs);
    w[13] = static_cast<uint32_t>(out.nWaits);
    w[14] = static_cast<uint32_t>(f.waiting.size());
    w[15] = 0;
    const Pending& pd = f.pending;
    for (int i = 16; i < 24; i++) w[i] = 0;
    if (pd.active) {
      // The TS path takes the flow at the pending message's start and gets its bytes as one segment.
      w[4] |= pd.fromClient ? 16u : 32u;
      w[pd.fromClient ? 6 : 8] = pd.startSeq;
      w[16] = pd.ack;
      w[17] = static_cast<uint32_t>(pd.tsNs >> 32);
      w[18] = static_cast<uint32_t>(pd.tsNs);
      w[19] = static_cast<uint32_t>(arena_.size());
      w[20] = static_cast<uint32_t>(pd.bytes.size());
      arena_.insert(arena_.end(), pd.bytes.begin(), pd.bytes.end());
    }
    for (const Waiting& q : f.waiting) {
      out.waits[out.nWaits * 2] = q.id;
      out.waits[out.nWaits * 2 + 1] = q.ack;
      out.nWaits++;
    }
    out.nHo++;
    return true;
  }

  // Checks then commits one segment of a native flow. False: not handled (nothing changed).
  bool Handle(Flow& f, const Segment& s, uint64_t tsNs, const uint8_t* base, uint32_t index, Outputs& out) {
    bool fromClient = s.src == f.clientIp && s.sport == f.clientPort;
    Direction& d = fromClient ? f.client : f.server;
    Direction& peer = fromClient ? f.server : f.client;
    uint8_t flags = s.flags;
    if (flags & (kFin | kRst | kUrg)) return false;
    if (!(flags & kAck)) return false;
    // The assembler skips a hole the peer's ACK reveals (2 or more bytes past what was seen): not here.
    if (peer.started) {
      int32_t rel = static_cast<int32_t>(s.ack - peer.nextSeq);
      if (rel >= 2 && rel < kWindow) return false;
    }
    if (flags & kSyn) {
      // The server's SYN+ACK, first thing on its side, acknowledging exactly the client's SYN.
      if (fromClient || d.started || s.len != 0 || s.ack != f.client.nextSeq) return false;
      d.started = true;
      d.synSeen = true;
      d.isn = s.seq;
      d.nextSeq = s.seq + 1;
      Touch(f, tsNs);
      segments_++;
      return true;
    }
    if (s.len == 0) {  // a pure ACK
      Touch(f, tsNs);
      segments_++;
      return true;
    }
    if (!d.started || s.seq != d.nextSeq) return false;
    const uint8_t* b = s.payload;
    size_t len = s.len;
    Pending& pd = f.pending;
    bool continuing = pd.active && pd.fromClient == fromClient;
    if (continuing && len < pd.remaining) {
      // All of it is more of the pending body.
      pd.bytes.insert(pd.bytes.end(), b, b + len);
      pendingBytes_ += len;
      pd.remaining -= len;
      d.nextSeq = s.seq + s.len;
      Touch(f, tsNs);
      segments_++;
      return true;
    }
    // Messages must tile the payload exactly (the last one may go on in later segments).
    found_.clear();
    size_t pos = 0;
    size_t answered = 0;  // responses matched against f.waiting so far (checks only)
    size_t pushed = 0;    // requests this packet adds
    if (continuing) {
      size_t take = static_cast<size_t>(pd.remaining);
      if (!Check(f, fromClient, pd.startSeq, pd.ack, &answered, &pushed, 0, take, true)) return false;
      pos = take;
    }
    bool startsPending = false;
    size_t pendingStart = 0;
    uint64_t pendingEnd = 0;
    while (pos < len) {
      uint64_t end = fromClient ? ParseRequest(b, len, pos, maxSize_) : ParseResponse(b, len, pos, maxSize_);
      if (end == 0) return false;
      if (end > len) {
        // Its body goes on: followed here unless incomplete messages are to be emitted (the TS path cuts
        // those) or the other direction has one pending already.
        if (allowIncomplete_ || (pd.active && !continuing)) return false;
        startsPending = true;
        pendingStart = pos;
        pendingEnd = end;
        break;
      }
      uint32_t seq = s.seq + static_cast<uint32_t>(pos);
      if (!Check(f, fromClient, seq, s.ack, &answered, &pushed, pos, static_cast<size_t>(end) - pos, false)) {
        return false;
      }
      pos = static_cast<size_t>(end);
    }
    size_t emit = 0;
    for (const Found& g : found_)
      if (g.type == 1 || trackResponse_) emit++;
    if (out.nMsg + emit > out.msgCap) return false;
    // Commit.
    d.nextSeq = s.seq + s.len;
    Touch(f, tsNs);
    segments_++;
    uint32_t payloadOff = static_cast<uint32_t>(s.payload - base);
    for (const Found& g : found_) {
      if (g.type == 1) {
        f.waiting.push_back({g.id, g.ack});
        requests_++;
      } else {
        f.waiting.erase(f.waiting.begin());
        if (!trackResponse_) continue;
        responses_++;
      }
      uint32_t* w = out.msg + out.nMsg * kMessageWords;
      uint64_t startNs = g.pending ? pd.tsNs : tsNs;
      w[0] = index;
      w[1] = g.type;
      w[2] = g.id;
      w[3] = f.clientIp;
      w[4] = (static_cast<uint32_t>(f.clientPort) << 16) | f.serverPort;
      if (g.pending) {
        w[5] = static_cast<uint32_t>(arena_.size());
        w[6] = static_cast<uint32_t>(pd.bytes.size() + g.len);
        arena_.insert(arena_.end(), pd.bytes.begin(), pd.bytes.end());
        arena_.insert(arena_.end(), b, b + g.len);
      } else {
        w[5] = payloadOff + g.off;
        w[6] = g.len;
      }
      w[7] = static_cast<uint32_t>(startNs >> 32);
      w[8] = static_cast<uint32_t>(startNs);
      w[9] = static_cast<uint32_t>(tsNs >> 32);
      w[10] = static_cast<uint32_t>(tsNs);
      w[11] = g.pending ? 1 : 0;
      out.nMsg++;
    }
    if (continuing) ClearPending(pd);
    if (startsPending) {
      pd.active = true;
      pd.fromClient = fromClient;
      pd.startSeq = s.seq + static_cast<uint32_t>(pendingStart);
      pd.ack = s.ack;
      pd.tsNs = tsNs;
      pd.remaining = pendingEnd - len;
      pd.bytes.assign(b + pendingStart, b + len);
      pendingBytes_ += pd.bytes.size();
    }
    return true;
  }

  void ClearPending(Pending& pd) {
    pendingBytes_ -= pd.bytes.size();
    pd.active = false;
    pd.remaining = 0;
    if (pd.bytes.capacity() > 256 * 1024) {
      std::vector<uint8_t>().swap(pd.bytes);  // do not keep a large body's buffer for the connection's life
    } else {
      pd.bytes.clear();
    }
  }

  // The checks the TS path makes when a message completes (http-streams.ts): a request's id (gor's ACK, or
  // its own SEQ when a waiting request has that id already), a response's request. Appends to found_.
  bool Check(const Flow& f, bool fromClient, uint32_t seq, uint32_t ack, size_t* answered, size_t* pushed,
             size_t off, size_t len, bool pending) {
    if (fromClient) {
      uint32_t id = ack;
      bool repeats = false;
      for (const Waiting& q : f.waiting)
        if (q.id == id) repeats = true;
      for (const Found& g : found_)
        if (g.id == id) repeats = true;
      if (repeats) id = seq;
      if (f.waiting.size() + ++*pushed > kMaxWaiting) return false;
      found_.push_back({1, id, ack, static_cast<uint32_t>(off), static_cast<uint32_t>(len), pending});
      return true;
    }
    // ConnectionState.answer(): the oldest waiting request — and none waiting is unmatched. (Its skip over
    // requests whose responses a capture gap took applies only after a gap, and a flow with a gap is not
    // here: it was handed over.)
    size_t left = f.waiting.size() - *answered;
    if (left == 0) return false;
    const Waiting& head = f.waiting[*answered];
    found_.push_back({2, head.id, head.ack, static_cast<uint32_t>(off), static_cast<uint32_t>(len), pending});
    ++*answered;
    return true;
  }

  // A flow ends with a message pending (expiry, end of input): what the TS path counts for it there — the
  // message reported incomplete (and dropped: pending messages exist only without allowIncomplete), and
  // for a response, the request it answers taken from the queue as ConnectionState.answer() does.
  void EndPending(Flow& f, bool expired) {
    Pending& pd = f.pending;
    if (!pd.active) return;
    if (!pd.fromClient) {
      // ConnectionState.answer() without a gap (see Check()): the oldest waiting request.
      std::vector<Waiting>& w = f.waiting;
      if (w.empty()) unmatched_++;
      else w.erase(w.begin());
    }
    if (expired) incompleteExpired_++;
    else incompleteEof_++;
    incompleteDropped_++;
    ClearPending(pd);
  }

  // A flow is given up (expiry, end of input): its pending message, then the requests no response will answer.
  void EndFlow(Flow& f, bool expired) {
    EndPending(f, expired);
    if (trackResponse_) unansweredAtClose_ += static_cast<double>(f.waiting.size());
    f.waiting.clear();
  }

  static void Touch(Flow& f, uint64_t tsNs) {
    if (tsNs > f.lastSeenNs) f.lastSeenNs = tsNs;
  }

  // Hands `slot` over at packet `index`; false when the outputs are full.
  bool HandOff(Outputs& out, uint32_t slot, uint32_t index) {
    Flow& f = flows_[slot];
    if (!WriteHandoff(out, f, index)) return false;
    uint32_t* v = table_.Find(KeyOf(f.clientIp, f.clientPort, f.serverIp, f.serverPort));
    if (v != nullptr) {
      *v = kMark;
      marks_++;
    }
    Drop(slot);
    return true;
  }

  // One packet: false when the outputs are full (the caller resumes at this packet with more room; what
  // was written for it — hand-offs — stays written and is not repeated).
  bool Packet(const uint8_t* base, const uint8_t* data, uint32_t caplen, uint32_t linkType, uint64_t tsNs,
              uint32_t index, uint32_t recordOffset, Outputs& out, bool* handled) {
    *handled = false;
    Segment s;
    Kind kind = Classify(data, caplen, linkType, vxlanPort_, &s);
    if (kind == kIrrelevant || out.nFb >= out.fbCap) return out.nFb < out.fbCap && Fallback(out, index, recordOffset);
    if (kind == kUnknown) {
      // Every native connection goes to the TypeScript path before this packet does.
      for (uint32_t slot = 0; liveFlows_ > 0 && slot < flows_.size(); slot++) {
        if (flows_[slot].live && !HandOff(out, slot, index)) return false;
      }
      return Fallback(out, index, recordOffset);
    }
    bool ours = ports_.empty() || PortMatch(s.dport) || PortMatch(s.sport);
    Key k = KeyOf(s.src, s.sport, s.dst, s.dport);
    uint32_t* found = table_.Find(k);
    if (found == nullptr) {
      // Only a bare SYN opens a flow here (the client is its sender, as in the assembler).
      bool bareSyn = (s.flags & (kSyn | kAck | kFin | kRst | kUrg)) == kSyn && s.len == 0;
      if (kind == kTuple || !ours || !bareSyn || liveFlows_ >= maxFlows_) {
        // The TypeScript path opens a flow for it (SYN or data): its later packets are that flow's. Anything
        // else opens nothing there (an orphan ACK, FIN or RST), so there is nothing to remember.
        if (ours && (s.len > 0 || (s.flags & kSyn))) Mark(k, false);
        return Fallback(out, index, recordOffset);
      }
      uint32_t slot;
      if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
      } else {
        slot = static_cast<uint32_t>(flows_.size());
        flows_.emplace_back();
      }
      Flow& f = flows_[slot];
      f.live = true;
      f.clientIp = s.src;
      f.clientPort = s.sport;
      f.serverIp = s.dst;
      f.serverPort = s.dport;
      f.client = Direction{true, true, s.seq, s.seq + 1};
      f.server = Direction{};
      f.openedNs = f.lastSeenNs = tsNs;
      f.waiting.clear();
      table_.Insert(k, slot);
      liveFlows_++;
      flowsOpened_++;
      segments_++;
      *handled = true;
      return true;
    }
    if (*found == kMark) return Fallback(out, index, recordOffset);
    uint32_t slot = *found;
    if (kind == kSegment && Handle(flows_[slot], s, tsNs, base, index, out)) {
      *handled = true;
      return true;
    }
    if (!HandOff(out, slot, index)) return false;
    return Fallback(out, index, recordOffset);
  }

  // process(buf, count, kind, index|null, messages, fallback, handoffs, waits, counts, linkType, start,
  // startOffset) -> the index of the first packet not processed (count when done). A batch the outputs
  // cannot hold is processed in several calls: the next starts at the returned packet, at record offset
  // counts[7] (kind 0).
  Napi::Value Process(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array bufArr = info[0].As<Napi::Uint8Array>();
    uint32_t count = info[1].As<Napi::Number>().Uint32Value();
    uint32_t kind = info[2].As<Napi::Number>().Uint32Value();
    Napi::Uint32Array msg = info[4].As<Napi::Uint32Array>();
    Napi::Uint32Array fb = info[5].As<Napi::Uint32Array>();
    Napi::Uint32Array ho = info[6].As<Napi::Uint32Array>();
    Napi::Uint32Array waits = info[7].As<Napi::Uint32Array>();
    Napi::Uint32Array counts = info[8].As<Napi::Uint32Array>();
    uint32_t linkType = info[9].As<Napi::Number>().Uint32Value();
    uint32_t start = info[10].As<Napi::Number>().Uint32Value();
    size_t startOffset = info[11].As<Napi::Number>().Uint32Value();
    if (counts.ElementLength() < 9) {
      Napi::TypeError::New(env, "counts must hold 9 numbers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // The arena was copied out by the last call's reader; a large one (a big body) is not kept.
    if (arena_.capacity() > (4u << 20)) {
      std::vector<uint8_t>().swap(arena_);
    } else {
      arena_.clear();
    }
    const uint8_t* buf = bufArr.Data();
    size_t len = bufArr.ByteLength();
    Outputs out{msg.Data(), msg.ElementLength() / kMessageWords, 0,
                fb.Data(),  fb.ElementLength() / kFallbackWords,  0,
                ho.Data(),  ho.ElementLength() / kHandoffWords,   0,
                waits.Data(), waits.ElementLength() / 2,          0};
    uint32_t* c = counts.Data();
    for (int i = 0; i < 9; i++) c[i] = 0;
    uint64_t latest = 0;
    uint32_t done = start;
    bool handled = false;
    if (kind == 0) {
      // Validate the whole batch first: a malformed one is decoded (and reported) by JavaScript.
      size_t off = startOffset;
      for (uint32_t i = start; i < count; i++) {
        if (off + kRecordHeader > len) return Malformed(c);
        uint32_t caplen = Le32(buf + off + 12);
        if (caplen > len - off - kRecordHeader) return Malformed(c);
        off = (off + kRecordHeader + caplen + 7) & ~static_cast<size_t>(7);
      }
      off = startOffset;
      for (; done < count; done++) {
        uint32_t caplen = Le32(buf + off + 12);
        uint64_t ts = Le64(buf + off);
        if (!Packet(buf, buf + off + kRecordHeader, caplen, linkType, ts, done, static_cast<uint32_t>(off), out,
                    &handled)) {
          break;
        }
        if (handled && ts > latest) latest = ts;
        off = (off + kRecordHeader + caplen + 7) & ~static_cast<size_t>(7);
      }
      c[7] = static_cast<uint32_t>(off);
    } else {
      Napi::Uint32Array index = info[3].As<Napi::Uint32Array>();
      if (index.ElementLength() < static_cast<size_t>(count) * kIndexWords) return Malformed(c);
      const uint32_t* ix = index.Data();
      const uint64_t fracToNs = kind == 2 ? 1000 : 1;
      for (uint32_t i = start; i < count; i++) {
        const uint32_t* e = ix + i * kIndexWords;
        if (e[0] > len || e[1] > len - e[0]) return Malformed(c);
      }
      for (; done < count; done++) {
        const uint32_t* e = ix + done * kIndexWords;
        uint64_t ts = static_cast<uint64_t>(e[3]) * 1000000000ull + static_cast<uint64_t>(e[4]) * fracToNs;
        if (!Packet(buf, buf + e[0], e[1], linkType, ts, done, e[0], out, &handled)) break;
        if (handled && ts > latest) latest = ts;
      }
    }
    c[0] = static_cast<uint32_t>(out.nMsg);
    c[1] = static_cast<uint32_t>(out.nFb);
    c[2] = static_cast<uint32_t>(out.nHo);
    c[3] = static_cast<uint32_t>(out.nWaits);
    c[4] = static_cast<uint32_t>(latest >> 32);
    c[5] = static_cast<uint32_t>(latest);
    c[6] = 0;
    c[8] = static_cast<uint32_t>(arena_.size());
    return Napi::Number::New(env, done);
  }

  // The current call's arena (bytes of messages that spanned segments) as one Buffer, or an empty one.
  Napi::Value Arena(const Napi::CallbackInfo& info) {
    return Napi::Buffer<uint8_t>::Copy(info.Env(), arena_.data(), arena_.size());
  }

  // The slot of the flow whose pending message holds the most bytes, or kMark when none is pending. A scan:
  // asked for only when the memory budget is spent.
  uint32_t Largest(size_t* size) const {
    uint32_t best = kMark;
    *size = 0;
    if (pendingBytes_ == 0) return best;
    for (uint32_t slot = 0; slot < flows_.size(); slot++) {
      const Flow& f = flows_[slot];
      if (f.live && f.pending.active && f.pending.bytes.size() > *size) {
        best = slot;
        *size = f.pending.bytes.size();
      }
    }
    return best;
  }

  // largestPending() -> bytes of the largest pending message (0: none).
  Napi::Value LargestPending(const Napi::CallbackInfo& info) {
    size_t size;
    Largest(&size);
    return Napi::Number::New(info.Env(), static_cast<double>(size));
  }

  // handOffLargest(handoffs, waits, counts) -> 1 when the flow with the largest pending message was handed
  // over (one hand-off record, its waits, counts[2..3] and counts[8] as process() sets them; `arena()` gives
  // its bytes), 0 when none is pending or the outputs are too small. The memory budget is spent and that
  // message is the largest in progress: the TypeScript path takes it over, and cuts it as its own.
  Napi::Value HandOffLargest(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint32Array ho = info[0].As<Napi::Uint32Array>();
    Napi::Uint32Array waits = info[1].As<Napi::Uint32Array>();
    Napi::Uint32Array counts = info[2].As<Napi::Uint32Array>();
    if (counts.ElementLength() < 9) {
      Napi::TypeError::New(env, "counts must hold 9 numbers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t* c = counts.Data();
    for (int i = 0; i < 9; i++) c[i] = 0;
    size_t size;
    uint32_t slot = Largest(&size);
    if (slot == kMark) return Napi::Number::New(env, 0);
    // The last call's arena was copied out by its reader.
    arena_.clear();
    Outputs out{nullptr, 0, 0, nullptr, 0, 0, ho.Data(), ho.ElementLength() / kHandoffWords, 0,
                waits.Data(), waits.ElementLength() / 2, 0};
    if (!HandOff(out, slot, 0)) return Napi::Number::New(env, 0);
    c[2] = static_cast<uint32_t>(out.nHo);
    c[3] = static_cast<uint32_t>(out.nWaits);
    c[8] = static_cast<uint32_t>(arena_.size());
    return Napi::Number::New(env, 1);
  }

  Napi::Value Malformed(uint32_t* c) {
    c[6] = 1;
    return Napi::Number::New(Env(), 0);
  }

  // expire(nowHigh, nowLow): flows idle since before now - expireNs are forgotten (at a message boundary
  // in both directions, they have nothing to report). Returns how many.
  Napi::Value Expire(const Napi::CallbackInfo& info) {
    uint64_t now = (static_cast<uint64_t>(info[0].As<Napi::Number>().Uint32Value()) << 32) |
                   info[1].As<Napi::Number>().Uint32Value();
    if (now < expireNs_) return Napi::Number::New(info.Env(), 0);
    uint64_t cutoff = now - expireNs_;
    uint32_t removed = 0;
    for (uint32_t slot = 0; slot < flows_.size(); slot++) {
      Flow& f = flows_[slot];
      if (!f.live || f.lastSeenNs > cutoff) continue;
      EndFlow(f, true);
      table_.Erase(KeyOf(f.clientIp, f.clientPort, f.serverIp, f.serverPort));
      Drop(slot);
      removed++;
    }
    return Napi::Number::New(info.Env(), removed);
  }

  // release(tuples: Uint32Array, n): the TS path removed these flows (client ip, client port, server ip,
  // server port each): their tuples are no longer marked, so a new SYN may open a native flow again.
  Napi::Value Release(const Napi::CallbackInfo& info) {
    Napi::Uint32Array t = info[0].As<Napi::Uint32Array>();
    uint32_t n = info[1].As<Napi::Number>().Uint32Value();
    if (static_cast<size_t>(n) * 4 > t.ElementLength()) n = static_cast<uint32_t>(t.ElementLength() / 4);
    const uint32_t* w = t.Data();
    for (uint32_t i = 0; i < n; i++) {
      Key k = KeyOf(w[4 * i], static_cast<uint16_t>(w[4 * i + 1]), w[4 * i + 2], static_cast<uint16_t>(w[4 * i + 3]));
      uint32_t* v = table_.Find(k);
      if (v != nullptr && *v == kMark) {
        table_.Erase(k);
        marks_--;
      }
    }
    return info.Env().Undefined();
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Float64Array out = info[0].As<Napi::Float64Array>();
    if (out.ElementLength() >= 12) out.Data()[11] = static_cast<double>(pendingBytes_);
    if (out.ElementLength() >= 13) out.Data()[12] = unansweredAtClose_;
    if (out.ElementLength() >= 11) {
      double* d = out.Data();
      d[0] = segments_;
      d[1] = flowsOpened_;
      d[2] = requests_;
      d[3] = responses_;
      d[4] = static_cast<double>(liveFlows_);
      d[5] = static_cast<double>(marks_);
      d[6] = incompleteExpired_;
      d[7] = incompleteEof_;
      d[8] = incompleteDropped_;
      d[9] = unmatched_;
      d[10] = unanswered_;
    }
    return info.Env().Undefined();
  }

  // End of input: a pending message is reported as the TS path's flush would (counted); forget everything.
  Napi::Value Clear(const Napi::CallbackInfo& info) {
    for (Flow& f : flows_)
      if (f.live) EndFlow(f, false);
    table_.Clear();
    flows_.clear();
    free_.clear();
    liveFlows_ = 0;
    marks_ = 0;
    pendingBytes_ = 0;
    return info.Env().Undefined();
  }
};

}  // namespace
}  // namespace tapline

static Napi::Object InitFlowCore(Napi::Env env, Napi::Object exports) {
  exports.Set("FlowCore", tapline::FlowCore::Define(env));
  exports.Set("abiVersion", Napi::Number::New(env, tapline::kAbiVersion));
  return exports;
}

NODE_API_MODULE(tapline_flow, InitFlowCore)
